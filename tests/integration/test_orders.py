"""order-service against CONTRACT §4: the supply order saga over real TLS
against the real inventory-service and logistics-service, PostgreSQL, the
audit trail and its grants, compensation when a downstream is down, and
resuming after a crash between two steps."""

import concurrent.futures
import json
import os
import re
import signal
import subprocess
import time
import uuid

import pytest

from conftest import (RUN, assert_error, new_product, psql,
                      service_client, stack, start_service, stop_service,
                      wait_for)
from orderflow import stocked, totals

UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-"
                     r"[0-9a-f]{12}")
TS_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


@pytest.fixture(scope="module")
def svc(pg, inventory):
    """order-service alone: the tests that need logistics-service ask for
    it (fixture `logistics`) themselves."""
    return service_client("order-service")


def body(items, crm=None, customer=None, postal="10115", country="DE"):
    return {"crm_order_id": crm or str(uuid.uuid4()),
            "customer_id": customer or str(uuid.uuid4()),
            "items": [{"product_id": p, "quantity": q} for p, q in items],
            "destination": {"postal_code": postal, "country": country}}


def post(svc, doc, rid=None):
    return svc.call("POST", "/supply-orders", doc,
                    headers={"X-Request-Id": rid} if rid else None)


def events(svc, oid):
    status, _, doc = svc.call("GET", "/supply-orders/%s/audit" % oid)
    assert status == 200, doc
    return doc["events"]


def test_probes(svc):
    status, _, doc = svc.call("GET", "/healthz", token=False)
    assert status == 200, doc
    status, _, doc = svc.call("GET", "/readyz", token=False)
    assert status == 200, doc


def test_full_saga_confirmed_once(svc, inventory, logistics):
    a, b = stocked(inventory, 10), stocked(inventory, 5)
    doc_in = body([(a, 3), (b, 1)])
    rid = "ord-test-" + uuid.uuid4().hex[:12]
    status, hdrs, doc = post(svc, doc_in, rid)
    assert status == 201, doc
    assert hdrs["x-request-id"] == rid
    assert doc["status"] == "confirmed" and "reason" not in doc
    assert UUID_RE.fullmatch(doc["id"])
    assert doc["crm_order_id"] == doc_in["crm_order_id"]
    assert sorted((i["product_id"], i["quantity"]) for i in doc["items"]) \
        == sorted([(a, 3), (b, 1)])
    ship = doc["shipment"]
    assert UUID_RE.fullmatch(ship["id"]) and ship["carrier"]
    assert TS_RE.fullmatch(ship["eta"]) and ship["status"]
    assert TS_RE.fullmatch(doc["created_at"])
    assert TS_RE.fullmatch(doc["updated_at"])
    # Reserved, then committed: the units left, exactly once.
    assert totals(a) == (7, 0, 3) and totals(b) == (4, 0, 1)

    # The repeat: the same supply order, nothing reserved again.
    status, _, again = post(svc, doc_in)
    assert status == 201, again
    assert again["id"] == doc["id"]
    assert again["shipment"]["id"] == ship["id"]
    assert totals(a) == (7, 0, 3) and totals(b) == (4, 0, 1)

    # GET: the shipment with its live status from logistics-service.
    status, _, got = svc.call("GET", "/supply-orders/" + doc["id"])
    assert status == 200, got
    assert got["id"] == doc["id"] and got["status"] == "confirmed"
    assert got["shipment"]["id"] == ship["id"]
    assert got["shipment"]["status"] in ("label_created", "in_transit",
                                         "out_for_delivery", "delivered")
    assert got["shipment"]["status_stale"] is False

    # The stored shipment record, as logistics-service created it.
    status, _, rec = svc.call("GET",
                              "/supply-orders/by-shipment/" + ship["id"])
    assert status == 200, rec
    for key in ("id", "order_id", "carrier", "service_level",
                "origin_warehouse", "distance_km", "eta", "created_at"):
        assert key in rec, (key, rec)
    assert rec["id"] == ship["id"] and rec["order_id"] == doc["id"]

    # logistics-service reads it back through us.
    status, _, live = logistics.call("GET", "/shipments/" + ship["id"])
    assert status == 200, live
    assert live["order_id"] == doc["id"]

    # The audit trail: every state change, with the request id.
    evs = events(svc, doc["id"])
    names = [e["event"] for e in evs]
    assert names[:4] == ["created", "reserved", "shipped", "confirmed"]
    assert all(e["request_id"] == rid for e in evs[:4])
    assert [e["service"] for e in evs[:4]] == [
        "order-service", "inventory-service", "logistics-service",
        "inventory-service"]
    for e in evs:
        assert TS_RE.fullmatch(e["at"]) and isinstance(e["details"], dict)
    assert evs[2]["details"]["shipment_id"] == ship["id"]
    # The repeat changed nothing: no further event.
    assert len(evs) == 4
    # One request's steps are recorded in one transaction (orders.finish()).
    xmins = psql("SELECT xmin FROM orders.audit_events WHERE "
                 "supply_order_id = '%s' ORDER BY seq" % doc["id"])
    assert len({x[0] for x in xmins[1:]}) == 1, xmins
    # The request id travelled downstream: both services logged it.
    # (Request lines are written in batches, within 10 ms.)
    for name in ("inventory-service", "logistics-service"):
        path = os.path.join(RUN, "logs", name + ".log")
        assert wait_for(lambda: '"request_id":"%s"' % rid in
                        open(path).read(), timeout=5), name


