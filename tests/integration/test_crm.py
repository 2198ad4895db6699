"""crm-api against CONTRACT §2 and §3: customers, orders forwarded to the
real order-service (with the real inventory- and logistics-service behind
it), idempotency, the outbox across an outage of order-service."""

import concurrent.futures
import http.client
import json
import re
import uuid

import pytest

from conftest import (assert_error, metrics_help, new_product, psql,
                      service_client, stack, start_service, stop_service,
                      wait_for)
from orderflow import stock, stocked

TS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-"
                  r"[0-9a-f]{12}$")
ADDRESS = {"line1": "Unter den Linden 1", "city": "Berlin",
           "postal_code": "10117", "country": "DE"}


@pytest.fixture(scope="session")
def crm_api(pg):
    """crm-api alone: enough for what does not reach order-service."""
    return service_client("crm-api")


JSON = "application/json; charset=utf-8"


def new_customer(api, **kw):
    body = {"name": "Ada Lovelace",
            "email": "ada-%s@example.com" % uuid.uuid4().hex[:12]}
    body.update(kw)
    status, _, doc = api.call("POST", "/customers", body)
    assert status == 201, doc
    return doc


def order_body(customer_id, items, address=None):
    return {"customer_id": customer_id,
            "items": [{"product_id": p, "quantity": q} for p, q in items],
            "shipping_address": address or ADDRESS}


def get_order(api, oid):
    status, _, doc = api.call("GET", "/orders/" + oid)
    assert status == 200, doc
    return doc


def final(api, oid):
    return get_order(api, oid)["status"] in ("confirmed", "rejected")


def supply_orders_of(oid):
    return int(psql("SELECT count(*) FROM orders.supply_orders "
                    "WHERE crm_order_id = '%s'" % oid)[0][0])


# --- customers (database only) ----------------------------------------------

def test_customer_create_and_get(crm_api):
    email = "Grace.%s@Example.com" % uuid.uuid4().hex[:8]
    status, hdrs, doc = crm_api.call("POST", "/customers", {
        "name": "Grace Hopper", "email": email, "phone": "+1 (555) 010-0100"})
    assert status == 201, doc
    assert set(doc) == {"id", "name", "email", "phone", "created_at"}
    assert UUID.match(doc["id"]) and TS.match(doc["created_at"])
    assert doc["email"] == email and doc["phone"] == "+1 (555) 010-0100"
    assert hdrs["content-type"].startswith("application/json")

    status, _, got = crm_api.call("GET", "/customers/" + doc["id"])
    assert status == 200 and got == doc

    # Without a phone it is null.
    doc2 = new_customer(crm_api)
    assert doc2["phone"] is None


def test_customer_email_taken_whatever_its_case(crm_api):
    doc = new_customer(crm_api)
    assert_error(*crm_api.call("POST", "/customers", {
        "name": "Other", "email": doc["email"].upper()}), 409, "conflict")
    assert_error(*crm_api.call("POST", "/customers", {
        "name": "Other", "email": doc["email"]}), 409, "conflict")
    rows = psql("SELECT count(*) FROM crm.customers WHERE lower(email) = "
                "lower('%s')" % doc["email"])
    assert rows == [["1"]]


@pytest.mark.parametrize("body,fields", [
    ({"email": "a@example.com"}, {"name"}),
    ({"name": "", "email": "a@example.com"}, {"name"}),
    ({"name": "x" * 201, "email": "a@example.com"}, {"name"}),
    ({"name": "A", "email": "not-an-address"}, {"email"}),
    ({"name": "A", "email": "a@example.com", "phone": 12}, {"phone"}),
    ({"name": "A", "email": "a@example.com", "vip": True}, {"vip"}),
    ({"name": 5, "email": None}, {"name", "email"}),
])
def test_customer_validation(crm_api, body, fields):
    err = assert_error(*crm_api.call("POST", "/customers", body), 400,
                       "validation_failed")
    assert {d["field"] for d in err["details"]} == fields, err


@pytest.mark.parametrize("name", ["\\ud800", "A\\ud800\\u0041",
                                  "\\udc00"])
