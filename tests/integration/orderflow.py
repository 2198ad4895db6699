"""A client's order flow, shared by the tests that place orders under load
and faults: a customer, stock, orders placed as a careful client places
them, and waiting until they are final."""

import concurrent.futures
import time
import uuid

from conftest import new_product, psql, wait_for

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


def stock(inventory, pid):
    status, _, doc = inventory.call("GET", "/inventory/" + pid)
    assert status == 200, doc
    return doc


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


def burst(crm, cid, pids, n, fault):
    """n orders of two units each over pids, 12 at a time, with fault()
    run half a second in; returns the accepted orders."""

    def one(i):
        return place(crm, cid, [(pids[i % len(pids)], 1),
                                (pids[(i + 1) % len(pids)], 1)])

    with concurrent.futures.ThreadPoolExecutor(max_workers=12) as pool:
        futures = [pool.submit(one, i) for i in range(n)]
        time.sleep(0.5)
        fault()
        return [f.result() for f in futures]


def assert_taken_once(pids, outcome, stock):
    """Each confirmed order took its units exactly once and nothing is
    left reserved: committed is what the confirmed orders hold."""
    confirmed = [o for o in outcome.values() if o["status"] == "confirmed"]
    for pid in pids:
        q, r, c = totals(pid)
        took = sum(i["quantity"] for o in confirmed for i in o["items"]
                   if i["product_id"] == pid)
        assert (r, c, q + r + c) == (0, took, stock), (pid, q, r, c, took)
