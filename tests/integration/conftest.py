"""Integration fixtures: a real PostgreSQL cluster, the real PKI and the
static service executables, started by the test run on their own ports (so
a running `make up` stack is never disturbed) and stopped at the end."""

import concurrent.futures
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import http.client
import time
import uuid

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import worker_deaths  # noqa: E402 (tests/worker_deaths.py)

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("BUILD", os.path.join(REPO, "build"))
# ITEST_RUN / ITEST_PORT_OFFSET let several test runs share a machine.
RUN = os.environ.get("ITEST_RUN", os.path.join(BUILD, "itest"))
STACK = os.path.join(REPO, "platform", "stack")
_OFF = int(os.environ.get("ITEST_PORT_OFFSET", "0"))

# Test ports: never the defaults of a running stack.
PORTS = {
    "PG_PORT": str(55532 + _OFF),
    "CRM_API_PORT": str(18443 + _OFF),
    "ORDER_SERVICE_PORT": str(18444 + _OFF),
    "INVENTORY_SERVICE_PORT": str(18445 + _OFF),
    "LOGISTICS_SERVICE_PORT": str(18446 + _OFF),
}
PORT_OF = {
    "crm-api": "CRM_API_PORT",
    "order-service": "ORDER_SERVICE_PORT",
    "inventory-service": "INVENTORY_SERVICE_PORT",
    "logistics-service": "LOGISTICS_SERVICE_PORT",
}
# The secret a client presents to each service.
TOKEN_OF = {"crm-api": "api_key"}
ENV = dict(os.environ, **PORTS, BIN_DIR=os.path.join(BUILD, "musl", "bin"))


def stack(*args, env=None, check=True):
    """Runs a platform/stack script; its output goes to the test log."""
    return subprocess.run([os.path.join(STACK, args[0]), RUN, *args[1:]],
                          env=env or ENV, check=check,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=120)


def secret(name):
    with open(os.path.join(RUN, "secrets", name)) as f:
        return f.read().strip()


