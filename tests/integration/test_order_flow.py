"""The whole order flow under load and faults (issue 3): many concurrent
orders against little stock, a service killed with SIGKILL in the middle of
a burst, and one request id followed through every service's log."""

import concurrent.futures
import os
import time
import uuid

import pytest

from conftest import RUN, psql, stack, start_service, wait_for
from orderflow import (assert_taken_once, burst, customer, place, settle,
                       stocked, totals)

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
    n = 45

    def fault():
        stack("service.sh", "kill", victim)  # SIGKILL of its master
        time.sleep(1.0)
        start_service(victim)

    accepted = burst(crm, customer(crm), pids, n, fault)
    ids = [o["id"] for o in accepted]
    outcome = settle(crm, ids)
    assert len(outcome) == n  # every accepted order became final
    # Each confirmed order holds one supply order and took its units once.
    assert_taken_once(pids, outcome, 30)
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
