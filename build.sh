#!/usr/bin/env bash
# build.sh - everything a newcomer needs, in one go (Debian 12, as root):
#   ./build.sh                      install build packages, build the musl
#                                   deps and the static services for amd64
#                                   and arm64, build the images (one index
#                                   of both a service), start the local
#                                   registry and push them signed, with
#                                   their SBOMs, start the stack (PostgreSQL
#                                   + services, pulled through the stack's
#                                   signature policy), smoke test
#   ./build.sh packages             only install the Debian packages needed
#   ./build.sh images               build the images (build/images), start
#                                   the registry, push them to it (signed,
#                                   SBOMs attached)
#   ./build.sh svc start|stop|kill NAME
#                                   one part of the stack; NAME is a service
#                                   or postgres (kill = SIGKILL of its master;
#                                   in a container that is its PID 1), or
#                                   registry; status NAME for a service
#   ./build.sh up | down            the whole stack (make up / make down)
# MODE=container (default): the services run as podman containers from the
# registry's images (platform/stack/container.sh); MODE=native: the same
# static executables run directly (platform/stack/service.sh). PostgreSQL
# runs on the host in both.
# Idempotent: a second run rebuilds nothing unchanged and restarts nothing
# that is healthy. Ports and paths: see README.md ("Configuration").
set -euo pipefail

REPO=$(cd "$(dirname "$0")" && pwd)
RUN=${RUN:-$REPO/run}
STACK=$REPO/platform/stack
BUILD=${BUILD:-$REPO/build}
BIN_DIR=${BIN_DIR:-$BUILD/musl/bin}	# the static executables (native runs)
export BUILD BIN_DIR
MODE=${MODE:-container}
case "$MODE" in
container)	RUNNER=$STACK/container.sh ;;
native)		RUNNER=$STACK/service.sh ;;
*)		echo "build.sh: MODE must be container or native" >&2; exit 2 ;;
esac
# The services: the one list, apps/*/service.decl (as in the Makefile);
# SERVICES="a b" limits images, up and down to those. Before the packages
# are in, python3 (which reads the list) may be missing: nothing needs the
# list until then.
service_list() { "$REPO/platform/tools/service-decl" list | tr '\n' ' '; }
if command -v python3 >/dev/null; then SERVICES=${SERVICES:-$(service_list)}; fi

# Build and test packages, all from Debian's archive. The :arm64 ones come
# through multiarch (dpkg --add-architecture arm64): musl's arm64 libc and
# the arm64 kernel headers for the cross build (platform/deps/arches);
# qemu-user-static and binfmt-support run arm64 executables in the tests.
PACKAGES="build-essential musl-tools musl-dev linux-libc-dev dpkg-dev
 gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu musl-dev:arm64
 linux-libc-dev:arm64 qemu-user-static binfmt-support gnupg
 pkg-config file curl openssl ca-certificates patch xz-utils bzip2
 git procps iproute2 debootstrap
 clang libclang-rt-14-dev testssl.sh
 bison flex perl python3 python3-pytest python3-yaml check
 libssl-dev libpq-dev libcurl4-openssl-dev libyajl-dev
 postgresql-15 postgresql-client-15
 wrk nginx haproxy
 buildah skopeo podman runc netavark golang-github-containers-common
 catatonit docker-registry
 nodejs npm"

say() { printf '==> %s\n' "$*"; }

# installed PKG: PKG is installed, or an installed package provides it (a
# nodejs that bundles npm provides npm and conflicts with Debian's).
installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null |
	    grep -q 'install ok installed' && return 0
	dpkg-query -W -f='${Status}\t${Provides}\n' 2>/dev/null |
	    awk -F'\t' -v p="$1" '$1 == "install ok installed" {
		n = split($2, a, /, */)
		for (i = 1; i <= n; i++) { sub(/ .*/, "", a[i]); if (a[i] == p) f = 1 }
	    } END { exit !f }'
}

packages() {
	local missing=() p
	for p in $PACKAGES; do
		installed "$p" || missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		[ "$(id -u)" -eq 0 ] || { echo "build.sh: run as root" >&2; exit 1; }
		dpkg --print-foreign-architectures | grep -qx arm64 ||
		    dpkg --add-architecture arm64
		say "installing ${missing[*]}"
		apt-get update -q
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		    --no-install-recommends "${missing[@]}"
		# Debian starts a default cluster on 5432; the stack never uses it.
	fi
	binfmt
}