def test_insufficient_stock_rejected(svc, inventory):
    a, b = stocked(inventory, 10), stocked(inventory, 1)
    doc_in = body([(a, 2), (b, 2)])
    status, _, doc = post(svc, doc_in)
    assert status == 201, doc
    assert doc["status"] == "rejected"
    assert doc["reason"] == "insufficient_stock"
    assert "shipment" not in doc
    assert totals(a) == (10, 0, 0) and totals(b) == (1, 0, 0)
    # Final: the repeat answers the same, and reserves nothing.
    status, _, again = post(svc, doc_in)
    assert status == 201 and again["id"] == doc["id"]
    assert again["status"] == "rejected"
    assert totals(a) == (10, 0, 0)
    assert [e["event"] for e in events(svc, doc["id"])] == [
        "created", "rejected"]


def test_unknown_product_rejected(svc, inventory):
    a = stocked(inventory, 10)
    status, _, doc = post(svc, body([(a, 1), (new_product("NOPE"), 1)]))
    assert status == 201, doc
    assert doc["status"] == "rejected"
    assert doc["reason"] == "unknown_product"
    assert totals(a) == (10, 0, 0)


def test_logistics_down_compensates_then_resumes(svc, inventory,
                                                logistics):
    a = stocked(inventory, 10)
    doc_in = body([(a, 4)])
    stop_service("logistics-service")
    try:
        t0 = time.monotonic()
        status, hdrs, doc = post(svc, doc_in, "ord-down-1")
        # Within the request deadline (2 s; never more than 3 s).
        assert time.monotonic() - t0 < 3.0
        err = assert_error(status, hdrs, doc, 503, "unavailable")
        assert int(hdrs["retry-after"]) >= 1
        assert "logistics-service" in err["message"]
        # Compensated: nothing stays reserved.
        assert totals(a) == (10, 0, 0)
        oid = psql("SELECT id FROM orders.supply_orders WHERE "
                   "crm_order_id = '%s'" % doc_in["crm_order_id"])[0][0]
        status, _, got = svc.call("GET", "/supply-orders/" + oid)
        assert status == 200 and got["status"] == "pending"
        names = [e["event"] for e in events(svc, oid)]
        assert names == ["created", "reserved", "compensated"], names
        comp = events(svc, oid)[2]["details"]
        assert comp["released"] is True and comp["failed_step"] == "ship"
    finally:
        start_service("logistics-service")

    # The caller's repeat resumes the pending order and completes it.
    status, _, doc = post(svc, doc_in, "ord-down-2")
    assert status == 201, doc
    assert doc["id"] == oid and doc["status"] == "confirmed"
    assert totals(a) == (6, 0, 4)
    names = [e["event"] for e in events(svc, oid)]
    assert names == ["created", "reserved", "compensated", "resumed",
                     "reserved", "shipped", "confirmed"], names


def test_inventory_down_leaves_pending(svc, inventory, logistics):
    a = stocked(inventory, 10)
    doc_in = body([(a, 1)])
    stop_service("inventory-service")
    try:
        status, hdrs, doc = post(svc, doc_in)
        err = assert_error(status, hdrs, doc, 503, "unavailable")
        assert "inventory-service" in err["message"]
    finally:
        start_service("inventory-service")
    status, _, doc = post(svc, doc_in)
    assert status == 201 and doc["status"] == "confirmed", doc
    assert totals(a) == (9, 0, 1)


