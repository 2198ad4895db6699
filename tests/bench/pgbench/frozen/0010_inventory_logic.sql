-- Inventory's domain rules as single statements, so each HTTP request is one
-- atomic round trip through Kore's async pgsql layer and no interleaving of
-- concurrent requests can oversell. Functions run with the caller's rights
-- (SECURITY INVOKER): inventory_service still needs the table grants.
--
-- Every change of a product bumps its version (its ETag), reservations too,
-- so an If-Match PUT never overwrites a stock it has not seen.
--
-- Lock order, everywhere: the reservation id (advisory), then product rows
-- ordered by product_id. Same order in every function: no deadlocks.

-- A reservation refused for insufficient stock is remembered, so that a
-- repeat of the same reservation_id returns the first result (CONTRACT §5).
ALTER TABLE inventory.reservations
    DROP CONSTRAINT IF EXISTS reservations_status_check;
ALTER TABLE inventory.reservations
    ADD CONSTRAINT reservations_status_check
    CHECK (status IN ('reserved', 'committed', 'released', 'rejected'));
-- What was available when a rejected reservation was refused.
ALTER TABLE inventory.reservation_items ADD COLUMN available bigint;

CREATE FUNCTION inventory.ts(t timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
	SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
$$;

-- reserve(): all or nothing. outcome is one of
--   created             every item reserved (one row per item)
--   replayed            the id was seen before: its first result, unchanged
--   insufficient_stock  nothing reserved; rows carry what was available
--   unknown_product     nothing reserved; rows name the unknown products
CREATE FUNCTION inventory.reserve(p_id uuid, p_products text[],
    p_quantities bigint[])
RETURNS TABLE (outcome text, status text, product_id text, quantity bigint,
    available bigint, created_at text, updated_at text)
LANGUAGE plpgsql AS $$
DECLARE
	v_short boolean;
BEGIN
	PERFORM pg_advisory_xact_lock(hashtextextended(p_id::text, 7001));

	IF EXISTS (SELECT 1 FROM inventory.reservations r
	    WHERE r.reservation_id = p_id) THEN
		RETURN QUERY SELECT 'replayed'::text, r.status, i.product_id,
		    i.quantity, i.available, inventory.ts(r.created_at),
		    inventory.ts(r.updated_at)
		    FROM inventory.reservations r
		    JOIN inventory.reservation_items i
		      ON i.reservation_id = r.reservation_id
		    WHERE r.reservation_id = p_id ORDER BY i.product_id;
		RETURN;
	END IF;

	IF EXISTS (SELECT 1 FROM unnest(p_products) AS w(pid)
	    WHERE NOT EXISTS (SELECT 1 FROM inventory.products p
	    WHERE p.product_id = w.pid)) THEN
		RETURN QUERY SELECT 'unknown_product'::text, NULL::text, w.pid,
		    w.qty, NULL::bigint, NULL::text, NULL::text
		    FROM unnest(p_products, p_quantities) AS w(pid, qty)
		    WHERE NOT EXISTS (SELECT 1 FROM inventory.products p
		    WHERE p.product_id = w.pid) ORDER BY w.pid;
		RETURN;
	END IF;

	-- Lock every product of the request, in a fixed order.
	PERFORM 1 FROM inventory.products p
	    WHERE p.product_id = ANY (p_products)
	    ORDER BY p.product_id FOR UPDATE;

	SELECT bool_or(p.quantity < w.qty) INTO v_short
	    FROM unnest(p_products, p_quantities) AS w(pid, qty)
	    JOIN inventory.products p ON p.product_id = w.pid;

	IF v_short THEN
		INSERT INTO inventory.reservations (reservation_id, status)
		    VALUES (p_id, 'rejected');
		INSERT INTO inventory.reservation_items
		    (reservation_id, product_id, quantity, available)
		    SELECT p_id, w.pid, w.qty, p.quantity
		    FROM unnest(p_products, p_quantities) AS w(pid, qty)
		    JOIN inventory.products p ON p.product_id = w.pid;
		RETURN QUERY SELECT 'insufficient_stock'::text, r.status,
		    i.product_id, i.quantity, i.available,
		    inventory.ts(r.created_at), inventory.ts(r.updated_at)
		    FROM inventory.reservations r
		    JOIN inventory.reservation_items i
		      ON i.reservation_id = r.reservation_id
		    WHERE r.reservation_id = p_id ORDER BY i.product_id;
		RETURN;
	END IF;

	UPDATE inventory.products p
	    SET quantity = p.quantity - w.qty, reserved = p.reserved + w.qty,
	        version = p.version + 1, updated_at = now()
	    FROM unnest(p_products, p_quantities) AS w(pid, qty)
	    WHERE p.product_id = w.pid;
	INSERT INTO inventory.reservations (reservation_id, status)
	    VALUES (p_id, 'reserved');
	INSERT INTO inventory.reservation_items
	    (reservation_id, product_id, quantity)
	    SELECT p_id, w.pid, w.qty
	    FROM unnest(p_products, p_quantities) AS w(pid, qty);

	RETURN QUERY SELECT 'created'::text, r.status, i.product_id,
	    i.quantity, i.available, inventory.ts(r.created_at),
	    inventory.ts(r.updated_at)
	    FROM inventory.reservations r
	    JOIN inventory.reservation_items i
	      ON i.reservation_id = r.reservation_id
	    WHERE r.reservation_id = p_id ORDER BY i.product_id;
END
$$;

-- settle(): commit (p_commit) or release a reservation. outcome is one of
--   ok         done now, or already in the asked-for state (idempotent)
--   conflict   committing a released/rejected one, releasing a committed one
--   not_found  no such reservation (no rows but this one)
CREATE FUNCTION inventory.settle(p_id uuid, p_commit boolean)
RETURNS TABLE (outcome text, status text, product_id text, quantity bigint,
    available bigint, created_at text, updated_at text)
LANGUAGE plpgsql AS $$
DECLARE
	v_status text;
	v_target text := CASE WHEN p_commit THEN 'committed' ELSE 'released' END;
	v_outcome text := 'ok';
BEGIN
	PERFORM pg_advisory_xact_lock(hashtextextended(p_id::text, 7001));

	SELECT r.status INTO v_status FROM inventory.reservations r
	    WHERE r.reservation_id = p_id;
	IF NOT FOUND THEN
		RETURN QUERY SELECT 'not_found'::text, NULL::text, NULL::text,
		    NULL::bigint, NULL::bigint, NULL::text, NULL::text;
		RETURN;
	END IF;

	IF v_status = 'reserved' THEN
		PERFORM 1 FROM inventory.products p
		    WHERE p.product_id IN (SELECT i.product_id
		    FROM inventory.reservation_items i
		    WHERE i.reservation_id = p_id)
		    ORDER BY p.product_id FOR UPDATE;
		IF p_commit THEN
			UPDATE inventory.products p
			    SET reserved = p.reserved - i.quantity,
			        committed = p.committed + i.quantity,
			        version = p.version + 1, updated_at = now()
			    FROM inventory.reservation_items i
			    WHERE i.reservation_id = p_id
			      AND p.product_id = i.product_id;
		ELSE
			UPDATE inventory.products p
			    SET reserved = p.reserved - i.quantity,
			        quantity = p.quantity + i.quantity,
			        version = p.version + 1, updated_at = now()
			    FROM inventory.reservation_items i
			    WHERE i.reservation_id = p_id
			      AND p.product_id = i.product_id;
		END IF;
		UPDATE inventory.reservations r SET status = v_target,
		    updated_at = now() WHERE r.reservation_id = p_id;
	ELSIF v_status = v_target THEN
		v_outcome := 'ok';
	ELSIF v_status = 'rejected' AND NOT p_commit THEN
		-- A refused reservation holds nothing: releasing it is a no-op.
		v_outcome := 'ok';
	ELSE
		v_outcome := 'conflict';
	END IF;

	RETURN QUERY SELECT v_outcome, r.status, i.product_id, i.quantity,
	    i.available, inventory.ts(r.created_at), inventory.ts(r.updated_at)
	    FROM inventory.reservations r
	    JOIN inventory.reservation_items i
	      ON i.reservation_id = r.reservation_id
	    WHERE r.reservation_id = p_id ORDER BY i.product_id;
END
$$;

-- put_stock(): set the reservable quantity. p_check: an If-Match was sent;
-- p_versions: the versions it names (NULL for "*"). outcome is one of
-- created, updated, precondition_failed (row: the current state, if any).
CREATE FUNCTION inventory.put_stock(p_product text, p_quantity bigint,
    p_check boolean, p_versions bigint[])
RETURNS TABLE (outcome text, product_id text, quantity bigint,
    reserved bigint, version bigint, updated_at text)
LANGUAGE plpgsql AS $$
DECLARE
	v_version bigint;
	v_outcome text;
BEGIN
	PERFORM pg_advisory_xact_lock(hashtextextended(p_product, 7002));

	SELECT p.version INTO v_version FROM inventory.products p
	    WHERE p.product_id = p_product FOR UPDATE;
	IF NOT FOUND THEN
		IF p_check THEN
			RETURN QUERY SELECT 'precondition_failed'::text,
			    p_product, NULL::bigint, NULL::bigint,
			    NULL::bigint, NULL::text;
			RETURN;
		END IF;
		INSERT INTO inventory.products (product_id, quantity)
		    VALUES (p_product, p_quantity);
		v_outcome := 'created';
	ELSIF p_check AND p_versions IS NOT NULL AND
	    NOT (v_version = ANY (p_versions)) THEN
		v_outcome := 'precondition_failed';
	ELSE
		UPDATE inventory.products p SET quantity = p_quantity,
		    version = p.version + 1, updated_at = now()
		    WHERE p.product_id = p_product;
		v_outcome := 'updated';
	END IF;

	RETURN QUERY SELECT v_outcome, p.product_id, p.quantity, p.reserved,
	    p.version, inventory.ts(p.updated_at)
	    FROM inventory.products p WHERE p.product_id = p_product;
END
$$;

GRANT EXECUTE ON FUNCTION inventory.ts(timestamptz),
    inventory.reserve(uuid, text[], bigint[]),
    inventory.settle(uuid, boolean),
    inventory.put_stock(text, bigint, boolean, bigint[])
    TO inventory_service;
