"""platform/upstream, seen through logistics-service's GET /shipments/:id
(the one call it makes): logistics is restarted with ORDER_SERVICE_URL
pointing at a scripted HTTPS peer on 127.0.0.1 that uses a certificate of
the stack's CA and answers, request by request, what a test tells it to
(a fault injector: 503s, 429 with Retry-After, silence, a record).
What is asserted is the client's real behaviour: headers sent, attempts,
waits, deadlines, connection reuse, TLS verification, metrics."""

import json
import os
import socket
import ssl
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import (RUN, _OFF, assert_error, secret, start_service,
                      stop_service)

FAKE_PORT = 18447 + _OFF


class Peer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, certfile, keyfile, port=FAKE_PORT):
        super().__init__(("127.0.0.1", port), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(certfile, keyfile)
        self.socket = ctx.wrap_socket(self.socket, server_side=True)
        self.lock = threading.Lock()
        self.reset([])

    def reset(self, script):
        with self.lock:
            self.script = list(script)
            self.seen = []

    def next(self):
        with self.lock:
            return self.script.pop(0) if self.script else (500, {}, None)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        srv = self.server
        with srv.lock:
            srv.seen.append({"path": self.path, "at": time.monotonic(),
                             "peer": self.client_address,
                             "headers": {k.lower(): v for k, v in
                                         self.headers.items()}})
        status, headers, doc = srv.next()
        if status == "hang":
            time.sleep(5)
            return
        data = json.dumps(doc).encode() if doc is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)


def record(sid, created, eta):
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    return {"id": sid, "order_id": str(uuid.uuid4()), "status": "x",
            "carrier": "DHL", "service_level": "standard",
            "origin_warehouse": "WH-BERLIN", "distance_km": 504,
            "created_at": time.strftime(fmt, time.gmtime(created)),
            "eta": time.strftime(fmt, time.gmtime(eta))}


def _serve(peer):
    t = threading.Thread(target=peer.serve_forever, daemon=True)
    t.start()
    return t


@pytest.fixture(scope="module")
def peer(logistics):
    pki = os.path.join(RUN, "pki")
    p = Peer(os.path.join(pki, "order-service.pem"),
             os.path.join(pki, "order-service.key"))
    _serve(p)
    stop_service("logistics-service")
    start_service("logistics-service", ORDER_SERVICE_PORT=str(FAKE_PORT))
    yield p
    p.shutdown()
    p.server_close()
    stop_service("logistics-service")
    start_service("logistics-service")


def metric(client, name, labels):
    _, _, data = client.raw("GET", "/metrics")
    for line in data.decode().splitlines():
        if line.startswith(name + "{") and all(l in line for l in labels):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def get(logistics, sid, rid=None):
    t0 = time.monotonic()
    r = logistics.call("GET", "/shipments/" + sid,
                       headers={"X-Request-Id": rid} if rid else None)
    return r, time.monotonic() - t0


def test_headers_and_record(peer, logistics):
    sid = str(uuid.uuid4())
    now = time.time()
    peer.reset([(200, {}, record(sid, now - 2 * 3600, now + 8 * 3600))])
    (status, hdrs, doc), _ = get(logistics, sid, "up-hdr-1")
    assert status == 200, doc
    assert doc["id"] == sid and doc["status"] == "in_transit"
    assert doc["distance_km"] == 504 and doc["carrier"] == "DHL"
    [seen] = peer.seen
    assert seen["path"] == "/supply-orders/by-shipment/" + sid
    h = seen["headers"]
    # logistics-service's own identity, never the operators' token.
    assert h["authorization"] == "Bearer " + secret(
        "identity_logistics_service")
    assert h["x-request-id"] == "up-hdr-1"
    assert h["accept"] == "application/json"


@pytest.mark.parametrize("created,eta,want", [
    (-3600, 99 * 3600, "label_created"),
    (-90 * 3600, 10 * 3600, "out_for_delivery"),
    (-48 * 3600, -3600, "delivered"),
])
def test_status_from_time(peer, logistics, created, eta, want):
    sid = str(uuid.uuid4())
    now = time.time()
    peer.reset([(200, {}, record(sid, now + created, now + eta))])
    (status, _, doc), _ = get(logistics, sid)
    assert status == 200 and doc["status"] == want, doc


def test_retries_503_then_answers(peer, logistics):
    sid = str(uuid.uuid4())
    now = time.time()
    before = metric(logistics, "upstream_retries_total",
                    ['target="order-service"'])
    peer.reset([(503, {}, None), (502, {}, None),
                (200, {}, record(sid, now, now + 3600))])
    (status, _, doc), elapsed = get(logistics, sid, "up-retry-1")
    assert status == 200, doc
    assert len(peer.seen) == 3
    # The same request id on every attempt.
    assert {s["headers"]["x-request-id"] for s in peer.seen} == {
        "up-retry-1"}
    assert elapsed < 2.0
    after = metric(logistics, "upstream_retries_total",
                   ['target="order-service"'])
    assert after - before == 2


def test_gives_up_after_max_attempts(peer, logistics):
    peer.reset([(503, {}, None)] * 10)
    (status, hdrs, doc), elapsed = get(logistics, str(uuid.uuid4()))
    assert_error(status, hdrs, doc, 503, "unavailable")
    assert "order-service" in doc["error"]["message"]
    assert len(peer.seen) == 3
    assert elapsed < 2.0


