-- Database work of POST /orders (wrk/order.lua) as the services do it now:
-- every statement ONE confirmed order runs across crm-api, order-service
-- and inventory-service, in the order they run, each in its own
-- transaction as in the services (every call is one statement, autocommit;
-- logistics-service has no database). With -M prepared each :var is a
-- parameter like the service's. order_flow.sql is the same flow as it was
-- before the saga's steps were recorded together (issue 16): the frozen
-- reference, run against the frozen schema (pgbench/frozen/).
--
--   crm-api            crm.create_order()    order, items, outbox entry
--     order-service    orders.open()         supply order, items, audit,
--                                            the saga's lease
--     inventory        inventory.reserve()   POST /inventory/reservations
--     logistics        (no database)         POST /shipments
--     inventory        inventory.settle()    POST .../commit
--     order-service    orders.finish()       reserved, shipped, confirmed
--                                            (+ their audit rows) at once
--   crm-api            crm.order_settle()    order-service's 201 stored,
--                                            outbox entry deleted
--
-- Ids, customers and products as in order_flow.sql.
\set cu random(1, 10000)
\set pid random(100000, 199999)
\set qty random(1, 3)
\set tok random(1, 9000000000000000000)
\set ship random(1, 9000000000000000000)
\set rid random(1, 9000000000000000000)
-- crm-api: POST /orders (q_order_create; $1 NULL: no Idempotency-Key;
-- hold = ORDER_FORWARD_DEADLINE_MS 2000 + 1000, key TTL 86400 s).
SELECT * FROM crm.create_order(NULL, '{"customer_id":"00000000-0000-4000-8000-00000000be0c","items":[{"product_id":"150000","quantity": 2}],"shipping_address":{"line1":"1 Bench Street","city":"Berlin","postal_code":"10115","country":"DE"}}', ('00000000-0000-4000-8000-' || lpad(:cu::text, 12, '0'))::uuid, ARRAY[:pid]::text[], ARRAY[:qty]::integer[], '1 Bench Street', 'Berlin', '10115', 'DE', md5(:rid::text), 3000::integer, 86400::integer)
\gset crm_
-- order-service: POST /supply-orders, open (q_open; lease 5 s, wait 800 ms).
SELECT * FROM orders.open(:crm_id::uuid, ('00000000-0000-4000-8000-' || lpad(:cu::text, 12, '0'))::uuid, ARRAY[:pid]::text[], ARRAY[:qty]::bigint[], '10115', 'DE', md5(:rid::text), md5(:tok::text)::uuid, '5 seconds'::interval, '800 milliseconds'::interval)
\gset so_
-- inventory-service: POST /inventory/reservations (q_reserve).
SELECT * FROM inventory.reserve(:so_reservation_id::uuid, ARRAY[:pid]::text[], ARRAY[:qty]::bigint[]);
-- inventory-service: POST /inventory/reservations/:id/commit (q_settle).
SELECT * FROM inventory.settle(:so_reservation_id::uuid, 't'::boolean);
-- order-service: reserved, shipped and confirmed recorded at once
-- (q_finish, with logistics' whole 201 body).
SELECT * FROM orders.finish(:so_id::uuid, md5(:tok::text)::uuid, md5(:rid::text), '{reserved,shipped,confirmed}'::text[], '{inventory-service,logistics-service,inventory-service}'::text[], jsonb_build_array(NULL::jsonb, jsonb_build_object('shipment_id', md5(:ship::text)::uuid, 'carrier', 'DHL'), NULL::jsonb), jsonb_build_object('id', md5(:ship::text)::uuid, 'order_id', :so_id::uuid, 'status', 'label_created', 'carrier', 'DHL', 'service_level', 'standard', 'origin_warehouse', 'WH-BERLIN', 'distance_km', 12, 'eta', '2026-12-01T12:00:00Z', 'created_at', '2026-11-26T12:00:00Z'));
-- crm-api: order-service's 201 body stored, 201 answered (q_order_settle).
SELECT * FROM crm.order_settle(:crm_id::uuid, json_build_object('id', :so_id::uuid, 'crm_order_id', :crm_id::uuid, 'customer_id', ('00000000-0000-4000-8000-' || lpad(:cu::text, 12, '0'))::uuid, 'status', 'confirmed', 'items', json_build_array(json_build_object('product_id', :pid::text, 'quantity', :qty::integer)), 'destination', json_build_object('postal_code', '10115', 'country', 'DE'), 'shipment', json_build_object('id', md5(:ship::text)::uuid, 'carrier', 'DHL', 'eta', '2026-12-01T12:00:00Z', 'status', 'label_created', 'status_stale', true), 'created_at', '2026-11-26T12:00:00Z', 'updated_at', '2026-11-26T12:00:00Z')::text, 't'::boolean);
