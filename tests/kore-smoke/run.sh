#!/bin/bash
#
# run.sh BINARY WORKDIR - smoke test of the patched, statically linked Kore.
#
# Starts BINARY (built from tests/kore-smoke/app) as root in the foreground
# with an EMPTY environment, on an ECDSA P-256 certificate made here, and
# checks, failing (exit 1) on the first broken promise:
#   - the binary is static (when it is the musl one): no loader, no dlopen;
#   - one parent, one keymgr, two workers; workers and keymgr run with a
#     non-zero uid and seccomp mode 2, every process non-dumpable; the
#     private key is in the keymgr's memory and in no other process's;
#   - from a worker's position (GET /attack) the keymgr's memory and the key
#     file are out of reach: /proc/<keymgr>/mem, ptrace, process_vm_readv,
#     open(key.pem) all fail;
#   - TLS 1.2 and 1.3 work with curl --cacert (localhost and 127.0.0.1);
#     TLS 1.0/1.1 and CBC suites are refused; HSTS is sent;
#   - errors raised by Kore's HTTP layer come in the contract's JSON shape
#     with X-Request-Id (404, 405 + Allow, 413, 414, 431);
#   - stdout log lines are not repeated by the forks;
#   - a setting of the application's in the conf reaches it, and a bad
#     value of it stops the start;
#   - a clean stop exits 0, a failed privilege drop exits non-zero.
# Then the same binary and config started as uid 65532, gid 0, with no
# capability and no_new_privs (CONTRACT §7's "restricted" profile): it says
# so in its first log line, runs without chroot and uid switch, its workers
# confined by Landlock and seccomp, and the same checks hold: processes,
# key location, TLS, the sandboxed probe, the attack, a clean stop.
# Needs: openssl, curl, python3, setpriv, a "nobody" user. PORT may be
# overridden with KORE_SMOKE_PORT.

set -u

BIN=$(realpath "$1")
DIR=$(realpath -m "$2")
PORT=${KORE_SMOKE_PORT:-18490}
TRACE=${KORE_SMOKE_TRACE:-no}
HERE=$(cd "$(dirname "$0")" && pwd)
URL=https://localhost:$PORT
PARENT=
FAILS=0

fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
ok() { echo "ok: $*"; }
die() { echo "FATAL: $*"; stop_server; exit 1; }

stop_server() {
	if [ -n "$PARENT" ] && kill -0 "$PARENT" 2>/dev/null; then
		kill -TERM "$PARENT"
		for _ in $(seq 50); do
			kill -0 "$PARENT" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "$PARENT" 2>/dev/null && kill -KILL "$PARENT"
	fi
}
trap stop_server EXIT

# start LOG [WRAPPER...]: RUN_BIN with CONF in the foreground with an
# empty environment (through WRAPPER, e.g. setpriv), stdout and stderr to
# LOG; sets PARENT; dies unless /hello answers within 10 s.
start() {
	local log=$1 up=0
	shift
	env -i $ENVIRON "$@" "$RUN_BIN" -f -c "$CONF" > "$log" 2>&1 &
	PARENT=$!
	for _ in $(seq 100); do
		if curl -sf --cacert "$P/ca.pem" "$URL/hello" -o /dev/null; then
			up=1
			break
		fi
		kill -0 "$PARENT" 2>/dev/null || break
		sleep 0.1
	done
	[ $up = 1 ] || { cat "$log"; die "server did not come up"; }
}

# hello_tls: GET /hello over TLS 1.2 and 1.3, by name and by address (the
# last answer's head in $DIR/h.txt).
hello_tls() {
	for v in 1.2 1.3; do
		for host in localhost 127.0.0.1; do
			out=$(curl -sS --cacert "$P/ca.pem" --tlsv$v --tls-max $v \
			    -D "$DIR/h.txt" "https://$host:$PORT/hello" 2>&1)
			if [ "$out" = '{"status":"ok","service":"kore-smoke"}' ]; then
				ok "TLS $v to $host: $out"
			else
				fail "TLS $v to $host: $out"
			fi
		done
	done
}

