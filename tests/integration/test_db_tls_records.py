"""TLS records from PostgreSQL as they come (Kore's pgsql-tls-read-ahead.patch).

Answers larger than one TLS record:

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
worker with up to eight statements on it) and the classic one (depth 1).
A record that comes in two parts (a network splits it across segments):
the part read waits in OpenSSL's buffer too, but only the socket can bring
the rest. A reader that took "something is buffered" for "a record is
there" would read again and again until the rest came, the worker busy
and every other request on it stalled. A relay in front of PostgreSQL
holds back the rest of every piece the server sends for 0.4 s."""

import concurrent.futures
import os
import signal
import socket
import subprocess
import threading
import time
import uuid

import pytest

from conftest import ENV, PORTS, Client, new_product, secret, \
    service_workers, stack, start_service, stop_service

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
    pids = service_workers("inventory-service")
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


class SplittingRelay:
    """TCP relay to PostgreSQL. Once split() is called, each piece the
    server sends on the connections open then goes on in two parts, the
    second HOLD seconds after the first: a TLS record cut in two, as a
    network may deliver it. (Connections made later pass unsplit: a
    handshake of many round trips would outlast the connect timeout.)"""

    HOLD = 0.4

    def __init__(self, port):
        self.port = port
        self.live = set()
        self.cut = set()
        self.lock = threading.Lock()
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(64)
        self.listen_port = self.lsock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def split(self, on=True):
        with self.lock:
            self.cut = set(self.live) if on else set()
        return len(self.cut)

    def _accept(self):
        while True:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            s = socket.create_connection(("127.0.0.1", self.port))
            with self.lock:
                self.live.add(s)
            threading.Thread(target=self._pump, args=(c, s, None),
                             daemon=True).start()
            threading.Thread(target=self._pump, args=(s, c, s),
                             daemon=True).start()

    def _pump(self, src, dst, server):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if server in self.cut and len(data) > 16:
                    dst.sendall(data[:12])
                    time.sleep(self.HOLD)
                    data = data[12:]
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with self.lock:
                self.live.discard(server)
            for x in (src, dst):
                try:
                    x.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self.lsock.close()


def cpu_seconds(pids):
    """User and system time of the processes so far."""
    total = 0
    for p in pids:
        with open("/proc/%d/stat" % p) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


@pytest.fixture
def relayed(inventory):
    relay = SplittingRelay(int(ENV["PG_PORT"]))
    stop_service("inventory-service")
    start_service("inventory-service", PG_PORT=str(relay.listen_port))
    yield relay, Client(PORTS["INVENTORY_SERVICE_PORT"],
                        secret("service_token"))
    stop_service("inventory-service")
    start_service("inventory-service")
    relay.close()


def test_a_record_in_two_parts_is_waited_for(relayed):
    relay, inv = relayed
    pid = new_product("SPLIT")
    assert inv.call("PUT", "/inventory/" + pid, {"quantity": 7})[0] == 201
    # Both workers' pools connected (each takes some of these).
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        assert all(a[0] == 200 for a in ex.map(
            lambda _: inv.call("GET", "/inventory/" + pid), range(32)))
    pids = service_workers("inventory-service")
    assert relay.split() >= 2
    try:
        before = cpu_seconds(pids)
        took = []
        for _ in range(6):
            t0 = time.monotonic()
            status, _, doc = inv.call("GET", "/inventory/" + pid)
            took.append(time.monotonic() - t0)
            assert status == 200 and doc["quantity"] == 7, (status, doc)
        used = cpu_seconds(pids) - before
    finally:
        relay.split(False)
    # The answers waited for their second parts (the relay's hold) ...
    split = [t for t in took if t >= relay.HOLD]
    assert len(split) >= 4, took
    # ... with the workers asleep, not reading in a loop (that costs about
    # the whole hold each time: 1.6 s of CPU or more here).
    assert used < 0.5, (used, took)
