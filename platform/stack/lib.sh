# shellcheck shell=bash
# shellcheck disable=SC2034  # variables for the scripts that source this file
# Helpers shared by the platform/stack scripts (sourced, never run).
# Everything here is about where the stack's run-time state lives and how
# secrets are made, so that every script agrees on it.

set -euo pipefail

# Debian's PostgreSQL 15, by absolute path: /usr/local/bin may hold another
# build, and the machine's default cluster (pg_ctlcluster) is never used.
PGBIN=/usr/lib/postgresql/15/bin
PG_PORT=${PG_PORT:-55432}
STACK_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$STACK_DIR/../.." && pwd)

# The one list of services: apps/NAME/service.decl, read through
# platform/tools/service-decl (port, database role, the services each one
# calls, ...). Nothing here names a service.
SERVICE_DECL=$REPO_DIR/platform/tools/service-decl
_decls=$("$SERVICE_DECL" bash) ||
    { printf '%s: bad service declarations\n' "${0##*/}" >&2; exit 1; }
eval "$_decls"
unset _decls
# The parts of the stack with a TLS certificate: the services and postgres.
SERVICE_NAMES="$SERVICES_DECLARED postgres"

# load_decl NAME: sets decl_* (a service's facts: name, port, auth,
# database, calls, callers, data, data_env, description, stem), `port` (its
# HTTPS port on 127.0.0.1: NAME_PORT, NAME upper-cased with '-' as '_', or
# the declared one) and `role` (its PostgreSQL login role; empty: no
# database); fails for an unknown NAME.
load_decl() {
	local k pv
	[ -n "$1" ] && [ -n "${DECL_name[$1]+set}" ] || return 1
	for k in name port auth database calls callers data data_env \
	    description stem; do
		declare -n _v="DECL_$k"
		printf -v "decl_$k" '%s' "${_v[$1]}"
		unset -n _v
	done
	pv=${decl_stem}_PORT
	port=${!pv:-$decl_port}
	role=$decl_database
}

# port_of NAME: a service's HTTPS port, as load_decl sets it.
port_of() { (load_decl "$1" && printf '%s\n' "$port"); }

# The services that call others: each has an identity of its own, the
# token in RUNDIR/secrets/identity_<name, - as _> that it presents on its
# calls (the callee's declaration says which routes allow which caller).
caller_names() {
	local n
	for n in $SERVICES_DECLARED; do
		(load_decl "$n" && [ -n "$decl_calls" ]) && printf '%s ' "$n"
	done
	return 0
}
CALLER_NAMES=$(caller_names)

# The PostgreSQL login roles of the services that have a database.
database_roles() {
	local n
	for n in $SERVICES_DECLARED; do
		(load_decl "$n" && [ -n "$role" ] && printf '%s ' "$role")
	done
	return 0
}
DATABASE_ROLES=$(database_roles)

# One secret per file in RUNDIR/secrets; db_* are PostgreSQL role passwords.
# api_key and service_token are the clients' and the operators' (run/stack.env):
# no service is given them, only their digests (service_credentials).
SECRET_NAMES="api_key service_token db_admin"
for _n in $CALLER_NAMES; do SECRET_NAMES+=" identity_${_n//-/_}"; done
for _n in $DATABASE_ROLES; do SECRET_NAMES+=" db_$_n"; done
unset _n

die() { printf '%s: %s\n' "${0##*/}" "$*" >&2; exit 1; }
log() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }

need_root() { [ "$(id -u)" -eq 0 ] || die "must run as root (it drops to the postgres user itself)"; }

# alive PID: the process exists and is not a zombie. A daemon SIGKILLed
# after its parent exited is reparented to init; an init that reaps lazily
# (as on this machine) leaves a zombie that kill -0 still reports as alive.
alive() { [ -r "/proc/$1/stat" ] && [ "$(cut -d' ' -f3 "/proc/$1/stat")" != Z ]; }

# rundir DIR: create DIR if needed and print its absolute path (stack.env and
# the DATABASE_URL must carry absolute paths).
rundir() {
	[ -n "${1:-}" ] || die "usage: ${0##*/} RUNDIR ..."
	mkdir -p "$1"
	(cd "$1" && pwd -P)
}

# as_pg CMD...: run as the postgres OS user (the server refuses to run as
# root). cd / first: postgres cannot enter root's cwd, and initdb/pg_ctl
# complain about it.
as_pg() { (cd / && runuser -u postgres -- "$@"); }

# gen_secret: 32 random bytes, base64url without padding (safe in URLs,
# shell words and psql literals).
gen_secret() { openssl rand 32 | openssl base64 -A | tr '+/' '-_' | tr -d '='; }

