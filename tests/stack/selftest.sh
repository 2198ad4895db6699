#!/usr/bin/env bash
# selftest.sh RUNDIR
#
# End-to-end check of platform/stack's pieces against a real cluster:
# pki (twice) -> postgres start (twice) -> migrate (a stack as it was before
# the newest migration, then brought up to date; again: a no-op; an edited
# applied migration is refused) -> privileges of inventory_service over TLS
# verify-full, its stock rules -> no plain TCP -> crash (kill) and recovery
# -> stop. Exits non-zero when a check failed (`make stack-selftest`, part
# of `make integration`).
# Uses PG_PORT=${SELFTEST_PG_PORT:-55433} so it never disturbs a running stack.
# Use a throw-away RUNDIR: it gets its own CA, secrets and cluster, and the
# cluster is deleted at the end (postgres.sh destroy).

# ok() always succeeds, so "A && ok || bad" is a safe if-then-else here.
# shellcheck disable=SC2015
# shellcheck source=SCRIPTDIR/../../platform/stack/lib.sh
. "$(dirname "$0")/../../platform/stack/lib.sh"

R=$(rundir "${1:-}")
export PG_PORT=${SELFTEST_PG_PORT:-55433}
S=$STACK_DIR
fails=0

ok() { printf 'ok   %s\n' "$*"; }
bad() { printf 'FAIL %s\n' "$*"; fails=$((fails + 1)); }

# The cluster is throw-away too; when RUNDIR is not reachable by postgres
# it lives outside it, in /var/lib/crm-supply, and would outlive rm -rf.
cleanup() { "$S/postgres.sh" "$R" destroy || true; }
trap cleanup EXIT

if ss -ltn "sport = :$PG_PORT" | grep -q LISTEN && ! "$S/postgres.sh" "$R" status; then
	die "port $PG_PORT is taken by something else (set SELFTEST_PG_PORT)"
fi

# as ROLE SQL: run SQL as ROLE over TCP, TLS verified against our CA.
# Connection details go by environment (no password on a command line).
as() {
	local role=$1 pw=db_$1
	[ "$role" = crm_admin ] && pw=db_admin
	PGHOST=127.0.0.1 PGPORT=$PG_PORT PGDATABASE=crm_supply_db PGUSER=$role \
	    PGPASSWORD=$(secret "$R" "$pw") PGSSLMODE=verify-full \
	    PGSSLROOTCERT="$R/pki/ca.pem" PGCONNECT_TIMEOUT=5 \
	    "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -c "$2" 2>&1
}
# allowed DESC ROLE SQL / denied DESC ROLE PATTERN SQL
allowed() {
	local out
	if out=$(as "$2" "$3"); then ok "$1"; else bad "$1: $out"; fi
}
denied() {
	local out
	if out=$(as "$2" "$4"); then
		bad "$1: succeeded"
	elif grep -q -- "$3" <<<"$out"; then
		ok "$1"
	else
		bad "$1: unexpected error: $out"
	fi
}

# --- pki ----------------------------------------------------------------
"$S/pki.sh" "$R"
before=$(cat "$R"/pki/*.pem "$R"/secrets/* | sha256sum)
"$S/pki.sh" "$R" 2>/dev/null
[ "$(cat "$R"/pki/*.pem "$R"/secrets/* | sha256sum)" = "$before" ] &&
    ok "pki.sh twice keeps certificates and secrets" || bad "pki.sh rewrote files"
for n in $SERVICE_NAMES; do
	openssl verify -CAfile "$R/pki/ca.pem" "$R/pki/$n.pem" >/dev/null ||
	    bad "$n.pem does not verify"
done
[ "$(stat -c %a "$R/pki/postgres.key")" = 600 ] && [ "$(stat -c %a "$R/secrets/api_key")" = 600 ] &&
    ok "key and secret modes 0600" || bad "key or secret mode"

# --- postgres -------------------------------------------------------------
"$S/postgres.sh" "$R" start
"$S/postgres.sh" "$R" start
"$S/postgres.sh" "$R" status && ok "postgres up, start is idempotent" || bad "postgres not up"

# --- migrations --------------------------------------------------------------
# A stack migrated before the newest migration existed is brought up to date
# by applying that one alone.
oldsql=$(mktemp -d)
cp -r "$REPO_DIR/sql/." "$oldsql/"
newest=$(find "$oldsql/migrations" -name '*.sql' | sort | tail -n 1)
rm "$newest"
CRM_SQL_DIR=$oldsql "$S/migrate.sh" "$R"
rm -rf "$oldsql"
out=$("$S/migrate.sh" "$R" 2>&1)
grep -q "applying ${newest##*/}" <<<"$out" && grep -q '1 migration(s) applied' <<<"$out" &&
    ok "an older stack gets the newest migration alone" || bad "upgrade: $out"
