"""GET /readyz (CONTRACT §2, issue 12 M3): answered from a state refreshed
at most about once a second per worker, so that any number of calls cost
the dependencies nothing extra; 503 unavailable with Retry-After within
about two seconds of a dependency going away, 200 again once it is back.
crm-api's and logistics-service's readiness include order-service."""

import collections
import concurrent.futures
import http.client
import time

from conftest import (StatementLog, assert_error, pg_phases, stack,
                      start_service, stop_service, wait_for)

WORKERS = 2  # `workers` in conf/*.conf


def hammer(client, path, n, threads=8):
    """N GETs of PATH over THREADS kept-alive connections, as fast as they
    go: (Counter of statuses, seconds taken)."""
    def run(count):
        conn = http.client.HTTPSConnection("127.0.0.1", client.port,
                                           context=client.ctx, timeout=5)
        seen = collections.Counter()
        try:
            for _ in range(count):
                conn.request("GET", path)
                resp = conn.getresponse()
                resp.read()
                seen[resp.status] += 1
                if resp.getheader("connection", "").lower() == "close":
                    conn.close()
        finally:
            conn.close()
        return seen

    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        parts = list(pool.map(run, [n // threads] * threads))
    return sum(parts, collections.Counter()), time.monotonic() - t0


def ready_queries(text):
    """The readiness statement executions PostgreSQL logged."""
    return [p for p in pg_phases(text, "inventory_service")
            if p[1] == "execute" and p[2] == "ready"]


def test_readyz_costs_the_database_nothing_extra(inventory):
    assert inventory.call("GET", "/readyz", token=False)[0] == 200
    with StatementLog() as log:
        # The reload reaches each server process at its next message:
        # wait until the log shows the readiness statement at all.
        assert wait_for(lambda: inventory.call("GET", "/readyz",
                                               token=False)[0] == 200
                        and ready_queries(log.text()), timeout=10)
        time.sleep(1.1)
        before = len(ready_queries(log.text()))
        seen, took = hammer(inventory, "/readyz", 2000)
        time.sleep(0.3)
        queries = len(ready_queries(log.text())) - before
    assert seen == {200: 2000}, seen
    # One refresh per worker and second at the most (and one more each
    # for a refresh that began just before the burst's end).
    assert queries <= WORKERS * (int(took) + 2), (queries, took)


def test_readyz_follows_the_database(inventory):
    assert inventory.call("GET", "/readyz", token=False)[0] == 200
    stack("postgres.sh", "stop")
    try:
        t0 = time.monotonic()
        assert wait_for(lambda: inventory.call("GET", "/readyz",
                                               token=False)[0] == 503,
                        timeout=5, step=0.05)
        assert time.monotonic() - t0 < 2.5
        status, hdrs, doc = inventory.call("GET", "/readyz", token=False)
        assert_error(status, hdrs, doc, 503, "unavailable")
        assert int(hdrs["retry-after"]) >= 1
        # The cached state answers a burst without any waiting.
        seen, took = hammer(inventory, "/readyz", 400)
        assert seen == {503: 400} and took < 3, (seen, took)
    finally:
        stack("postgres.sh", "start")
    t0 = time.monotonic()
    assert wait_for(lambda: inventory.call("GET", "/readyz",
                                           token=False)[0] == 200,
                    timeout=10, step=0.05)
    assert time.monotonic() - t0 < 5


def test_readyz_includes_order_service(crm, logistics, orders):
    """crm-api forwards every order to order-service and
    logistics-service reads its shipments there."""
    for svc in (crm, logistics):
        assert wait_for(lambda: svc.call("GET", "/readyz", token=False)[0]
                        == 200, timeout=5)
    stop_service("order-service")
    try:
        t0 = time.monotonic()
        for svc in (crm, logistics):
            assert wait_for(lambda: svc.call("GET", "/readyz",
                                             token=False)[0] == 503,
                            timeout=5, step=0.05)
            status, hdrs, doc = svc.call("GET", "/readyz", token=False)
            err = assert_error(status, hdrs, doc, 503, "unavailable")
            assert "order-service" in err["message"], err
            assert int(hdrs["retry-after"]) >= 1
        assert time.monotonic() - t0 < 3
        # /healthz stays free of any dependency.
        assert crm.call("GET", "/healthz", token=False)[0] == 200
        assert logistics.call("GET", "/healthz", token=False)[0] == 200
    finally:
        start_service("order-service")
    for svc in (crm, logistics):
        assert wait_for(lambda: svc.call("GET", "/readyz", token=False)[0]
                        == 200, timeout=5, step=0.05)
