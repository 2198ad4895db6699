"""Statements in libpq's pipeline mode (Kore's pgsql-pipeline.patch, the
conf's pgsql_pipeline_depth): with the pool full, a statement joins a
connection that has others in flight instead of waiting in line. Each
answer must still be its own statement's, an error must stay its own, and
a database that stops answering or drops the connection must fail what
was in flight in time (503) and leave nothing behind that the next
statement could trip over.

inventory-service runs here with one pool connection per worker and up to
eight statements on it, so that a few concurrent clients fill every
pipeline; it gets its own configuration back afterwards."""

import concurrent.futures
import os
import random
import signal
import subprocess
import time
import uuid

import pytest

from conftest import (PORTS, RUN, Client, assert_error, new_product, pg_super,
                      puts_behind_a_locked_row, secret, start_service,
                      stop_service, wait_for)
from orderflow import totals

PIPELINED = "pgsql_conn_max 1\npgsql_pipeline_depth 8"


@pytest.fixture
def piped(inventory):
    stop_service("inventory-service")
    start_service("inventory-service", CONF_EXTRA=PIPELINED)
    yield Client(PORTS["INVENTORY_SERVICE_PORT"], secret("service_token"))
    stop_service("inventory-service")
    start_service("inventory-service")


def counter(client, name):
    status, _, data = client.raw("GET", "/metrics")
    assert status == 200
    return sum(float(line.split()[-1]) for line in data.decode().splitlines()
               if line.split("{")[0].split(" ")[0] == name)


def stocked(client, n, prefix):
    """n new products, product i holding 10 + i."""
    out = {}
    for i in range(n):
        pid = new_product(prefix)
        assert client.call("PUT", "/inventory/" + pid,
                           {"quantity": 10 + i})[0] == 201
        out[pid] = 10 + i
    return out


def postgres_processes():
    with open(os.path.join(RUN, "pg", "data", "postmaster.pid")) as f:
        postmaster = int(f.readline())
    children = subprocess.run(["pgrep", "-P", str(postmaster)],
                              stdout=subprocess.PIPE, text=True).stdout
    return [postmaster] + [int(p) for p in children.split()]


def test_each_answer_is_its_own(piped):
    """GETs of many products, PUTs of others, reservations that succeed,
    that find too little stock (an error raised by the statement: it
    aborts its own segment of the pipeline only) and that name an unknown
    product, all at once on two connections: every answer is the one its
    request asked for, and the statements did share connections."""
    reads = stocked(piped, 24, "PIPE")
    writes = stocked(piped, 6, "PIPEW")
    hot = new_product("PIPEHOT")
    assert piped.call("PUT", "/inventory/" + hot, {"quantity": 30})[0] == 201
    before = counter(piped, "db_statements_pipelined_total")
    rng = random.Random(16)

    def one(i):
        kind = i % 6
        if kind == 0:
            pid = rng.choice(list(writes))
            status, _, doc = piped.call("PUT", "/inventory/" + pid,
                                        {"quantity": 100 + i})
            assert status == 200, doc
            assert (doc["product_id"], doc["quantity"]) == (pid, 100 + i)
            return "put"
        if kind == 1:
            status, _, doc = piped.call(
                "POST", "/inventory/reservations",
                {"reservation_id": str(uuid.uuid4()),
                 "items": [{"product_id": hot, "quantity": 1 + i % 3}]})
            if status == 409:
                assert doc["error"]["code"] == "insufficient_stock", doc
                return "short"
            assert status == 201, doc
            return "reserved"
        if kind == 2:
            status, hdrs, doc = piped.call(
                "POST", "/inventory/reservations",
                {"reservation_id": str(uuid.uuid4()),
                 "items": [{"product_id": new_product("GHOST"),
                            "quantity": 1}]})
            assert_error(status, hdrs, doc, 422, "unknown_product")
            return "unknown"
        pid = rng.choice(list(reads))
        status, _, doc = piped.call("GET", "/inventory/" + pid)
        assert status == 200, doc
        assert (doc["product_id"], doc["quantity"]) == (pid, reads[pid]), \
            (pid, reads[pid], doc)
        return "get"

    with concurrent.futures.ThreadPoolExecutor(max_workers=24) as pool:
        kinds = list(pool.map(one, range(480)))
    assert {"put", "reserved", "short", "unknown", "get"} <= set(kinds), kinds
    q, r, c = totals(hot)
    assert q + r + c == 30 and q >= 0, (q, r, c)
    # The statements did join pipelines (not only wait in line).
    assert counter(piped, "db_statements_pipelined_total") - before >= 50


