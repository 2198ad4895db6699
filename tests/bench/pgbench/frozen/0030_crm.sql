-- crm-api's state and rules (CONTRACT §3): customers, orders, the outbox
-- that forwards every order to order-service until it has a final answer,
-- and the Idempotency-Key records of POST /orders.
--
-- Every request is one statement (one SQL function), so an order, its items,
-- its outbox entry and its idempotency record are written in ONE
-- transaction: an order answered 201/202 is never without its outbox entry.
-- Functions run with the caller's rights (SECURITY INVOKER).
--
-- Lock order: the idempotency key (advisory), then rows by primary key.

CREATE TABLE crm.customers (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	name		text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
	email		text NOT NULL CHECK (char_length(email) <= 254),
	phone		text,
	created_at	timestamptz NOT NULL DEFAULT now()
);

-- An address is taken whatever its case.
CREATE UNIQUE INDEX customers_email_idx ON crm.customers (lower(email));

CREATE TABLE crm.orders (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	customer_id	uuid NOT NULL REFERENCES crm.customers,
	status		text NOT NULL DEFAULT 'pending'
			CHECK (status IN ('pending', 'confirmed', 'rejected')),
	reason		text CHECK (reason IN ('insufficient_stock',
			    'unknown_product')),
	ship_line1	text NOT NULL,
	ship_city	text NOT NULL,
	ship_postal_code text NOT NULL,
	ship_country	text NOT NULL CHECK (ship_country ~ '^[A-Z]{2}$'),
	-- order-service's answer, once final.
	supply_order_id	uuid,
	shipment_id	text,
	shipment_carrier text,
	shipment_eta	text,
	shipment_status	text,
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX orders_customer_idx ON crm.orders (customer_id);

CREATE TABLE crm.order_items (
	order_id	uuid NOT NULL REFERENCES crm.orders ON DELETE RESTRICT,
	position	integer NOT NULL CHECK (position >= 0),
	product_id	text NOT NULL
			CHECK (product_id ~ '^[A-Z0-9][A-Z0-9-]{1,63}$'),
	quantity	integer NOT NULL CHECK (quantity BETWEEN 1 AND 1000),
	PRIMARY KEY (order_id, position),
	UNIQUE (order_id, product_id)
);

-- The orders still to forward. A row leaves only when order-service gave a
-- final answer (crm.order_settle); a worker claims rows by pushing
-- next_attempt_at forward (a lease), so two workers never send the same row
-- at the same time, and a crashed worker's claims come back by themselves.
CREATE TABLE crm.outbox (
	order_id	uuid PRIMARY KEY REFERENCES crm.orders ON DELETE RESTRICT,
	-- The X-Request-Id of POST /orders, passed on to order-service.
	request_id	text NOT NULL,
	attempts	integer NOT NULL DEFAULT 0,
	next_attempt_at	timestamptz NOT NULL DEFAULT now(),
	last_error	text,
	created_at	timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX outbox_due_idx ON crm.outbox (next_attempt_at);

-- Idempotency-Key of POST /orders: the key, the sha256 of the body it came
-- with, its order and the status of the first answer (NULL until known).
CREATE TABLE crm.idempotency_keys (
	key		text PRIMARY KEY
			CHECK (key ~ '^[\x20-\x7e]{1,128}$'),
	request_hash	bytea NOT NULL CHECK (length(request_hash) = 32),
	order_id	uuid NOT NULL REFERENCES crm.orders ON DELETE RESTRICT,
	answer_status	integer CHECK (answer_status IN (201, 202)),
	created_at	timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX idempotency_keys_created_idx ON crm.idempotency_keys (created_at);
CREATE INDEX idempotency_keys_order_idx ON crm.idempotency_keys (order_id);

REVOKE ALL ON crm.customers, crm.orders, crm.order_items, crm.outbox,
	crm.idempotency_keys FROM PUBLIC;
GRANT SELECT, INSERT ON crm.customers TO crm_api;
GRANT SELECT, INSERT, UPDATE ON crm.orders TO crm_api;
GRANT SELECT, INSERT ON crm.order_items TO crm_api;
GRANT SELECT, INSERT, UPDATE, DELETE ON crm.outbox TO crm_api;
GRANT SELECT, INSERT, UPDATE, DELETE ON crm.idempotency_keys TO crm_api;

CREATE FUNCTION crm.ts(t timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
	SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
$$;

CREATE FUNCTION crm.customer_json(c crm.customers) RETURNS text
LANGUAGE sql STABLE AS $$
	SELECT row_to_json(x)::text FROM (SELECT c.id, c.name, c.email,
	    c.phone, crm.ts(c.created_at) AS created_at) x
$$;

-- create_customer(): outcome created (row: the customer) or conflict.
CREATE FUNCTION crm.create_customer(p_name text, p_email text,
    p_phone text)
RETURNS TABLE (outcome text, body text)
LANGUAGE plpgsql AS $$
DECLARE
	v crm.customers;
BEGIN
	INSERT INTO crm.customers (name, email, phone)
	    VALUES (p_name, p_email, p_phone)
	    ON CONFLICT ((lower(email))) DO NOTHING
	    RETURNING * INTO v;
	IF NOT FOUND THEN
		RETURN QUERY SELECT 'conflict'::text, NULL::text;
		RETURN;
	END IF;
	RETURN QUERY SELECT 'created'::text, crm.customer_json(v);
END
$$;

CREATE FUNCTION crm.get_customer(p_id uuid)
RETURNS TABLE (body text)
LANGUAGE sql STABLE AS $$
	SELECT crm.customer_json(c) FROM crm.customers c WHERE c.id = p_id
$$;

-- An order as the API shows it. body is the JSON object without
-- "shipment", which the service adds (with the live status on GET).
CREATE FUNCTION crm.order_row(p_id uuid)
RETURNS TABLE (id uuid, answer_status integer, status text, body text,
    supply_order_id uuid, shipment_id text, shipment_carrier text,
    shipment_eta text, shipment_status text)
LANGUAGE sql STABLE AS $$
	SELECT o.id, (SELECT k.answer_status FROM crm.idempotency_keys k
	    WHERE k.order_id = o.id LIMIT 1), o.status,
	    json_strip_nulls(json_build_object(
	    'id', o.id, 'customer_id', o.customer_id, 'status', o.status,
	    'reason', o.reason,
	    'items', (SELECT json_agg(json_build_object(
	        'product_id', i.product_id, 'quantity', i.quantity)
	        ORDER BY i.position)
	        FROM crm.order_items i WHERE i.order_id = o.id),
	    'shipping_address', json_build_object('line1', o.ship_line1,
	        'city', o.ship_city, 'postal_code', o.ship_postal_code,
	        'country', o.ship_country),
	    'supply_order_id', o.supply_order_id,
	    'created_at', crm.ts(o.created_at),
	    'updated_at', crm.ts(o.updated_at)))::text,
	    o.supply_order_id, o.shipment_id, o.shipment_carrier,
	    o.shipment_eta, o.shipment_status
	    FROM crm.orders o WHERE o.id = p_id
$$;

-- The body of order-service's POST /supply-orders for an order; its id is
-- order-service's idempotency key.
CREATE FUNCTION crm.supply_request(p_id uuid) RETURNS text
LANGUAGE sql STABLE AS $$
	SELECT json_build_object('crm_order_id', o.id,
	    'customer_id', o.customer_id,
	    'items', (SELECT json_agg(json_build_object(
	        'product_id', i.product_id, 'quantity', i.quantity)
	        ORDER BY i.position)
	        FROM crm.order_items i WHERE i.order_id = o.id),
	    'destination', json_build_object(
	        'postal_code', o.ship_postal_code,
	        'country', o.ship_country))::text
	FROM crm.orders o WHERE o.id = p_id
$$;

-- create_order(): one order, its items, its outbox entry and its
-- idempotency record, in one transaction. outcome is one of
--   created               a new order (row: the order)
--   replayed              the key was seen with this body (row: its order)
--   idempotency_conflict  the key was seen with another body
--   unknown_customer      no such customer
-- p_hold_ms: the outbox entry is not due before the request that creates it
-- has had its own forward attempt (the forward deadline and a margin).
-- p_ttl_s: an older key is forgotten (as the purge would).
CREATE FUNCTION crm.create_order(p_key text, p_body text, p_customer uuid,
    p_products text[], p_quantities integer[], p_line1 text, p_city text,
    p_postal_code text, p_country text, p_request_id text, p_hold_ms integer,
    p_ttl_s integer)
RETURNS TABLE (outcome text, id uuid, answer_status integer, status text,
    body text,
    supply_order_id uuid, shipment_id text, shipment_carrier text,
    shipment_eta text, shipment_status text, forward text)
LANGUAGE plpgsql AS $$
DECLARE
	v_hash bytea := sha256(convert_to(p_body, 'UTF8'));
	k crm.idempotency_keys;
	v_id uuid;
BEGIN
	IF p_key IS NOT NULL THEN
		PERFORM pg_advisory_xact_lock(hashtextextended(p_key, 7301));
		DELETE FROM crm.idempotency_keys i WHERE i.key = p_key
		    AND i.created_at < now() - make_interval(secs => p_ttl_s);
		SELECT * INTO k FROM crm.idempotency_keys i
		    WHERE i.key = p_key;
		IF FOUND THEN
			IF k.request_hash <> v_hash THEN
				RETURN QUERY SELECT
				    'idempotency_conflict'::text, NULL::uuid,
				    NULL::integer, NULL::text, NULL::text,
				    NULL::uuid, NULL::text, NULL::text,
				    NULL::text, NULL::text, NULL::text;
				RETURN;
			END IF;
			RETURN QUERY SELECT 'replayed'::text, r.*,
			    NULL::text FROM crm.order_row(k.order_id) r;
			RETURN;
		END IF;
	END IF;

	PERFORM 1 FROM crm.customers c WHERE c.id = p_customer;
	IF NOT FOUND THEN
		RETURN QUERY SELECT 'unknown_customer'::text, NULL::uuid,
		    NULL::integer,
		    NULL::text, NULL::text, NULL::uuid, NULL::text,
		    NULL::text, NULL::text, NULL::text, NULL::text;
		RETURN;
	END IF;

	INSERT INTO crm.orders AS o (customer_id, ship_line1, ship_city,
	    ship_postal_code, ship_country)
	    VALUES (p_customer, p_line1, p_city, p_postal_code, p_country)
	    RETURNING o.id INTO v_id;
	INSERT INTO crm.order_items (order_id, position, product_id, quantity)
	    SELECT v_id, w.n - 1, w.pid, w.qty
	    FROM unnest(p_products, p_quantities) WITH ORDINALITY
	        AS w(pid, qty, n);
	INSERT INTO crm.outbox (order_id, request_id, next_attempt_at)
	    VALUES (v_id, p_request_id,
	        now() + make_interval(secs => p_hold_ms / 1000.0));
	IF p_key IS NOT NULL THEN
		INSERT INTO crm.idempotency_keys (key, request_hash, order_id)
		    VALUES (p_key, v_hash, v_id);
	END IF;

	RETURN QUERY SELECT 'created'::text, r.*, crm.supply_request(v_id)
	    FROM crm.order_row(v_id) r;
END
$$;

CREATE FUNCTION crm.get_order(p_id uuid)
RETURNS TABLE (id uuid, answer_status integer, status text, body text,
    supply_order_id uuid, shipment_id text, shipment_carrier text,
    shipment_eta text, shipment_status text)
LANGUAGE sql STABLE AS $$
	SELECT * FROM crm.order_row(p_id)
$$;

-- outbox_claim(): up to p_limit due entries, leased for p_lease_ms (not due
-- again before), each with the request to send.
CREATE FUNCTION crm.outbox_claim(p_limit integer, p_lease_ms integer)
RETURNS TABLE (order_id uuid, request_id text, attempts integer,
    body text)
LANGUAGE sql AS $$
	WITH due AS (
		SELECT b.order_id FROM crm.outbox b
		    WHERE b.next_attempt_at <= now()
		    ORDER BY b.next_attempt_at LIMIT p_limit
		    FOR UPDATE SKIP LOCKED
	), leased AS (
		UPDATE crm.outbox b SET next_attempt_at = now() +
		    make_interval(secs => p_lease_ms / 1000.0)
		    FROM due WHERE b.order_id = due.order_id
		    RETURNING b.order_id, b.request_id, b.attempts
	)
	SELECT l.order_id, l.request_id, l.attempts,
	    crm.supply_request(l.order_id) FROM leased l
$$;

-- outbox_retry(): the forward failed (p_error says how); due again after an
-- exponential backoff with jitter, at most 10 s.
CREATE FUNCTION crm.outbox_retry(p_id uuid, p_error text)
RETURNS void
LANGUAGE sql AS $$
	UPDATE crm.outbox b SET attempts = b.attempts + 1,
	    last_error = left(p_error, 200),
	    next_attempt_at = now() + make_interval(secs =>
	        least(10.0, 0.2 * power(2, least(b.attempts, 10))) *
	        (0.5 + random() / 2))
	    WHERE b.order_id = p_id
$$;

-- order_settle(): order-service's final answer (its POST /supply-orders
-- body, status confirmed or rejected, or a refusal p_result =
-- {"status":"rejected","reason":...}) updates a pending order and ends its
-- outbox entry. p_answered: the request that created the order answers 201
-- with it (remembered for replays of its key). outcome is settled (row: the
-- order), or invalid when p_result is not a final answer (nothing changed).
CREATE FUNCTION crm.order_settle(p_id uuid, p_result text,
    p_answered boolean)
RETURNS TABLE (outcome text, id uuid, answer_status integer, status text,
    body text,
    supply_order_id uuid, shipment_id text, shipment_carrier text,
    shipment_eta text, shipment_status text)
LANGUAGE plpgsql AS $$
DECLARE
	r jsonb;
	v_status text;
	v_reason text;
	v_supply uuid;
	v_ship jsonb;
	v_uuid text := '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';
BEGIN
	BEGIN
		r := p_result::jsonb;
	EXCEPTION WHEN others THEN
		r := NULL;
	END;
	v_status := r->>'status';
	v_reason := r->>'reason';
	IF jsonb_typeof(r) IS DISTINCT FROM 'object' OR
	    v_status NOT IN ('confirmed', 'rejected') OR
	    (v_status = 'rejected' AND v_reason IS NOT NULL AND
	     v_reason NOT IN ('insufficient_stock', 'unknown_product')) OR
	    (r->>'id' IS NOT NULL AND r->>'id' !~ v_uuid) THEN
		RETURN QUERY SELECT 'invalid'::text, NULL::uuid, NULL::integer,
		    NULL::text,
		    NULL::text, NULL::uuid, NULL::text, NULL::text,
		    NULL::text, NULL::text;
		RETURN;
	END IF;
	v_supply := (r->>'id')::uuid;
	v_ship := CASE WHEN jsonb_typeof(r->'shipment') = 'object'
	    THEN r->'shipment' END;

	UPDATE crm.orders o SET status = v_status,
	    reason = CASE WHEN v_status = 'rejected'
	        THEN coalesce(v_reason, 'insufficient_stock') END,
	    supply_order_id = v_supply,
	    shipment_id = v_ship->>'id',
	    shipment_carrier = v_ship->>'carrier',
	    shipment_eta = v_ship->>'eta',
	    shipment_status = v_ship->>'status',
	    updated_at = now()
	    WHERE o.id = p_id AND o.status = 'pending';
	DELETE FROM crm.outbox b WHERE b.order_id = p_id;
	IF p_answered THEN
		UPDATE crm.idempotency_keys k SET answer_status = 201
		    WHERE k.order_id = p_id AND k.answer_status IS NULL;
	END IF;

	RETURN QUERY SELECT 'settled'::text, o.* FROM crm.order_row(p_id) o;
END
$$;

-- The request that created the order answered 202 (pending).
CREATE FUNCTION crm.order_answered(p_id uuid, p_status integer)
RETURNS void
LANGUAGE sql AS $$
	UPDATE crm.idempotency_keys k SET answer_status = p_status
	    WHERE k.order_id = p_id AND k.answer_status IS NULL
$$;

-- Idempotency keys older than p_ttl_s seconds are forgotten.
CREATE FUNCTION crm.idempotency_purge(p_ttl_s integer)
RETURNS bigint
LANGUAGE sql AS $$
	WITH gone AS (
		DELETE FROM crm.idempotency_keys k
		    WHERE k.created_at < now() - make_interval(secs => p_ttl_s)
		    RETURNING 1
	)
	SELECT count(*) FROM gone
$$;

GRANT EXECUTE ON FUNCTION crm.ts(timestamptz),
    crm.customer_json(crm.customers),
    crm.create_customer(text, text, text),
    crm.get_customer(uuid),
    crm.order_row(uuid),
    crm.create_order(text, text, uuid, text[], integer[], text, text, text,
        text, text, integer, integer),
    crm.get_order(uuid),
    crm.supply_request(uuid),
    crm.outbox_claim(integer, integer),
    crm.outbox_retry(uuid, text),
    crm.order_settle(uuid, text, boolean),
    crm.order_answered(uuid, integer),
    crm.idempotency_purge(integer)
    TO crm_api;
