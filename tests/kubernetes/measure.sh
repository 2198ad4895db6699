#!/usr/bin/env bash
# tests/kubernetes/measure.sh STACK_ENV PREFIX [SECONDS] - the memory and CPU
# of a running container stack (containers PREFIX-NAME, cgroup v1 through
# podman's cgroupfs manager), idle and under an order flow, for sizing the
# Kubernetes requests and limits (docs/operations.md, "Kubernetes",
# "Resources"). Not part of `make test`: run it by hand on a quiet machine,
# under `flock /work/heavy.lock` where that lock is the rule.
#
# Per service: idle RSS (memory.stat rss + mapped_file), then the peak of
# memory.usage_in_bytes (memory.max_usage_in_bytes, reset first) and the
# mean CPU (cpuacct.usage) while wrk drives POST /orders at crm-api with 32
# and then 128 connections for SECONDS (default 20) each, on seeded
# customers and products (as tests/bench does). The stack's rate limits
# must be raised for the run (RATE_LIMIT_RATE/BURST), or most requests are
# 429s that cost nothing. Writes the table to stdout.
set -euo pipefail

[ $# -ge 2 ] || { echo "usage: measure.sh STACK_ENV PREFIX [SECONDS]" >&2; exit 2; }
# shellcheck disable=SC1090
. "$1"
PREFIX=$2
SECS=${3:-20}
REPO=$(cd "$(dirname "$0")/../.." && pwd)
export CONTAINERS_CONF=$REPO/images/containers.conf
NAMES=$("$REPO/platform/tools/service-decl" list)

cg() {	# cg NAME CONTROLLER: the container's cgroup folder
	local id
	id=$(podman inspect -f '{{.Id}}' "$PREFIX-$1")
	printf '/sys/fs/cgroup/%s/libpod_parent/libpod-%s\n' "$2" "$id"
}
rss_kib() {
	awk '$1 == "total_rss" || $1 == "total_mapped_file" { s += $2 }
	    END { printf "%d", s / 1024 }' "$(cg "$1" memory)/memory.stat"
}

psql "$DATABASE_URL" -qX -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
INSERT INTO inventory.products (product_id, quantity)
SELECT g::text, 1000000000 FROM generate_series(100000, 199999) g
ON CONFLICT (product_id) DO UPDATE SET quantity = excluded.quantity;
INSERT INTO crm.customers (id, name, email)
SELECT ('00000000-0000-4000-8000-' || lpad(g::text, 12, '0'))::uuid,
       'Bench Customer ' || g, 'bench-' || g || '@example.com'
FROM generate_series(1, 10000) g ON CONFLICT DO NOTHING;
SQL

declare -A idle
for n in $NAMES; do idle[$n]=$(rss_kib "$n"); done

for conns in 32 128; do
	declare -A cpu0
	for n in $NAMES; do
		echo 0 >"$(cg "$n" memory)/memory.max_usage_in_bytes"
		cpu0[$n]=$(cat "$(cg "$n" cpuacct)/cpuacct.usage")
	done
	t0=$(date +%s%N)
	out=$(BENCH_WRK_DIR=$REPO/tests/bench/wrk BENCH_TOKEN=$API_KEY \
	    wrk -t 2 -c "$conns" -d "${SECS}s" --timeout 5s \
	    -s "$REPO/tests/bench/wrk/order.lua" "$CRM_API_URL")
	t1=$(date +%s%N)
	reqs=$(printf '%s\n' "$out" | sed -n 's/.*"requests":\([0-9]*\).*/\1/p')
	st=$(printf '%s\n' "$out" | sed -n 's/.*"status":\([0-9]*\).*/\1/p')
	printf '\n%d connections, %d s: %s orders (%s answers >= 400)\n' \
	    "$conns" "$SECS" "$reqs" "$st"
	printf '%-20s %10s %14s %12s\n' service "idle RSS" "peak memory" "mean CPU"
	for n in $NAMES; do
		peak=$(( $(cat "$(cg "$n" memory)/memory.max_usage_in_bytes") / 1024 ))
		c1=$(cat "$(cg "$n" cpuacct)/cpuacct.usage")
		printf '%-20s %7d KiB %10d KiB %9d m\n' "$n" "${idle[$n]}" "$peak" \
		    $(( (c1 - cpu0[$n]) * 1000 / (t1 - t0) ))
	done
done
