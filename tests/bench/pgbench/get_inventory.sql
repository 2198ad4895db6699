-- Database limit of GET /inventory/:id: the statement inventory-service
-- runs for it (apps/inventory-service/queries.c, q_stock_get), one per
-- transaction, for a random product among the seeded ones. With -M prepared
-- :id is sent as parameter $1, exactly like the service's parameter.
\set id random(100000, 199999)
SELECT product_id, quantity, reserved, version, inventory.ts(updated_at) FROM inventory.products WHERE product_id = :id;
