-- order-service's state (contract §4): supply orders, their items, and the
-- append-only audit trail.
--
-- A supply order is a saga: recorded (pending) -> reserved at
-- inventory-service -> shipment created at logistics-service -> reservation
-- committed (confirmed); or rejected by inventory. `step` records how far
-- it got, so that after a crash or an outage the caller's repeat resumes
-- from there: every downstream write is idempotent by an id we own (the
-- reservation id, the supply order id), so resuming = redoing the steps
-- from the recorded one.
--
-- Each state change and its audit row are ONE statement (the functions
-- below), hence one transaction: no change without its audit row, and no
-- audit row for a change that did not happen.
--
-- Functions run with the caller's rights (SECURITY INVOKER): order_service
-- needs the table grants at the end, and gets no UPDATE or DELETE on the
-- audit table.

CREATE TABLE orders.supply_orders (
	id		uuid PRIMARY KEY,
	-- The caller's idempotency key: a repeat finds this row.
	crm_order_id	uuid NOT NULL UNIQUE,
	customer_id	uuid NOT NULL,
	status		text NOT NULL DEFAULT 'pending'
			CHECK (status IN ('pending', 'confirmed', 'rejected')),
	reason		text
			CHECK (reason IN ('insufficient_stock', 'unknown_product')),
	-- The last completed saga step.
	step		text NOT NULL DEFAULT 'recorded'
			CHECK (step IN ('recorded', 'reserved', 'shipped',
			    'committed', 'rejected')),
	-- The reservation at inventory-service: the supply order's id at
	-- first; a fresh id after a compensation released it (a released
	-- reservation id cannot be reserved again: inventory replays it).
	reservation_id	uuid NOT NULL UNIQUE,
	postal_code	text NOT NULL CHECK (length(postal_code) BETWEEN 1 AND 16),
	country		text NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
	-- logistics-service's whole 201 body: GET /supply-orders/by-shipment/
	-- answers it as stored.
	shipment	jsonb,
	shipment_id	uuid UNIQUE,
	-- The lease of the request running the saga: concurrent repeats of
	-- the same order wait for it instead of running the saga twice.
	claimed_by	uuid,
	claimed_until	timestamptz,
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now(),
	CHECK ((status = 'rejected') = (reason IS NOT NULL)),
	CHECK ((status = 'confirmed') = (step = 'committed')),
	CHECK ((status = 'rejected') = (step = 'rejected')),
	CHECK ((shipment IS NULL) = (shipment_id IS NULL))
);

CREATE TABLE orders.supply_order_items (
	supply_order_id	uuid NOT NULL
			REFERENCES orders.supply_orders ON DELETE RESTRICT,
	product_id	text NOT NULL
			CHECK (product_id ~ '^[A-Z0-9][A-Z0-9-]{1,63}$'),
	quantity	bigint NOT NULL CHECK (quantity BETWEEN 1 AND 1000),
	PRIMARY KEY (supply_order_id, product_id)
);

-- Append-only: order_service may INSERT and SELECT, nothing else (grants
-- below); the trigger also stops the owner from rewriting history.
CREATE TABLE orders.audit_events (
	seq		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	supply_order_id	uuid NOT NULL
			REFERENCES orders.supply_orders ON DELETE RESTRICT,
	at		timestamptz NOT NULL DEFAULT clock_timestamp(),
	event		text NOT NULL,
	service		text NOT NULL,
	request_id	text NOT NULL,
	details		jsonb NOT NULL DEFAULT '{}'
);

CREATE INDEX audit_events_order_idx
	ON orders.audit_events (supply_order_id, seq);

CREATE FUNCTION orders.audit_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'orders.audit_events is append-only';
END
$$;

CREATE TRIGGER audit_events_append_only
	BEFORE UPDATE OR DELETE OR TRUNCATE ON orders.audit_events
	FOR EACH STATEMENT EXECUTE FUNCTION orders.audit_immutable();

