#!/usr/bin/env bash
# container.sh RUNDIR start|stop|kill|status NAME - one service of the stack
# run as a container (MODE=container, the default) from its image in the
# local registry, with podman. Same interface as service.sh.
#
# Image: $REGISTRY/NAME:$IMAGE_TAG (defaults 127.0.0.1:5000, latest), pulled
# at each start (plain HTTP on loopback: --tls-verify=false) through the
# stack's own signature policy (RUNDIR/signing/policy.json and registries.d,
# from images/policy.json and images/registries.d: lib.sh, image_trust):
# only an image signed by the stack's key for exactly this name is taken;
# an unsigned, tampered or re-tagged one is refused and nothing starts. The
# pull is skopeo's into podman's storage (podman pull cannot be pointed at a
# registries.d of the project; skopeo can, and verifies the same way). When
# the registry is down, the copy podman already holds (verified when it was
# pulled) is used. start leaves a healthy container alone unless the tag now
# names another image.
#
# Podman settings come from images/containers.conf (CONTAINERS_CONF): runc,
# netavark, cgroupfs, explicit ulimits. The machine's podman configuration
# is not read and not changed.
#
# The container (named crm-supply-NAME, or $CONTAINER_PREFIX-NAME):
#   --network host          PostgreSQL on 127.0.0.1:$PG_PORT and the other
#                           services on 127.0.0.1:<port> are reached as in a
#                           native run; the service binds 127.0.0.1 only
#   --read-only             root fs read-only, no tmpfs either
#   --cap-drop all          plus what Kore's privilege separation needs
#                           (CONTRACT §7's "baseline" profile): SETUID,
#                           SETGID (drop to crm / crm-keys), SYS_CHROOT
#                           (chroot of workers and key manager); no KILL:
#                           the master passes signals on to its children as
#                           messages (signals-by-message.patch)
#   no-new-privileges, --memory, --pids-limit, --ulimit nofile/nproc
# Mounted read-only, as single files (the image keeps /etc/crm/tls/
# ffdhe2048.pem):
#   RUNDIR/ctr/NAME/NAME.conf -> /etc/crm/NAME.conf   the operator's
#                                     RUNDIR/conf/NAME.conf if it exists,
#                                     else the default conf/NAME.conf; its
#                                     bind line set to 127.0.0.1 <port>
#   RUNDIR/ctr/NAME/tls/{cert,key,ca}.pem -> /etc/crm/tls/   key.pem 0400,
#                                     owned by crm-keys (uid 10002)
#   RUNDIR/ctr/NAME/secrets/ -> /etc/crm/secrets/     credentials (the
#                                     digests it accepts), identity_token (a
#                                     caller's own), the DB password; 0400
#                                     root: read by the master at start
# Log: RUNDIR/logs/NAME.log (podman's k8s-file format; `podman logs`).
# CTR_USER=UID:GID runs it in CONTRACT §7's "restricted" profile instead:
# as that user (no passwd entry needed; GID 0 too, OpenShift's way), with
# no capability at all; key.pem and the secrets are then root-owned with
# group GID, 0440 (their folder 0750), as Kubernetes' fsGroup would give
# them; the service starts without chroot and uid switch by itself.
# Environment: CTR_CAPS (the list above), CTR_MEMORY (256m), CTR_PIDS (64),
# CTR_CPU_SHARES (1024 x the conf's workers), CTR_NOFILE (8192),
# CTR_NPROC (512), the port variables of platform/stack/lib.sh, and
# INSTANCE, INSTANCE_PORT for one replica of several (as in service.sh).
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"

CRM_KEYS_UID=10002	# key manager: `keymgr_runas crm-keys` in the image

