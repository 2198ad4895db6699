"""Answers larger than one TLS record (Kore's pgsql-tls-read-ahead.patch).

PostgreSQL sends a result in pieces of its 8 KiB output buffer, each a TLS
record of its own. With OpenSSL's read-ahead one read(2) may bring several
records, and libpq takes one at a time: the ones read ahead wait in
OpenSSL's buffer, where no event of the (edge-triggered) socket announces
them. A reader that then waited for the socket would wait until the
statement's deadline (503), or for ever.

A reservation of 100 products with 64-character ids is answered with 100
rows, ~16 KiB in two records. Usually the worker reads the first before
the second is sent; here the workers are stopped while the answers come,
so that each is in the socket whole when they read again. Through both of
Kore's readers: the pipeline's (the conf's depth 4; one connection per
worker with up to eight statements on it) and the classic one (depth 1)."""

import concurrent.futures
import os
import signal
import subprocess
import time
import uuid

import pytest

from conftest import PORTS, RUN, Client, secret, stack, start_service, \
    stop_service

ITEMS = 100
AT_ONCE = 6
ROUNDS = 3

CONFS = {
    "conf": "",
    "classic": "pgsql_pipeline_depth 1",
    "one-deep-pipeline": "pgsql_conn_max 1\npgsql_pipeline_depth 8",
}


def long_product():
    """A product id of the longest kind the contract allows (64)."""
    return ("BIG-" + uuid.uuid4().hex.upper() * 2)[:64]


def workers():
    with open(os.path.join(RUN, "svc", "inventory-service.pid")) as f:
        parent = f.read().strip()
    out = subprocess.run(["ps", "-o", "pid=,args=", "--ppid", parent],
                         stdout=subprocess.PIPE, text=True).stdout
    pids = [int(line.split()[0]) for line in out.splitlines()
            if "[wrk" in line]
    assert len(pids) == 2, out
    return pids


@pytest.fixture(params=sorted(CONFS))
def conf_inventory(request, inventory):
    if CONFS[request.param]:
        stop_service("inventory-service")
        start_service("inventory-service", CONF_EXTRA=CONFS[request.param])
    yield Client(PORTS["INVENTORY_SERVICE_PORT"], secret("service_token"))
    if CONFS[request.param]:
        stop_service("inventory-service")
        start_service("inventory-service")


def frozen_while_answered(inv, products, reserve):
    """AT_ONCE reservations of all products wait behind a lock on one of
    their rows; the workers are stopped before it goes and woken once
    every answer has long been sent. [(rid, answer)], and how long the
    answers took once the workers were woken."""
    url = stack("postgres.sh", "url").stdout.strip().splitlines()[-1]
    locker = subprocess.Popen(
        ["psql", url, "-XAtq", "-v", "ON_ERROR_STOP=1", "-c",
         "BEGIN; SELECT 1 FROM inventory.products WHERE product_id = '%s' "
         "FOR UPDATE; SELECT pg_sleep(1.2); COMMIT;" % products[-1]],
        stdout=subprocess.DEVNULL)
    time.sleep(0.3)
    rids = [str(uuid.uuid4()) for _ in range(AT_ONCE)]
    pids = workers()
    with concurrent.futures.ThreadPoolExecutor(AT_ONCE) as ex:
        futures = [ex.submit(reserve, rid) for rid in rids]
        time.sleep(0.5)
        for p in pids:
            os.kill(p, signal.SIGSTOP)
        try:
            assert locker.wait(10) == 0
            time.sleep(0.4)
        finally:
            for p in pids:
                os.kill(p, signal.SIGCONT)
        woken = time.monotonic()
        answers = [f.result() for f in futures]
        return list(zip(rids, answers)), time.monotonic() - woken


def test_answers_read_ahead_are_read(conf_inventory):
    inv = conf_inventory
    products = [long_product() for _ in range(ITEMS)]
    for pid in products:
        assert inv.call("PUT", "/inventory/" + pid,
                        {"quantity": 1000})[0] == 201

    def reserve(rid):
        return inv.call("POST", "/inventory/reservations",
                        {"reservation_id": rid,
                         "items": [{"product_id": p, "quantity": 1}
                                   for p in products]}, timeout=15)

    rids = []
    for _ in range(ROUNDS):
        answers, took = frozen_while_answered(inv, products, reserve)
        for rid, (status, _, doc) in answers:
            assert status == 201, (rid, status, doc)
            assert doc["reservation_id"] == rid, doc
            got = {i["product_id"]: i["quantity"] for i in doc["items"]}
            assert got == {p: 1 for p in products}, (rid, len(got))
            rids.append(rid)
        # Not the statements' deadline (2 s): read as soon as woken.
        assert took < 1.0, took

    # A repeat reads the rows back, also more than one record.
    for rid in rids[:2]:
        status, _, doc = reserve(rid)
        assert status == 201 and len(doc["items"]) == ITEMS, (status, doc)
    status, _, doc = inv.call("GET", "/inventory/" + products[0])
    assert (doc["quantity"], doc["reserved"]) == (1000 - len(rids),
                                                  len(rids)), doc
