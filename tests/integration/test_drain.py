"""Stopping a service is a drain (SIGTERM; graceful-drain.patch, issue 14
§4, docs/operations.md "Stopping and restarting"): /readyz says 503 at
once while everything else is still served, also on new connections
(whose TLS handshakes the key manager still signs); after drain_delay (1 s
in conf/*.conf) new connections are refused, an idle kept-alive connection
is closed, a request in flight is still answered (with "connection:
close"), and the service exits well before the 10 s after which
`./build.sh svc stop` kills it.

A replica of its own (INSTANCE=drain, on a port of its own): the session's
services are not touched."""

import os
import signal
import socket
import ssl
import time

import pytest

from conftest import ENV, RUN, Client, new_product, secret, stack, wait_for

_OFF = int(os.environ.get("ITEST_PORT_OFFSET", "0"))
PORT = 18750 + _OFF
NAME = "inventory-service"


def run(cmd):
    return stack("service.sh", cmd, NAME, env=dict(
        ENV, INSTANCE="drain", INSTANCE_PORT=str(PORT)), check=cmd != "stop")


@pytest.fixture
def replica(pg):
    run("start")
    try:
        with open(os.path.join(RUN, "svc", NAME + ".drain.pid")) as f:
            yield int(f.read())
    finally:
        run("stop")


def tls():
    return ssl.create_default_context(
        cafile=os.path.join(RUN, "pki", "ca.pem"))


class Conn:
    """One raw HTTPS connection, kept alive across requests."""

    def __init__(self):
        raw = socket.create_connection(("127.0.0.1", PORT), timeout=5)
        self.s = tls().wrap_socket(raw, server_hostname="127.0.0.1")
        self.token = secret("service_token")

    def send_head(self, method, path, length=None):
        head = "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n" \
               "Authorization: Bearer %s\r\n" % (method, path, self.token)
        if length is not None:
            head += "Content-Type: application/json\r\n" \
                    "Content-Length: %d\r\n" % length
        self.s.sendall((head + "\r\n").encode())

    def answer(self):
        """(status, {header: value}) of one answer, its body read."""
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.s.recv(4096)
            if not chunk:
                raise ConnectionError("closed before an answer")
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        hdrs = {k.lower(): v.strip() for k, _, v in
                (line.partition(":") for line in lines[1:])}
        want = int(hdrs.get("content-length", "0"))
        while len(body) < want:
            body += self.s.recv(4096)
        return int(lines[0].split()[1]), hdrs

    def closed_by_peer(self):
        self.s.settimeout(5)
        try:
            return self.s.recv(1) == b""
        except (ConnectionError, ssl.SSLError):
            return True

    def close(self):
        self.s.close()


def refused():
    with socket.socket() as s:
        s.settimeout(2)
        return s.connect_ex(("127.0.0.1", PORT)) != 0


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return False


def test_sigterm_drains(replica):
    client = Client(PORT, secret("service_token"))
    pid_ = new_product("DRAIN")
    idle, busy, slow = Conn(), Conn(), Conn()
    for c in (idle, busy):
        c.send_head("GET", "/healthz")
        status, hdrs = c.answer()
        assert status == 200 and hdrs["connection"] == "keep-alive"
    body = b'{"quantity": 7}'
    # A request in flight across the whole delay: its body comes later.
    slow.send_head("PUT", "/inventory/" + pid_, len(body))

    t0 = time.monotonic()
    os.kill(replica, signal.SIGTERM)

    # At once: not ready (and saying it drains), but serving, on new
    # connections too (TLS handshakes signed by the key manager).
    assert wait_for(lambda: client.call("GET", "/readyz", token=False)[0]
                    == 503, timeout=0.8, step=0.05)
    status, hdrs, doc = client.call("GET", "/readyz", token=False)
    assert status == 503 and hdrs["x-draining"] == "1", (hdrs, doc)
    assert doc["error"]["code"] == "unavailable"
    # A kept-alive connection: answered, and told to go.
    busy.send_head("GET", "/healthz")
    status, hdrs = busy.answer()
    assert status == 200 and hdrs["connection"] == "close"
    assert busy.closed_by_peer()

    # After drain_delay: new connections refused, the idle one closed...
    assert wait_for(refused, timeout=3, step=0.05)
    assert time.monotonic() - t0 >= 0.9
    assert idle.closed_by_peer()
    # ... and the request in flight still answered.
    slow.s.sendall(body)
    status, hdrs = slow.answer()
    assert status == 201 and hdrs["connection"] == "close"
    for c in (idle, busy, slow):
        c.close()

    assert wait_for(lambda: not alive(replica), timeout=8, step=0.1)
    took = time.monotonic() - t0
    assert took < 8, took
    with open(os.path.join(RUN, "logs", NAME + ".drain.log")) as f:
        log = f.read()
    assert "draining: 1 s more of service" in log
    assert "killing them" not in log and "drain_timeout:" not in log
    assert "goodbye" in log, log[-500:]