# binfmt: arm64 executables run here under qemu-user-static (the tests of
# the arm64 images). Its binfmt_misc entry is the kernel's, not a package
# file: a machine without systemd (a container, a chroot) may not have it
# enabled after the install; enabling it is idempotent. Not fatal: the
# build does not need it, and the tests say so when it is missing.
binfmt() {
	grep -qx enabled /proc/sys/fs/binfmt_misc/qemu-aarch64 2>/dev/null &&
	    return 0
	[ "$(id -u)" -eq 0 ] &&
	    update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 && return 0
	say "warning: arm64 executables cannot run here (binfmt_misc:" \
	    "update-binfmts --enable qemu-aarch64 failed)"
}

build() {
	say "building deps (cached) and services (amd64, arm64)"
	make -C "$REPO" -j2 services-all
}

# The images (CONTRACT §7): built reproducibly into $BUILD/images, one index
# of linux/amd64 and linux/arm64 a service, pushed to the local registry as
# REGISTRY/NAME:<version> and :latest, signed with the stack's key (made by
# pki.sh with the other secrets), each platform's SBOM attached.
# shellcheck disable=SC2086  # SERVICES is a list of words
images() {
	say "building images"
	"$REPO/images/build.sh" "$BUILD/images" $SERVICES
	"$STACK/pki.sh" "$RUN"
	"$STACK/registry.sh" "$RUN" start
	"$STACK/registry.sh" "$RUN" push "$BUILD/images" $SERVICES
}

# have_bins: every service has its executable for every architecture
# (images can be built): BIN_DIR for amd64, $BUILD/musl-ARCH/bin for the
# others (apps/services.mk).
have_bins() {
	local s a
	for s in $SERVICES; do
		[ -x "$BIN_DIR/$s" ] || return 1
		for a in $(awk '!/^#/ && NF && $1 != "amd64" { print $1 }' \
		    "$REPO/platform/deps/arches"); do
			[ -x "$BUILD/musl-$a/bin/$s" ] || return 1
		done
	done
}

up() {
	local s
	"$STACK/pki.sh" "$RUN"
	"$STACK/postgres.sh" "$RUN" start
	"$STACK/migrate.sh" "$RUN"
	# Images of the current executables (reproducible: an unchanged
	# build pushes the same digests, and container.sh restarts only a
	# container whose image changed). Without executables, the registry's
	# images are run as they are.
	if [ "$MODE" = container ]; then
		"$STACK/registry.sh" "$RUN" start
		if have_bins; then images; fi
	fi
	for s in $SERVICES; do
		"$RUNNER" "$RUN" start "$s"
	done
	"$STACK/env.sh" "$RUN"
}

# Both modes are stopped: what runs may have been started in either.
down() {
	local s
	for s in $SERVICES; do
		if command -v podman >/dev/null; then
			"$STACK/container.sh" "$RUN" stop "$s"
		fi
		"$STACK/service.sh" "$RUN" stop "$s"
	done
	"$STACK/registry.sh" "$RUN" stop
	"$STACK/postgres.sh" "$RUN" stop
}

svc() {
	local cmd=${1:-} name=${2:-}
	case "$name" in
	postgres)
		case "$cmd" in
		start|stop|kill) "$STACK/postgres.sh" "$RUN" "$cmd" ;;
		*) echo "usage: build.sh svc start|stop|kill NAME" >&2; exit 2 ;;
		esac ;;
	registry)
		case "$cmd" in
		start|stop|status) "$STACK/registry.sh" "$RUN" "$cmd" ;;
		*) echo "usage: build.sh svc start|stop registry" >&2; exit 2 ;;
		esac ;;
	*)	case " $(service_list) " in
		*" $name "*) ;;
		*) echo "build.sh: unknown part '$name'" >&2; exit 2 ;;
		esac
		case "$cmd" in
		start|stop|kill|status) "$RUNNER" "$RUN" "$cmd" "$name" ;;
		*) echo "usage: build.sh svc start|stop|kill NAME" >&2; exit 2 ;;
		esac ;;
	esac
}

# One order through the running stack, as a user would place it
# (tests/smoke/order.sh), then where the stack's settings are.
smoke() {
	"$REPO/tests/smoke/order.sh" "$RUN/stack.env"
	say "stack is up; its settings are in $RUN/stack.env"
	grep -E '_URL=|^CA_CERT=|^REGISTRY=' "$RUN/stack.env" | grep -v DATABASE_URL
}

case "${1:-all}" in
all)		packages; SERVICES=${SERVICES:-$(service_list)}; build; up; smoke ;;
packages)	packages ;;
images)		images ;;
up)		up ;;
down)		down ;;
svc)		shift; svc "$@" ;;
*)		echo "usage: build.sh [packages|images|up|down|svc start|stop|kill NAME]" >&2
		exit 2 ;;
esac
