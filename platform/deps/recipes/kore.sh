#!/bin/sh
# kore.sh - put Kore's pinned, unpatched source tree at $SYSROOT/src/kore.
# Kore's source package is not on the reachable archive; the kore .deb
# installs Kore's full (Debian-patched) source tree in /usr/share/kore, so
# its payload is our source. The Kore part of the build (platform/kore)
# copies this tree and applies our patches to the copy.
# Env (set by build-deps.sh): DEST, DLDIR, WORK, MANIFEST.
set -eu

deb=$(awk '$1 == "kore" && $3 == "deb" { print $4 }' "$MANIFEST")
[ -n "$deb" ] || { echo "kore: no kore deb in $MANIFEST"; exit 1; }
rm -rf "$WORK/kore-deb"
mkdir -p "$WORK/kore-deb" "$DEST/src"
dpkg-deb -x "$DLDIR/$deb" "$WORK/kore-deb"
[ -f "$WORK/kore-deb/usr/share/kore/Makefile" ] ||
    { echo "kore: $deb has no usr/share/kore/Makefile"; exit 1; }
mv "$WORK/kore-deb/usr/share/kore" "$DEST/src/kore"
echo "kore: $deb extracted to $DEST/src/kore"