def test_customer_name_lone_surrogate(crm_api, name):
    """Issue 12 L1: a lone or mismatched surrogate escape is not text."""
    body = '{"name":"%s","email":"s-%s@example.com"}' % (
        name, uuid.uuid4().hex[:12])
    assert_error(*crm_api.call("POST", "/customers", body, headers={
        "Content-Type": "application/json"}), 400, "malformed_json")


def test_customer_name_surrogate_pair(crm_api):
    body = '{"name":"Smile \\ud83d\\ude00","email":"p-%s@example.com"}' % (
        uuid.uuid4().hex[:12])
    status, _, doc = crm_api.call("POST", "/customers", body, headers={
        "Content-Type": "application/json"})
    assert status == 201, doc
    assert doc["name"] == "Smile \U0001F600"
    status, _, got = crm_api.call("GET", "/customers/" + doc["id"])
    assert status == 200 and got["name"] == "Smile \U0001F600"


def test_customer_bad_requests(crm_api):
    assert_error(*crm_api.call("POST", "/customers", "{nope",
                               headers={"Content-Type": JSON}), 400,
                 "malformed_json")
    # A body that does not say what it is: 415 (CONTRACT section 2).
    assert_error(*crm_api.call("POST", "/customers", "{nope"), 415,
                 "unsupported_media_type")
    assert_error(*crm_api.call("GET", "/customers/not-a-uuid"), 400,
                 "validation_failed")
    assert_error(*crm_api.call("GET", "/customers/" + str(uuid.uuid4())),
                 404, "not_found")
    assert_error(*crm_api.call("POST", "/customers", {"name": "A"},
                               token="Bearer wrong"), 401, "unauthorized")
    assert_error(*crm_api.call("POST", "/customers", {"name": "A"},
                               token=False), 401, "unauthorized")
    status, hdrs, doc = crm_api.call("DELETE", "/customers/" +
                                     str(uuid.uuid4()))
    assert_error(status, hdrs, doc, 405, "method_not_allowed")
    assert "GET" in hdrs["allow"]
    status, hdrs, doc = crm_api.call(
        "POST", "/customers", "name=A",
        headers={"Content-Type": "text/plain"})
    assert_error(status, hdrs, doc, 415, "unsupported_media_type")


# --- orders: what crm-api decides alone --------------------------------------

def test_order_unknown_customer(crm_api):
    err = assert_error(*crm_api.call("POST", "/orders", order_body(
        str(uuid.uuid4()), [("SKU-1", 1)])), 422, "unknown_customer")
    assert err["details"][0]["field"] == "customer_id"


@pytest.mark.parametrize("mutate,field", [
    (lambda b: b.update(items=[]), "items"),
    (lambda b: b["items"][0].update(quantity=0), "items[0].quantity"),
    (lambda b: b["items"][0].update(quantity=1001), "items[0].quantity"),
    (lambda b: b["items"][0].update(product_id="lower"),
     "items[0].product_id"),
    (lambda b: b.update(items=[{"product_id": "P-%d" % i, "quantity": 1}
                               for i in range(101)]), "items"),
    (lambda b: b["shipping_address"].update(country="XX"),
     "shipping_address.country"),
    (lambda b: b["shipping_address"].pop("city"), "shipping_address.city"),
    # What logistics-service could never plan is refused here, not left
    # pending: the one postal code rule of every service (fmt_postal_code).
    (lambda b: b["shipping_address"].update(postal_code="#1"),
     "shipping_address.postal_code"),
    (lambda b: b["shipping_address"].update(postal_code=" 10115"),
     "shipping_address.postal_code"),
    (lambda b: b["shipping_address"].update(postal_code="10115/3"),
     "shipping_address.postal_code"),
    (lambda b: b.update(customer_id="nope"), "customer_id"),
    (lambda b: b.update(extra=1), "extra"),
])
def test_order_validation(crm_api, mutate, field):
    body = order_body(str(uuid.uuid4()), [("SKU-1", 1)], dict(ADDRESS))
    mutate(body)
    err = assert_error(*crm_api.call("POST", "/orders", body), 400,
                       "validation_failed")
    assert field in {d["field"] for d in err["details"]}, err