m1=$(as crm_admin "SELECT string_agg(version || ':' || applied_at, ',') FROM public.schema_migrations")
out=$("$S/migrate.sh" "$R" 2>&1)
m2=$(as crm_admin "SELECT string_agg(version || ':' || applied_at, ',') FROM public.schema_migrations")
[ "$m1" = "$m2" ] && grep -q '0 migration(s) applied' <<<"$out" &&
    ok "second migrate is a no-op" || bad "second migrate changed something: $out"
tmpsql=$(mktemp -d)
cp -r "$REPO_DIR/sql/." "$tmpsql/"
echo "-- edited" >>"$tmpsql/migrations/0002_inventory.sql"
if out=$(CRM_SQL_DIR=$tmpsql "$S/migrate.sh" "$R" 2>&1); then
	bad "an edited applied migration was accepted"
else
	grep -q 'was changed after it was applied' <<<"$out" &&
	    ok "an edited applied migration is refused" || bad "edited migration: $out"
fi
rm -rf "$tmpsql"

# --- privileges of inventory_service ------------------------------------------------
as crm_admin "DELETE FROM inventory.products WHERE product_id = 'SELFTEST-1';
    CREATE TABLE IF NOT EXISTS crm.selftest_probe (x int);
    CREATE TABLE IF NOT EXISTS orders.selftest_probe (x int)" >/dev/null
allowed "inventory_service may INSERT products" inventory_service \
    "INSERT INTO inventory.products (product_id, quantity) VALUES ('SELFTEST-1', 5)"
allowed "inventory_service may UPDATE products" inventory_service \
    "UPDATE inventory.products SET quantity = 7, version = version + 1 WHERE product_id = 'SELFTEST-1'"
[ "$(as inventory_service "SELECT quantity FROM products WHERE product_id = 'SELFTEST-1'")" = 7 ] &&
    ok "inventory_service may SELECT products (search_path = inventory)" || bad "SELECT products"
denied "inventory_service may not DELETE products" inventory_service "permission denied" \
    "DELETE FROM inventory.products WHERE product_id = 'SELFTEST-1'"
denied "CHECK keeps quantity >= 0" inventory_service "violates check constraint" \
    "UPDATE inventory.products SET quantity = -1 WHERE product_id = 'SELFTEST-1'"
denied "inventory_service may not CREATE TABLE in inventory" inventory_service "permission denied" \
    "CREATE TABLE inventory.evil (x int)"
denied "inventory_service may not CREATE TABLE in public" inventory_service "permission denied" \
    "CREATE TABLE public.evil (x int)"
denied "inventory_service may not CREATE TEMP TABLE" inventory_service "permission denied" \
    "CREATE TEMP TABLE evil (x int)"
denied "inventory_service may not read crm" inventory_service "permission denied for schema crm" \
    "SELECT * FROM crm.selftest_probe"
denied "inventory_service may not read orders" inventory_service "permission denied for schema orders" \
    "SELECT * FROM orders.selftest_probe"
denied "inventory_service may not read schema_migrations" inventory_service "permission denied" \
    "SELECT * FROM public.schema_migrations"
denied "inventory_service may not connect to postgres db" inventory_service "permission denied for database" \
    "\\c postgres"
denied "crm_api may not read inventory" crm_api "permission denied for schema inventory" \
    "SELECT * FROM inventory.products"
as crm_admin "DROP TABLE crm.selftest_probe, orders.selftest_probe" >/dev/null

