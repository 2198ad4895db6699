#!/bin/sh
# yajl.sh - yajl 2.1.0 (Debian source, with its security patches) as a
# static musl library, libyajl.a, plus its public headers in include/yajl.
# yajl's build is CMake; it is six C files and one generated header, so we
# compile them directly (same defines as its CMake release build).
# Env (set by build-deps.sh): SRC (the unpacked source, Debian's patches
# applied), DEST, CC, AR, RANLIB.
set -eu

cd "${SRC:?unpacked by build-deps.sh}"

# yajl_version.h from its template, with the version from CMakeLists.txt.
ver() { sed -n "s/^SET *( *YAJL_$1 *\([0-9]*\) *)/\1/p" CMakeLists.txt; }
major=$(ver MAJOR) minor=$(ver MINOR) micro=$(ver MICRO)
[ -n "$major" ] && [ -n "$minor" ] && [ -n "$micro" ] ||
    { echo "yajl: cannot read the version from CMakeLists.txt"; exit 1; }
mkdir -p build/yajl
sed -e "s/\${YAJL_MAJOR}/$major/" -e "s/\${YAJL_MINOR}/$minor/" \
    -e "s/\${YAJL_MICRO}/$micro/" src/api/yajl_version.h.cmake \
    > build/yajl/yajl_version.h
cp src/api/*.h build/yajl/

objs=
for f in src/*.c; do
	o="build/$(basename "$f" .c).o"
	$CC -std=c99 -O2 -Wall -DNDEBUG -DYAJL_BUILD -Ibuild -Isrc -c "$f" -o "$o"
	objs="$objs $o"
done
rm -f build/libyajl.a
# shellcheck disable=SC2086
"$AR" rcD build/libyajl.a $objs
"$RANLIB" -D build/libyajl.a

mkdir -p "$DEST/lib" "$DEST/include/yajl"
cp build/libyajl.a "$DEST/lib/libyajl.a"
cp build/yajl/*.h "$DEST/include/yajl/"
echo "yajl: $major.$minor.$micro installed"