def test_idempotency_key_given_twice_is_400(crm_api):
    """Two Idempotency-Key headers: which order would a repeat find? (The
    first was used, the second ignored.)"""
    body = json.dumps(order_body(str(uuid.uuid4()), [("SKU-1", 1)]))
    conn = http.client.HTTPSConnection("127.0.0.1", crm_api.port,
                                       context=crm_api.ctx, timeout=5)
    try:
        conn.putrequest("POST", "/orders")
        for k, v in (("Authorization", "Bearer " + crm_api.token),
                     ("Content-Type", "application/json"),
                     ("Content-Length", str(len(body))),
                     ("Idempotency-Key", "key-one"),
                     ("Idempotency-Key", "key-two")):
            conn.putheader(k, v)
        conn.endheaders(body.encode())
        resp = conn.getresponse()
        hdrs = {k.lower(): v for k, v in resp.getheaders()}
        doc = json.loads(resp.read())
    finally:
        conn.close()
    err = assert_error(resp.status, hdrs, doc, 400, "validation_failed")
    assert [d["field"] for d in err["details"]] == ["Idempotency-Key"], err


def test_order_product_listed_twice(crm_api):
    err = assert_error(*crm_api.call("POST", "/orders", order_body(
        str(uuid.uuid4()), [("SKU-1", 1), ("SKU-2", 1), ("SKU-1", 2)])),
        400, "validation_failed")
    assert [d["field"] for d in err["details"]] == ["items[2].product_id"]


@pytest.mark.parametrize("key", ["", "k" * 129, "caf\u00e9", "tab\there"])
def test_idempotency_key_malformed(crm_api, key):
    cust = new_customer(crm_api)
    before = psql("SELECT count(*) FROM crm.orders")
    err = assert_error(*crm_api.call(
        "POST", "/orders", order_body(cust["id"], [("SKU-1", 1)]),
        headers={"Idempotency-Key": key}), 400, "validation_failed")
    # Kore's own header parser already refuses some of them ("request").
    assert err["details"][0]["field"] in ("Idempotency-Key", "request")
    if len(key) > 128:
        assert err["details"][0]["field"] == "Idempotency-Key"
    assert psql("SELECT count(*) FROM crm.orders") == before


def test_order_malformed_and_unknown_id(crm_api):
    assert_error(*crm_api.call("GET", "/orders/123"), 400,
                 "validation_failed")
    assert_error(*crm_api.call("GET", "/orders/" + str(uuid.uuid4())), 404,
                 "not_found")


def test_order_is_stored_with_its_outbox_entry(crm_api):
    """One transaction: whatever happens next, the order has its entry
    until order-service's final answer settles it."""
    cust = new_customer(crm_api)
    status, _, doc = crm_api.call("POST", "/orders", order_body(
        cust["id"], [("SKU-1", 1)]))
    assert status in (201, 202), doc
    rows = psql("SELECT o.status, b.order_id IS NOT NULL FROM crm.orders o "
                "LEFT JOIN crm.outbox b ON b.order_id = o.id "
                "WHERE o.id = '%s'" % doc["id"])
    assert rows in ([["pending", "t"]], [["confirmed", "f"]],
                    [["rejected", "f"]]), rows


# --- orders end to end (need order-service, inventory, logistics) ------------

def test_order_confirmed_end_to_end(crm, inventory):
    cust = new_customer(crm)
    pid = stocked(inventory, 10, "CRM")
    rid = "itest-crm-" + uuid.uuid4().hex[:12]
    status, hdrs, doc = crm.call("POST", "/orders",
                                 order_body(cust["id"], [(pid, 3)]),
                                 headers={"X-Request-Id": rid})
    assert status == 201, doc
    assert hdrs["x-request-id"] == rid
    assert doc["status"] == "confirmed" and "reason" not in doc
    assert doc["customer_id"] == cust["id"]
    assert doc["items"] == [{"product_id": pid, "quantity": 3}]
    assert doc["shipping_address"] == ADDRESS
    assert UUID.match(doc["supply_order_id"])
    ship = doc["shipment"]
    assert {"id", "carrier", "eta"} <= set(ship)
    assert TS.match(doc["created_at"]) and TS.match(doc["updated_at"])

    # Stock left exactly once: reserved, then committed (shipped).
    s = stock(inventory, pid)
    assert s["quantity"] == 7 and s["reserved"] == 0

    got = get_order(crm, doc["id"])
    assert got["status"] == "confirmed"
    assert got["shipment"]["id"] == ship["id"]
    assert got["shipment"]["status"] in ("label_created", "in_transit",
                                         "out_for_delivery", "delivered")
    assert supply_orders_of(doc["id"]) == 1