CREATE FUNCTION orders.ts(t timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
	SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
$$;

-- The row shape every function answers: the supply order, once per item
-- (ordered by product id).
CREATE TYPE orders.order_row AS (outcome text, id uuid, crm_order_id uuid,
    customer_id uuid, status text, reason text, step text,
    reservation_id uuid, postal_code text, country text, shipment_id uuid,
    carrier text, eta text, shipment_status text, created_at text,
    updated_at text, product_id text, quantity bigint);

CREATE FUNCTION orders.order_rows(p_outcome text, p_id uuid)
RETURNS SETOF orders.order_row
LANGUAGE sql STABLE AS $$
	SELECT p_outcome, o.id, o.crm_order_id, o.customer_id, o.status,
	    o.reason, o.step, o.reservation_id, o.postal_code, o.country,
	    o.shipment_id, o.shipment->>'carrier', o.shipment->>'eta',
	    o.shipment->>'status', orders.ts(o.created_at),
	    orders.ts(o.updated_at), i.product_id, i.quantity
	FROM orders.supply_orders o
	JOIN orders.supply_order_items i ON i.supply_order_id = o.id
	WHERE o.id = p_id
	ORDER BY i.product_id
$$;

-- open(): records the supply order (the first time) and claims the right
-- to run its saga for p_lease. outcome is one of
--   claimed    pending, and this caller holds the lease (p_token)
--   final      confirmed or rejected: answer it as is
--   busy       another request held the lease for all of p_wait
--   conflict   the crm_order_id is known with another body (no rows but
--              this one)
-- A held lease is waited for (polling, each read a fresh snapshot), so a
-- concurrent repeat answers the saga's result instead of running it twice.
CREATE FUNCTION orders.open(p_crm_order_id uuid, p_customer_id uuid,
    p_products text[], p_quantities bigint[], p_postal_code text,
    p_country text, p_request_id text, p_token uuid, p_lease interval,
    p_wait interval)
RETURNS SETOF orders.order_row
LANGUAGE plpgsql AS $$
DECLARE
	v_id uuid;
	v_new uuid := gen_random_uuid();
	v_same boolean;
	v_status text;
	v_until timestamptz := clock_timestamp() + p_wait;
BEGIN
	INSERT INTO orders.supply_orders (id, crm_order_id, customer_id,
	    reservation_id, postal_code, country, claimed_by, claimed_until)
	    VALUES (v_new, p_crm_order_id, p_customer_id, v_new,
	    p_postal_code, p_country, p_token, clock_timestamp() + p_lease)
	    ON CONFLICT ON CONSTRAINT supply_orders_crm_order_id_key
	    DO NOTHING;
	IF FOUND THEN
		INSERT INTO orders.supply_order_items
		    (supply_order_id, product_id, quantity)
		    SELECT v_new, w.pid, w.qty
		    FROM unnest(p_products, p_quantities) AS w(pid, qty);
		INSERT INTO orders.audit_events (supply_order_id, event,
		    service, request_id, details)
		    VALUES (v_new, 'created', 'order-service', p_request_id,
		    jsonb_build_object('crm_order_id', p_crm_order_id,
		    'items', (SELECT jsonb_agg(jsonb_build_object(
		    'product_id', w.pid, 'quantity', w.qty) ORDER BY w.pid)
		    FROM unnest(p_products, p_quantities) AS w(pid, qty))));
		RETURN QUERY SELECT * FROM orders.order_rows('claimed', v_new);
		RETURN;
	END IF;

	SELECT o.id, o.customer_id = p_customer_id AND
	    o.postal_code = p_postal_code AND o.country = p_country AND
	    (SELECT array_agg(i.product_id || ':' || i.quantity
	      ORDER BY i.product_id) FROM orders.supply_order_items i
	      WHERE i.supply_order_id = o.id) =
	    (SELECT array_agg(w.pid || ':' || w.qty ORDER BY w.pid)
	      FROM unnest(p_products, p_quantities) AS w(pid, qty))
	    INTO v_id, v_same
	    FROM orders.supply_orders o WHERE o.crm_order_id = p_crm_order_id;
	IF v_same IS NOT TRUE THEN
		RETURN QUERY SELECT 'conflict'::text, v_id, p_crm_order_id,
		    NULL::uuid, NULL::text, NULL::text, NULL::text, NULL::uuid,
		    NULL::text, NULL::text, NULL::uuid, NULL::text, NULL::text,
		    NULL::text, NULL::text, NULL::text, NULL::text,
		    NULL::bigint;
		RETURN;
	END IF;

	LOOP
		UPDATE orders.supply_orders o SET claimed_by = p_token,
		    claimed_until = clock_timestamp() + p_lease
		    WHERE o.id = v_id AND o.status = 'pending' AND
		    (o.claimed_until IS NULL OR
		     o.claimed_until < clock_timestamp());
		IF FOUND THEN
			INSERT INTO orders.audit_events (supply_order_id,
			    event, service, request_id, details)
			    SELECT v_id, 'resumed', 'order-service',
			    p_request_id, jsonb_build_object('step', o.step)
			    FROM orders.supply_orders o WHERE o.id = v_id;
			RETURN QUERY SELECT * FROM orders.order_rows('claimed',
			    v_id);
			RETURN;
		END IF;
		SELECT o.status INTO v_status FROM orders.supply_orders o
		    WHERE o.id = v_id;
		IF v_status <> 'pending' THEN
			RETURN QUERY SELECT * FROM orders.order_rows('final',
			    v_id);
			RETURN;
		END IF;
		EXIT WHEN clock_timestamp() >= v_until;
		PERFORM pg_sleep(0.05);
	END LOOP;
	RETURN QUERY SELECT * FROM orders.order_rows('busy', v_id);
END
$$;

-- advance(): one step of the saga, by the lease holder p_token. p_event:
--   reserved      recorded -> reserved (inventory said 201)
--   rejected      recorded -> rejected, reason p_details->>'reason'
--   shipped       reserved -> shipped, p_shipment = logistics' 201 body
--   confirmed     shipped -> committed, status confirmed
--   compensated   any pending step -> recorded, lease released. When
--                 p_details->>'released' is true, the reservation was
--                 released and the next attempt takes a fresh id.
--   suspended     lease released, nothing else (a step failed and its
--                 compensation could not run either; the repeat resumes)
-- outcome: 'ok', or 'lost' (no change) when the lease is not p_token's any
-- more or the order is not at the step the event starts from.
CREATE FUNCTION orders.advance(p_id uuid, p_token uuid, p_event text,
    p_request_id text, p_details jsonb, p_shipment jsonb)
RETURNS SETOF orders.order_row
LANGUAGE plpgsql AS $$
DECLARE
	o orders.supply_orders%ROWTYPE;
	v_service text;
BEGIN
	SELECT * INTO o FROM orders.supply_orders s WHERE s.id = p_id
	    FOR UPDATE;
	IF NOT FOUND OR o.status <> 'pending' OR
	    o.claimed_by IS DISTINCT FROM p_token OR
	    (p_event = 'reserved' AND o.step <> 'recorded') OR
	    (p_event = 'rejected' AND o.step <> 'recorded') OR
	    (p_event = 'shipped' AND o.step <> 'reserved') OR
	    (p_event = 'confirmed' AND o.step <> 'shipped') THEN
		RETURN QUERY SELECT * FROM orders.order_rows('lost', p_id);
		RETURN;
	END IF;

	CASE p_event
	WHEN 'reserved' THEN
		UPDATE orders.supply_orders s SET step = 'reserved',
		    updated_at = now() WHERE s.id = p_id;
		v_service := 'inventory-service';
	WHEN 'rejected' THEN
		UPDATE orders.supply_orders s SET step = 'rejected',
		    status = 'rejected', reason = p_details->>'reason',
		    claimed_by = NULL, claimed_until = NULL,
		    updated_at = now() WHERE s.id = p_id;
		v_service := 'inventory-service';
	WHEN 'shipped' THEN
		UPDATE orders.supply_orders s SET step = 'shipped',
		    shipment = p_shipment,
		    shipment_id = (p_shipment->>'id')::uuid,
		    updated_at = now() WHERE s.id = p_id;
		v_service := 'logistics-service';
	WHEN 'confirmed' THEN
		UPDATE orders.supply_orders s SET step = 'committed',
		    status = 'confirmed', claimed_by = NULL,
		    claimed_until = NULL, updated_at = now()
		    WHERE s.id = p_id;
		v_service := 'inventory-service';
	WHEN 'compensated' THEN
		UPDATE orders.supply_orders s SET step = 'recorded',
		    reservation_id = CASE WHEN (p_details->>'released')::boolean
		      THEN gen_random_uuid() ELSE s.reservation_id END,
		    claimed_by = NULL, claimed_until = NULL,
		    updated_at = now() WHERE s.id = p_id;
		v_service := 'inventory-service';
	WHEN 'suspended' THEN
		UPDATE orders.supply_orders s SET claimed_by = NULL,
		    claimed_until = NULL, updated_at = now()
		    WHERE s.id = p_id;
		v_service := 'order-service';
	ELSE
		RAISE EXCEPTION 'unknown saga event %', p_event;
	END CASE;

	INSERT INTO orders.audit_events (supply_order_id, event, service,
	    request_id, details)
	    VALUES (p_id, p_event, v_service, p_request_id,
	    coalesce(p_details, '{}'::jsonb) || jsonb_build_object(
	    'from_step', o.step, 'reservation_id', o.reservation_id));

	RETURN QUERY SELECT * FROM orders.order_rows('ok', p_id);
END
$$;

REVOKE ALL ON orders.supply_orders, orders.supply_order_items,
	orders.audit_events FROM PUBLIC;
-- What an order is (its key, customer, items, destination, creation) is
-- never rewritten; only the saga's columns change.
GRANT SELECT, INSERT ON orders.supply_orders TO order_service;
GRANT UPDATE (status, reason, step, reservation_id, shipment, shipment_id,
    claimed_by, claimed_until, updated_at)
    ON orders.supply_orders TO order_service;
GRANT SELECT, INSERT ON orders.supply_order_items TO order_service;
GRANT SELECT, INSERT ON orders.audit_events TO order_service;

GRANT USAGE ON TYPE orders.order_row TO order_service;
GRANT EXECUTE ON FUNCTION orders.ts(timestamptz),
    orders.order_rows(text, uuid),
    orders.open(uuid, uuid, text[], bigint[], text, text, text, uuid,
	interval, interval),
    orders.advance(uuid, uuid, text, text, jsonb, jsonb)
    TO order_service;
