-- Database limit of PUT /inventory/:id without If-Match: the statement
-- inventory-service runs for it (apps/inventory-service/queries.c,
-- q_stock_put; sql/migrations/0010_inventory_logic.sql, put_stock) with the
-- service's parameters: the product, the quantity, check 'f', versions NULL
-- (pgbench cannot bind a NULL parameter, so that one is a literal).
\set id random(100000, 199999)
\set q random(100000000, 999999999)
\set chk false
SELECT outcome, product_id, quantity, reserved, version, updated_at FROM inventory.put_stock(:id, :q::bigint, :chk::boolean, NULL::bigint[]);
