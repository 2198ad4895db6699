-- The saga's steps recorded together (issue 16 §2): finish() records what
-- one request did - reserved, shipped and confirmed; or rejected; or the
-- steps it got through and their compensation - in ONE transaction, where
-- advance() took one per step. The ids a step uses are the order's own
-- (the reservation id, the supply order id as the shipment's order_id), so
-- a step need not be recorded before the next one starts: after a crash
-- between two steps the order is still at the step it was last recorded
-- at, and the caller's repeat redoes what follows; every downstream write
-- is idempotent by those ids, so a step done twice takes effect once.
-- Every state change still has its audit row, written in the transaction
-- that records the change.
--
-- An expand step (docs/operations.md, "Migrations during a rollout"):
-- advance() stays, so a replica of the previous version that runs the
-- saga step by step keeps working beside one that calls finish(), on the
-- same orders.

-- finish(): applies p_events in order to the order p_id, whose lease
-- p_token must hold; p_services names the service each event concerned,
-- p_details (a JSON array, one element per event, null for none) its
-- details, p_shipment the logistics answer when 'shipped' is among them.
-- Each event starts from the step the previous one left (as advance()
-- checks them one at a time):
--   reserved      recorded -> reserved
--   rejected      recorded -> rejected, reason details->>'reason'
--   shipped       reserved -> shipped, the shipment stored
--   confirmed     shipped -> committed, status confirmed
--   compensated   any pending step -> recorded; a fresh reservation id
--                 when details->>'released' is true
--   suspended     nothing changes (a step failed, its compensation too)
-- The lease is released when the last event ends the request's part
-- (all but reserved and shipped). outcome: 'ok', or 'lost' (nothing
-- changed) when the lease is not p_token's or an event does not start
-- from the step before it.
CREATE FUNCTION orders.finish(p_id uuid, p_token uuid, p_request_id text,
    p_events text[], p_services text[], p_details jsonb, p_shipment jsonb)
RETURNS SETOF orders.order_row
LANGUAGE plpgsql AS $$
DECLARE
	o orders.supply_orders%ROWTYPE;
	v_step text;
	v_status text;
	v_reason text;
	v_reservation uuid;
	v_shipment jsonb;
	v_from text[] := '{}';
	v_n integer := coalesce(array_length(p_events, 1), 0);
	v_ok boolean;
	i integer;
BEGIN
	SELECT * INTO o FROM orders.supply_orders s WHERE s.id = p_id
	    FOR UPDATE;
	IF NOT FOUND OR o.status <> 'pending' OR
	    o.claimed_by IS DISTINCT FROM p_token OR v_n = 0 OR
	    coalesce(array_length(p_services, 1), 0) <> v_n THEN
		RETURN QUERY SELECT * FROM orders.order_rows('lost', p_id);
		RETURN;
	END IF;

	v_step := o.step;
	v_status := o.status;
	v_reason := o.reason;
	v_reservation := o.reservation_id;
	v_shipment := o.shipment;
	FOR i IN 1 .. v_n LOOP
		v_from := v_from || v_step;
		v_ok := v_status = 'pending';
		CASE p_events[i]
		WHEN 'reserved' THEN
			v_ok := v_ok AND v_step = 'recorded';
			v_step := 'reserved';
		WHEN 'rejected' THEN
			v_ok := v_ok AND v_step = 'recorded';
			v_step := 'rejected';
			v_status := 'rejected';
			v_reason := p_details->(i - 1)->>'reason';
		WHEN 'shipped' THEN
			v_ok := v_ok AND v_step = 'reserved' AND
			    jsonb_typeof(p_shipment) = 'object';
			v_step := 'shipped';
			v_shipment := p_shipment;
		WHEN 'confirmed' THEN
			v_ok := v_ok AND v_step = 'shipped';
			v_step := 'committed';
			v_status := 'confirmed';
		WHEN 'compensated' THEN
			v_step := 'recorded';
			IF (p_details->(i - 1)->>'released')::boolean THEN
				v_reservation := gen_random_uuid();
			END IF;
		WHEN 'suspended' THEN
			NULL;
		ELSE
			RAISE EXCEPTION 'unknown saga event %', p_events[i];
		END CASE;
		IF NOT v_ok THEN
			RETURN QUERY SELECT * FROM orders.order_rows('lost',
			    p_id);
			RETURN;
		END IF;
	END LOOP;

	UPDATE orders.supply_orders s SET step = v_step, status = v_status,
	    reason = v_reason, reservation_id = v_reservation,
	    shipment = v_shipment,
	    shipment_id = (v_shipment->>'id')::uuid,
	    claimed_by = CASE WHEN p_events[v_n] IN ('reserved', 'shipped')
	        THEN s.claimed_by END,
	    claimed_until = CASE WHEN p_events[v_n] IN ('reserved', 'shipped')
	        THEN s.claimed_until END,
	    updated_at = now()
	    WHERE s.id = p_id;

	INSERT INTO orders.audit_events (supply_order_id, event, service,
	    request_id, details)
	    SELECT p_id, e.event, e.service, p_request_id,
	    coalesce(nullif(p_details->(e.n::integer - 1), 'null'::jsonb),
	        '{}'::jsonb) || jsonb_build_object('from_step', e.from_step,
	        'reservation_id', o.reservation_id)
	    FROM unnest(p_events, p_services, v_from) WITH ORDINALITY
	        AS e(event, service, from_step, n)
	    ORDER BY e.n;

	RETURN QUERY SELECT * FROM orders.order_rows('ok', p_id);
END
$$;

GRANT EXECUTE ON FUNCTION orders.finish(uuid, uuid, text, text[], text[],
    jsonb, jsonb) TO order_service;