def test_final_statuses_are_not_retried(peer, logistics):
    peer.reset([(404, {}, {"error": {"code": "not_found"}})])
    (status, hdrs, doc), _ = get(logistics, str(uuid.uuid4()))
    assert_error(status, hdrs, doc, 404, "not_found")
    assert len(peer.seen) == 1
    peer.reset([(500, {}, None)] * 3)
    (status, hdrs, doc), _ = get(logistics, str(uuid.uuid4()))
    assert_error(status, hdrs, doc, 503, "unavailable")
    assert len(peer.seen) == 1


def test_429_waits_for_retry_after(peer, logistics):
    sid = str(uuid.uuid4())
    now = time.time()
    peer.reset([(429, {"Retry-After": "1"}, None),
                (200, {}, record(sid, now, now + 3600))])
    (status, _, doc), elapsed = get(logistics, sid)
    assert status == 200, doc
    assert len(peer.seen) == 2
    gap = peer.seen[1]["at"] - peer.seen[0]["at"]
    assert 0.95 <= gap < 1.5, gap


def test_shed_503_is_retried_after_a_backoff(peer, logistics):
    """A service at capacity sheds with 503 and Retry-After: 1 before any
    work (admission.h): between the services that is retried after the
    caller's own backoff with jitter, within its budget, not a second
    later."""
    sid = str(uuid.uuid4())
    now = time.time()
    peer.reset([(503, {"Retry-After": "1"}, None),
                (200, {}, record(sid, now, now + 3600))])
    (status, _, doc), elapsed = get(logistics, sid)
    assert status == 200, doc
    assert len(peer.seen) == 2
    gap = peer.seen[1]["at"] - peer.seen[0]["at"]
    assert gap < 0.5, gap


def test_retry_after_beyond_the_deadline_fails_fast(peer, logistics):
    peer.reset([(503, {"Retry-After": "30"}, None)] * 3)
    (status, hdrs, doc), elapsed = get(logistics, str(uuid.uuid4()))
    assert_error(status, hdrs, doc, 503, "unavailable")
    # The peer's Retry-After is passed on; nobody waited for it.
    assert hdrs["retry-after"] == "30"
    assert len(peer.seen) == 1
    assert elapsed < 1.0


def test_silent_peer_is_503_within_the_deadline(peer, logistics):
    peer.reset([("hang", {}, None)] * 5)
    (status, hdrs, doc), elapsed = get(logistics, str(uuid.uuid4()))
    assert_error(status, hdrs, doc, 503, "unavailable")
    # Per-attempt timeouts and the request deadline: ~1.8 s, never 3 s.
    assert 1.0 < elapsed < 2.5, elapsed
    assert len(peer.seen) >= 2
    assert metric(logistics, "upstream_requests_total",
                  ['target="order-service"', 'outcome="timeout"']) >= 2


def test_connections_are_reused(peer, logistics):
    now = time.time()
    sids = [str(uuid.uuid4()) for _ in range(8)]
    peer.reset([(200, {}, record(s, now, now + 3600)) for s in sids])
    for s in sids:
        (status, _, _), _ = get(logistics, s)
        assert status == 200
    conns = {s["peer"] for s in peer.seen}
    # Two workers, each with its own connection cache: at most one or two
    # connections per worker, far fewer than requests.
    assert len(conns) <= 4, conns


def test_peer_certificate_is_verified(logistics, tmp_path):
    """A peer whose certificate the stack's CA did not sign gets no
    request: 503, and the attempt counted as an error."""
    key, crt = tmp_path / "k.pem", tmp_path / "c.pem"
    os.system("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
              "-nodes -keyout %s -out %s -days 1 -subj /CN=127.0.0.1 "
              "-addext subjectAltName=IP:127.0.0.1 2>/dev/null" % (key, crt))
    p = Peer(str(crt), str(key), FAKE_PORT + 1)
    _serve(p)
    try:
        stop_service("logistics-service")
        start_service("logistics-service",
                      ORDER_SERVICE_PORT=str(FAKE_PORT + 1))
        p.reset([(200, {}, {})])
        (status, hdrs, doc), _ = get(logistics, str(uuid.uuid4()))
        assert_error(status, hdrs, doc, 503, "unavailable")
        assert p.seen == []
    finally:
        p.shutdown()
        p.server_close()
        stop_service("logistics-service")
        start_service("logistics-service")


@pytest.mark.parametrize("peer_kind", ["refused", "never_accepts"])
def test_connect_given_up_keeps_the_worker(logistics, peer_kind):
    """Connect attempts that fail (a closed port) or never complete (a
    listener whose backlog is full: its SYNs are dropped) are closed by
    libcurl before it reports the socket's removal, and the removal comes
    later (Kore's curl-socket-close.patch): 503 every time, and the worker
    goes on (the no_worker_died fixture reads the parent's log)."""
    lsock, held = None, []
    port = FAKE_PORT + 2
    if peer_kind == "never_accepts":
        lsock = socket.socket()
        lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        lsock.bind(("127.0.0.1", port))
        lsock.listen(0)
        # Fill the accept queue, so that later SYNs go unanswered.
        for _ in range(2):
            c = socket.socket()
            c.setblocking(False)
            c.connect_ex(("127.0.0.1", port))
            held.append(c)
        time.sleep(0.2)
    try:
        stop_service("logistics-service")
        start_service("logistics-service", ORDER_SERVICE_PORT=str(port))
        for _ in range(6):
            (status, hdrs, doc), elapsed = get(logistics, str(uuid.uuid4()))
            assert_error(status, hdrs, doc, 503, "unavailable")
            assert elapsed < 3.0, elapsed
        # Still serving: every worker answers what needs no upstream.
        for _ in range(8):
            assert logistics.call("GET", "/healthz")[0] == 200
    finally:
        for c in held:
            c.close()
        if lsock is not None:
            lsock.close()
        stop_service("logistics-service")
        start_service("logistics-service")