def simulate_crash(inventory, step, reservation=None):
    """An order whose saga stopped right after `step` (and whose lease ran
    out), as a crash of order-service would leave it; `reservation` is what
    inventory-service holds for it then."""
    a = stocked(inventory, 10)
    oid, crm, cust = (str(uuid.uuid4()) for _ in range(3))
    psql("INSERT INTO orders.supply_orders (id, crm_order_id, customer_id,"
         " step, reservation_id, postal_code, country, claimed_by,"
         " claimed_until) VALUES ('%s', '%s', '%s', '%s', '%s', '10115',"
         " 'DE', gen_random_uuid(), now() - interval '1 second');"
         " INSERT INTO orders.supply_order_items VALUES ('%s', '%s', 2)"
         % (oid, crm, cust, step, oid, oid, a))
    if reservation:
        status, _, doc = inventory.call(
            "POST", "/inventory/reservations",
            {"reservation_id": oid,
             "items": [{"product_id": a, "quantity": 2}]})
        assert status == 201, doc
        if reservation == "committed":
            status, _, doc = inventory.call(
                "POST", "/inventory/reservations/%s/commit" % oid)
            assert status == 200, doc
        if reservation == "released":
            status, _, doc = inventory.call(
                "DELETE", "/inventory/reservations/%s" % oid)
            assert status == 200, doc
    return a, body([(a, 2)], crm=crm, customer=cust), oid


@pytest.mark.parametrize("step,held", [
    ("recorded", None),             # crashed before reserving
    ("recorded", "reserved"),       # reserved, or reserved and shipped:
                                    # a request records its steps at its
                                    # end (orders.finish())
    ("recorded", "committed"),      # committed, the record was lost
    ("reserved", "reserved"),       # recorded step by step (a replica of
    ("reserved", "committed"),      # the previous version, 0020's
                                    # advance()), before the shipment
])
def test_repeat_resumes_after_a_crash(svc, inventory, logistics, step,
                                      held):
    a, doc_in, oid = simulate_crash(inventory, step, held)
    status, _, doc = post(svc, doc_in)
    assert status == 201, doc
    assert doc["id"] == oid and doc["status"] == "confirmed"
    assert totals(a) == (8, 0, 2)


@pytest.mark.parametrize("step", ["recorded", "reserved"])
def test_resume_after_a_crash_during_compensation(svc, inventory, logistics,
                                                  step):
    # The reservation was released, the record of it lost: a released
    # reservation id cannot be reserved again, so the first repeat
    # compensates (a fresh reservation id) and the next one completes.
    a, doc_in, oid = simulate_crash(inventory, step, "released")
    status, hdrs, doc = post(svc, doc_in)
    assert_error(status, hdrs, doc, 503, "unavailable")
    assert totals(a) == (10, 0, 0)
    status, _, doc = post(svc, doc_in)
    assert status == 201, doc
    assert doc["id"] == oid and doc["status"] == "confirmed"
    assert totals(a) == (8, 0, 2)


@pytest.mark.parametrize("recorded", [False, True])
def test_resume_after_crash_once_shipped(svc, inventory, logistics,
                                         recorded):
    # The shipment was created (and recorded step by step, or not recorded
    # at all: the request that made it died before its end); the commit
    # did not happen, or happened and its answer was lost: all complete
    # exactly once, with the same shipment.
    for held in ("reserved", "committed"):
        a, doc_in, oid = simulate_crash(
            inventory, "reserved" if recorded else "recorded", held)
        ship = {"order_id": oid, "items": doc_in["items"],
                "destination": doc_in["destination"]}
        status, _, rec = logistics.call("POST", "/shipments", ship)
        assert status == 201, rec
        if recorded:
            psql("UPDATE orders.supply_orders SET step = 'shipped', "
                 "shipment = '%s'::jsonb, shipment_id = '%s' WHERE "
                 "id = '%s'" % (json.dumps(rec), rec["id"], oid))
        status, _, doc = post(svc, doc_in)
        assert status == 201, doc
        assert doc["status"] == "confirmed"
        assert doc["shipment"]["id"] == rec["id"]
        assert totals(a) == (8, 0, 2)
        names = [e["event"] for e in events(svc, oid)]
        assert names == ["resumed"] + (["confirmed"] if recorded else
                                       ["reserved", "shipped",
                                        "confirmed"]), names


