-- Database limit of POST /orders (wrk/order.lua): every statement ONE
-- confirmed order runs across crm-api, order-service and inventory-service,
-- in the order they run, each in its own transaction as in the services
-- (every call is one statement, autocommit; logistics-service has no
-- database). With -M prepared each :var is a parameter like the service's.
--
--   crm-api            crm.create_order()    order, items, outbox entry
--     order-service    orders.open()         supply order, items, audit,
--                                            the saga's lease
--     inventory        inventory.reserve()   POST /inventory/reservations
--     order-service    orders.advance()      reserved (+ audit)
--     logistics        (no database)         POST /shipments
--     order-service    orders.advance()      shipped, logistics' body
--     inventory        inventory.settle()    POST .../commit
--     order-service    orders.advance()      confirmed (+ audit)
--   crm-api            crm.order_settle()    order-service's 201 stored,
--                                            outbox entry deleted
--
-- Not per order, so not here: crm-api's outbox dispatcher and key purge
-- (timers; the entry is deleted by order_settle() long before it is due),
-- GET /orders/:id (order.lua does not poll). No Idempotency-Key is sent,
-- so no crm.order_answered().
--
-- Ids: the product is one of the seeded ones (bench.py seed(): 100000..
-- 199999, stock 10^9), the customer one of the seeded ones (bench.py
-- SEED_CUSTOMER_SQL: its uuid built from :cu); the crm order id and the supply order id come
-- from the statements that create them (\gset), as in the services. The
-- saga's lease token (order-service: a random UUID per request), the
-- shipment id (logistics) and the request id are md5-based from random
-- numbers. The raw request body (only hashed: there is no key) is a fixed
-- text of the size order.lua sends.
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
-- order-service: the reservation recorded (q_advance, "reserved").
SELECT * FROM orders.advance(:so_id::uuid, md5(:tok::text)::uuid, 'reserved', md5(:rid::text), NULL::jsonb, NULL::jsonb);
-- order-service: the shipment recorded with logistics' whole 201 body
-- (q_advance, "shipped").
SELECT * FROM orders.advance(:so_id::uuid, md5(:tok::text)::uuid, 'shipped', md5(:rid::text), jsonb_build_object('shipment_id', md5(:ship::text)::uuid, 'carrier', 'DHL'), jsonb_build_object('id', md5(:ship::text)::uuid, 'order_id', :so_id::uuid, 'status', 'label_created', 'carrier', 'DHL', 'service_level', 'standard', 'origin_warehouse', 'WH-BERLIN', 'distance_km', 12, 'eta', '2026-12-01T12:00:00Z', 'created_at', '2026-11-26T12:00:00Z'));
-- inventory-service: POST /inventory/reservations/:id/commit (q_settle).
SELECT * FROM inventory.settle(:so_reservation_id::uuid, 't'::boolean);
-- order-service: confirmed (q_advance, "confirmed").
SELECT * FROM orders.advance(:so_id::uuid, md5(:tok::text)::uuid, 'confirmed', md5(:rid::text), NULL::jsonb, NULL::jsonb);
-- crm-api: order-service's 201 body stored, 201 answered (q_order_settle).
SELECT * FROM crm.order_settle(:crm_id::uuid, json_build_object('id', :so_id::uuid, 'crm_order_id', :crm_id::uuid, 'customer_id', ('00000000-0000-4000-8000-' || lpad(:cu::text, 12, '0'))::uuid, 'status', 'confirmed', 'items', json_build_array(json_build_object('product_id', :pid::text, 'quantity', :qty::integer)), 'destination', json_build_object('postal_code', '10115', 'country', 'DE'), 'shipment', json_build_object('id', md5(:ship::text)::uuid, 'carrier', 'DHL', 'eta', '2026-12-01T12:00:00Z', 'status', 'label_created', 'status_stale', true), 'created_at', '2026-11-26T12:00:00Z', 'updated_at', '2026-11-26T12:00:00Z')::text, 't'::boolean);
