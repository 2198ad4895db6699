#!/usr/bin/env bash
# build.sh - everything a newcomer needs, in one go (Debian 12, as root):
#   ./build.sh                      install build packages, build the musl
#                                   deps and the static services, start the
#                                   stack (PostgreSQL + services), smoke test
#   ./build.sh packages             only install the Debian packages needed
#   ./build.sh svc start|stop|kill NAME
#                                   one part of the stack; NAME is a service
#                                   or postgres (kill = SIGKILL of its master)
#   ./build.sh up | down            the whole stack (make up / make down)
# Idempotent: a second run rebuilds nothing unchanged and restarts nothing
# that is healthy. Ports and paths: see README.md ("Configuration").
set -euo pipefail

REPO=$(cd "$(dirname "$0")" && pwd)
RUN=${RUN:-$REPO/run}
STACK=$REPO/platform/stack
# A service is a folder apps/NAME with its descriptor (as in the Makefile).
SERVICES=$(cd "$REPO/apps" && for d in */service.c; do
	[ -e "$d" ] && printf '%s ' "${d%/service.c}"; done)

# Build and test packages, all from Debian's archive.
PACKAGES="build-essential musl-tools musl-dev linux-libc-dev dpkg-dev
 pkg-config file curl openssl ca-certificates patch xz-utils bzip2
 bison flex perl python3 python3-pytest python3-yaml check
 libssl-dev libpq-dev libcurl4-openssl-dev libyajl-dev
 postgresql-15 postgresql-client-15"

say() { printf '==> %s\n' "$*"; }

packages() {
	local missing=() p
	for p in $PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		    grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	[ "$(id -u)" -eq 0 ] || { echo "build.sh: run as root" >&2; exit 1; }
	say "installing ${missing[*]}"
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	    --no-install-recommends "${missing[@]}"
	# Debian starts a default cluster on 5432; the stack never uses it.
}

build() {
	say "building deps (cached) and services"
	make -C "$REPO" -j2 services
}

up() {
	local s
	"$STACK/pki.sh" "$RUN"
	"$STACK/postgres.sh" "$RUN" start
	"$STACK/migrate.sh" "$RUN"
	for s in $SERVICES; do
		"$STACK/service.sh" "$RUN" start "$s"
	done
	"$STACK/env.sh" "$RUN"
}

down() {
	local s
	for s in $SERVICES; do
		"$STACK/service.sh" "$RUN" stop "$s"
	done
	"$STACK/postgres.sh" "$RUN" stop
}

svc() {
	local cmd=${1:-} name=${2:-}
	case "$name" in
	postgres)
		case "$cmd" in
		start|stop|kill) "$STACK/postgres.sh" "$RUN" "$cmd" ;;
		*) echo "usage: build.sh svc start|stop|kill NAME" >&2; exit 2 ;;
		esac ;;
	crm-api|order-service|inventory-service|logistics-service)
		case "$cmd" in
		start|stop|kill) "$STACK/service.sh" "$RUN" "$cmd" "$name" ;;
		*) echo "usage: build.sh svc start|stop|kill NAME" >&2; exit 2 ;;
		esac ;;
	*)	echo "build.sh: unknown part '$name'" >&2; exit 2 ;;
	esac
}

# One request through the running stack, as a user would make it.
smoke() {
	# shellcheck disable=SC1091
	. "$RUN/stack.env"
	local pid="SMOKE-1" auth="Authorization: Bearer $SERVICE_TOKEN"
	say "smoke: stock of $pid at inventory-service"
	curl -fsS --cacert "$CA_CERT" -H "$auth" \
	    -H 'Content-Type: application/json' -X PUT \
	    -d '{"quantity": 100}' "$INVENTORY_SERVICE_URL/inventory/$pid" >/dev/null
	curl -fsS --cacert "$CA_CERT" -H "$auth" \
	    "$INVENTORY_SERVICE_URL/inventory/$pid"
	echo
	say "stack is up; its settings are in $RUN/stack.env"
	grep -E '_URL=|^CA_CERT=' "$RUN/stack.env" | grep -v DATABASE_URL
}

case "${1:-all}" in
all)		packages; build; up; smoke ;;
packages)	packages ;;
up)		up ;;
down)		down ;;
svc)		shift; svc "$@" ;;
*)		echo "usage: build.sh [packages|up|down|svc start|stop|kill NAME]" >&2
		exit 2 ;;
esac
