#!/usr/bin/env bash
# registry.sh RUNDIR start|stop|status      the local image registry
# registry.sh RUNDIR push IMAGES [NAME...]  push built images to it
#
# start: CNCF distribution (Debian's docker-registry) with the project's
# config images/registry.yml, on $REGISTRY (default 127.0.0.1:5000), data
# in RUNDIR/registry/data, log in RUNDIR/logs/registry.log. It runs as the
# docker-registry user when that user can reach RUNDIR, else as root.
# push: IMAGES is images/build.sh's output folder; each IMAGES/NAME/oci (an
# image index of one image per platform) is copied unchanged (same digests)
# as REGISTRY/NAME:<version> and REGISTRY/NAME:latest, every manifest of it
# signed with the stack's key (RUNDIR/signing, made by pki.sh: GPG simple
# signing, the signatures in RUNDIR/registry/signatures; lib.sh says more),
# and each platform's SBOM (IMAGES/NAME/sbom-ARCH.json) attached to that
# platform's image as an OCI artifact (images/attach.py). An image already
# there under both tags, signed by this key, is left alone (RUNDIR/registry/
# pushed/NAME remembers what was pushed): a second push changes nothing.
# Plain HTTP on loopback: --tls-verify=false.
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
	# setpriv execs the registry as the user (runuser would stay its
	# parent, and the pidfile would name runuser: once that goes, the
	# registry still answers but `running` no longer sees it).
	setsid env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
	    REGISTRY_HTTP_ADDR="$REGISTRY" \
	    REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY="$RUN/registry/data" \
	    setpriv --reuid "$user" --regid "$user" --init-groups -- \
	    docker-registry serve "$REPO_DIR/images/registry.yml" \
	    >>"$logfile" 2>&1 </dev/null &
	echo $! >"$pidfile"
	await_start "registry on $REGISTRY" "$logfile"
}

stop() { stop_pidfile "$pidfile"; }

# tag_digest NAME TAG: the digest REGISTRY/NAME:TAG names (empty: none).
tag_digest() {
	curl -fsSI --max-time 5 \
	    -H 'Accept: application/vnd.oci.image.index.v1+json' \
	    -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
	    "http://$REGISTRY/v2/$1/manifests/$2" 2>/dev/null |
	    tr -d '\r' | awk 'tolower($1) == "docker-content-digest:" { print $2 }'
}

# pushed NAME VERSION DIGEST FPR: both tags name DIGEST, signed by FPR's key
# with the SBOMs attached (the stamp), and its signature is in the store.
pushed() {
	[ "$(cat "$RUN/registry/pushed/$1" 2>/dev/null)" = "$3 $4" ] &&
	    [ -s "$RUN/registry/signatures/$1@${3/:/=}/signature-2" ] &&
	    [ "$(tag_digest "$1" "$2")" = "$3" ] &&
	    [ "$(tag_digest "$1" latest)" = "$3" ]
}

# push IMAGES [NAME...]: every built image, or the NAMEs.
push() {
	local out=${1:-} n v d a m digest fpr names
	[ -d "$out" ] || usage
	shift
	names=${*:-$(cd "$out" && for d in */oci; do
		[ -d "$d" ] && printf '%s ' "${d%/oci}"; done)}
	[ -n "$names" ] || die "no images in $out (images/build.sh)"
	healthy || die "no registry on $REGISTRY (registry.sh RUNDIR start)"
	fpr=$(signing_fpr "$RUN")
	[ -n "$fpr" ] || die "no image signing key in $RUN/signing (pki.sh $RUN)"
	image_trust "$RUN"
	mkdir -p "$RUN/registry/pushed"
	local sign=(--quiet --all --preserve-digests --dest-tls-verify=false
	    --registries.d "$RUN/signing/registries.d" --sign-by "$fpr")
	for n in $names; do
		d=$out/$n
		if [ ! -s "$d/version" ] || [ ! -s "$d/digest" ] ||
		    [ ! -d "$d/oci" ]; then
			die "$n: not built in $out"
		fi
		v=$(cat "$d/version") digest=$(cat "$d/digest")
		if pushed "$n" "$v" "$digest" "$fpr"; then
			log "$REGISTRY/$n:$v and :latest are $digest already (signed, SBOMs attached)"
			continue
		fi
		rm -f "$RUN/registry/pushed/$n"
		# From the build's own layout (no policy applies to it)...
		GNUPGHOME=$RUN/signing/gnupg skopeo copy "${sign[@]}" \
		    --insecure-policy "oci:$d/oci:$v" "docker://$REGISTRY/$n:$v"
		# ...then :latest from :version, through the stack's policy (the
		# signatures just made are checked, and come along: the store has
		# one folder per manifest, and a copy from the layout would
		# replace the :version signatures with the :latest ones).
		GNUPGHOME=$RUN/signing/gnupg skopeo copy "${sign[@]}" \
		    --src-tls-verify=false --policy "$RUN/signing/policy.json" \
		    "docker://$REGISTRY/$n:$v" "docker://$REGISTRY/$n:latest"
		while read -r a m; do
			python3 "$REPO_DIR/images/attach.py" "$REGISTRY" "$n" \
			    "$d/oci/blobs/sha256/${m#sha256:}" \
			    application/vnd.cyclonedx+json "$d/sbom-$a.json" >/dev/null
		done <"$d/manifests"
		printf '%s %s\n' "$digest" "$fpr" >"$RUN/registry/pushed/$n"
		log "pushed $REGISTRY/$n:$v and :latest ($digest: $(awk '{ printf "%s%s", s, $1; s = ", " }' "$d/manifests"), signed, SBOMs attached)"
	done
	gpg_done "$RUN"
}

case "$cmd" in
start)	start ;;
stop)	stop ;;
status)	running && healthy ;;
push)	push "$@" ;;
*)	usage ;;
esac
