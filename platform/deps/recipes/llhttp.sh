#!/bin/sh
# llhttp.sh - llhttp (the HTTP/1.1 parser of Node.js, strict by default) as a
# static musl library, libllhttp.a, with its header llhttp.h. Debian's
# node-llhttp .deb carries the C sources generated from llhttp's TypeScript
# (usr/share/llhttp/*.c, usr/share/include/llhttp/llhttp.h): three C files,
# compiled directly. The sources also go to src/llhttp, from which the
# host (ASan) variant of Kore compiles the same parser for the unit tests.
# Env (set by build-deps.sh): SRC (the node-llhttp .deb's payload), DEST,
# CC, AR, RANLIB.
set -eu

x="${SRC:?unpacked by build-deps.sh}"
mkdir -p "$DEST/lib" "$DEST/include" "$DEST/src/llhttp"
src="$x/usr/share/llhttp"
hdr="$x/usr/share/include/llhttp/llhttp.h"
for f in api.c http.c llhttp.c; do
	[ -f "$src/$f" ] || { echo "llhttp: the .deb has no usr/share/llhttp/$f"; exit 1; }
done
[ -f "$hdr" ] || { echo "llhttp: the .deb has no llhttp.h"; exit 1; }

cp "$src/api.c" "$src/http.c" "$src/llhttp.c" "$hdr" "$DEST/src/llhttp/"
objs=
for f in api http llhttp; do
	$CC -std=c99 -O2 -Wall -fstack-protector-strong -I"$DEST/src/llhttp" \
	    -c "$DEST/src/llhttp/$f.c" -o "$x/$f.o"
	objs="$objs $x/$f.o"
done
# shellcheck disable=SC2086
"$AR" rcD "$DEST/lib/libllhttp.a" $objs
"$RANLIB" -D "$DEST/lib/libllhttp.a"
cp "$hdr" "$DEST/include/llhttp.h"
echo "llhttp: built"
