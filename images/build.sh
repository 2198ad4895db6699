#!/usr/bin/env bash
# images/build.sh OUT [NAME...] - the appliance images, built without a
# daemon (buildah bud), reproducibly: the same commit and the same
# executables give the same image digests.
#
# For each service NAME (default: every service of the one list,
# apps/*/service.decl), one image per architecture ARCH of
# platform/deps/arches (amd64, arm64), from the one images/Dockerfile with
# the facts of its declaration (platform/tools/service-decl), joined into
# one OCI image index:
#   OUT/NAME/ctx/ARCH/rootfs/  the image's whole file tree, with fixed
#                           modes: the stripped executable of ARCH, the
#                           default conf, passwd, group, ffdhe2048.pem and
#                           the files of its declaration's `data` (beside
#                           the conf in /etc/crm)
#   OUT/NAME/oci/           the OCI layout (gzip layers): tag VERSION is the
#                           image index of linux/amd64 and linux/arm64
#                           (images/index.py); what registry.sh push copies
#                           as is, signing it
#   OUT/NAME/sbom-ARCH.json the CycloneDX 1.5 SBOM of the ARCH image
#                           (images/sbom.py): every pinned source package,
#                           our code at its commit, the image's files;
#                           registry.sh push attaches it to the ARCH image
#   OUT/NAME/digest         the index digest (sha256:..., what the tags name)
#   OUT/NAME/manifests      "ARCH DIGEST" of each platform's image manifest
#   OUT/NAME/version        the version tag
# and prints each platform image's compressed and uncompressed size; it
# fails when one is over budget (3 MiB compressed, 7 MiB uncompressed, per
# platform image).
#
# Environment: BUILD (default build: the executables of ARCH are in
# BUILD/musl/bin for amd64 and BUILD/musl-ARCH/bin for the others, as
# `make services-all` puts them), BIN_DIR_<ARCH> (another folder for one
# architecture's executables; BIN_DIR is BIN_DIR_amd64's old name),
# IMAGE_SOURCE (the org.opencontainers.image.source label; default: git
# remote "origin").
#
# Version: `git describe --tags --always --dirty` (a tag such as v1.2.0
# once one exists, else the short commit; "-dirty" for uncommitted
# changes), "0.0.0" outside git. The created label is the commit time, and
# every timestamp in the image is the epoch (--timestamp 0), so nothing of
# the build time reaches the digest.
set -euo pipefail

IMAGES_DIR=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$IMAGES_DIR/.." && pwd)
BUILD=${BUILD:-$REPO/build}
MAX_COMPRESSED=$((3 * 1024 * 1024))
MAX_UNCOMPRESSED=$((7 * 1024 * 1024))
# What the image carries: our code (no licence file yet, hence a ref),
# Kore and yajl (ISC), OpenSSL 3 (Apache-2.0), libpq (PostgreSQL), libcurl
# (curl), musl (MIT).
LICENSES="LicenseRef-crm-supply AND ISC AND Apache-2.0 AND PostgreSQL AND curl AND MIT"

die() { printf 'images/build.sh: %s\n' "$*" >&2; exit 1; }

[ $# -ge 1 ] || die "usage: images/build.sh OUT [NAME...]"
mkdir -p "$1"
OUT=$(cd "$1" && pwd)
shift
# The declarations: DECL_<fact>[NAME] (platform/tools/service-decl).
decls=$("$REPO/platform/tools/service-decl" bash) ||
    die "bad service declarations"
eval "$decls"
NAMES=${*:-$SERVICES_DECLARED}

# The architectures and their binutils' triplet (platform/deps/arches).
declare -A GNU
ARCHES=
while read -r a g _; do
	case "$a" in ''|'#'*) continue ;; esac
	GNU[$a]=$g
	ARCHES+=" $a"
done <"$REPO/platform/deps/arches"

for t in buildah skopeo python3; do
	command -v "$t" >/dev/null || die "missing $t (./build.sh packages)"
done
for a in $ARCHES; do
	command -v "${GNU[$a]}-strip" >/dev/null ||
	    die "missing ${GNU[$a]}-strip (./build.sh packages)"
done

# bin_dir ARCH: where the executables of ARCH are.
bin_dir() {
	local v=BIN_DIR_$1
	if [ -n "${!v:-}" ]; then
		printf '%s\n' "${!v}"
	elif [ "$1" = amd64 ] && [ -n "${BIN_DIR:-}" ]; then
		printf '%s\n' "$BIN_DIR"
	elif [ "$1" = amd64 ]; then
		printf '%s\n' "$BUILD/musl/bin"
	else
		printf '%s\n' "$BUILD/musl-$1/bin"
	fi
}

# Git without taking optional locks: the tree may be in use.
git_() { GIT_OPTIONAL_LOCKS=0 git -C "$REPO" "$@" 2>/dev/null; }
if git_ rev-parse --verify -q HEAD >/dev/null; then
	VERSION=$(git_ describe --tags --always --dirty)
	REVISION=$(git_ rev-parse HEAD)
	CREATED=$(TZ=UTC git_ log -1 --format=%cd \
	    --date=format-local:%Y-%m-%dT%H:%M:%SZ)
	SOURCE=${IMAGE_SOURCE:-$(git_ remote get-url origin || echo crm-supply)}
