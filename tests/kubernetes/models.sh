#!/usr/bin/env bash
# tests/kubernetes/models.sh - prints the node_modules folder holding the
# pinned npm package kubernetes-models (package.json, package-lock.json
# here), installing it first when missing: `npm ci` from the lock into
# $CRM_CACHE/npm-<sha256 of the lock> (default /var/cache/crm-supply), outside
# the clone, so that every clone and CI run with the same lock reuses it.
# Once installed it needs no network (the validation runs offline).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${CRM_CACHE:-/var/cache/crm-supply}
die() { printf 'models.sh: %s\n' "$*" >&2; exit 1; }

for t in node npm sha256sum flock; do
	command -v "$t" >/dev/null || die "missing $t (./build.sh packages)"
done
key=$(cat "$HERE/package.json" "$HERE/package-lock.json" | sha256sum | cut -c1-16)
dir=$CACHE/npm-$key
if [ ! -f "$dir/.complete" ]; then
	mkdir -p "$CACHE"
	exec 9>"$dir.lock"
	flock 9
	if [ ! -f "$dir/.complete" ]; then
		rm -rf "$dir" "$dir.tmp"
		mkdir -p "$dir.tmp"
		cp "$HERE/package.json" "$HERE/package-lock.json" "$dir.tmp/"
		# No install scripts: the packages are data and plain JavaScript.
		# npm trusts the system's CA store (ca-certificates, with any
		# local CA an operator added), as apt and curl do; its own
		# bundle would refuse a registry behind a site's TLS proxy.
		ca=()
		if [ -z "${npm_config_cafile:-}" ] &&
		    [ -s /etc/ssl/certs/ca-certificates.crt ]; then
			ca=(--cafile /etc/ssl/certs/ca-certificates.crt)
		fi
		(cd "$dir.tmp" && npm ci --ignore-scripts --no-audit --no-fund \
		    --loglevel=error "${ca[@]}" >&2) ||
		    die "npm ci failed (the npm registry unreachable?)"
		touch "$dir.tmp/.complete"
		mv "$dir.tmp" "$dir"
	fi
fi
printf '%s\n' "$dir/node_modules"
