#!/bin/sh
# build-deps.sh SYSROOT DLDIR [ARCH] - build the pinned third-party libraries
# into the musl sysroot SYSROOT for the architecture ARCH (default amd64; a
# line of platform/deps/arches) (called by `make deps`, see deps.mk).
#
# fetch (platform/deps/fetch.sh, verifies every pinned sha256) -> unpack
# (here, the package a recipe names) -> build, one recipe per library in
# recipes/, each in its unpacked tree (SRC), each logging to its own file.
# The libraries are configured with --prefix=SYSROOT but installed into a
# staging tree; only when every recipe has succeeded is SYSROOT/.done
# written and the staged tree renamed to SYSROOT in one step, so an
# interrupted or failed build never looks complete. A lock serialises
# concurrent builds of the same SYSROOT. Both cores are used: yajl, Kore,
# llhttp and the headers build while OpenSSL does; libpq and curl (which need
# OpenSSL) build side by side afterwards.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
sysroot=${1:?usage: build-deps.sh SYSROOT DLDIR [ARCH]}
dl=${2:?usage: build-deps.sh SYSROOT DLDIR [ARCH]}
arch=${3:-amd64}
case "$sysroot" in /*) ;; *) sysroot="$(pwd)/$sysroot" ;; esac
case "$dl" in /*) ;; *) dl="$(pwd)/$dl" ;; esac
[ -f "$sysroot/.done" ] && exit 0

# The architecture's line of the table: the compiler and its flags, the
# target's binutils, OpenSSL's target and configure's --host ('-': not a
# cross build). CC is a command with its flags (as MUSL_CC in deps.mk).
row=$(awk -v a="$arch" '$1 == a' "$here/arches")
[ -n "$row" ] || { echo "build-deps: no architecture '$arch' in $here/arches" >&2; exit 1; }
# shellcheck disable=SC2086
set -- $row
GNU=$2 CC=$4 OPENSSL_TARGET=$6 HOST=$7
[ "$5" = - ] || CC="$CC $5"
[ "$HOST" = - ] && HOST=
AR=$GNU-ar
RANLIB=$GNU-ranlib

for tool in "${CC%% *}" "$AR" "$RANLIB" dpkg-source dpkg-deb dpkg-parsechangelog \
    perl make flock; do
	command -v "$tool" >/dev/null 2>&1 || {
		echo "build-deps: '$tool' not found (./build.sh packages: musl-tools" \
		    "musl-dev:arm64 gcc-aarch64-linux-gnu dpkg-dev build-essential" \
		    "perl util-linux)" >&2; exit 1; }
done

mkdir -p "$(dirname "$sysroot")"
exec 9>"$sysroot.lock"
flock 9
[ -f "$sysroot/.done" ] && exit 0	# built by whoever held the lock

sh "$here/fetch.sh" "$dl"

stage="$sysroot.stage"
work="$sysroot.work"
rm -rf "$stage" "$work"
mkdir -p "$stage$sysroot" "$work/logs"

MANIFEST="$here/manifest"
DESTDIR="$stage"
DEST="$stage$sysroot"
SYSROOT="$sysroot"
DLDIR="$dl"
WORK="$work"
# Reproducible archives and no locale-dependent tool output.
LC_ALL=C
TZ=UTC
export MANIFEST DESTDIR DEST SYSROOT DLDIR WORK CC AR RANLIB GNU \
    OPENSSL_TARGET HOST LC_ALL TZ
unset CFLAGS CPPFLAGS LDFLAGS LIBS MAKEFLAGS MFLAGS MAKELEVEL || true

pids=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# unpack NAME [PACKAGE]: the pinned files of PACKAGE (manifest) into
# $work/NAME, exported as the recipe's SRC (empty without PACKAGE): a
# source package's .dsc through dpkg-source (Debian's patches applied), a
# .deb's payload through dpkg-deb. Explicit returns: it runs in an if's
# condition, where set -e does not apply.
unpack() {
	SRC=
	export SRC
	[ -n "${2:-}" ] || return 0
	SRC="$work/$1"
	rm -rf "$SRC" || return 1
	f=$(awk -v p="$2" '$1 == p && ($4 ~ /\.dsc$/ || $3 == "deb") {
	    n++; f = $4 } END { if (n == 1) print f }' "$MANIFEST") || return 1
	case "$f" in
	*.dsc)	dpkg-source --no-check -x "$DLDIR/$f" "$SRC" || return 1 ;;
	*.deb)	{ mkdir -p "$SRC" && dpkg-deb -x "$DLDIR/$f" "$SRC"; } ||
		    return 1 ;;
	*)	echo "deps: no single .dsc or .deb of $2 in $MANIFEST"
		return 1 ;;
	esac
	echo "$1: $f unpacked in $SRC"
}

# run NAME JOBS [PACKAGE]: one recipe, in SRC (PACKAGE unpacked) if one is
# named, its output in $work/logs/NAME.log; on failure the recipe name and
# the log's tail.
run() {
	log="$work/logs/$1.log"
	start=$(date +%s)
	if (unpack "$1" "${3:-}" && JOBS=$2 exec sh "$here/recipes/$1.sh") \
	    >"$log" 2>&1; then
		echo "deps: $1 done ($(( $(date +%s) - start ))s)"
		return 0
	fi
	echo "deps: recipe $1 FAILED; last lines of $log:" >&2
	tail -n 40 "$log" >&2
	return 1
}

# wait_all: wait for every background recipe, fail if any failed.
wait_all() {
	rc=0
	for p in $pids; do wait "$p" || rc=1; done
	pids=
	return $rc
}

echo "deps: building $sysroot for $arch (logs in $work/logs)"
run kernel-headers 1
run openssl 2 openssl & pids="$!"
run yajl 1 yajl && run kore 1 kore && run llhttp 1 node-llhttp &&
    run mimalloc 1 mimalloc || { wait_all || true; exit 1; }
wait_all
run libpq 1 postgresql-15 & pids="$!"
run curl 1 curl & pids="$pids $!"
wait_all

: > "$DEST/.done"
# A SYSROOT without .done is never complete (we only ever rename a finished
# tree into place); replace it.
rm -rf "$sysroot"
mv "$DEST" "$sysroot"
rm -rf "$stage" "$work"
echo "deps: sysroot ready: $sysroot"
