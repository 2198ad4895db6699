"""Every service as several replicas against one PostgreSQL, behind a real
load balancer (tests/integration/replicas.py), each service calling the
others through it (issue 14 §4): what runs in the background (crm-api's
outbox dispatcher, order-service's saga leases) stays correct when a
replica of each service is SIGKILLed in the middle of a burst, and a
rolling restart of every replica (SIGTERM: each drains) under a steady
stream of orders shows the clients no error and loses or doubles nothing."""

import concurrent.futures
import http.client
import threading
import time
import uuid

import pytest

from conftest import Client, RUN, psql, secret, wait_for
from orderflow import (ADDRESS, assert_taken_once, burst, customer, place,
                       settle, stocked, totals)
from replicas import Cluster

STOCK = 60


@pytest.fixture(scope="module")
def cluster(pg):
    c = Cluster(replicas=2)
    try:
        c.start()
        yield c
    finally:
        c.stop()


def client(cluster, name, token):
    return Client(cluster.front[name], secret(token))


def supply_rows(ids):
    """crm order id -> supply orders, reservations and audit events."""
    keys = ",".join("'%s'" % i for i in ids)
    return psql("""
        SELECT s.crm_order_id, s.status, s.shipment_id,
            (SELECT count(*) FROM orders.audit_events e
              WHERE e.supply_order_id = s.id AND e.event = 'confirmed'),
            (SELECT count(*) FROM inventory.reservations r
              WHERE r.reservation_id = s.reservation_id
                AND r.status = 'committed')
          FROM orders.supply_orders s WHERE s.crm_order_id IN (%s)""" % keys)


def test_a_burst_survives_a_sigkill_of_one_replica_of_each(cluster):
    crm = client(cluster, "crm-api", "api_key")
    inv = client(cluster, "inventory-service", "service_token")
    pids = [stocked(inv, STOCK, "REPL") for _ in range(3)]
    n = 90

    def fault():
        # SIGKILL of one replica's master, each service: what it had in
        # flight (requests, leased outbox entries, saga leases) is the
        # other replica's to finish.
        for name in cluster.names:
            cluster.run("kill", name, 1)
        time.sleep(1.0)
        for name in cluster.names:
            cluster.run("start", name, 1)

    accepted = burst(crm, customer(crm), pids, n, fault)
    assert cluster.wait_up(), cluster.states()

    ids = [o["id"] for o in accepted]
    assert len(set(ids)) == n
    # Every accepted order becomes final (the lease of an outbox entry a
    # killed replica held runs out in 15 s).
    outcome = settle(crm, ids, timeout=120)
    assert len(outcome) == n
    confirmed = {i for i, o in outcome.items() if o["status"] == "confirmed"}
    rows = {r[0]: r for r in supply_rows(ids)}
    # One supply order per order, one committed reservation and one
    # shipment per confirmed one, confirmed once in its audit trail.
    assert set(rows) == set(ids)
    for oid, (_, status, shipment, nconfirmed, ncommitted) in rows.items():
        assert status == outcome[oid]["status"], (oid, status)
        if oid in confirmed:
            assert shipment and shipment == outcome[oid]["shipment"]["id"]
            assert (nconfirmed, ncommitted) == ("1", "1"), rows[oid]
        else:
            assert (nconfirmed, ncommitted) == ("0", "0"), rows[oid]
    # And took its units exactly once: nothing reserved is left over.
    assert_taken_once(pids, outcome, STOCK)


def test_both_replicas_take_work(cluster):
    """The balancer spreads the load: each replica of each service answers
    some of the order flow's POSTs (its log has such request lines; the
    balancer's health checks are GETs)."""
    crm = client(cluster, "crm-api", "api_key")
    inv = client(cluster, "inventory-service", "service_token")
    pid = stocked(inv, 50, "SPREAD")
    cid = customer(crm)
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        ids = [o["id"] for o in pool.map(
            lambda _: place(crm, cid, [(pid, 1)]), range(24))]
    settle(crm, ids)
    for name in cluster.names:
        for i in (1, 2):
            assert wait_for(lambda: '"method":"POST"' in open(
                cluster.log(name, i)).read(), timeout=5), (name, i, RUN)


def test_rolling_restart_under_a_steady_stream(cluster):
    """Every replica of every service restarted in turn (SIGTERM, a new
    start, ready again before the next), as a Deployment's rollout does,
    while clients place orders without pause: every order accepted
    becomes final, none is doubled, and no client sees an error (a
    retryable 429/503 would be counted as one too)."""
    crm = client(cluster, "crm-api", "api_key")
    inv = client(cluster, "inventory-service", "service_token")
    pid = stocked(inv, 100000, "ROLL")
    cid = customer(crm)
    body = {"customer_id": cid, "shipping_address": ADDRESS,
            "items": [{"product_id": pid, "quantity": 1}]}
    stop = threading.Event()
    accepted, errors = [], []

    def stream():
        while not stop.is_set():
            key = "roll-" + uuid.uuid4().hex
            try:
                status, _, doc = crm.call("POST", "/orders", body,
                                          headers={"Idempotency-Key": key},
                                          timeout=10)
            except (OSError, http.client.HTTPException) as e:
                errors.append(repr(e))
                continue
            if status in (201, 202):
                accepted.append(doc["id"])
            else:
                errors.append((status, doc))

    threads = [threading.Thread(target=stream) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        time.sleep(1)
        for name in cluster.names:
            for i in range(1, cluster.n + 1):
                cluster.run("stop", name, i)
                cluster.run("start", name, i)
                assert cluster.wait_up([(name, i)]), cluster.states()
        time.sleep(1)
    finally:
        stop.set()
        for t in threads:
            t.join()

    print("rolling restart: %d orders accepted, %d client errors"
          % (len(accepted), len(errors)))
    assert errors == [], "%d errors, %d orders: %s" % (
        len(errors), len(accepted), errors[:5])
    outcome = settle(crm, accepted, timeout=120)
    assert all(o["status"] == "confirmed" for o in outcome.values())
    assert totals(pid)[1:] == (0, len(accepted))
    rows = supply_rows(accepted)
    assert len(rows) == len(accepted)
    assert all(r[3:] == ["1", "1"] for r in rows), rows