def test_repeat_completes_after_a_real_crash(svc, inventory, logistics):
    # order-service is SIGKILLed while its saga waits on a frozen
    # logistics-service, with the stock reserved: the reservation stays
    # held, and once the dead request's lease ran out (5 s) a repeat
    # completes the order exactly once.
    a = stocked(inventory, 10)
    doc_in = body([(a, 2)])
    with open(os.path.join(RUN, "svc", "logistics-service.pid")) as f:
        lpid = int(f.read())
    os.killpg(lpid, signal.SIGSTOP)
    try:
        with concurrent.futures.ThreadPoolExecutor(1) as ex:
            fut = ex.submit(lambda: post(svc, doc_in))
            assert wait_for(lambda: totals(a) == (8, 2, 0), 3, 0.02)
            stack("service.sh", "kill", "order-service")
            with pytest.raises(Exception):
                fut.result()
    finally:
        os.killpg(lpid, signal.SIGCONT)
    start_service("order-service")
    assert totals(a) == (8, 2, 0)

    answers = []

    def repeat():
        answers.append(post(svc, doc_in))
        return answers[-1][0] == 201
    assert wait_for(repeat, 15, 0.5), answers[-1]
    assert answers[-1][2]["status"] == "confirmed"
    assert totals(a) == (8, 0, 2)
    # Before the lease ran out the repeats were told to come back.
    for status, hdrs, doc in answers[:-1]:
        assert_error(status, hdrs, doc, 503, "unavailable")


def test_a_held_lease_makes_the_repeat_wait_then_503(svc, inventory,
                                                    logistics):
    a, doc_in, oid = simulate_crash(inventory, "recorded")
    psql("UPDATE orders.supply_orders SET claimed_until = now() + "
         "interval '1 hour' WHERE id = '%s'" % oid)
    t0 = time.monotonic()
    err = assert_error(*post(svc, doc_in), 503, "unavailable")
    assert 0.7 < time.monotonic() - t0 < 3.0     # waited for it, bounded
    assert "another request" in err["message"]
    assert totals(a) == (10, 0, 0)
    psql("UPDATE orders.supply_orders SET claimed_until = now() "
         "WHERE id = '%s'" % oid)
    status, _, doc = post(svc, doc_in)
    assert status == 201 and doc["status"] == "confirmed", doc
    assert totals(a) == (8, 0, 2)


def test_concurrent_repeats_run_the_saga_once(svc, inventory, logistics):
    a = stocked(inventory, 100)
    doc_in = body([(a, 5)])
    with concurrent.futures.ThreadPoolExecutor(6) as ex:
        results = list(ex.map(lambda _: post(svc, doc_in), range(6)))
    ids = set()
    for status, hdrs, doc in results:
        if status == 503:       # waited for the lease, in vain: allowed
            assert_error(status, hdrs, doc, 503, "unavailable")
            continue
        assert status == 201, doc
        assert doc["status"] == "confirmed"
        ids.add(doc["id"])
    assert len(ids) == 1
    status, _, doc = post(svc, doc_in)
    assert status == 201 and doc["id"] in ids
    assert totals(a) == (95, 0, 5)
    names = [e["event"] for e in events(svc, doc["id"])]
    assert names.count("created") == 1 and names.count("confirmed") == 1
    assert names.count("shipped") == 1


def test_same_key_other_body_conflicts(svc, inventory):
    a = stocked(inventory, 10)
    doc_in = body([(a, 1), (new_product("NOPE"), 1)])
    status, _, doc = post(svc, doc_in)
    assert status == 201 and doc["status"] == "rejected", doc
    other = dict(doc_in, items=[{"product_id": a, "quantity": 2}])
    assert_error(*post(svc, other), 409, "idempotency_conflict")
    other = dict(doc_in, destination={"postal_code": "1", "country": "FR"})
    assert_error(*post(svc, other), 409, "idempotency_conflict")
    assert totals(a) == (10, 0, 0)


def test_live_status_when_logistics_is_down(svc, inventory, logistics):
    a = stocked(inventory, 10)
    status, _, doc = post(svc, body([(a, 1)]))
    assert status == 201 and doc["status"] == "confirmed", doc
    stop_service("logistics-service")
    try:
        status, _, got = svc.call("GET", "/supply-orders/" + doc["id"])
        assert status == 200, got
        assert got["shipment"]["id"] == doc["shipment"]["id"]
        assert got["shipment"]["status"] == "label_created"
        assert got["shipment"]["status_stale"] is True
    finally:
        start_service("logistics-service")


