#!/usr/bin/env bash
# service.sh RUNDIR start|stop|kill|status NAME - one service of the stack
# run natively (MODE=native): the same static executable and default config
# as in the image, with the image's file layout recreated in a per-service
# folder that becomes the chroot of its workers and key manager.
#
#   RUNDIR/svc/NAME/etc/crm/NAME.conf    conf/NAME.conf with root, keymgr_root,
#                                       bind and tls_dhparam set for this run
#   RUNDIR/svc/NAME/etc/crm/tls/         cert.pem, key.pem (key manager only),
#                                       ca.pem, ffdhe2048.pem
#   RUNDIR/svc/NAME/etc/crm/secrets/     credentials (digests), its identity
#                                       token, the DB password, read by the
#                                       parent before it forks
#   RUNDIR/logs/NAME.log                 the service's JSON log lines
# Environment: BIN_DIR (default build/musl/bin), the port variables of
# platform/stack/lib.sh; INSTANCE and INSTANCE_PORT for one replica of
# several (RUNDIR/svc/NAME.INSTANCE, RUNDIR/logs/NAME.INSTANCE.log);
# CONF_EXTRA, settings ("name value" lines) appended to the conf for this
# start (a later setting wins: e.g. smaller pools for a test). The service
# gets the other services' URLs (*_URL) and CA_FILE, the CA it verifies
# them with (a path in its chroot).
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"

CRM_UID=10001		# workers: `runas crm` in conf/*.conf and the images
CRM_KEYS_UID=10002	# key manager: `keymgr_runas crm-keys`

usage() { die "usage: service.sh RUNDIR start|stop|kill|status NAME"; }
[ $# -eq 3 ] || usage
RUN=$(rundir "$1"); cmd=$2; name=$3
BIN_DIR=${BIN_DIR:-$REPO_DIR/build/musl/bin}

load_decl "$name" || usage

# A replica (INSTANCE=N, several of one service behind a load balancer)
# has its own folder, log and pidfile, and listens on INSTANCE_PORT; NAME's
# port (lib.sh load_decl) stays where the others reach the service.
id=$name${INSTANCE:+.$INSTANCE}
port=${INSTANCE_PORT:-$port}
root=$RUN/svc/$id
pidfile=$RUN/svc/$id.pid
logfile=$RUN/logs/$id.log

# The unprivileged users Kore drops to, with the images' uids.
ensure_users() {
	getent group crm >/dev/null || groupadd -r -g "$CRM_UID" crm
	getent passwd crm >/dev/null ||
	    useradd -r -u "$CRM_UID" -g crm -d / -s /usr/sbin/nologin crm
	getent group crm-keys >/dev/null || groupadd -r -g "$CRM_KEYS_UID" crm-keys
	getent passwd crm-keys >/dev/null ||
	    useradd -r -u "$CRM_KEYS_UID" -g crm-keys -d / -s /usr/sbin/nologin crm-keys
}

layout() {
	local e="$root/etc/crm" conf f
	mkdir -p "$e/tls" "$RUN/logs"
	install -m 0644 "$RUN/pki/$name.pem" "$e/tls/cert.pem"
	install -m 0400 -o crm-keys "$RUN/pki/$name.key" "$e/tls/key.pem"
	install -m 0644 "$RUN/pki/ca.pem" "$e/tls/ca.pem"
	install -m 0644 "$RUN/pki/ffdhe2048.pem" "$e/tls/ffdhe2048.pem"
	service_secrets "$RUN" "$name" "$role" "$e/secrets"
	# Its data files, as in the image (read by its parent at start).
	for f in $decl_data; do
		install -m 0644 "$REPO_DIR/apps/$name/$f" "$e/$f"
	done
	conf="$REPO_DIR/conf/$name.conf"
	[ -f "$conf" ] || die "no $conf"
	sed -e "s|^root[[:space:]].*|root		$root|" \
	    -e "s|^keymgr_root[[:space:]].*|keymgr_root	$root|" \
	    -e "s|^\([[:space:]]*bind[[:space:]]\).*|\1127.0.0.1 $port|" \
	    -e "s|^tls_dhparam[[:space:]].*|tls_dhparam	$e/tls/ffdhe2048.pem|" \
	    "$conf" >"$e/$name.conf"
	if [ -n "${CONF_EXTRA:-}" ]; then
		printf '%s\n' "$CONF_EXTRA" >>"$e/$name.conf"
	fi
}

running() { [ -f "$pidfile" ] && alive "$(cat "$pidfile")"; }

healthy() {
	curl -fsS --max-time 2 --cacert "$RUN/pki/ca.pem" \
	    "https://127.0.0.1:$port/healthz" >/dev/null 2>&1
}

start() {
	local e="$root/etc/crm"
	if running && healthy; then
		return 0
	fi
	running && stop
	[ -x "$BIN_DIR/$name" ] || die "no executable $BIN_DIR/$name (make services)"
	ensure_users
	layout
	# A clean environment: only what the service is documented to read
	# (lib.sh service_env, the same as in a container).
	service_env "$e" "$name"
	# Started in its own folder: Kore writes its kore.pid there.
	(cd "$root" && exec setsid env -i PATH=/nonexistent \
	    "${SERVICE_ENV[@]}" "$BIN_DIR/$name" -f -c "$e/$name.conf" \
	    >>"$logfile" 2>&1 </dev/null) &
	echo $! >"$pidfile"
	await_start "$id" "$logfile"
}

# SIGTERM: the service drains (its conf's drain_delay and drain_timeout,
# 6 s by default) well within stop_pidfile's 10 s before SIGKILL.
stop() { stop_pidfile "$pidfile"; }

case "$cmd" in
start)	start ;;
stop)	stop ;;
kill)	if running; then kill -KILL "$(cat "$pidfile")"; fi; rm -f "$pidfile" ;;
status)	running && healthy ;;
*)	usage ;;
esac