else
	VERSION=0.0.0 REVISION=unknown CREATED=1970-01-01T00:00:00Z
	SOURCE=${IMAGE_SOURCE:-crm-supply}
fi

# stage NAME ARCH ROOT: the image's file tree, modes fixed (the owner is
# root:root in the layer whatever it is here; the mtime is --timestamp's).
stage() {
	local n=$1 a=$2 r=$3 f
	rm -rf "$r"
	install -d -m 0755 "$r/etc/crm/tls" "$r/usr/bin"
	chmod 0755 "$r" "$r/etc" "$r/usr"
	"${GNU[$a]}-strip" -o "$r/usr/bin/$n" "$(bin_dir "$a")/$n"
	chmod 0755 "$r/usr/bin/$n"
	install -m 0644 "$IMAGES_DIR/passwd" "$IMAGES_DIR/group" "$r/etc/"
	install -m 0644 "$IMAGES_DIR/ffdhe2048.pem" "$r/etc/crm/tls/"
	install -m 0644 "$REPO/conf/$n.conf" "$r/etc/crm/$n.conf"
	for f in ${DECL_data[$n]}; do
		install -m 0644 "$REPO/apps/$n/$f" "$r/etc/crm/$f"
	done
}

# build_arch NAME ARCH: the linux/ARCH image of NAME, tagged VERSION-ARCH in
# OUT/NAME/oci (images/index.py joins them).
build_arch() {
	local n=$1 a=$2 d="$OUT/$1" ref ctr
	[ -x "$(bin_dir "$a")/$n" ] ||
	    die "no executable $(bin_dir "$a")/$n (make services-all)"
	stage "$n" "$a" "$d/ctx/$a/rootfs"
	ref="localhost/crm-supply/$n:$VERSION-$a"
	# One squashed layer, no build-host identity, no cache, epoch times.
	# FROM scratch with COPY only: nothing runs, so another architecture
	# needs no emulation.
	buildah bud --quiet --squash --no-cache --pull-never \
	    --timestamp 0 --identity-label=false --format oci \
	    --platform "linux/$a" \
	    --build-arg "NAME=$n" --build-arg "PORT=${DECL_port[$n]}" \
	    --build-arg "DESCRIPTION=${DECL_description[$n]}" \
	    --build-arg "VERSION=$VERSION" --build-arg "REVISION=$REVISION" \
	    --build-arg "CREATED=$CREATED" --build-arg "SOURCE=$SOURCE" \
	    --build-arg "LICENSES=$LICENSES" \
	    -f "$IMAGES_DIR/Dockerfile" -t "$ref.bud" "$d/ctx/$a" >/dev/null
	# The entrypoint names the service (images/Dockerfile says why it is
	# set here); the commit keeps the one layer, the epoch times and the
	# platform. (buildah from warns that the platform is not the
	# machine's: nothing of the image runs here.)
	ctr=$(buildah from --pull-never "$ref.bud" 2>/dev/null)
	buildah config --entrypoint \
	    "[\"/usr/bin/$n\", \"-f\", \"-c\", \"/etc/crm/$n.conf\"]" "$ctr"
	buildah commit --quiet --squash --timestamp 0 --identity-label=false \
	    --format oci "$ctr" "$ref" >/dev/null
	buildah rm "$ctr" >/dev/null
	buildah rmi "$ref.bud" >/dev/null
	buildah push --quiet --compression-format gzip \
	    "$ref" "oci:$d/oci:$VERSION-$a" >/dev/null
	# The OCI layout is the artefact; keep no copy in buildah's storage.
	buildah rmi "$ref" >/dev/null
}

build_one() {
	local n=$1 d="$OUT/$1" a digests
	[ -n "${DECL_name[$n]+set}" ] || die "no service $n (apps/*/service.decl)"
	[ -f "$REPO/conf/$n.conf" ] || die "no conf/$n.conf"
	rm -rf "$d/ctx" "$d/oci" "$d"/sbom-*.json "$d/digest" "$d/manifests"
	for a in $ARCHES; do
		build_arch "$n" "$a"
	done
	# shellcheck disable=SC2086  # ARCHES is a list of words
	digests=$(python3 "$IMAGES_DIR/index.py" "$d/oci" "$VERSION" $ARCHES) ||
	    die "$n: cannot make the image index"
	python3 "$IMAGES_DIR/sizes.py" "$d/oci" "$VERSION" \
	    "$MAX_COMPRESSED" "$MAX_UNCOMPRESSED" "$n" ||
	    die "$n: image over budget"
	printf '%s\n' "$digests" | tail -n +2 >"$d/manifests"
	while read -r a m; do
		python3 "$IMAGES_DIR/sbom.py" --oci "$d/oci" --digest "$m" \
		    --arch "$a" --name "$n" --version "$VERSION" \
		    --revision "$REVISION" --created "$CREATED" \
		    --source "$SOURCE" >"$d/sbom-$a.json"
	done <"$d/manifests"
	printf '%s\n' "$VERSION" >"$d/version"
	# Written last: a digest file means a complete image.
	printf '%s\n' "$digests" | head -n 1 >"$d/digest"
	printf '%s: %s (index of %s)\n' "$n:$VERSION" "$(cat "$d/digest")" \
	    "$(awk '{ printf "%s%s", s, $1; s = ", " }' "$d/manifests")"
}

for n in $NAMES; do
	build_one "$n"
done
