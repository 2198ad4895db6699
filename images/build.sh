#!/usr/bin/env bash
# images/build.sh OUT [NAME...] - the appliance images, built without a
# daemon (buildah bud), reproducibly: the same commit and the same
# executables give the same image digest.
#
# For each service NAME (default: every service of the one list,
# apps/*/service.decl), from the one images/Dockerfile with the facts of
# its declaration (platform/tools/service-decl):
#   OUT/NAME/ctx/rootfs/    the image's whole file tree, with fixed modes:
#                           the stripped executable, the default conf,
#                           passwd, group, ffdhe2048.pem and the files of
#                           its declaration's `data` (beside the conf in
#                           /etc/crm)
#   OUT/NAME/oci/           the image as an OCI layout (gzip layer), tag
#                           VERSION; what registry.sh push copies as is
#   OUT/NAME/sbom.json      CycloneDX 1.5 SBOM: every pinned source of
#                           platform/deps/manifest (name, version, sha256)
#   OUT/NAME/digest         the manifest digest (sha256:...)
#   OUT/NAME/version        the version tag
# and prints each image's compressed and uncompressed size; it fails when
# an image is over budget (3 MiB compressed, 7 MiB uncompressed).
#
# Environment: BIN_DIR (default build/musl/bin), IMAGE_SOURCE (the
# org.opencontainers.image.source label; default: git remote "origin").
#
# Version: `git describe --tags --always --dirty` (a tag such as v1.2.0
# once one exists, else the short commit; "-dirty" for uncommitted
# changes), "0.0.0" outside git. The created label is the commit time, and
# every timestamp in the image is the epoch (--timestamp 0), so nothing of
# the build time reaches the digest.
set -euo pipefail

IMAGES_DIR=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$IMAGES_DIR/.." && pwd)
BIN_DIR=${BIN_DIR:-$REPO/build/musl/bin}
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

for t in buildah skopeo strip python3; do
	command -v "$t" >/dev/null || die "missing $t (./build.sh packages)"
done

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

# stage NAME ROOT: the image's file tree, modes fixed (the owner is
# root:root in the layer whatever it is here; the mtime is --timestamp's).
stage() {
	local n=$1 r=$2 f
	rm -rf "$r"
	install -d -m 0755 "$r/etc/crm/tls" "$r/usr/bin"
	chmod 0755 "$r" "$r/etc" "$r/usr"
	strip -o "$r/usr/bin/$n" "$BIN_DIR/$n"
	chmod 0755 "$r/usr/bin/$n"
	install -m 0644 "$IMAGES_DIR/passwd" "$IMAGES_DIR/group" "$r/etc/"
	install -m 0644 "$IMAGES_DIR/ffdhe2048.pem" "$r/etc/crm/tls/"
	install -m 0644 "$REPO/conf/$n.conf" "$r/etc/crm/$n.conf"
	for f in ${DECL_data[$n]}; do
		install -m 0644 "$REPO/apps/$n/$f" "$r/etc/crm/$f"
	done
}

build_one() {
	local n=$1 d="$OUT/$1" ref id ctr
	[ -n "${DECL_name[$n]+set}" ] || die "no service $n (apps/*/service.decl)"
	[ -x "$BIN_DIR/$n" ] || die "no executable $BIN_DIR/$n (make services)"
	[ -f "$REPO/conf/$n.conf" ] || die "no conf/$n.conf"
	rm -rf "$d/ctx"
	stage "$n" "$d/ctx/rootfs"
	ref="localhost/crm-supply/$n:$VERSION"
	# One squashed layer, no build-host identity, no cache, epoch times.
	buildah bud --quiet --squash --no-cache --pull-never \
	    --timestamp 0 --identity-label=false --format oci \
	    --build-arg "NAME=$n" --build-arg "PORT=${DECL_port[$n]}" \
	    --build-arg "DESCRIPTION=${DECL_description[$n]}" \
	    --build-arg "VERSION=$VERSION" --build-arg "REVISION=$REVISION" \
	    --build-arg "CREATED=$CREATED" --build-arg "SOURCE=$SOURCE" \
	    --build-arg "LICENSES=$LICENSES" \
	    -f "$IMAGES_DIR/Dockerfile" -t "$ref.bud" "$d/ctx" >/dev/null
	# The entrypoint names the service (images/Dockerfile says why it is
	# set here); the commit keeps the one layer and the epoch times.
	ctr=$(buildah from --pull-never "$ref.bud")
	buildah config --entrypoint \
	    "[\"/usr/bin/$n\", \"-f\", \"-c\", \"/etc/crm/$n.conf\"]" "$ctr"
	buildah commit --quiet --squash --timestamp 0 --identity-label=false \
	    --format oci "$ctr" "$ref" >/dev/null
	buildah rm "$ctr" >/dev/null
	buildah rmi "$ref.bud" >/dev/null
	rm -rf "$d/oci"
	buildah push --quiet --compression-format gzip \
	    "$ref" "oci:$d/oci:$VERSION" >/dev/null
	id=$(buildah images --quiet --no-trunc "$ref")
	# The OCI layout is the artefact; keep no copy in buildah's storage.
	buildah rmi "$ref" >/dev/null
	python3 "$IMAGES_DIR/sizes.py" "$d/oci" "$VERSION" \
	    "$MAX_COMPRESSED" "$MAX_UNCOMPRESSED" "$n" >"$d/digest" || {
		rm -f "$d/digest"
		die "$n: image over budget"
	}
	printf '%s\n' "$VERSION" >"$d/version"
	python3 "$IMAGES_DIR/sbom.py" "$REPO/platform/deps/manifest" "$n" \
	    "$VERSION" "$REVISION" "$CREATED" "$(cat "$d/digest")" \
	    >"$d/sbom.json"
	printf '%s: %s (image id %s)\n' "$n:$VERSION" "$(cat "$d/digest")" \
	    "${id#sha256:}"
}

for n in $NAMES; do
	build_one "$n"
done
