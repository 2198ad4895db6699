#!/bin/sh
# kore.sh - put Kore's pinned, unpatched source tree at $SYSROOT/src/kore.
# Kore's source package is not on the reachable archive; the kore .deb
# installs Kore's full (Debian-patched) source tree in /usr/share/kore, so
# its payload is our source. The Kore part of the build (platform/kore)
# copies this tree and applies our patches to the copy.
# Env (set by build-deps.sh): SRC (the kore .deb's payload), DEST.
set -eu

[ -f "${SRC:?unpacked by build-deps.sh}/usr/share/kore/Makefile" ] ||
    { echo "kore: the kore .deb has no usr/share/kore/Makefile"; exit 1; }
mkdir -p "$DEST/src"
mv "$SRC/usr/share/kore" "$DEST/src/kore"
echo "kore: extracted to $DEST/src/kore"
