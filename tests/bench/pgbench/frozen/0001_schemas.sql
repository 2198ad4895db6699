-- One schema per stateful service; each service role may only use its own.
-- Tables and their grants come with the migration that creates them;
-- USAGE alone gives no access to any table.

CREATE SCHEMA crm AUTHORIZATION crm_admin;
CREATE SCHEMA orders AUTHORIZATION crm_admin;
CREATE SCHEMA inventory AUTHORIZATION crm_admin;

REVOKE ALL ON SCHEMA crm, orders, inventory FROM PUBLIC;
GRANT USAGE ON SCHEMA crm TO crm_api;
GRANT USAGE ON SCHEMA orders TO order_service;
GRANT USAGE ON SCHEMA inventory TO inventory_service;

-- Functions are executable by PUBLIC by default; in our schemas they are
-- granted explicitly instead.
ALTER DEFAULT PRIVILEGES FOR ROLE crm_admin REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
