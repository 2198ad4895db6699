"""Least privilege between services (issue 12, section 3; CONTRACT §2):
each calling service presents an identity of its own, each callee allows a
caller only the routes it needs, the operators' SERVICE_TOKEN opens every
internal route but no service holds it, and crm-api accepts several named
API keys. What a service "holds" is read from the outside, from what the
stack gives the running process: its environment, the secret files it is
started with, and its memory."""

import os
import re
import uuid

import pytest

from conftest import (PORTS, PORT_OF, RUN, Client, assert_error, new_product,
                      secret, stack, start_service, stop_service, wait_for)
from orderflow import stocked

SERVICES = ("crm-api", "order-service", "inventory-service",
            "logistics-service")
ADDRESS = {"line1": "1 Main St", "city": "Berlin", "postal_code": "10115",
           "country": "DE"}
DEST = {"postal_code": "10115", "country": "DE"}


def master_pid(name):
    with open(os.path.join(RUN, "svc", name + ".pid")) as f:
        return int(f.read())


def processes(name):
    """The service's master and every process below it (workers, key
    manager)."""
    parent = {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % p) as f:
                stat = f.read()
        except OSError:
            continue
        parent[int(p)] = int(stat.rsplit(")", 1)[1].split()[1])
    found = [master_pid(name)]
    for pid in found:
        found += [c for c, pp in parent.items() if pp == pid]
    return found


def memory(pid):
    """The process's readable memory, region after region."""
    out = []
    with open("/proc/%d/maps" % pid) as maps, \
            open("/proc/%d/mem" % pid, "rb", 0) as mem:
        for line in maps:
            addr, perms = line.split()[:2]
            if perms[0] != "r" or line.rstrip().endswith(
                    ("[vvar]", "[vsyscall]")):
                continue
            lo, hi = (int(a, 16) for a in addr.split("-"))
            try:
                mem.seek(lo)
                out.append(mem.read(hi - lo))
            except (OSError, ValueError, OverflowError):
                continue
    return b"\0".join(out)


def environ(pid):
    """The environment the process was started with. Kore writes its
    process title over the original (/proc/PID/environ is blank) and keeps
    copies of the strings on its heap: they are read from there."""
    with open("/proc/%d/environ" % pid, "rb") as f:
        raw = f.read()
    env = dict(kv.split(b"=", 1) for kv in raw.split(b"\0") if b"=" in kv)
    for k, v in re.findall(rb"\0([A-Z][A-Z0-9_]*)=([^\0]*)(?=\0)",
                           memory(pid)):
        env.setdefault(k, v)
    return env


def secrets_dir(name):
    return os.path.join(RUN, "svc", name, "etc", "crm", "secrets")


def held_files(name):
    """Every file the service is given: its secrets folder and whatever
    its environment points at."""
    files = {os.path.join(secrets_dir(name), f)
             for f in os.listdir(secrets_dir(name))}
    for k, v in environ(master_pid(name)).items():
        if k.endswith(b"_FILE") and os.path.isfile(v):
            files.add(v.decode())
    return sorted(files)


def held_secrets(name):
    """Every bearer token the service could present: each file's content
    and each of its words."""
    out = set()
    for path in held_files(name):
        with open(path, errors="replace") as f:
            text = f.read()
        out.update(text.split())
        if not any(c.isspace() for c in text.strip()):
            out.add(text.strip())
    return {s for s in out if s}


def identity(name):
    """The token the service presents on its own calls."""
    path = environ(master_pid(name)).get(b"IDENTITY_TOKEN_FILE")
    assert path, "%s is given no IDENTITY_TOKEN_FILE" % name
    with open(path) as f:
        return f.read().strip()


def client(name, token):
    return Client(PORTS[PORT_OF[name]], token)


def metric(c, name, labels):
    _, _, data = c.raw("GET", "/metrics")
    total = 0.0
    for line in data.decode().splitlines():
        if line.startswith(name + "{") and all(l in line for l in labels):
            total += float(line.rsplit(" ", 1)[1])
    return total