@pytest.mark.parametrize("country,postal", [("AQ", "1"), ("JP", "100-0001"),
                                           ("BV", "Z")])
def test_order_to_any_country_becomes_final(crm, inventory, country, postal):
    """Every ISO 3166-1 code crm-api accepts is one logistics-service
    plans (its data file lists them all): such an order was answered 202
    and retried for good, a reservation and a release every few seconds."""
    cust = new_customer(crm)
    pid = stocked(inventory, 5, "CRM")
    address = dict(ADDRESS, country=country, postal_code=postal)
    status, _, doc = crm.call("POST", "/orders",
                              order_body(cust["id"], [(pid, 2)], address))
    assert status == 201, doc
    assert doc["status"] == "confirmed", doc
    assert doc["shipping_address"] == address
    assert doc["shipment"]["carrier"]
    s = stock(inventory, pid)
    assert s["quantity"] == 3 and s["reserved"] == 0


def test_request_id_reaches_order_service_audit(crm, orders, inventory):
    cust = new_customer(crm)
    pid = stocked(inventory, 5, "CRM")
    rid = "itest-audit-" + uuid.uuid4().hex[:12]
    status, _, doc = crm.call("POST", "/orders",
                              order_body(cust["id"], [(pid, 1)]),
                              headers={"X-Request-Id": rid})
    assert status == 201, doc
    status, _, audit = orders.call(
        "GET", "/supply-orders/%s/audit" % doc["supply_order_id"])
    assert status == 200, audit
    assert audit["events"], audit
    assert rid in {e["request_id"] for e in audit["events"]}, audit


def test_order_insufficient_stock_rejected(crm, inventory):
    cust = new_customer(crm)
    pid = stocked(inventory, 2, "CRM")
    status, _, doc = crm.call("POST", "/orders",
                              order_body(cust["id"], [(pid, 5)]))
    assert status == 201, doc
    assert doc["status"] == "rejected"
    assert doc["reason"] == "insufficient_stock"
    assert "shipment" not in doc
    s = stock(inventory, pid)
    assert s["quantity"] == 2 and s["reserved"] == 0
    assert get_order(crm, doc["id"])["status"] == "rejected"


def test_order_unknown_product_rejected(crm):
    cust = new_customer(crm)
    status, _, doc = crm.call("POST", "/orders", order_body(
        cust["id"], [(new_product("NOPE"), 1)]))
    assert status == 201, doc
    assert doc["status"] == "rejected"
    assert doc["reason"] == "unknown_product"


def test_product_named_null(crm, inventory):
    """Issue 12 M4: NULL matches the contract's product id pattern and is
    a product like any other, not SQL NULL in an array literal."""
    status, _, doc = inventory.call("PUT", "/inventory/NULL",
                                    {"quantity": 10})
    assert status in (200, 201), doc
    assert doc["product_id"] == "NULL" and doc["quantity"] == 10

    # A reservation at inventory-service, then released.
    rid = str(uuid.uuid4())
    status, _, doc = inventory.call("POST", "/inventory/reservations", {
        "reservation_id": rid,
        "items": [{"product_id": "NULL", "quantity": 3}]})
    assert status == 201, doc
    assert stock(inventory, "NULL")["quantity"] == 7
    status, _, doc = inventory.call("DELETE", "/inventory/reservations/" + rid)
    assert status == 200, doc
    assert stock(inventory, "NULL")["quantity"] == 10

    # An order through crm-api, beside another product.
    cust = new_customer(crm)
    other = stocked(inventory, 5, "CRM")
    status, _, doc = crm.call("POST", "/orders", order_body(
        cust["id"], [("NULL", 2), (other, 1)]))
    assert status == 201, doc
    assert doc["status"] == "confirmed", doc
    assert doc["items"] == [{"product_id": "NULL", "quantity": 2},
                            {"product_id": other, "quantity": 1}]
    assert get_order(crm, doc["id"])["items"] == doc["items"]
    s = stock(inventory, "NULL")
    assert s["quantity"] == 8 and s["reserved"] == 0
    assert stock(inventory, other)["quantity"] == 4