def test_frozen_database_fails_the_pipeline_in_time(piped):
    """Every PostgreSQL process stopped while pipelines are full: each
    statement in them is answered 503 within the contract's 3 s (those
    behind others too: they wait in line only while the database answers),
    clients that give up early block nothing, /healthz is answered
    throughout, and once the server runs again the same instance answers
    every request correctly (nothing left in a pipeline is taken for a
    later statement's answer)."""
    reads = stocked(piped, 8, "PIPEF")
    pids = list(reads)
    frozen = postgres_processes()
    for p in frozen:
        os.kill(p, signal.SIGSTOP)
    try:
        def timed(pid, timeout=10):
            t0 = time.monotonic()
            try:
                r = piped.call("GET", "/inventory/" + pid, timeout=timeout)
            except (OSError, TimeoutError):
                r = None
            return r, time.monotonic() - t0

        with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
            waiting = [pool.submit(timed, pids[i % 8]) for i in range(16)]
            gave_up = [pool.submit(timed, pids[i], 0.3) for i in range(4)]
            time.sleep(0.5)
            health = [piped.call("GET", "/healthz", token=False)[0]
                      for _ in range(5)]
            answers = [f.result() for f in waiting]
            assert [f.result()[0] for f in gave_up] == [None] * 4
    finally:
        for p in frozen:
            os.kill(p, signal.SIGCONT)
    assert health == [200] * 5
    for r, took in answers:
        assert r is not None, "no answer in %.1f s" % took
        assert_error(*r, 503, "unavailable")
        assert took < 3.0, took

    assert wait_for(lambda: piped.call("GET", "/inventory/" + pids[0])[0]
                    == 200, timeout=15)

    def check(i):
        pid = pids[i % 8]
        status, _, doc = piped.call("GET", "/inventory/" + pid)
        return status, doc.get("product_id"), doc.get("quantity"), pid

    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        for status, got, qty, pid in pool.map(check, range(160)):
            assert (status, got, qty) == (200, pid, reads[pid])


def test_connections_dropped_under_pipelines(piped):
    """The server ends the service's connections (pg_terminate_backend)
    while clients keep every pipeline full: a statement in flight on a
    dropped connection fails 503, none gets another's answer, and the
    pool reconnects without a restart."""
    reads = stocked(piped, 8, "PIPEK")
    pids = list(reads)
    stop = time.monotonic() + 3.0

    def loop(k):
        seen = []
        i = k
        while time.monotonic() < stop:
            pid = pids[i % 8]
            i += 1
            status, hdrs, doc = piped.call("GET", "/inventory/" + pid)
            if status == 200:
                assert (doc["product_id"], doc["quantity"]) == \
                    (pid, reads[pid]), (pid, doc)
            else:
                assert_error(status, hdrs, doc, 503, "unavailable")
            seen.append(status)
        return seen

    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        runs = [pool.submit(loop, k) for k in range(16)]
        for _ in range(4):
            time.sleep(0.5)
            pg_super("SELECT pg_terminate_backend(pid) FROM "
                     "pg_stat_activity WHERE usename = 'inventory_service'")
        seen = [s for f in runs for s in f.result()]
    assert seen.count(200) > 100, seen.count(200)
    assert [piped.call("GET", "/inventory/" + p)[0] for p in pids] \
        == [200] * 8


def test_busy_database_is_not_dead_in_a_pipeline(piped):
    """Busy is not dead behind others in a pipeline too: a row every PUT
    needs is locked by another session for 0.6 s at a time, and twelve
    PUTs share the two connections (six in line on each, all sent at
    once). Those at the back wait well past their deadline (2.5 s) while
    PostgreSQL answers the ones ahead of them: each keeps its place and
    gets 200, and once at the head of its pipeline it has its full time
    for the answer. (Were a statement in line counted as running, they
    would be answered 503.)"""
    pid = new_product("PIPEBUSY")
    assert piped.call("PUT", "/inventory/" + pid, {"quantity": 1})[0] == 201
    before_busy = counter(piped, "db_busy_waits_total")
    before_piped = counter(piped, "db_statements_pipelined_total")

    answers = puts_behind_a_locked_row(piped, pid, 12, 0.6, 16)

    assert [a[0] for a in answers] == [200] * 12, \
        [(a[0], a[2]) for a in answers if a[0] != 200]
    assert counter(piped, "db_statements_pipelined_total") > before_piped
    assert counter(piped, "db_busy_waits_total") > before_busy
