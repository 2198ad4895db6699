#!/usr/bin/env bash
# migrate.sh RUNDIR
#
# Brings crm_supply_db up to date, as crm_admin over TLS (verify-full):
#   1. creates the database if it is missing;
#   2. runs sql/roles.sql (service roles, passwords from RUNDIR/secrets);
#   3. applies sql/migrations/NNNN_name.sql in order, each in its own
#      transaction together with its row in public.schema_migrations
#      (version, name, applied_at, sha256).
# A second run applies nothing. An applied migration whose file has changed
# is an error (write a new migration instead). Migration files must not
# contain BEGIN/COMMIT. CRM_SQL_DIR overrides the sql/ directory (tests).
# Running replicas of the previous release must keep working on what a
# migration makes: expand, then contract (docs/operations.md, "Migrations
# during a rolling update").

# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"

R=$(rundir "${1:-}")
SQL=${CRM_SQL_DIR:-$REPO_DIR/sql}
[ -d "$SQL/migrations" ] || die "no $SQL/migrations"

# Connection by environment, not by URL argument: a password on a command
# line is visible to every user in ps.
export PGHOST=127.0.0.1 PGPORT="$PG_PORT" PGUSER=crm_admin \
    PGSSLMODE=verify-full PGSSLROOTCERT="$R/pki/ca.pem" PGCONNECT_TIMEOUT=5
PGPASSWORD=$(secret "$R" db_admin)
export PGPASSWORD
psql_() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -At "$@"; }

exec 9>"$R/.migrate.lock"
flock 9

# 1. The database (crm_admin has CREATEDB, so it becomes the owner).
if [ -z "$(psql_ -d postgres -c "SELECT 1 FROM pg_database WHERE datname = 'crm_supply_db'")" ]; then
	log "creating database crm_supply_db"
	psql_ -d postgres -c "CREATE DATABASE crm_supply_db TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C.UTF-8'"
fi
export PGDATABASE=crm_supply_db

psql_ -c "SET client_min_messages = warning" -c "
CREATE TABLE IF NOT EXISTS public.schema_migrations (
	version		integer PRIMARY KEY,
	name		text NOT NULL,
	applied_at	timestamptz NOT NULL DEFAULT now(),
	sha256		text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}\$')
)"

# 2. Roles; passwords as psql variables fed on stdin.
{
	for role in $DATABASE_ROLES; do
		printf "\\\\set pw_%s '%s'\n" "$role" "$(secret "$R" "db_$role")"
	done
	printf "\\\\i '%s'\n" "$SQL/roles.sql"
} | psql_ >/dev/null || die "sql/roles.sql failed"

# 3. Migrations.
applied=$(psql_ -F ' ' -c "SELECT version, sha256 FROM public.schema_migrations ORDER BY version")
n=0
for f in "$SQL"/migrations/*.sql; do
	[ -e "$f" ] || continue
	b=${f##*/}
	[[ $b =~ ^([0-9]{4})_([a-z0-9_]+)\.sql$ ]] || die "bad migration file name: $b"
	v=$((10#${BASH_REMATCH[1]}))
	name=${BASH_REMATCH[2]}
	sum=$(sha256sum "$f" | cut -d' ' -f1)
	old=$(awk -v v="$v" '$1 == v { print $2 }' <<<"$applied")
	if [ -n "$old" ]; then
		[ "$old" = "$sum" ] || die "$b was changed after it was applied (sha256 $old); add a new migration instead"
		continue
	fi
	log "applying $b"
	# One transaction: the schema change and its record commit together;
	# ON_ERROR_STOP ends the session on the first error, rolling back.
	{
		echo "BEGIN;"
		printf "\\\\i '%s'\n" "$f"
		printf "INSERT INTO public.schema_migrations (version, name, sha256) VALUES (%d, '%s', '%s');\n" "$v" "$name" "$sum"
		echo "COMMIT;"
	} | psql_ >/dev/null || die "$b failed; nothing of it was applied"
	n=$((n + 1))
done
log "$n migration(s) applied"