def test_idempotency_same_key_same_order(crm, inventory):
    cust = new_customer(crm)
    pid = stocked(inventory, 10, "CRM")
    key = "order-" + uuid.uuid4().hex
    body = order_body(cust["id"], [(pid, 2)])
    first = crm.call("POST", "/orders", body,
                     headers={"Idempotency-Key": key})
    assert first[0] == 201, first
    again = crm.call("POST", "/orders", body,
                     headers={"Idempotency-Key": key})
    assert again[0] == first[0], again
    assert again[2]["id"] == first[2]["id"]
    assert again[2]["status"] == first[2]["status"]
    assert stock(inventory, pid)["quantity"] == 8
    assert supply_orders_of(first[2]["id"]) == 1

    # The same key with another body.
    other = order_body(cust["id"], [(pid, 3)])
    assert_error(*crm.call("POST", "/orders", other,
                           headers={"Idempotency-Key": key}),
                 409, "idempotency_conflict")
    assert stock(inventory, pid)["quantity"] == 8


def test_idempotency_concurrent_same_key(crm, inventory):
    cust = new_customer(crm)
    pid = stocked(inventory, 50, "CRM")
    key = "conc-" + uuid.uuid4().hex
    body = order_body(cust["id"], [(pid, 4)])

    def post(_):
        return crm.call("POST", "/orders", body,
                        headers={"Idempotency-Key": key}, timeout=10)

    with concurrent.futures.ThreadPoolExecutor(10) as ex:
        results = list(ex.map(post, range(10)))
    assert all(r[0] in (201, 202) for r in results), results
    ids = {r[2]["id"] for r in results}
    assert len(ids) == 1, ids
    oid = ids.pop()
    assert psql("SELECT count(*) FROM crm.idempotency_keys "
                "WHERE key = '%s'" % key) == [["1"]]
    assert wait_for(lambda: final(crm, oid))
    assert get_order(crm, oid)["status"] == "confirmed"
    # One order, one reservation: the stock moved once.
    s = stock(inventory, pid)
    assert s["quantity"] == 46 and s["reserved"] == 0
    assert supply_orders_of(oid) == 1
    assert psql("SELECT count(*) FROM crm.orders o JOIN crm.order_items i "
                "ON i.order_id = o.id WHERE o.customer_id = '%s'"
                % cust["id"]) == [["1"]]


def test_order_service_outage_nothing_lost(crm, orders, inventory):
    cust = new_customer(crm)
    pid = stocked(inventory, 100, "CRM")
    stop_service("order-service")
    try:
        placed = []
        for i in range(5):
            rid = "itest-outage-%d-%s" % (i, uuid.uuid4().hex[:8])
            status, _, doc = crm.call(
                "POST", "/orders", order_body(cust["id"], [(pid, 1 + i)]),
                headers={"X-Request-Id": rid})
            assert status == 202, doc
            assert doc["status"] == "pending"
            assert "supply_order_id" not in doc
            placed.append((doc["id"], rid, 1 + i))
        assert get_order(crm, placed[0][0])["status"] == "pending"
        # The dispatcher keeps trying while order-service is away.
        ids = ",".join("'%s'" % o for o, _, _ in placed)
        assert wait_for(lambda: psql(
            "SELECT count(*) FROM crm.outbox WHERE attempts >= 2 AND "
            "order_id IN (%s)" % ids) == [["5"]], timeout=20)
    finally:
        start_service("order-service")

    for oid, _, _ in placed:
        assert wait_for(lambda: final(crm, oid), timeout=40), oid
    for oid, rid, _ in placed:
        doc = get_order(crm, oid)
        assert doc["status"] == "confirmed", doc
        assert supply_orders_of(oid) == 1
        status, _, audit = orders.call(
            "GET", "/supply-orders/%s/audit" % doc["supply_order_id"])
        assert status == 200
        assert rid in {e["request_id"] for e in audit["events"]}, audit
    # Every order reserved once and only once.
    s = stock(inventory, pid)
    assert s["quantity"] == 100 - sum(q for _, _, q in placed)
    assert s["reserved"] == 0
    assert psql("SELECT count(*) FROM crm.outbox WHERE order_id IN (%s)" %
                ",".join("'%s'" % o for o, _, _ in placed)) == [["0"]]


