-- The rows of a reservation, as reserve() and settle() answer them, in one
-- place: 0010 wrote the same SELECT four times. reserve() and settle() are
-- redefined on it, settle()'s two UPDATEs (commit, release) as one, with
-- nothing else changed: same rows, same locks, same results. An applied
-- migration is never edited, so a stack migrated before this one gets the
-- same functions as a new one.
--
-- reservation_rows() is a STABLE SQL function with one SELECT, so the
-- planner inlines it into the queries that call it; being STABLE it shares
-- the caller's snapshot, which sees the rows reserve() has just written.

CREATE FUNCTION inventory.reservation_rows(p_id uuid, p_outcome text)
RETURNS TABLE (outcome text, status text, product_id text, quantity bigint,
    available bigint, created_at text, updated_at text)
LANGUAGE sql STABLE AS $$
	SELECT p_outcome, r.status, i.product_id, i.quantity, i.available,
	    inventory.ts(r.created_at), inventory.ts(r.updated_at)
	    FROM inventory.reservations r
	    JOIN inventory.reservation_items i
	      ON i.reservation_id = r.reservation_id
	    WHERE r.reservation_id = p_id ORDER BY i.product_id
$$;

-- reserve(): all or nothing. outcome is one of
--   created             every item reserved (one row per item)
--   replayed            the id was seen before: its first result, unchanged
--   insufficient_stock  nothing reserved; rows carry what was available
--   unknown_product     nothing reserved; rows name the unknown products
CREATE OR REPLACE FUNCTION inventory.reserve(p_id uuid, p_products text[],
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
		RETURN QUERY SELECT * FROM inventory.reservation_rows(p_id,
		    'replayed');
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
		RETURN QUERY SELECT * FROM inventory.reservation_rows(p_id,
		    'insufficient_stock');
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

	RETURN QUERY SELECT * FROM inventory.reservation_rows(p_id, 'created');
END
$$;

-- settle(): commit (p_commit) or release a reservation. outcome is one of
--   ok         done now, or already in the asked-for state (idempotent)
--   conflict   committing a released/rejected one, releasing a committed one
--   not_found  no such reservation (no rows but this one)
CREATE OR REPLACE FUNCTION inventory.settle(p_id uuid, p_commit boolean)
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
		-- Committed: reserved -> committed; released: back to quantity.
		UPDATE inventory.products p
		    SET reserved = p.reserved - i.quantity,
		        committed = p.committed +
		            CASE WHEN p_commit THEN i.quantity ELSE 0 END,
		        quantity = p.quantity +
		            CASE WHEN p_commit THEN 0 ELSE i.quantity END,
		        version = p.version + 1, updated_at = now()
		    FROM inventory.reservation_items i
		    WHERE i.reservation_id = p_id
		      AND p.product_id = i.product_id;
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

	RETURN QUERY SELECT * FROM inventory.reservation_rows(p_id, v_outcome);
END
$$;

GRANT EXECUTE ON FUNCTION inventory.reservation_rows(uuid, text)
    TO inventory_service;
