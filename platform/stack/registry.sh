#!/usr/bin/env bash
# registry.sh RUNDIR start|stop|status      the local image registry
# registry.sh RUNDIR push IMAGES [NAME...]  push built images to it
#
# start: CNCF distribution (Debian's docker-registry) with the project's
# config images/registry.yml, on $REGISTRY (default 127.0.0.1:5000), data
# in RUNDIR/registry/data, log in RUNDIR/logs/registry.log. It runs as the
# docker-registry user when that user can reach RUNDIR, else as root.
# push: IMAGES is images/build.sh's output folder; each IMAGES/NAME/oci is
# copied unchanged (same manifest digest) as REGISTRY/NAME:<version> and
# REGISTRY/NAME:latest. Plain HTTP on loopback: --tls-verify=false.
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"

usage() { die "usage: registry.sh RUNDIR start|stop|status | push IMAGES [NAME...]"; }
[ $# -ge 2 ] || usage
RUN=$(rundir "$1"); cmd=$2
shift 2
REGISTRY=${REGISTRY:-127.0.0.1:5000}
pidfile=$RUN/registry/registry.pid
logfile=$RUN/logs/registry.log

running() { [ -f "$pidfile" ] && alive "$(cat "$pidfile")"; }

healthy() {
	curl -fsS --max-time 2 "http://$REGISTRY/v2/" >/dev/null 2>&1
}

start() {
	local user=root
	if running && healthy; then
		return 0
	fi
	running && stop
	command -v docker-registry >/dev/null ||
	    die "missing docker-registry (./build.sh packages)"
	healthy && die "something else answers on $REGISTRY"
	mkdir -p "$RUN/registry/data" "$RUN/logs"
	if id docker-registry >/dev/null 2>&1 &&
	    runuser -u docker-registry -- test -x "$RUN/registry"; then
		user=docker-registry
		chown -R docker-registry: "$RUN/registry/data"
	fi
	# A clean environment: the config file plus the two per-run values.
	setsid env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
	    REGISTRY_HTTP_ADDR="$REGISTRY" \
	    REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY="$RUN/registry/data" \
	    runuser -u "$user" -- docker-registry serve "$REPO_DIR/images/registry.yml" \
	    >>"$logfile" 2>&1 </dev/null &
	echo $! >"$pidfile"
	await_start "registry on $REGISTRY" "$logfile"
}

stop() { stop_pidfile "$pidfile"; }

# push IMAGES [NAME...]: every built image, or the NAMEs.
push() {
	local out=${1:-} n v d names
	[ -d "$out" ] || usage
	shift
	names=${*:-$(cd "$out" && for d in */oci; do
		[ -d "$d" ] && printf '%s ' "${d%/oci}"; done)}
	[ -n "$names" ] || die "no images in $out (images/build.sh)"
	healthy || die "no registry on $REGISTRY (registry.sh RUNDIR start)"
	for n in $names; do
		d=$out/$n
		if [ ! -s "$d/version" ] || [ ! -d "$d/oci" ]; then
			die "$n: not built in $out"
		fi
		v=$(cat "$d/version")
		for t in "$v" latest; do
			skopeo copy --quiet --dest-tls-verify=false \
			    "oci:$d/oci:$v" "docker://$REGISTRY/$n:$t"
		done
		log "pushed $REGISTRY/$n:$v and :latest ($(cat "$d/digest"))"
	done
}

case "$cmd" in
start)	start ;;
stop)	stop ;;
status)	running && healthy ;;
push)	push "$@" ;;
*)	usage ;;
esac