# probe: name resolution, libpq and libcurl inside a worker's sandbox. Only
# for the musl build: the host (glibc) libcurl's threaded resolver needs
# clone3, socketpair and rseq, which the services never call.
probe() {
	case "$BIN" in
	*/host/*) out='{"dns":-3,"pgsql":1,"curl":6} 200 (skipped on host)' ;;
	*) out=$(curl -sS -m 30 --cacert "$P/ca.pem" -w ' %{http_code}' "$URL/probe" 2>&1) ;;
	esac
	case "$out" in
	'{"dns":'*'"pgsql":1,"curl":6} 200'*)
		ok "resolver, libpq and libcurl run inside the sandbox: $out" ;;
	*)	fail "probe: $out" ;;
	esac
	pgrep -P "$PARENT" > /dev/null || fail "no children left after the probe"
}

# clean_stop LOG: SIGTERM (a drain: drain_delay, 1 s by default, then
# whatever is in flight) ends in exit 0 within 10 s, with no sandbox
# violation logged.
clean_stop() {
	local t0=$SECONDS rc
	kill -TERM "$PARENT"
	for _ in $(seq 100); do
		kill -0 "$PARENT" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$PARENT" 2>/dev/null; then
		fail "still running 10 s after SIGTERM"
		kill -KILL "$PARENT"
	fi
	wait "$PARENT"
	rc=$?
	PARENT=
	[ $rc = 0 ] && ok "clean stop exits 0 ($((SECONDS - t0)) s)" ||
	    fail "clean stop exited $rc"
	grep -q 'sandbox violation' "$1" &&
	    fail "sandbox violation: $(grep -A2 'sandbox violation' "$1")"
}

# processes [UID]: sets KEYMGR and WORKERS (children of PARENT); one keymgr
# and two workers, both running as a non-root uid (UID if given) under
# seccomp mode 2, and every process, the parent too, non-dumpable (its
# /proc/<pid> files then belong to root).
processes() {
	KEYMGR=
	WORKERS=
	for pid in $(pgrep -P "$PARENT"); do
		title=$(tr '\0' ' ' < "/proc/$pid/cmdline")
		case "$title" in
		*keymgr*)	KEYMGR=$pid ;;
		*wrk*)		WORKERS="$WORKERS $pid" ;;
		*)		fail "unknown child $pid: $title" ;;
		esac
	done
	nworkers=$(echo $WORKERS | wc -w)
	[ -n "$KEYMGR" ] || fail "no keymgr process"
	[ "$nworkers" = 2 ] || fail "expected 2 workers, found $nworkers"
	for pid in $KEYMGR $WORKERS; do
		uid=$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status")
		sc=$(awk '/^Seccomp:/ { print $2 }' "/proc/$pid/status")
		[ "$uid" != 0 ] || fail "process $pid runs as root"
		[ -z "${1:-}" ] || [ "$uid" = "$1" ] ||
		    fail "process $pid runs as uid $uid, not $1"
		[ "$sc" = 2 ] || fail "process $pid has Seccomp: $sc"
	done
	for pid in $PARENT $KEYMGR $WORKERS; do
		[ "$(stat -c %u "/proc/$pid/status")" = 0 ] ||
		    fail "process $pid is dumpable"
	done
	ok "parent $PARENT, keymgr $KEYMGR, workers$WORKERS: uid != 0, Seccomp: 2, non-dumpable"
}

# key_only_in_keymgr: the private scalar is in the keymgr's memory and in no
# other process's.
key_only_in_keymgr() {
	SCALAR=$(openssl ec -in "$P/leaf.key" -text -noout 2>/dev/null |
	    awk '/^priv:/ { p = 1; next } /^pub:/ { p = 0 } p' | tr -d ' :\n')
	python3 - "$SCALAR" "$KEYMGR" "$PARENT" $WORKERS <<'EOF' || fail "key location"
import sys, re
scalar = bytes.fromhex(sys.argv[1])
scalar = scalar[-32:].rjust(32, b"\0")
needles = (scalar, scalar[::-1])       # raw and BIGNUM (little endian limbs)

def holds(pid):
    found = False
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb") as mem:
        for line in maps:
            m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (\S+)", line)
            lo, hi, perms = int(m[1], 16), int(m[2], 16), m[3]
            if "r" not in perms or "[vvar]" in line or "[vsyscall]" in line:
                continue
            if hi - lo > 1 << 30:       # sanitizer shadow/reserve
                continue
            off = lo
            while off < hi:             # overlapping 16 MiB chunks
                n = min(16 << 20, hi - off)
                try:
                    mem.seek(off)
                    data = mem.read(n + 31 if off + n < hi else n)
                except (OSError, ValueError):
                    break
                if any(x in data for x in needles):
                    return True
                off += n
    return found

keymgr, others = sys.argv[2], sys.argv[3:]
ok = True
if not holds(keymgr):
    print(f"private key not found in keymgr {keymgr}")
    ok = False
for pid in others:
    if holds(pid):
        print(f"private key found in process {pid}")
        ok = False
if ok:
    print("ok: the private key is in the keymgr only")
sys.exit(0 if ok else 1)
EOF
}

# attack: GET /attack, from a worker's position: every attempt on the
# keymgr fails, and the answer came from one of WORKERS, under seccomp.
attack() {
	out=$(curl -sS -m 10 --cacert "$P/ca.pem" "$URL/attack" 2>&1)
	if python3 - "$out" $WORKERS <<'EOF'
import json, sys
r = json.loads(sys.argv[1])
assert r["pid"] in [int(w) for w in sys.argv[2:]], ("not a worker", r)
with open("/proc/%d/status" % r["pid"]) as f:
    assert "Seccomp:\t2\n" in f.read(), ("no seccomp", r)
tried = ("proc_mem", "ptrace_attach", "ptrace_seize", "process_vm_readv",
         "key_file")
assert all(r[k] != 0 for k in tried), ("an attempt worked", r)
EOF
	then
		ok "from a worker, the keymgr's memory and key are out of reach (errnos): $out"
	else
		fail "attack: $out"
	fi
}

rm -rf "$DIR"
mkdir -p "$DIR/root" "$DIR/keys" "$DIR/pki"
cd "$DIR" || exit 1

# --- static binary ----------------------------------------------------------
case "$BIN" in
*/musl/*)
	file "$BIN" | grep -q 'statically linked' ||
	    fail "file(1) does not say statically linked: $(file -b "$BIN")"
	ldd "$BIN" 2>&1 | grep -q 'not a dynamic executable' ||
	    fail "ldd finds a dynamic executable"
	if nm "$BIN" | grep -Eq ' [TtWw] (dlopen|dlsym|dlclose)$'; then
		fail "dlopen/dlsym linked into the binary"
	else
		ok "static executable without dlopen/dlsym"
	fi
	;;
esac

# --- PKI: ECDSA P-256 CA and leaf, RFC 7919 ffdhe2048 -----------------------
P=$DIR/pki
openssl ecparam -name prime256v1 -genkey -noout -out "$P/ca.key" 2>/dev/null &&
openssl req -x509 -new -key "$P/ca.key" -sha256 -days 2 \
    -subj "/CN=kore-smoke CA" -out "$P/ca.pem" 2>/dev/null &&
openssl ecparam -name prime256v1 -genkey -noout -out "$P/leaf.key" 2>/dev/null &&
openssl req -new -key "$P/leaf.key" -subj "/CN=localhost" \
    -out "$P/leaf.csr" 2>/dev/null &&
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' \
    > "$P/leaf.ext" &&
openssl x509 -req -in "$P/leaf.csr" -CA "$P/ca.pem" -CAkey "$P/ca.key" \
    -CAcreateserial -sha256 -days 2 -extfile "$P/leaf.ext" \
    -out "$P/leaf.pem" 2>/dev/null ||
    die "cannot make the certificates"
openssl genpkey -genparam -algorithm DH -pkeyopt group:ffdhe2048 \
    -out "$DIR/ffdhe2048.pem" 2>/dev/null || die "cannot write ffdhe2048"

# The keymgr reads these after chroot(keymgr_root) as nobody.
cp "$P/leaf.pem" "$DIR/keys/cert.pem"
cp "$P/leaf.key" "$DIR/keys/key.pem"
chown nobody "$DIR/keys/key.pem" "$DIR/keys/cert.pem"
chmod 0400 "$DIR/keys/key.pem"

sed -e "s#@DIR@#$DIR#g" -e "s#@PORT@#$PORT#g" -e "s#@TRACE@#$TRACE#g" \
    "$HERE/smoke.conf.in" > "$DIR/smoke.conf"
RUN_BIN=$BIN
CONF=$DIR/smoke.conf

# --- start: as root, foreground, empty environment, stdout to a file --------
# The host (ASan) build reports Kore's exit-time allocations as leaks.
ENVIRON=
case "$BIN" in */host/*) ENVIRON=ASAN_OPTIONS=detect_leaks=0 ;; esac
start "$DIR/kore.log"
ok "server up (pid $PARENT) with an empty environment"

# --- processes ------------------------------------------------------------
processes
key_only_in_keymgr

# --- TLS ----------------------------------------------------------------------
hello_tls
grep -qi '^strict-transport-security: max-age=63072000' "$DIR/h.txt" ||
    fail "no HSTS header"

sclient() {
	echo | timeout 10 openssl s_client -connect "127.0.0.1:$PORT" \
	    -servername localhost "$@" > "$DIR/s_client.txt" 2>&1
}
for v in tls1 tls1_1; do
	if sclient -$v -cipher 'DEFAULT:@SECLEVEL=0'; then
		fail "$v accepted"
	else
		ok "$v refused"
	fi
done
for c in ECDHE-ECDSA-AES128-SHA ECDHE-ECDSA-AES256-SHA384 \
    ECDHE-ECDSA-AES128-SHA256 AES128-GCM-SHA256 AES128-SHA; do
	if sclient -tls1_2 -cipher "$c:@SECLEVEL=0"; then
		fail "TLS 1.2 $c accepted"
	else
		ok "TLS 1.2 $c refused"
	fi
done
for c in ECDHE-ECDSA-AES128-GCM-SHA256 ECDHE-ECDSA-AES256-GCM-SHA384 \
    ECDHE-ECDSA-CHACHA20-POLY1305; do
	if sclient -tls1_2 -cipher "$c"; then
		ok "TLS 1.2 $c accepted"
	else
		fail "TLS 1.2 $c refused"
	fi
done
if sclient -tls1_3 && grep -q 'TLSv1.3' "$DIR/s_client.txt"; then
	ok "TLS 1.3 accepted"
else
	fail "TLS 1.3 refused"
fi
code=$(curl -s -o /dev/null -m 5 -w '%{http_code}' "http://127.0.0.1:$PORT/hello")
if [ "$code" = 000 ]; then
	ok "plain HTTP gets no HTTP answer"
else
	fail "plain HTTP got an HTTP answer ($code)"
fi

# --- errors raised by Kore's HTTP layer: contract shape + X-Request-Id --------
# check STATUS CODE [curl args...]
check_error() {
	want=$1 code=$2
	shift 2
	got=$(curl -sS --cacert "$P/ca.pem" -o "$DIR/body.json" \
	    -D "$DIR/h.txt" -w '%{http_code}' "$@" 2>&1)
	body=$(cat "$DIR/body.json")
	rid=$(awk -F': ' 'tolower($1) == "x-request-id" { print $2 }' \
	    "$DIR/h.txt" | tr -d '\r')
	if [ "$got" != "$want" ]; then
		fail "$want $code: got status $got ($body)"
	elif ! python3 -c '
import json, sys
b = json.load(open(sys.argv[1]))
e = b["error"]
assert list(b) == ["error"], b
assert e["code"] == sys.argv[2], e
assert e["message"], e
assert e["request_id"] == sys.argv[3] and sys.argv[3], (e, sys.argv[3])
' "$DIR/body.json" "$code" "$rid"; then
		fail "$want $code: body $body, x-request-id '$rid'"
	elif ! grep -qi '^content-type: application/json' "$DIR/h.txt"; then
		fail "$want $code: no JSON content-type"
	else
		ok "$want $code (x-request-id $rid)"
	fi
}

check_error 404 not_found "$URL/nope"
check_error 404 not_found -H 'X-Request-Id: smoke-id.1_A' "$URL/nope"
[ "$rid" = smoke-id.1_A ] || fail "incoming X-Request-Id not kept: $rid"
check_error 404 not_found -H 'X-Request-Id: bad id!' "$URL/nope"
[ "$rid" != 'bad id!' ] || fail "malformed X-Request-Id kept"
check_error 405 method_not_allowed -X POST -d '{}' "$URL/hello"
grep -qi '^allow: GET' "$DIR/h.txt" || fail "405 without Allow: GET"
check_error 405 method_not_allowed "$URL/upload"
grep -qi '^allow: POST' "$DIR/h.txt" || fail "405 without Allow: POST"
check_error 413 payload_too_large -H 'Content-Type: application/json' \
    --data-binary "$(head -c 2000 /dev/zero | tr '\0' 'x')" "$URL/upload"
check_error 414 uri_too_long "$URL/$(head -c 3000 /dev/zero | tr '\0' 'a')"
check_error 414 uri_too_long "$URL/$(head -c 5000 /dev/zero | tr '\0' 'a')"
check_error 431 headers_too_large \
    -H "X-Big: $(head -c 5000 /dev/zero | tr '\0' 'b')" "$URL/hello"
many=()
for i in $(seq 70); do many+=(-H "X-H$i: $i"); done
check_error 431 headers_too_large "${many[@]}" "$URL/hello"
out=$(curl -sS --cacert "$P/ca.pem" -X POST -H 'Content-Type: application/json' \
    -d '{"a":1}' "$URL/upload")
[ "$out" = '{"status":"ok","service":"kore-smoke"}' ] ||
    fail "POST /upload after errors: $out"

probe
attack

# --- logs and stop ----------------------------------------------------------
n=$(grep -c 'is starting up' "$DIR/kore.log")
[ "$n" = 1 ] || fail "'is starting up' logged $n times (stdout not line buffered)"

clean_stop "$DIR/kore.log"

# --- the application's own settings in Kore's file ---------------------------
grep -q 'admission 16 running' "$DIR/kore.log" &&
    ok "admission_limit read from the conf by the application" ||
    fail "admission_limit 16 not taken: $(grep configured "$DIR/kore.log")"
sed 's/^admission_limit.*/admission_limit 0/' "$DIR/smoke.conf" > "$DIR/bad.conf"
env -i $ENVIRON timeout 20 "$BIN" -f -c "$DIR/bad.conf" > "$DIR/bad.log" 2>&1
rc=$?
if [ $rc = 0 ] || [ $rc = 124 ] ||
    ! grep -q "bad admission_limit value" "$DIR/bad.log"; then
	fail "admission_limit 0 not refused (exit $rc): $(tail -2 "$DIR/bad.log")"
else
	ok "a bad application setting stops the start (exit $rc)"
fi

# --- a failed privilege drop must not exit 0 ----------------------------------
sed 's/^runas.*/runas crm-no-such-user/' "$DIR/smoke.conf" > "$DIR/bad.conf"
env -i $ENVIRON timeout 20 "$BIN" -f -c "$DIR/bad.conf" > "$DIR/bad.log" 2>&1
rc=$?
if [ $rc = 0 ] || [ $rc = 124 ]; then
	fail "failed privilege drop exited $rc"
else
	ok "failed privilege drop exits $rc"
fi

# --- the restricted profile: any uid, gid 0, no capability at all ----------
# The same binary and config, copied where any uid can reach them (the tree
# may lie in a home folder of mode 0700: ci/fresh-machine's /root). Its
# runas/root lines are not used (no chroot, no uid switch); the keymgr reads
# the key as that uid, so the key is its.
RUID=65532
RDIR=$(mktemp -d /tmp/kore-smoke.XXXXXX) || die "no temporary folder"
chmod 0755 "$RDIR"
mkdir -p "$RDIR/root" "$RDIR/keys"
cp "$BIN" "$RDIR/kore-smoke"
cp "$DIR/ffdhe2048.pem" "$RDIR/"
cp "$P/leaf.pem" "$RDIR/keys/cert.pem"
cp "$P/leaf.key" "$RDIR/keys/key.pem"
chown "$RUID" "$RDIR/keys/key.pem" "$RDIR/keys/cert.pem"
chmod 0400 "$RDIR/keys/key.pem"
sed -e "s#@DIR@#$RDIR#g" -e "s#@PORT@#$PORT#g" -e "s#@TRACE@#$TRACE#g" \
    "$HERE/smoke.conf.in" > "$RDIR/smoke.conf"
RUN_BIN=$RDIR/kore-smoke
CONF=$RDIR/smoke.conf
start "$DIR/kore-restricted.log" setpriv --reuid "$RUID" --regid 0 \
    --clear-groups --inh-caps=-all --bounding-set=-all --no-new-privs
ok "restricted: server up (pid $PARENT) as uid $RUID, gid 0, no capability"
first=$(head -n 1 "$DIR/kore-restricted.log")
case "$first" in
*"unprivileged start (uid $RUID, gid 0): no chroot, no privilege drop"*)
	ok "restricted: first log line: $first" ;;
*)	fail "restricted: first log line: $first" ;;
esac
grep -q 'Landlock (ABI [0-9]*) leaves each worker reading only' \
    "$DIR/kore-restricted.log" || fail "restricted: no Landlock log line"
processes "$RUID"
st=$(cat "/proc/$PARENT/status")
case "$st" in
*"CapEff:	0000000000000000"*"NoNewPrivs:	1"*) ;;
*)	fail "restricted: the parent has capabilities or new privileges" ;;
esac
key_only_in_keymgr
hello_tls
probe
attack
clean_stop "$DIR/kore-restricted.log"
rm -rf "$RDIR"

if [ $FAILS -gt 0 ]; then
	echo "kore-smoke: $FAILS failure(s); logs in $DIR"
	exit 1
fi
echo "kore-smoke: all checks passed"