def supply_body(pid):
    return {"crm_order_id": str(uuid.uuid4()),
            "customer_id": str(uuid.uuid4()),
            "items": [{"product_id": pid, "quantity": 1}],
            "destination": DEST}


def inventory_routes(pid):
    """Every route of inventory-service, in an order that succeeds."""
    rid, rid2 = str(uuid.uuid4()), str(uuid.uuid4())
    return [("GET", "/inventory/" + pid, None),
            ("PUT", "/inventory/" + pid, {"quantity": 1000}),
            ("POST", "/inventory/reservations",
             {"reservation_id": rid,
              "items": [{"product_id": pid, "quantity": 1}]}),
            ("POST", "/inventory/reservations/%s/commit" % rid, None),
            ("POST", "/inventory/reservations",
             {"reservation_id": rid2,
              "items": [{"product_id": pid, "quantity": 1}]}),
            ("DELETE", "/inventory/reservations/" + rid2, None)]


@pytest.fixture(scope="module")
def stack_up(crm, inventory, logistics, orders):
    return {"crm-api": crm, "order-service": orders,
            "inventory-service": inventory, "logistics-service": logistics}


def test_crm_api_holds_nothing_that_opens_inventory(stack_up):
    """A compromised crm-api: nothing it is given opens any route of
    inventory-service (today it holds SERVICE_TOKEN, which can PUT)."""
    pid = stocked(stack_up["inventory-service"], 5, "IDN")
    tokens = held_secrets("crm-api")
    assert tokens
    for tok in tokens:
        c = client("inventory-service", tok)
        for method, path, body in inventory_routes(pid):
            assert_error(*c.call(method, path, body), 401, "unauthorized")
    status, _, doc = stack_up["inventory-service"].call(
        "GET", "/inventory/" + pid)
    assert status == 200 and doc["quantity"] == 5, doc


def test_refused_route_is_401_and_counted(stack_up):
    inv = stack_up["inventory-service"]
    labels = ['route="/inventory/:productId"', 'method="PUT"',
              'status="401"']
    before = metric(inv, "http_requests_total", labels)
    err = assert_error(*client("inventory-service", identity("crm-api")).call(
        "PUT", "/inventory/" + new_product("IDN"), {"quantity": 1}),
        401, "unauthorized")
    assert "details" not in err
    assert metric(inv, "http_requests_total", labels) == before + 1


def test_crm_api_identity_on_supply_order_routes(stack_up):
    pid = stocked(stack_up["inventory-service"], 50, "IDN")
    c = client("order-service", identity("crm-api"))
    status, _, doc = c.call("POST", "/supply-orders", supply_body(pid))
    assert status == 201, doc
    assert doc["status"] == "confirmed", doc
    status, _, got = c.call("GET", "/supply-orders/" + doc["id"])
    assert status == 200 and got["id"] == doc["id"], got
    # Not what crm-api calls: the audit and the by-shipment record.
    assert_error(*c.call("GET", "/supply-orders/%s/audit" % doc["id"]),
                 401, "unauthorized")
    assert_error(*c.call("GET", "/supply-orders/by-shipment/" +
                         doc["shipment"]["id"]), 401, "unauthorized")
    # Nor anything at logistics-service.
    assert_error(*client("logistics-service", identity("crm-api")).call(
        "GET", "/shipments/" + doc["shipment"]["id"]), 401, "unauthorized")


def test_logistics_identity_only_by_shipment(stack_up):
    pid = stocked(stack_up["inventory-service"], 50, "IDN")
    status, _, order = stack_up["order-service"].call(
        "POST", "/supply-orders", supply_body(pid))
    assert status == 201 and order["status"] == "confirmed", order
    c = client("order-service", identity("logistics-service"))
    sid = order["shipment"]["id"]
    status, _, rec = c.call("GET", "/supply-orders/by-shipment/" + sid)
    assert status == 200 and rec["id"] == sid, rec
    assert_error(*c.call("GET", "/supply-orders/by-shipment/" +
                         str(uuid.uuid4())), 404, "not_found")
    assert_error(*c.call("POST", "/supply-orders", supply_body(pid)),
                 401, "unauthorized")
    assert_error(*c.call("GET", "/supply-orders/" + order["id"]),
                 401, "unauthorized")
    for method, path, body in inventory_routes(pid):
        assert_error(*client("inventory-service",
                             identity("logistics-service")).call(
            method, path, body), 401, "unauthorized")