def test_audit_is_append_only_by_grants(svc):
    def priv(p):
        return psql("SELECT has_table_privilege('order_service', "
                    "'orders.audit_events', '%s')" % p)[0][0]
    assert priv("INSERT") == "t" and priv("SELECT") == "t"
    for p in ("UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"):
        assert priv(p) == "f", p
    # Not even the owner rewrites history.
    with pytest.raises(subprocess.CalledProcessError):
        psql("UPDATE orders.audit_events SET event = 'x'")
    with pytest.raises(subprocess.CalledProcessError):
        psql("DELETE FROM orders.audit_events")


def test_role_is_least_privilege(svc):
    rows = psql("SELECT has_schema_privilege('order_service', s, 'USAGE') "
                "FROM unnest(ARRAY['crm', 'inventory', 'orders']) s")
    assert [r[0] for r in rows] == ["f", "f", "t"]
    rows = psql("SELECT has_table_privilege('order_service', t, 'DELETE') "
                "FROM unnest(ARRAY['orders.supply_orders', "
                "'orders.supply_order_items']) t")
    assert [r[0] for r in rows] == ["f", "f"]
    assert psql("SELECT has_table_privilege('order_service', "
                "'orders.supply_order_items', 'UPDATE')")[0][0] == "f"
    # Only the saga's columns of an order may change.
    rows = psql("SELECT has_column_privilege('order_service', "
                "'orders.supply_orders', c, 'UPDATE') FROM unnest(ARRAY["
                "'crm_order_id', 'customer_id', 'created_at', 'status', "
                "'step']) c")
    assert [r[0] for r in rows] == ["f", "f", "f", "t", "t"]


def test_validation(svc):
    good = body([("SKU-1", 1)])

    def bad(doc, *fields):
        err = assert_error(*post(svc, doc), 400, "validation_failed")
        got = {d["field"] for d in err["details"]}
        for f in fields:
            assert f in got, (f, err)

    bad({}, "crm_order_id", "customer_id", "items", "destination")
    bad(dict(good, crm_order_id="ABC"), "crm_order_id")
    bad(dict(good, customer_id=str(uuid.uuid4()).upper()), "customer_id")
    bad(dict(good, items=[]), "items")
    bad(dict(good, items=[{"product_id": "x", "quantity": 0}]),
        "items[0].product_id", "items[0].quantity")
    bad(dict(good, items=[{"product_id": "SKU-1", "quantity": 1001}]),
        "items[0].quantity")
    bad(dict(good, items=[{"product_id": "SKU-1", "quantity": 1},
                          {"product_id": "SKU-1", "quantity": 2}]),
        "items[1].product_id")
    bad(dict(good, destination={"postal_code": "", "country": "XX"}),
        "destination.postal_code", "destination.country")
    # logistics-service's rule: a supply order it could never plan was
    # answered 503 and stayed pending, whatever the repeats.
    bad(dict(good, destination={"postal_code": "#1", "country": "DE"}),
        "destination.postal_code")
    bad(dict(good, extra=1), "extra")
    assert_error(*svc.call("POST", "/supply-orders", "{not json",
                           headers={"Content-Type": "application/json"}),
                 400, "malformed_json")
    assert_error(*svc.call("POST", "/supply-orders", "x",
                           headers={"Content-Type": "text/plain"}),
                 415, "unsupported_media_type")


def test_auth_ids_and_methods(svc):
    oid = str(uuid.uuid4())
    for method, path in (("POST", "/supply-orders"),
                         ("GET", "/supply-orders/" + oid),
                         ("GET", "/supply-orders/%s/audit" % oid),
                         ("GET", "/supply-orders/by-shipment/" + oid)):
        assert_error(*svc.call(method, path, token=False),
                     401, "unauthorized")
        assert_error(*svc.call(method, path, token="Bearer wrong"),
                     401, "unauthorized")
    for path in ("/supply-orders/" + oid, "/supply-orders/%s/audit" % oid,
                 "/supply-orders/by-shipment/" + oid):
        assert_error(*svc.call("GET", path), 404, "not_found")
    for path in ("/supply-orders/nope", "/supply-orders/%s/audit"
                 % oid.upper(), "/supply-orders/by-shipment/123"):
        assert_error(*svc.call("GET", path), 400, "validation_failed")
    status, hdrs, doc = svc.call("DELETE", "/supply-orders/" + oid)
    assert_error(status, hdrs, doc, 405, "method_not_allowed")
    assert hdrs["allow"].startswith("GET")
    assert_error(*svc.call("GET", "/supply-orders"), 405,
                 "method_not_allowed")