# --- inventory's rules, as inventory_service calls them -----------------------
as crm_admin "DELETE FROM inventory.reservation_items WHERE product_id = 'SELFTEST-2';
    DELETE FROM inventory.products WHERE product_id = 'SELFTEST-2';
    INSERT INTO inventory.products (product_id, quantity) VALUES ('SELFTEST-2', 5)" >/dev/null
rid=$(cat /proc/sys/kernel/random/uuid)
reserve() { as inventory_service "SELECT outcome, status, quantity, available FROM reserve('$1', ARRAY['SELFTEST-2'], ARRAY[$2::bigint])"; }
settle() { as inventory_service "SELECT outcome, status FROM settle('$1', $2)"; }
[ "$(reserve "$rid" 3)" = "created|reserved|3|" ] &&
    [ "$(reserve "$rid" 3)" = "replayed|reserved|3|" ] &&
    ok "reserve, and its replay" || bad "reserve: $(reserve "$rid" 3)"
short=$(cat /proc/sys/kernel/random/uuid)
[ "$(reserve "$short" 9)" = "insufficient_stock|rejected|9|2" ] &&
    ok "a reservation beyond the stock is refused, with what was available" ||
    bad "insufficient stock: $(reserve "$short" 9)"
[ "$(settle "$rid" true)" = "ok|committed" ] && [ "$(settle "$rid" true)" = "ok|committed" ] &&
    [ "$(settle "$rid" false)" = "conflict|committed" ] && [ "$(settle "$short" false)" = "ok|rejected" ] &&
    ok "settle: commit (twice), no release after it, a refused one releases as a no-op" ||
    bad "settle: $(settle "$rid" true)"
[ "$(as inventory_service "SELECT quantity || ' ' || reserved || ' ' || committed FROM products WHERE product_id = 'SELFTEST-2'")" = "2 0 3" ] &&
    ok "the stock moved once" || bad "stock after reserve and commit"

# --- transport ---------------------------------------------------------------------
if out=$(PGPASSWORD=$(secret "$R" db_inventory_service) "$PGBIN/psql" -X -At \
    "host=127.0.0.1 port=$PG_PORT dbname=crm_supply_db user=inventory_service sslmode=disable connect_timeout=5" \
    -c "SELECT 1" 2>&1); then
	bad "plain TCP connection accepted"
else
	grep -q 'no encryption' <<<"$out" && ok "plain TCP is refused" || bad "plain TCP: $out"
fi
if out=$(PGPASSWORD=wrong "$PGBIN/psql" -X -At \
    "host=127.0.0.1 port=$PG_PORT dbname=crm_supply_db user=inventory_service sslmode=require connect_timeout=5" \
    -c "SELECT 1" 2>&1); then
	bad "wrong password accepted"
else
	grep -q 'password authentication failed' <<<"$out" && ok "wrong password is refused" || bad "wrong password: $out"
fi
[ "$(as inventory_service "SELECT version || ' ' || cipher FROM pg_stat_ssl WHERE pid = pg_backend_pid()")" = \
    "TLSv1.3 TLS_AES_256_GCM_SHA384" ] && ok "TLS 1.3, verify-full against the CA" || bad "TLS parameters"
[ "$("$S/postgres.sh" "$R" url | cut -d@ -f2)" = \
    "127.0.0.1:$PG_PORT/crm_supply_db?sslmode=verify-full&sslrootcert=$R/pki/ca.pem" ] &&
    ok "url" || bad "url"

# --- crash and recovery --------------------------------------------------------------
"$S/postgres.sh" "$R" kill
if "$S/postgres.sh" "$R" status; then bad "still up after kill"; else ok "kill stops the server"; fi
"$S/postgres.sh" "$R" start
[ "$(as inventory_service "SELECT quantity FROM products WHERE product_id = 'SELFTEST-1'")" = 7 ] &&
    ok "restart after kill recovers committed data" || bad "data lost after kill"

"$S/postgres.sh" "$R" stop
if "$S/postgres.sh" "$R" status; then bad "still up after stop"; else ok "stop"; fi

[ "$fails" -eq 0 ] || die "$fails check(s) failed"
echo "selftest: all checks passed"
