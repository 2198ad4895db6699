-- What PostgreSQL does on every execution of the functions of 0010-0030,
-- made cheaper without changing any result (issue #5, docs/performance.md
-- "Order flow: the database side").
--
-- 1. ts(): declared IMMUTABLE, but to_char() is only STABLE, so the planner
--    never inlined it: every query that used it (every answer of reserve(),
--    settle(), advance(), create_order() ...) parsed and planned its body
--    again at each execution. Declared STABLE (what it is), it is inlined
--    into the plans that plpgsql caches.
-- 2. supply_request() and customer_json(): SQL functions with a FROM are
--    never inlined either; as plpgsql their one query is planned once per
--    connection instead of once per call. Same text out.

ALTER FUNCTION crm.ts(timestamptz) STABLE;
ALTER FUNCTION orders.ts(timestamptz) STABLE;
ALTER FUNCTION inventory.ts(timestamptz) STABLE;

CREATE OR REPLACE FUNCTION crm.supply_request(p_id uuid) RETURNS text
LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN (SELECT json_build_object('crm_order_id', o.id,
	    'customer_id', o.customer_id,
	    'items', (SELECT json_agg(json_build_object(
	        'product_id', i.product_id, 'quantity', i.quantity)
	        ORDER BY i.position)
	        FROM crm.order_items i WHERE i.order_id = o.id),
	    'destination', json_build_object(
	        'postal_code', o.ship_postal_code,
	        'country', o.ship_country))::text
	    FROM crm.orders o WHERE o.id = p_id);
END
$$;

CREATE OR REPLACE FUNCTION crm.customer_json(c crm.customers) RETURNS text
LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN (SELECT row_to_json(x)::text FROM (SELECT c.id, c.name,
	    c.email, c.phone, crm.ts(c.created_at) AS created_at) x);
END
$$;