class Client:
    """One HTTPS client for one service, verified against the stack's CA."""

    def __init__(self, port, token):
        self.port = int(port)
        self.token = token
        self.ctx = ssl.create_default_context(
            cafile=os.path.join(RUN, "pki", "ca.pem"))

    def raw(self, method, path, body=None, headers=None, timeout=5):
        conn = http.client.HTTPSConnection("127.0.0.1", self.port,
                                           context=self.ctx, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
        finally:
            conn.close()

    def call(self, method, path, body=None, headers=None, token=True,
             timeout=5):
        h = {}
        if token is True:
            h["Authorization"] = "Bearer " + self.token
        elif token:
            h["Authorization"] = token
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        status, hdrs, data = self.raw(method, path, body, h, timeout)
        doc = None
        if data:
            assert hdrs.get("content-type", "").startswith(
                "application/json"), (status, hdrs, data[:200])
            doc = json.loads(data)
        return status, hdrs, doc


def assert_error(status, hdrs, doc, want_status, code):
    """The contract's error shape, and nothing else in it."""
    assert status == want_status, (status, doc)
    assert set(doc) == {"error"}, doc
    err = doc["error"]
    assert err["code"] == code, doc
    assert isinstance(err["message"], str) and err["message"], doc
    assert err["request_id"] == hdrs["x-request-id"], (doc, hdrs)
    assert set(err) <= {"code", "message", "request_id", "details"}, doc
    return err


@pytest.fixture(scope="session")
def pg():
    os.makedirs(RUN, exist_ok=True)
    stack("pki.sh")
    # A fresh cluster every session: migrations are applied from scratch.
    stack("postgres.sh", "destroy", check=False)
    stack("postgres.sh", "start")
    stack("migrate.sh")
    yield
    stack("postgres.sh", "stop", check=False)


def start_service(name, **env):
    stack("service.sh", "start", name, env=dict(ENV, **env))


def service_workers(name):
    """The worker pids of a native service (its master's "[wrk N]"
    children)."""
    with open(os.path.join(RUN, "svc", "%s.pid" % name)) as f:
        parent = f.read().strip()
    out = subprocess.run(["ps", "-o", "pid=,args=", "--ppid", parent],
                         stdout=subprocess.PIPE, text=True).stdout
    pids = [int(line.split()[0]) for line in out.splitlines()
            if "[wrk" in line]
    assert len(pids) == 2, out
    return pids


def stop_service(name):
    stack("service.sh", "stop", name, check=False)


_running = []


def service_client(name):
    """Starts NAME (once per session) and returns a client for it."""
    if name not in _running:
        start_service(name)
        _running.append(name)
    return Client(PORTS[PORT_OF[name]],
                  secret(TOKEN_OF.get(name, "service_token")))


@pytest.fixture(scope="session", autouse=True)
def _stop_services():
    yield
    for name in reversed(_running):
        stop_service(name)


# Fails each test during which a worker process died (tests/worker_deaths.py).
no_worker_died = worker_deaths.fixture(os.path.join(RUN, "logs"))


@pytest.fixture(scope="session")
def inventory(pg):
    return service_client("inventory-service")


@pytest.fixture(scope="session")
def logistics(pg):
    return service_client("logistics-service")


@pytest.fixture(scope="session")
def orders(pg, inventory, logistics):
    return service_client("order-service")


@pytest.fixture(scope="session")
def crm(pg, orders):
    return service_client("crm-api")


def psql(sql):
    """Runs SQL as the admin (operators' DATABASE_URL) and returns rows.
    The SQL goes on stdin (a statement naming thousands of orders is
    longer than one command-line argument may be), run as one transaction
    as psql -c runs several statements."""
    url = stack("postgres.sh", "url").stdout.strip().splitlines()[-1]
    out = subprocess.run(["psql", url, "-XAtq", "-F", "|",
                          "-1", "-v", "ON_ERROR_STOP=1"], input=sql,
                         check=True, stdout=subprocess.PIPE, text=True,
                         timeout=30).stdout
    return [line.split("|") for line in out.splitlines() if line]


def pg_super(sql):
    """SQL as the postgres superuser (peer auth on the cluster's socket):
    the statement-log settings are not crm_admin's to change."""
    base = os.path.realpath(os.path.join(RUN, "pg"))
    subprocess.run(["runuser", "-u", "postgres", "--", "psql", "-XAtq",
                    "-v", "ON_ERROR_STOP=1", "-h", os.path.join(base, "sock"),
                    "-p", ENV["PG_PORT"], "-d", "postgres", "-c", sql],
                   check=True, stdout=subprocess.PIPE, timeout=30)


# PostgreSQL's own log (log_line_prefix '%m [%p] %q%u@%d ').
PG_LOG = os.path.join(RUN, "pg", "log", "postgres.log")


def pg_log_size():
    return os.path.getsize(PG_LOG)


def pg_log_since(offset):
    with open(PG_LOG, errors="replace") as f:
        f.seek(offset)
        return f.read()


def pg_phases(text, role):
    """[(pid, phase, statement name, sql)] of ROLE's statement lines in
    TEXT (a StatementLog's): the pid names the connection."""
    line = re.compile(r"\[(\d+)\] %s@\S+ LOG:  duration: \S+ ms"
                      r"  (parse|bind|execute) ([^:]+): (.*)" % re.escape(role))
    return [m.groups() for m in map(line.search, text.splitlines()) if m]


class StatementLog:
    """`with StatementLog():` PostgreSQL logs every statement (with its
    duration and phases: parse, bind, execute) while the block runs;
    .text() is what it logged since the block began."""

    def __enter__(self):
        self.offset = pg_log_size()
        pg_super("ALTER SYSTEM SET log_min_duration_statement = 0")
        pg_super("SELECT pg_reload_conf()")
        return self

    def __exit__(self, *exc):
        pg_super("ALTER SYSTEM RESET log_min_duration_statement")
        pg_super("SELECT pg_reload_conf()")

    def text(self):
        return pg_log_since(self.offset)


def puts_behind_a_locked_row(client, pid, n, hold, times):
    """n concurrent PUTs of inventory product pid (quantities 1..n) while
    another session locks its row FOR UPDATE for hold seconds at a time,
    times in a row: [(status, headers, doc)] of the PUTs."""
    url = stack("postgres.sh", "url").stdout.strip().splitlines()[-1]
    locker = subprocess.Popen(
        ["psql", url, "-XAtq", "-v", "ON_ERROR_STOP=1"],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    locker.stdin.write(
        ("BEGIN; SELECT 1 FROM inventory.products WHERE product_id = '%s' "
         "FOR UPDATE; SELECT pg_sleep(%s); COMMIT;\n" % (pid, hold)) * times)
    locker.stdin.close()
    time.sleep(0.3)
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=n) as pool:
            return list(pool.map(
                lambda q: client.call("PUT", "/inventory/" + pid,
                                      {"quantity": q}, timeout=30),
                range(1, n + 1)))
    finally:
        assert locker.wait(60) == 0


def new_product(prefix="P"):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:12].upper())


def wait_for(pred, timeout=15.0, step=0.2):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return False


def port_open(port):
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", int(port))) == 0


def metrics_help(client):
    """{family: its # HELP text} of a service's /metrics; every family
    that has a # TYPE line is in it, with "" when it has no # HELP."""
    status, _, data = client.raw("GET", "/metrics")
    assert status == 200
    helps, families = {}, set()
    for line in data.decode().splitlines():
        if line.startswith("# HELP "):
            name, _, text = line[len("# HELP "):].partition(" ")
            helps[name] = text.strip()
        elif line.startswith("# TYPE "):
            families.add(line.split()[2])
    return {name: helps.get(name, "") for name in families}