def test_order_service_identity_reserves_but_cannot_set_stock(stack_up):
    pid = stocked(stack_up["inventory-service"], 10, "IDN")
    c = client("inventory-service", identity("order-service"))
    rid = str(uuid.uuid4())
    status, _, doc = c.call("POST", "/inventory/reservations",
                            {"reservation_id": rid,
                             "items": [{"product_id": pid, "quantity": 2}]})
    assert status == 201, doc
    status, _, doc = c.call("POST", "/inventory/reservations/%s/commit"
                            % rid)
    assert status == 200, doc
    rid2 = str(uuid.uuid4())
    assert c.call("POST", "/inventory/reservations",
                  {"reservation_id": rid2,
                   "items": [{"product_id": pid, "quantity": 1}]})[0] == 201
    status, _, doc = c.call("DELETE", "/inventory/reservations/" + rid2)
    assert status == 200, doc
    # order-service never sets or reads stock.
    assert_error(*c.call("PUT", "/inventory/" + pid, {"quantity": 999}),
                 401, "unauthorized")
    assert_error(*c.call("GET", "/inventory/" + pid), 401, "unauthorized")
    # Shipments at logistics-service: yes; supply orders at itself: no.
    lg = client("logistics-service", identity("order-service"))
    status, _, ship = lg.call("POST", "/shipments", {
        "order_id": str(uuid.uuid4()),
        "items": [{"product_id": pid, "quantity": 1}],
        "destination": DEST})
    assert status == 201, ship
    assert_error(*client("order-service", identity("order-service")).call(
        "POST", "/supply-orders", supply_body(pid)), 401, "unauthorized")


def test_inventory_service_has_no_identity(stack_up):
    env = environ(master_pid("inventory-service"))
    assert b"IDENTITY_TOKEN_FILE" not in env


def test_service_token_opens_every_internal_route(stack_up):
    op = secret("service_token")
    inv = client("inventory-service", op)
    pid = stocked(inv, 50, "IDN")
    for method, path, body in inventory_routes(pid):
        status, _, doc = inv.call(method, path, body)
        assert status in (200, 201), (method, path, status, doc)
    ords = client("order-service", op)
    status, _, order = ords.call("POST", "/supply-orders", supply_body(pid))
    assert status == 201 and order["status"] == "confirmed", order
    for path in ("/supply-orders/" + order["id"],
                 "/supply-orders/%s/audit" % order["id"],
                 "/supply-orders/by-shipment/" + order["shipment"]["id"]):
        status, _, doc = ords.call("GET", path)
        assert status == 200, (path, doc)
    lg = client("logistics-service", op)
    status, _, ship = lg.call("POST", "/shipments", {
        "order_id": str(uuid.uuid4()),
        "items": [{"product_id": pid, "quantity": 1}],
        "destination": DEST})
    assert status == 201, ship
    status, _, doc = lg.call("GET", "/shipments/" + order["shipment"]["id"])
    assert status == 200, doc


def test_unknown_token_is_401_everywhere(stack_up):
    for name in SERVICES:
        c = client(name, "x" * 43)
        path = "/customers/" if name == "crm-api" else {
            "order-service": "/supply-orders/",
            "inventory-service": "/inventory/reservations/",
            "logistics-service": "/shipments/"}[name]
        method = "DELETE" if name == "inventory-service" else "GET"
        assert_error(*c.call(method, path + str(uuid.uuid4())),
                     401, "unauthorized")