def test_crm_api_restart_keeps_the_outbox(crm, orders, inventory):
    """An order still pending when crm-api crashes is sent after the
    restart: the outbox lives in the database."""
    cust = new_customer(crm)
    pid = stocked(inventory, 10, "CRM")
    stop_service("order-service")
    try:
        status, _, doc = crm.call("POST", "/orders",
                                  order_body(cust["id"], [(pid, 2)]))
        assert status == 202, doc
        # A crash (SIGKILL of the master), not a clean stop.
        stack("service.sh", "kill", "crm-api")
    finally:
        start_service("order-service")
        start_service("crm-api")
    assert wait_for(lambda: final(crm, doc["id"]), timeout=40)
    assert get_order(crm, doc["id"])["status"] == "confirmed"
    assert stock(inventory, pid)["quantity"] == 8


def test_probes_and_metrics(crm):
    """Readiness includes order-service, which other tests here stop and
    start: a state up to a second old may still say so (test_readyz.py)."""
    status, _, doc = crm.call("GET", "/healthz", token=False)
    assert status == 200
    assert wait_for(lambda: crm.call("GET", "/readyz", token=False)[0]
                    == 200, timeout=5)
    status, _, body = crm.raw("GET", "/metrics")
    assert status == 200
    assert "upstream_requests_total" in body.decode() or \
        "db_queries_total" in body.decode()


def test_every_metric_has_its_help(crm, orders, inventory, logistics):
    """Every metric of every service says what it counts: a # HELP text
    that is not empty and not just its name.  Here, after the order flows
    and outages above, most metrics of each service have been counted."""
    for name, svc in (("crm-api", crm), ("order-service", orders),
                      ("inventory-service", inventory),
                      ("logistics-service", logistics)):
        helps = metrics_help(svc)
        assert "http_requests_total" in helps, (name, helps)
        bad = {m: h for m, h in helps.items() if not h or h == m}
        assert not bad, (name, bad)


def test_live_shipment_status_falls_back_to_stored(crm, inventory):
    cust = new_customer(crm)
    pid = stocked(inventory, 3, "CRM")
    status, _, doc = crm.call("POST", "/orders",
                              order_body(cust["id"], [(pid, 1)]))
    assert status == 201 and doc["status"] == "confirmed", doc
    stop_service("order-service")
    try:
        got = get_order(crm, doc["id"])
        assert got["status"] == "confirmed"
        assert got["shipment"]["id"] == doc["shipment"]["id"]
        assert got["shipment"]["status"] == "label_created"
    finally:
        start_service("order-service")


def test_idempotency_keys_expire(crm, inventory):
    """IDEMPOTENCY_TTL_S: an expired key is purged, then it is new."""
    stop_service("crm-api")
    start_service("crm-api", IDEMPOTENCY_TTL_S="2")
    try:
        cust = new_customer(crm)
        pid = stocked(inventory, 10, "CRM")
        key = "ttl-" + uuid.uuid4().hex
        first = crm.call("POST", "/orders", order_body(cust["id"], [(pid, 1)]),
                         headers={"Idempotency-Key": key})
        assert first[0] == 201, first
        assert_error(*crm.call("POST", "/orders",
                               order_body(cust["id"], [(pid, 2)]),
                               headers={"Idempotency-Key": key}),
                     409, "idempotency_conflict")
        # The purge timer forgets it (every min(60 s, TTL)).
        assert wait_for(lambda: psql(
            "SELECT count(*) FROM crm.idempotency_keys WHERE key = '%s'"
            % key) == [["0"]], timeout=10)
        second = crm.call("POST", "/orders",
                          order_body(cust["id"], [(pid, 2)]),
                          headers={"Idempotency-Key": key})
        assert second[0] == 201, second
        assert second[2]["id"] != first[2]["id"]
        assert stock(inventory, pid)["quantity"] == 7
    finally:
        stop_service("crm-api")
        start_service("crm-api")
