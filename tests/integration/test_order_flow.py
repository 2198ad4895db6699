"""The whole order flow under load and faults (issue 3): many concurrent
orders against little stock, a service killed with SIGKILL in the middle of
a burst, and one request id followed through every service's log."""

import concurrent.futures
import os
import time
import uuid

import pytest

from conftest import RUN, new_product, psql, stack, start_service, wait_for

ADDRESS = {"line1": "1 Main St", "city": "Berlin", "postal_code": "10115",
           "country": "DE"}
FINAL = ("confirmed", "rejected")


def customer(crm):
    status, _, doc = crm.call("POST", "/customers", {
        "name": "Load Test",
        "email": "load-%s@example.com" % uuid.uuid4().hex[:12]})
    assert status == 201, doc
    return doc["id"]


def stocked(inventory, qty, prefix="FLOW"):
    pid = new_product(prefix)
    status, _, doc = inventory.call("PUT", "/inventory/" + pid,
                                    {"quantity": qty})
    assert status == 201, doc
    return pid


def place(crm, cid, items, key=None, headers=None, attempts=40):
    """POST /orders as a careful client: it waits out a 429 and repeats a
    failed attempt with the same Idempotency-Key."""
    key = key or "flow-" + uuid.uuid4().hex
    h = {"Idempotency-Key": key}
    h.update(headers or {})
    body = {"customer_id": cid, "shipping_address": ADDRESS,
            "items": [{"product_id": p, "quantity": q} for p, q in items]}
    for _ in range(attempts):
        try:
            status, hdrs, doc = crm.call("POST", "/orders", body, headers=h,
                                         timeout=10)
        except OSError:
            time.sleep(0.2)  # crm-api itself is down: try again later
            continue
        if status in (201, 202):
            return doc
        if status in (429, 503):
            time.sleep(min(int(hdrs.get("retry-after", "1")), 2))
            continue
        raise AssertionError((status, doc))
    raise AssertionError("order never accepted")


def settle(crm, ids, timeout=90):
    """Waits until every order is final; returns {id: order}."""
    done = {}

    def poll():
        for oid in ids:
            if oid in done:
                continue
            try:
                status, _, doc = crm.call("GET", "/orders/" + oid)
            except OSError:
                return False
            if status == 200 and doc["status"] in FINAL:
                done[oid] = doc
        return len(done) == len(ids)

    assert wait_for(poll, timeout=timeout, step=0.5), \
        "%d of %d orders still pending" % (len(ids) - len(done), len(ids))
    return done


def totals(pid):
    q, r, c = psql("SELECT quantity, reserved, committed FROM "
                   "inventory.products WHERE product_id = '%s'" % pid)[0]
    return int(q), int(r), int(c)


def test_300_orders_against_100_units(crm, inventory):
    pid = stocked(inventory, 100, "RUSH")
    cid = customer(crm)
    with concurrent.futures.ThreadPoolExecutor(max_workers=32) as pool:
        accepted = list(pool.map(lambda _: place(crm, cid, [(pid, 1)]),
                                 range(300)))
    ids = [o["id"] for o in accepted]
    assert len(set(ids)) == 300
    outcome = settle(crm, ids)
    statuses = [o["status"] for o in outcome.values()]
    assert statuses.count("confirmed") == 100, statuses.count("confirmed")
    assert all(o.get("reason") == "insufficient_stock"
               for o in outcome.values() if o["status"] == "rejected")
    assert totals(pid) == (0, 0, 100)


@pytest.mark.parametrize("victim", ["order-service", "inventory-service",
                                    "crm-api"])
def test_sigkill_in_a_burst_loses_nothing(crm, orders, inventory, logistics,
                                          victim):
    pids = [stocked(inventory, 30, "BURST") for _ in range(3)]
    cid = customer(crm)
    n = 45

    def one(i):
        return place(crm, cid, [(pids[i % 3], 1), (pids[(i + 1) % 3], 1)])

    with concurrent.futures.ThreadPoolExecutor(max_workers=12) as pool:
        futures = [pool.submit(one, i) for i in range(n)]
        time.sleep(0.4)
        stack("service.sh", "kill", victim)  # SIGKILL of its master
        time.sleep(1.0)
        start_service(victim)
        accepted = [f.result() for f in futures]

    ids = [o["id"] for o in accepted]
    outcome = settle(crm, ids)
    assert len(outcome) == n  # every accepted order became final
    confirmed = [o for o in outcome.values() if o["status"] == "confirmed"]
    # Each confirmed order holds one supply order and took its units once.
    for pid in pids:
        q, r, c = totals(pid)
        took = sum(i["quantity"] for o in confirmed for i in o["items"]
                   if i["product_id"] == pid)
        assert r == 0, (pid, q, r, c)
        assert c == took, (pid, c, took)
        assert q + r + c == 30, (pid, q, r, c)
    rows = psql("SELECT crm_order_id, count(*) FROM orders.supply_orders "
                "WHERE crm_order_id IN (%s) GROUP BY 1 HAVING count(*) > 1"
                % ",".join("'%s'" % i for i in ids))
    assert rows == []


def test_request_id_in_every_service_log(crm, orders, inventory, logistics):
    pid = stocked(inventory, 5, "TRACE")
    rid = "trace-" + uuid.uuid4().hex
    doc = place(crm, customer(crm), [(pid, 1)],
                headers={"X-Request-Id": rid})
    assert settle(crm, [doc["id"]])[doc["id"]]["status"] == "confirmed"
    for name in ("crm-api", "order-service", "inventory-service",
                 "logistics-service"):
        path = os.path.join(RUN, "logs", name + ".log")
        assert wait_for(lambda: rid in open(path).read(), timeout=5), name
    rows = psql("SELECT count(*) FROM orders.audit_events WHERE request_id = '%s'"
                % rid)
    assert int(rows[0][0]) >= 1