def test_no_service_holds_the_service_token_or_api_key(stack_up):
    """Freshly started (so that no request has carried them in yet):
    neither SERVICE_TOKEN nor the API key is in any service process's
    environment, its files or its memory; the credentials files hold
    SHA-256 digests."""
    raw = {secret("service_token").encode(), secret("api_key").encode()}
    for name in SERVICES:
        stop_service(name)
    for name in reversed(SERVICES):
        start_service(name)
    for name in SERVICES:
        pids = processes(name)
        assert len(pids) >= 3, (name, pids)   # master, workers, keymgr
        for pid in pids:
            env = environ(pid)
            assert b"SERVICE_TOKEN_FILE" not in env, name
            assert b"API_KEY_FILE" not in env, name
            assert not any(r in v for r in raw for v in env.values()), name
            mem = memory(pid)
            assert not [r for r in raw if r in mem], (name, pid)
        for path in held_files(name):
            with open(path, "rb") as f:
                data = f.read()
            assert not any(r in data for r in raw), (name, path)
        root = os.path.join(RUN, "svc", name)
        for d, _, files in os.walk(root):
            for f in files:
                p = os.path.join(d, f)
                if os.path.isfile(p) and not os.path.islink(p):
                    with open(p, "rb") as fh:
                        data = fh.read()
                    assert not any(r in data for r in raw), (name, p)
    # What the services hold instead: digests, one line per credential.
    with open(os.path.join(secrets_dir("inventory-service"),
                           "credentials")) as f:
        lines = [ln.split() for ln in f if ln.strip() and ln[0] != "#"]
    assert all(len(ln) == 2 and re.fullmatch("[0-9a-f]{64}", ln[1])
               for ln in lines), lines
    assert "operator" in {ln[0] for ln in lines}


def add_key(name):
    out = stack("apikey.sh", "add", name).stdout.strip().splitlines()
    assert out, "apikey.sh printed no key"
    return out[-1]


def restart_crm():
    stop_service("crm-api")
    start_service("crm-api")


def test_named_api_keys_rotate(stack_up):
    ka = add_key("itest-a")
    kb = add_key("itest-b")
    try:
        restart_crm()
        cid = str(uuid.uuid4())
        for key in (ka, kb, secret("api_key")):
            assert_error(*client("crm-api", key).call(
                "GET", "/customers/" + cid), 404, "not_found")
        rid = "itest-key-" + uuid.uuid4().hex[:12]
        client("crm-api", kb).call("GET", "/customers/" + cid,
                                   headers={"X-Request-Id": rid})
        log = os.path.join(RUN, "logs", "crm-api.log")
        assert wait_for(lambda: rid in open(log).read(), timeout=5)
        line = [ln for ln in open(log) if rid in ln][0]
        assert '"caller":"itest-b"' in line.replace(" ", ""), line
        stack("apikey.sh", "remove", "itest-a")
        restart_crm()
        assert_error(*client("crm-api", ka).call("GET", "/customers/" + cid),
                     401, "unauthorized")
        for key in (kb, secret("api_key")):
            assert_error(*client("crm-api", key).call(
                "GET", "/customers/" + cid), 404, "not_found")
        text = open(log).read()
        assert ka not in text and kb not in text
        assert secret("api_key") not in text
    finally:
        stack("apikey.sh", "remove", "itest-a", check=False)
        stack("apikey.sh", "remove", "itest-b", check=False)
        restart_crm()


def test_order_flow_confirms_through_identities(stack_up):
    crm = stack_up["crm-api"]
    pid = stocked(stack_up["inventory-service"], 3, "IDN")
    status, _, cust = crm.call("POST", "/customers", {
        "name": "Identity Test",
        "email": "idn-%s@example.com" % uuid.uuid4().hex[:12]})
    assert status == 201, cust
    status, _, order = crm.call(
        "POST", "/orders",
        {"customer_id": cust["id"], "shipping_address": ADDRESS,
         "items": [{"product_id": pid, "quantity": 2}]},
        headers={"Idempotency-Key": "idn-" + uuid.uuid4().hex})
    assert status in (201, 202), order
    assert wait_for(lambda: crm.call("GET", "/orders/" + order["id"])[2]
                    ["status"] == "confirmed", timeout=15)
    status, _, got = crm.call("GET", "/orders/" + order["id"])
    assert status == 200 and got["shipment"]["status"], got
    status, _, stock = stack_up["inventory-service"].call(
        "GET", "/inventory/" + pid)
    assert stock["quantity"] == 1, stock