# ensure_secrets RUNDIR: create the missing secrets once, 0600; never print.
ensure_secrets() {
	local d="$1/secrets" n
	(umask 077 && mkdir -p "$d")
	chmod 0700 "$d"
	for n in $SECRET_NAMES; do
		if [ ! -s "$d/$n" ]; then
			(umask 077 && gen_secret >"$d/$n.tmp" && mv "$d/$n.tmp" "$d/$n")
		fi
		chmod 0600 "$d/$n"
	done
}

secret() { [ -s "$1/secrets/$2" ] || die "missing secret $1/secrets/$2 (run pki.sh)"; cat "$1/secrets/$2"; }

# Image signatures (CONTRACT §7, docs/operations.md "Image signatures"): GPG
# "simple signing" with a key of the stack's own, made by pki.sh in
# RUNDIR/signing (never committed, never in an image):
#   gnupg/              GNUPGHOME with the secret signing key (0700)
#   image-signing.gpg   its public key, the one policy.json trusts
#   policy.json         images/policy.json naming that key
#   registries.d/       images/registries.d naming the signature store,
#                       RUNDIR/registry/signatures (beside the registry's
#                       data; written by pushes, read by pulls)
SIGNING_UID="crm-supply image signing <image-signing@crm-supply.invalid>"

# signing_fpr RUNDIR: the signing key's fingerprint (empty: none yet).
signing_fpr() {
	[ -d "$1/signing/gnupg" ] || return 0
	GNUPGHOME=$1/signing/gnupg gpg --batch --with-colons \
	    --list-keys "$SIGNING_UID" 2>/dev/null |
	    awk -F: '$1 == "fpr" { print $10; exit }'
}

# image_trust RUNDIR: writes RUNDIR/signing/policy.json and
# RUNDIR/signing/registries.d/ from the project's images/policy.json and
# images/registries.d with this run's paths (the key must exist: pki.sh).
image_trust() {
	local s=$1/signing
	[ -s "$s/image-signing.gpg" ] || die "no $s/image-signing.gpg (run pki.sh)"
	mkdir -p "$s/registries.d" "$1/registry/signatures"
	sed "s|@KEY@|$s/image-signing.gpg|" "$REPO_DIR/images/policy.json" \
	    >"$s/policy.json.tmp"
	mv "$s/policy.json.tmp" "$s/policy.json"
	sed "s|@SIGNATURES@|$1/registry/signatures|" \
	    "$REPO_DIR/images/registries.d/crm-supply.yaml" \
	    >"$s/registries.d/crm-supply.yaml.tmp"
	mv "$s/registries.d/crm-supply.yaml.tmp" "$s/registries.d/crm-supply.yaml"
}

# gpg_done RUNDIR: stops the gpg-agent that a signature or the key's
# creation started for RUNDIR/signing/gnupg (gpg starts one on demand).
gpg_done() {
	GNUPGHOME=$1/signing/gnupg gpgconf --kill gpg-agent 2>/dev/null || true
}

# digest RUNDIR NAME: the SHA-256 (hex) of a secret, as the services hash a
# presented bearer token (platform/src/auth.c).
digest() {
	local v
	v=$(secret "$1" "$2") || exit 1
	printf '%s' "$v" | sha256sum | cut -d' ' -f1
}

