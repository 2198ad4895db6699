#!/bin/sh
# fetch.sh DLDIR - download every file named in platform/deps/manifest into
# DLDIR and verify it against the pinned sha256. Uses a project-local apt
# configuration (its own deb-src list and lists dir), so the machine's apt
# setup is neither needed nor changed. A mismatch stops with a clear message.
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
manifest="$top/platform/deps/manifest"
dl=${1:?usage: fetch.sh DLDIR}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org}

mkdir -p "$dl/apt/lists/partial" "$dl/apt/cache/archives/partial"
cat > "$dl/apt/sources.list" <<EOT
deb-src $mirror/debian bookworm main
deb-src $mirror/debian bookworm-updates main
deb-src $mirror/debian-security bookworm-security main
deb [arch=amd64] $mirror/debian bookworm main
deb [arch=amd64] $mirror/debian bookworm-updates main
deb [arch=amd64] $mirror/debian-security bookworm-security main
EOT
apt_opts="-o Dir::Etc::SourceList=$dl/apt/sources.list \
 -o Dir::Etc::SourceParts=/dev/null -o Dir::State::Lists=$dl/apt/lists \
 -o Dir::Cache=$dl/apt/cache -o APT::Sandbox::User=root"

verify() {	# verify FILE SHA256 -> 0 when it matches
	[ -f "$dl/$1" ] && echo "$2  $dl/$1" | sha256sum -c --status
}

need=0
while read -r pkg ver kind file sum; do
	case "$pkg" in ''|'#'*) continue ;; esac
	verify "$file" "$sum" || need=1
done < "$manifest"
[ "$need" = 0 ] && exit 0

# shellcheck disable=SC2086
apt-get -q $apt_opts update >/dev/null

grep -v '^#' "$manifest" | awk 'NF == 5 { print $1, $2, $3 }' | sort -u |
while read -r pkg ver kind; do
	case "$kind" in
	src)	(cd "$dl" && apt-get -q $apt_opts source --download-only \
		    "$pkg=$ver" >/dev/null) ;;
	deb)	(cd "$dl" && apt-get -q $apt_opts download "$pkg=$ver" \
		    >/dev/null) ;;
	*)	echo "fetch.sh: unknown kind '$kind' for $pkg" >&2; exit 1 ;;
	esac
done

while read -r pkg ver kind file sum; do
	case "$pkg" in ''|'#'*) continue ;; esac
	if ! verify "$file" "$sum"; then
		echo "fetch.sh: $file of $pkg $ver does not match the pinned" \
		    "sha256 $sum in platform/deps/manifest; refusing to build" >&2
		exit 1
	fi
done < "$manifest"
echo "fetch.sh: all pinned sources verified in $dl"