usage() { die "usage: container.sh RUNDIR start|stop|kill|status NAME"; }
[ $# -eq 3 ] || usage
RUN=$(rundir "$1"); cmd=$2; name=$3

load_decl "$name" || usage

export CONTAINERS_CONF=$REPO_DIR/images/containers.conf
REGISTRY=${REGISTRY:-127.0.0.1:5000}
image=$REGISTRY/$name:${IMAGE_TAG:-latest}
# A replica (INSTANCE=N): its own container, folder and log, listening on
# INSTANCE_PORT (as in service.sh).
id=$name${INSTANCE:+.$INSTANCE}
port=${INSTANCE_PORT:-$port}
cname=${CONTAINER_PREFIX:-crm-supply}-$id
dir=$RUN/ctr/$id
logfile=$RUN/logs/$id.log

command -v podman >/dev/null || die "missing podman (./build.sh packages)"

# The profile: baseline (root, three capabilities) unless CTR_USER is set.
ctr_group=
profile_args=(--cap-drop all --cap-add "${CTR_CAPS:-SETUID,SETGID,SYS_CHROOT}")
if [ -n "${CTR_USER:-}" ]; then
	[[ $CTR_USER =~ ^[0-9]+:[0-9]+$ ]] ||
	    die "CTR_USER must be UID:GID, numeric"
	ctr_group=${CTR_USER#*:}
	[ "${CTR_USER%%:*}" != 0 ] || die "CTR_USER: uid 0 is the baseline profile"
	profile_args=(--user "$CTR_USER" --cap-drop all)
fi

layout() {
	local conf="$RUN/conf/$name.conf"
	[ -f "$conf" ] || conf="$REPO_DIR/conf/$name.conf"
	[ -f "$conf" ] || die "no $conf"
	mkdir -p "$dir/tls" "$RUN/logs"
	# Copies written in place (cat >), so that a rotation seen by a
	# running container is a rewrite of the same inode (docs/operations.md).
	put() { touch "$2"; chown "$3" "$2"; chmod "$4" "$2"; cat "$1" >"$2"; }
	put "$RUN/pki/$name.pem" "$dir/tls/cert.pem" 0:0 0644
	put "$RUN/pki/ca.pem" "$dir/tls/ca.pem" 0:0 0644
	# Digests of what it accepts, its own identity, its DB password:
	# never SERVICE_TOKEN or an API key (least privilege).
	service_secrets "$RUN" "$name" "$role" "$dir/secrets"
	if [ -n "$ctr_group" ]; then
		# Restricted: readable through the group, as with an fsGroup.
		put "$RUN/pki/$name.key" "$dir/tls/key.pem" "0:$ctr_group" 0440
		chgrp -R "$ctr_group" "$dir/secrets"
		chmod 0750 "$dir/secrets"
		chmod 0440 "$dir/secrets"/*
	else
		put "$RUN/pki/$name.key" "$dir/tls/key.pem" "$CRM_KEYS_UID:$CRM_KEYS_UID" 0400
	fi
	# The config, listening on loopback only (host network).
	sed -e "s|^\([[:space:]]*bind[[:space:]]\).*|\1127.0.0.1 $port|" \
	    "$conf" >"$dir/$name.conf"
	chmod 0644 "$dir/$name.conf"
}

running() {
	[ "$(podman container inspect -f '{{.State.Running}}' "$cname" 2>/dev/null)" = true ]
}

healthy() {
	curl -fsS --max-time 2 --cacert "$RUN/pki/ca.pem" \
	    "https://127.0.0.1:$port/healthz" >/dev/null 2>&1
}

# pull: the image, verified by the stack's signature policy (see above).
pull() {
	local out
	if ! curl -fsS --max-time 2 "http://$REGISTRY/v2/" >/dev/null 2>&1; then
		podman image exists "$image" ||
		    die "cannot pull $image (registry.sh start; ./build.sh images)"
		log "registry unreachable; using the local copy of $image"
		return 0
	fi
	[ -s "$RUN/signing/image-signing.gpg" ] ||
	    die "no image signing key in $RUN/signing (pki.sh $RUN)"
	image_trust "$RUN"
	if ! out=$(skopeo copy --quiet --src-tls-verify=false \
	    --policy "$RUN/signing/policy.json" \
	    --registries.d "$RUN/signing/registries.d" \
	    "docker://$image" "containers-storage:$image" 2>&1); then
		die "refused to pull $image: $(printf '%s\n' "$out" |
		    sed -n 's/.*level=fatal msg="\(.*\)"$/\1/p' | tail -n 1)" \
		    "(signature policy $RUN/signing/policy.json: an image of" \
		    "this registry runs only when the stack's key signed it for" \
		    "this name)"
	fi
}

start() {
	local e=/etc/crm args=() f old workers
	pull
	# Healthy and from the image the tag names now: nothing to do.
	if running && healthy && [ "$(podman container inspect -f '{{.Image}}' "$cname")" = \
	    "$(podman image inspect -f '{{.Id}}' "$image")" ]; then
		return 0
	fi
	[ -s "$RUN/pki/$name.pem" ] || die "no $RUN/pki/$name.pem (pki.sh)"
	layout
	args+=(-v "$dir/$name.conf:$e/$name.conf:ro")
	# CPU weight: a container is one scheduling group, and a group's
	# default weight (1024) is that of ONE process outside it. The service
	# keeps `workers` processes busy, so it weighs 1024 per worker, as
	# the same service run natively would (docs/performance.md).
	workers=$(awk '$1 == "workers" { print $2 }' "$dir/$name.conf")
	case $workers in
	''|*[!0-9]*) workers=$(nproc) ;;	# Kore's default: one per CPU
	esac
	args+=(--cpu-shares "${CTR_CPU_SHARES:-$((1024 * workers))}")
	for f in cert key ca; do
		args+=(-v "$dir/tls/$f.pem:$e/tls/$f.pem:ro")
	done
	args+=(-v "$dir/secrets:$e/secrets:ro")
	service_env "$e" "$name"
	for f in "${SERVICE_ENV[@]}"; do
		args+=(--env "$f")
	done
	old=$(podman container inspect -f '{{.Image}}' "$cname" 2>/dev/null || true)
	podman rm --force --ignore "$cname" >/dev/null
	podman run --detach --name "$cname" --pull never \
	    --label "io.crm-supply.run=$RUN" \
	    --network host \
	    --read-only --read-only-tmpfs=false \
	    "${profile_args[@]}" \
	    --security-opt no-new-privileges \
	    --memory "${CTR_MEMORY:-256m}" --memory-swap "${CTR_MEMORY:-256m}" \
	    --pids-limit "${CTR_PIDS:-64}" \
	    --ulimit "nofile=${CTR_NOFILE:-8192}:${CTR_NOFILE:-8192}" \
	    --ulimit "nproc=${CTR_NPROC:-512}:${CTR_NPROC:-512}" \
	    --log-driver k8s-file --log-opt "path=$logfile" \
	    "${args[@]}" "$image" >/dev/null
	# The image it ran before, once no tag names it any more.
	if [ -n "$old" ] && [ "$(podman image inspect -f '{{len .RepoTags}}' "$old" 2>/dev/null)" = 0 ]; then
		podman rmi "$old" >/dev/null 2>&1 || true
	fi
	await_start "$id" "$logfile"
}

stop() {
	podman container exists "$cname" || return 0
	# SIGTERM to the master (PID 1): it drains (the conf's drain_delay
	# and drain_timeout, 6 s by default); SIGKILL after 10 s.
	podman stop --time 10 "$cname" >/dev/null 2>&1 || true
	podman rm --force --ignore "$cname" >/dev/null
}

case "$cmd" in
start)	start ;;
stop)	stop ;;
kill)	if running; then
		podman kill --signal KILL "$cname" >/dev/null
	fi ;;
status)	running && healthy ;;
*)	usage ;;
esac