# identity_secret NAME: the secret holding a caller's identity token.
identity_secret() { local n=${1//-/_}; printf 'identity_%s\n' "$n"; }

is_caller() { case " $CALLER_NAMES " in *" $1 "*) return 0 ;; esac; return 1; }

# service_credentials RUNDIR NAME: the credentials file of a service
# (platform/include/auth.h): "<name> <sha256 hex>" lines. A service of auth
# api_key accepts the client API keys: "default" (API_KEY of stack.env) and
# the named keys of RUNDIR/secrets/api_keys (platform/stack/apikey.sh). A
# service of auth service accepts "operator" (SERVICE_TOKEN) and the
# identities of the services that call it; which identity may use which
# route is its declaration's `allow`.
service_credentials() (
	r="$1"
	load_decl "$2" || die "unknown service $2"
	printf '# %s: the credentials it accepts (platform/stack/lib.sh)\n' "$2"
	if [ "$decl_auth" = api_key ]; then
		d=$(digest "$r" api_key)
		printf 'default %s\n' "$d"
		if [ -f "$r/secrets/api_keys" ]; then cat "$r/secrets/api_keys"; fi
		exit 0
	fi
	d=$(digest "$r" service_token)
	printf 'operator %s\n' "$d"
	for c in $decl_callers; do
		d=$(digest "$r" "$(identity_secret "$c")")
		printf '%s %s\n' "$c" "$d"
	done
)

# service_secrets RUNDIR NAME ROLE DIR: fills DIR (0700) with exactly the
# secret files the service is given, each 0400 root: credentials (digests),
# identity_token (callers only), db_password (services with a database).
# Anything else there (an older layout's tokens) is removed.
service_secrets() {
	local r="$1" d="$4"
	mkdir -p "$d"
	chmod 0700 "$d"
	find "$d" -mindepth 1 -maxdepth 1 -exec rm -rf {} +
	(
		umask 077
		service_credentials "$r" "$2" >"$d/credentials"
		if is_caller "$2"; then
			secret "$r" "$(identity_secret "$2")" >"$d/identity_token"
		fi
		if [ -n "$3" ]; then secret "$r" "db_$3" >"$d/db_password"; fi
	)
	chown 0:0 "$d"/*
	chmod 0400 "$d"/*
}

# pg_base RUNDIR: the directory holding the cluster (data/, tls/, sock/,
# log/), owned by postgres. Normally RUNDIR/pg; but when the postgres user
# cannot traverse to RUNDIR (e.g. a RUNDIR under /root or a mktemp -d, both
# 0700), the cluster lives in /var/lib/crm-supply/<hash of RUNDIR>/pg and
# RUNDIR/pg is a symlink to it. The choice is made once and then kept.
pg_base() {
	local r="$1" h
	if [ -L "$r/pg" ]; then
		readlink -f "$r/pg"
	elif [ -d "$r/pg" ]; then
		printf '%s\n' "$r/pg"
	elif as_pg test -x "$r"; then
		printf '%s\n' "$r/pg"
	else
		h=$(printf '%s' "$r" | sha256sum | cut -c1-16)
		printf '%s\n' "/var/lib/crm-supply/$h/pg"
	fi
}

# admin_url RUNDIR: the admin DATABASE_URL (TLS, verified against our CA).
admin_url() {
	printf 'postgresql://crm_admin:%s@127.0.0.1:%s/crm_supply_db?sslmode=verify-full&sslrootcert=%s\n' \
	    "$(secret "$1" db_admin)" "$PG_PORT" "$1/pki/ca.pem"
}

# Optional tunables a service reads from the environment, passed on when set.
SERVICE_TUNABLES="RATE_LIMIT_RATE RATE_LIMIT_BURST RATE_LIMIT_SLOTS
 ORDER_FORWARD_DEADLINE_MS IDEMPOTENCY_TTL_S OUTBOX_INTERVAL_MS"

# service_env ETC NAME: sets the array SERVICE_ENV to the environment a
# service reads at start (KEY=value words; README "Configuration"), from
# its declaration (load_decl NAME first). ETC is /etc/crm as its master
# sees it before the chroot (secrets and data files are read then);
# CA_FILE and sslrootcert are paths inside its root.
service_env() {
	local v c f
	SERVICE_ENV=("CREDENTIALS_FILE=$1/secrets/credentials")
	if [ -n "$role" ]; then
		SERVICE_ENV+=(
		    "DB_CONNINFO=host=127.0.0.1 port=$PG_PORT dbname=crm_supply_db user=$role sslmode=verify-full sslrootcert=/etc/crm/tls/ca.pem"
		    "DB_PASSWORD_FILE=$1/secrets/db_password")
	fi
	if [ -n "$decl_calls" ]; then
		SERVICE_ENV+=("CA_FILE=/etc/crm/tls/ca.pem"
		    "IDENTITY_TOKEN_FILE=$1/secrets/identity_token")
	fi
	for c in $decl_calls; do
		SERVICE_ENV+=("$(load_decl "$c" && printf '%s_URL=https://127.0.0.1:%s' "$decl_stem" "$port")")
	done
	for f in $decl_data_env; do
		SERVICE_ENV+=("${f%%=*}=$1/${f#*=}")
	done
	for v in $SERVICE_TUNABLES; do
		if [ -n "${!v:-}" ]; then SERVICE_ENV+=("$v=${!v}"); fi
	done
	return 0
}

# await_start WHAT LOGFILE: waits up to 10 s for the caller's `healthy`,
# failing early when its `running` says the process is gone.
await_start() {
	local _
	for _ in $(seq 1 100); do
		healthy && return 0
		running || die "$1 exited at start; see $2"
		sleep 0.1
	done
	die "$1 did not answer within 10 s; see $2"
}

# stop_pidfile PIDFILE: SIGTERM to the process it names, SIGKILL after
# 10 s; removes the file.
stop_pidfile() {
	local pid
	if [ ! -f "$1" ] || ! alive "$(cat "$1")"; then
		rm -f "$1"
		return 0
	fi
	pid=$(cat "$1")
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 1 100); do
		alive "$pid" || { rm -f "$1"; return 0; }
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	rm -f "$1"
}
