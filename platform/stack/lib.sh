# shellcheck shell=bash
# shellcheck disable=SC2034  # variables for the scripts that source this file
# Helpers shared by the platform/stack scripts (sourced, never run).
# Everything here is about where the stack's run-time state lives and how
# secrets are made, so that every script agrees on it.

set -euo pipefail

# Debian's PostgreSQL 15, by absolute path: /usr/local/bin may hold another
# build, and the machine's default cluster (pg_ctlcluster) is never used.
PGBIN=/usr/lib/postgresql/15/bin
PG_PORT=${PG_PORT:-55432}
SERVICE_NAMES="crm-api order-service inventory-service logistics-service postgres"
# One secret per file in RUNDIR/secrets; db_* are PostgreSQL role passwords.
SECRET_NAMES="api_key service_token db_admin db_crm_api db_order_service db_inventory_service"
STACK_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$STACK_DIR/../.." && pwd)

die() { printf '%s: %s\n' "${0##*/}" "$*" >&2; exit 1; }
log() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }

need_root() { [ "$(id -u)" -eq 0 ] || die "must run as root (it drops to the postgres user itself)"; }

# alive PID: the process exists and is not a zombie. A daemon SIGKILLed
# after its parent exited is reparented to init; an init that reaps lazily
# (as on this machine) leaves a zombie that kill -0 still reports as alive.
alive() { [ -r "/proc/$1/stat" ] && [ "$(cut -d' ' -f3 "/proc/$1/stat")" != Z ]; }

# rundir DIR: create DIR if needed and print its absolute path (stack.env and
# the DATABASE_URL must carry absolute paths).
rundir() {
	[ -n "${1:-}" ] || die "usage: ${0##*/} RUNDIR ..."
	mkdir -p "$1"
	(cd "$1" && pwd -P)
}

# as_pg CMD...: run as the postgres OS user (the server refuses to run as
# root). cd / first: postgres cannot enter root's cwd, and initdb/pg_ctl
# complain about it.
as_pg() { (cd / && runuser -u postgres -- "$@"); }

# gen_secret: 32 random bytes, base64url without padding (safe in URLs,
# shell words and psql literals).
gen_secret() { openssl rand 32 | openssl base64 -A | tr '+/' '-_' | tr -d '='; }

# ensure_secrets RUNDIR: create the missing secrets once, 0600; never print.
ensure_secrets() {
	local d="$1/secrets" n
	(umask 077 && mkdir -p "$d")
	chmod 0700 "$d"
	for n in $SECRET_NAMES; do
		if [ ! -s "$d/$n" ]; then
			(umask 077 && gen_secret >"$d/$n.tmp" && mv "$d/$n.tmp" "$d/$n")
		fi
		chmod 0600 "$d/$n"
	done
}

secret() { [ -s "$1/secrets/$2" ] || die "missing secret $1/secrets/$2 (run pki.sh)"; cat "$1/secrets/$2"; }

# pg_base RUNDIR: the directory holding the cluster (data/, tls/, sock/,
# log/), owned by postgres. Normally RUNDIR/pg; but when the postgres user
# cannot traverse to RUNDIR (e.g. a RUNDIR under /root or a mktemp -d, both
# 0700), the cluster lives in /var/lib/crm-supply/<hash of RUNDIR>/pg and
# RUNDIR/pg is a symlink to it. The choice is made once and then kept.
pg_base() {
	local r="$1" h
	if [ -L "$r/pg" ]; then
		readlink -f "$r/pg"
	elif [ -d "$r/pg" ]; then
		printf '%s\n' "$r/pg"
	elif as_pg test -x "$r"; then
		printf '%s\n' "$r/pg"
	else
		h=$(printf '%s' "$r" | sha256sum | cut -c1-16)
		printf '%s\n' "/var/lib/crm-supply/$h/pg"
	fi
}

# admin_url RUNDIR: the admin DATABASE_URL (TLS, verified against our CA).
admin_url() {
	printf 'postgresql://crm_admin:%s@127.0.0.1:%s/crm_supply_db?sslmode=verify-full&sslrootcert=%s\n' \
	    "$(secret "$1" db_admin)" "$PG_PORT" "$1/pki/ca.pem"
}
