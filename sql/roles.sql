-- Service login roles and database-level privileges.
--
-- Run by platform/stack/migrate.sh on every migrate, before the migrations,
-- connected to crm_supply_db as crm_admin. Idempotent. The passwords come
-- from RUNDIR/secrets through psql variables (pw_crm_api, pw_order_service,
-- pw_inventory_service) and are never stored here; re-running re-syncs them.
-- logistics-service is stateless and has no role.

\set ON_ERROR_STOP on
SET client_min_messages = warning;

\if :{?pw_crm_api}
\else
\echo 'roles.sql: psql variables pw_* are not set (run it through migrate.sh)'
\quit
\endif

SELECT format('CREATE ROLE %I', r)
  FROM unnest(ARRAY['crm_api', 'order_service', 'inventory_service']) AS r
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) \gexec

-- Plain logins: no role or database creation, no inherited rights. (They are
-- created without SUPERUSER, REPLICATION, BYPASSRLS, which crm_admin, not a
-- superuser, could neither grant nor even restate; ALTER fails if one of
-- these roles was ever made a superuser behind our back.) The bounds keep a
-- runaway pool or query from starving the others (contract deadlines are at
-- most 3 s, so a 5 s statement_timeout is never hit by design).
ALTER ROLE crm_api WITH LOGIN NOCREATEDB NOCREATEROLE NOINHERIT
    CONNECTION LIMIT 60 PASSWORD :'pw_crm_api';
ALTER ROLE order_service WITH LOGIN NOCREATEDB NOCREATEROLE NOINHERIT
    CONNECTION LIMIT 60 PASSWORD :'pw_order_service';
ALTER ROLE inventory_service WITH LOGIN NOCREATEDB NOCREATEROLE NOINHERIT
    CONNECTION LIMIT 60 PASSWORD :'pw_inventory_service';

ALTER ROLE crm_api IN DATABASE crm_supply_db SET search_path = crm;
ALTER ROLE order_service IN DATABASE crm_supply_db SET search_path = orders;
ALTER ROLE inventory_service IN DATABASE crm_supply_db SET search_path = inventory;
ALTER ROLE crm_api SET statement_timeout = '5s';
ALTER ROLE order_service SET statement_timeout = '5s';
ALTER ROLE inventory_service SET statement_timeout = '5s';
ALTER ROLE crm_api SET idle_in_transaction_session_timeout = '30s';
ALTER ROLE order_service SET idle_in_transaction_session_timeout = '30s';
ALTER ROLE inventory_service SET idle_in_transaction_session_timeout = '30s';
-- Every statement of the services looks rows up by key or by index with
-- parameters, on tables without partitions or a skew that a parameter
-- value could change:
-- one generic plan per statement and connection serves every call. The
-- default (auto) keeps planning a statement inside the plpgsql functions
-- anew for its parameters whenever the generic plan's estimate looks dearer
-- (~10 % of the database's CPU in the order flow, docs/performance.md).
ALTER ROLE crm_api SET plan_cache_mode = 'force_generic_plan';
ALTER ROLE order_service SET plan_cache_mode = 'force_generic_plan';
ALTER ROLE inventory_service SET plan_cache_mode = 'force_generic_plan';

-- Only the service roles (and the owner) may connect; nobody but the owner
-- may create schemas or temporary tables (no DDL for the services).
REVOKE ALL ON DATABASE crm_supply_db FROM PUBLIC;
GRANT CONNECT ON DATABASE crm_supply_db TO crm_api, order_service, inventory_service;

-- The public schema is the owner's (it holds schema_migrations): nobody
-- else may create in it or use it.
REVOKE ALL ON SCHEMA public FROM PUBLIC;
