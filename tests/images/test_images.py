"""Image tests (CONTRACT §7, issue 4): contents, size budget, reproducible
digest, SBOM, push/pull through the local registry, and the stack's
container runner (platform/stack/container.sh): readiness, a PUT + GET on
inventory-service, SIGKILL of the master and recovery, the sandbox of the
worker processes, a TLS key rotation by SIGUSR1; and the whole stack from
the registry's images: all four ready, an order confirmed end to end, and
each service killed (SIGKILL of PID 1) and started again recovering it.

Everything runs on ports and under names of its own (IMAGES_TEST_*), so a
running `./build.sh` stack (registry 5000, services 8443-8446, PostgreSQL
55432, containers crm-supply-*) is never disturbed.
"""

import gzip
import hashlib
import http.client
import io
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import tarfile
import time

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("BUILD", os.path.join(REPO, "build"))
BIN_DIR = os.path.join(BUILD, "musl", "bin")
WORK = os.environ.get("IMAGES_TEST_DIR", os.path.join(BUILD, "images-test"))
RUN = os.path.join(WORK, "run")
STACK = os.path.join(REPO, "platform", "stack")
REGISTRY = os.environ.get("IMAGES_TEST_REGISTRY", "127.0.0.1:15000")
PG_PORT = os.environ.get("IMAGES_TEST_PG_PORT", "56432")
INV_PORT = os.environ.get("IMAGES_TEST_INVENTORY_PORT", "19445")
PREFIX = "crm-imgtest"
MIB = 1024 * 1024
# The one list of services (apps/*/service.decl); the images test every
# one, or those IMAGES_TEST_SERVICES names.
DECLS = json.loads(subprocess.run(
    [os.path.join(REPO, "platform", "tools", "service-decl"), "json"],
    check=True, stdout=subprocess.PIPE, text=True).stdout)
SERVICES = os.environ.get("IMAGES_TEST_SERVICES", "").split() or sorted(DECLS)

ENV = dict(os.environ, REGISTRY=REGISTRY, PG_PORT=PG_PORT,
           INVENTORY_SERVICE_PORT=INV_PORT, CONTAINER_PREFIX=PREFIX,
           BIN_DIR=BIN_DIR,
           CONTAINERS_CONF=os.path.join(REPO, "images", "containers.conf"))


def run(*cmd, check=True, env=None):
    r = subprocess.run(cmd, env=env or ENV, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=300)
    if check and r.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s\n%s" % (
            " ".join(cmd), r.returncode, r.stdout, r.stderr))
    return r


def build_images(out):
    return run(os.path.join(REPO, "images", "build.sh"), out, *SERVICES)


# --- OCI layout helpers --------------------------------------------------

def blob(oci, digest):
    return os.path.join(oci, "blobs", *digest.split(":", 1))


def read_json(path):
    with open(path) as f:
        return json.load(f)


def manifest_of(oci):
    index = read_json(os.path.join(oci, "index.json"))
    assert len(index["manifests"]) == 1
    desc = index["manifests"][0]
    return desc, read_json(blob(oci, desc["digest"]))


def layer_members(oci):
    """{path: TarInfo} and {path: bytes} of the image's single layer."""
    _, man = manifest_of(oci)
    assert len(man["layers"]) == 1, "one squashed layer expected"
    with open(blob(oci, man["layers"][0]["digest"]), "rb") as f:
        raw = f.read()
    infos, data = {}, {}
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(raw))) as t:
        for m in t.getmembers():
            name = m.name.lstrip("./").rstrip("/")
            infos[name] = m
            if m.isfile():
                data[name] = t.extractfile(m).read()
    return infos, data


def conf_port(name):
    with open(os.path.join(REPO, "conf", name + ".conf")) as f:
        for line in f:
            w = line.split()
            if w and w[0] == "bind":
                return w[2]
    raise AssertionError("no bind in conf/%s.conf" % name)


def data_files(name):
    """The service's data files (its declaration's `data`), in /etc/crm."""
    return sorted(d["file"] for d in DECLS[name]["data"])


# --- fixtures ------------------------------------------------------------

@pytest.fixture(scope="session")
def built():
    """images/build.sh run twice (A, B) from the same tree; A is tested."""
    assert SERVICES, "no apps/*/service.decl"
    run("make", "-C", REPO, "BUILD=" + BUILD,
        *(os.path.join(BIN_DIR, n) for n in SERVICES))
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    a = build_images(os.path.join(WORK, "a"))
    return {"dir": os.path.join(WORK, "a"), "log": a.stderr}


@pytest.fixture(scope="session")
def registry(built):
    run(os.path.join(STACK, "registry.sh"), RUN, "start")
    run(os.path.join(STACK, "registry.sh"), RUN, "push", built["dir"])
    yield REGISTRY
    run(os.path.join(STACK, "registry.sh"), RUN, "stop", check=False)


@pytest.fixture(scope="session")
def postgres():
    run(os.path.join(STACK, "pki.sh"), RUN)
    run(os.path.join(STACK, "postgres.sh"), RUN, "start")
    run(os.path.join(STACK, "migrate.sh"), RUN)
    yield
    run(os.path.join(STACK, "postgres.sh"), RUN, "stop", check=False)


def ctr(cmd, name="inventory-service", check=True):
    return run(os.path.join(STACK, "container.sh"), RUN, cmd, name,
               check=check)


@pytest.fixture(scope="session")
def inventory(registry, postgres):
    ctr("start")
    yield Client(INV_PORT)
    ctr("stop", check=False)
    run("podman", "rmi", "--ignore",
        "%s/inventory-service:latest" % REGISTRY, check=False)


class Client:
    def __init__(self, port):
        self.port = int(port)
        with open(os.path.join(RUN, "secrets", "service_token")) as f:
            self.token = f.read().strip()
        self.ctx = ssl.create_default_context(
            cafile=os.path.join(RUN, "pki", "ca.pem"))

    def call(self, method, path, body=None):
        conn = http.client.HTTPSConnection("127.0.0.1", self.port,
                                           context=self.ctx, timeout=5)
        h = {"Authorization": "Bearer " + self.token}
        if body is not None:
            body = json.dumps(body)
            h["Content-Type"] = "application/json"
        try:
            conn.request(method, path, body=body, headers=h)
            r = conn.getresponse()
            data = r.read()
            return r.status, json.loads(data) if data else None
        finally:
            conn.close()

    def peer_cert(self):
        with socket.create_connection(("127.0.0.1", self.port), 5) as s:
            with self.ctx.wrap_socket(s, server_hostname="127.0.0.1") as t:
                return t.getpeercert(binary_form=True)


def wait_for(fn, timeout=10.0):
    end = time.time() + timeout
    while True:
        try:
            v = fn()
            if v:
                return v
        except OSError:
            pass
        if time.time() > end:
            raise AssertionError("timed out waiting for %r" % fn)
        time.sleep(0.1)


# --- image contents ------------------------------------------------------

@pytest.mark.parametrize("name", SERVICES)
def test_contents_are_exactly_the_listed_files(built, name):
    infos, data = layer_members(os.path.join(built["dir"], name, "oci"))
    files = {p for p, m in infos.items() if not m.isdir()}
    want = {"etc/passwd", "etc/group", "etc/crm/%s.conf" % name,
            "etc/crm/tls/ffdhe2048.pem", "usr/bin/" + name}
    want |= {"etc/crm/" + f for f in data_files(name)}
    assert files == want
    for p, m in infos.items():
        assert (m.uid, m.gid, m.mtime) == (0, 0, 0), p
        assert m.isdir() or m.isfile(), "%s: no links or devices" % p
        mode = 0o755 if m.isdir() or p.startswith("usr/bin/") else 0o644
        assert m.mode & 0o7777 == mode, "%s: mode %o" % (p, m.mode)
    # The default conf is the repository's.
    with open(os.path.join(REPO, "conf", name + ".conf"), "rb") as f:
        assert data["etc/crm/%s.conf" % name] == f.read()
    for f in data_files(name):
        with open(os.path.join(REPO, "apps", name, f), "rb") as g:
            assert data["etc/crm/" + f] == g.read()
    # The users Kore drops to, and nobody else.
    users = [l.split(":") for l in data["etc/passwd"].decode().splitlines()]
    assert sorted((u[0], u[2], u[3]) for u in users) == [
        ("crm", "10001", "10001"), ("crm-keys", "10002", "10002")]
    groups = [l.split(":") for l in data["etc/group"].decode().splitlines()]
    assert sorted((g[0], g[2]) for g in groups) == [
        ("crm", "10001"), ("crm-keys", "10002")]
    # The public RFC 7919 group, and no key material anywhere.
    ff = run("openssl", "genpkey", "-genparam", "-algorithm", "DH",
             "-pkeyopt", "group:ffdhe2048").stdout.encode()
    assert data["etc/crm/tls/ffdhe2048.pem"] == ff
    pem_key = re.compile(rb"-----BEGIN [A-Z ]*PRIVATE KEY-----\s+[A-Za-z0-9+/]")
    for p, b in data.items():
        assert not pem_key.search(b), p


@pytest.mark.parametrize("name", SERVICES)
def test_executable_is_static_and_stripped(built, name, tmp_path):
    _, data = layer_members(os.path.join(built["dir"], name, "oci"))
    exe = tmp_path / name
    exe.write_bytes(data["usr/bin/" + name])
    out = run("file", "-b", str(exe)).stdout
    assert "statically linked" in out and "stripped" in out
    assert "not stripped" not in out and "interpreter" not in out


@pytest.mark.parametrize("name", SERVICES)
def test_config_labels_entrypoint(built, name):
    oci = os.path.join(built["dir"], name, "oci")
    _, man = manifest_of(oci)
    cfg = read_json(blob(oci, man["config"]["digest"]))
    c = cfg["config"]
    assert c["Entrypoint"] == ["/usr/bin/" + name, "-f", "-c",
                               "/etc/crm/%s.conf" % name]
    assert not c.get("Cmd") and not c.get("User")
    # The declared port is the one the conf binds and the image exposes.
    assert conf_port(name) == str(DECLS[name]["port"])
    assert list(c["ExposedPorts"]) == ["%s/tcp" % DECLS[name]["port"]]
    labels = c["Labels"]
    rev = run("git", "-C", REPO, "rev-parse", "HEAD").stdout.strip()
    with open(os.path.join(built["dir"], name, "version")) as f:
        version = f.read().strip()
    assert labels["org.opencontainers.image.title"] == name
    assert labels["org.opencontainers.image.description"] == \
        DECLS[name]["description"]
    assert labels["org.opencontainers.image.version"] == version
    assert labels["org.opencontainers.image.revision"] == rev
    for k in ("source", "licenses"):
        assert labels["org.opencontainers.image." + k]
    # created: the commit's time, never the build's.
    ct = run("git", "-C", REPO, "log", "-1", "--format=%cd",
             "--date=format-local:%Y-%m-%dT%H:%M:%SZ",
             env=dict(ENV, TZ="UTC")).stdout.strip()
    assert labels["org.opencontainers.image.created"] == ct
    assert cfg["created"] == "1970-01-01T00:00:00Z"
    assert "io.buildah.version" not in labels


# --- size budget ---------------------------------------------------------

@pytest.mark.parametrize("name", SERVICES)
def test_size_budget(built, name):
    oci = os.path.join(built["dir"], name, "oci")
    desc, man = manifest_of(oci)
    compressed = desc["size"] + man["config"]["size"] + sum(
        l["size"] for l in man["layers"])
    with open(blob(oci, man["layers"][0]["digest"]), "rb") as f:
        uncompressed = len(gzip.decompress(f.read()))
    assert compressed <= 3 * MIB
    assert uncompressed <= 7 * MIB
    # The build printed both sizes.
    assert re.search(r"^%s: [0-9.]+ MiB compressed .* [0-9.]+ MiB "
                     r"uncompressed" % re.escape(name), built["log"], re.M)


def test_over_budget_fails_the_build(built, tmp_path):
    # The executable with 8 MiB of random data in a section strip keeps.
    name = SERVICES[0]
    bindir = tmp_path / "bin"
    bindir.mkdir()
    rnd = tmp_path / "random"
    rnd.write_bytes(os.urandom(8 * MIB))
    run("objcopy", "--add-section", ".fat=%s" % rnd, "--set-section-flags",
        ".fat=alloc,load,readonly,data", os.path.join(BIN_DIR, name),
        str(bindir / name))
    r = run(os.path.join(REPO, "images", "build.sh"), str(tmp_path / "out"),
            name, check=False, env=dict(ENV, BIN_DIR=str(bindir)))
    assert r.returncode != 0
    assert "OVER BUDGET" in r.stderr and "over budget" in r.stderr


# --- reproducibility and SBOM ---------------------------------------------

def test_rebuild_gives_the_same_digest(built):
    b = os.path.join(WORK, "b")
    build_images(b)
    for name in SERVICES:
        with open(os.path.join(built["dir"], name, "digest")) as f:
            da = f.read().strip()
        with open(os.path.join(b, name, "digest")) as f:
            db = f.read().strip()
        assert da.startswith("sha256:") and da == db, name
        with open(os.path.join(built["dir"], name, "sbom.json"), "rb") as f:
            sa = f.read()
        with open(os.path.join(b, name, "sbom.json"), "rb") as f:
            assert f.read() == sa


@pytest.mark.parametrize("name", SERVICES)
def test_sbom_lists_every_pinned_source(built, name):
    bom = read_json(os.path.join(built["dir"], name, "sbom.json"))
    assert bom["bomFormat"] == "CycloneDX"
    with open(os.path.join(built["dir"], name, "digest")) as f:
        digest = f.read().strip()
    assert bom["metadata"]["component"]["name"] == name
    assert bom["metadata"]["component"]["hashes"][0]["content"] == \
        digest.split(":")[1]
    listed = set()
    for c in bom["components"]:
        for f in c.get("components", []):
            listed.add((c["name"], c["version"], f["name"],
                        f["hashes"][0]["content"]))
    pinned = set()
    with open(os.path.join(REPO, "platform", "deps", "manifest")) as f:
        for line in f:
            w = line.split("#", 1)[0].split()
            if w:
                pinned.add((w[0], w[1], w[3], w[4]))
    assert pinned and listed == pinned


# --- registry round trip --------------------------------------------------

@pytest.mark.parametrize("name", SERVICES)
def test_push_pull_round_trip(built, registry, name, tmp_path):
    with open(os.path.join(built["dir"], name, "digest")) as f:
        digest = f.read().strip()
    with open(os.path.join(built["dir"], name, "version")) as f:
        version = f.read().strip()
    for tag in (version, "latest"):
        raw = run("skopeo", "inspect", "--tls-verify=false", "--raw",
                  "docker://%s/%s:%s" % (registry, name, tag)).stdout
        assert "sha256:" + hashlib.sha256(raw.encode()).hexdigest() == digest
    # Pull it back with a standard tool and unpack the layer.
    dest = tmp_path / "pulled"
    run("skopeo", "copy", "--quiet", "--src-tls-verify=false",
        "docker://%s/%s:latest" % (registry, name), "oci:%s:x" % dest)
    desc, _ = manifest_of(str(dest))
    assert desc["digest"] == digest
    pulled, _ = layer_members(str(dest))
    built_, _ = layer_members(os.path.join(built["dir"], name, "oci"))
    assert sorted(pulled) == sorted(built_)
    assert "usr/bin/" + name in pulled


# --- the container runner -------------------------------------------------

def container_pid(name="inventory-service"):
    return int(run("podman", "inspect", "-f", "{{.State.Pid}}",
                   "%s-%s" % (PREFIX, name)).stdout)


def status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, v = line.split(":", 1)
            out[k] = v.split()
    return out


def children(pid):
    kids = []
    for t in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/children" % (pid, t)) as f:
            kids += [int(p) for p in f.read().split()]
    return kids


def test_container_ready_and_serves_put_get(inventory):
    assert wait_for(lambda: inventory.call("GET", "/readyz")[0] == 200)
    st, body = inventory.call("PUT", "/inventory/IMG-1", {"quantity": 42})
    assert st in (200, 201) and body["quantity"] == 42
    st, body = inventory.call("GET", "/inventory/IMG-1")
    assert st == 200 and body["quantity"] == 42 and body["reserved"] == 0


def test_container_sandbox(inventory):
    master = container_pid()
    ms = status(master)
    assert ms["Uid"][0] == "0" and ms["NoNewPrivs"] == ["1"]
    # Capabilities: SETGID(6) SETUID(7) KILL(5) SYS_CHROOT(18), nothing else.
    want = (1 << 5) | (1 << 6) | (1 << 7) | (1 << 18)
    assert int(ms["CapEff"][0], 16) == want
    kids = children(master)
    assert len(kids) >= 3            # workers + key manager
    uids = set()
    for pid in kids:
        s = status(pid)
        uids.add(s["Uid"][0])
        assert s["Uid"][0] != "0" and len(set(s["Uid"])) == 1
        assert int(s["CapEff"][0], 16) == 0
        assert s["Seccomp"] == ["2"]
        # Kore's own filter on top of podman's.
        assert int(s["Seccomp_filters"][0]) > int(ms["Seccomp_filters"][0])
    assert uids == {"10001", "10002"}
    info = json.loads(run("podman", "inspect",
                          "%s-inventory-service" % PREFIX).stdout)[0]
    hc = info["HostConfig"]
    assert hc["ReadonlyRootfs"] is True
    assert hc["Memory"] > 0 and hc["PidsLimit"] > 0
    assert hc["NetworkMode"] == "host"
    # One CPU weight per worker (conf: workers 2), as natively.
    assert hc["CpuShares"] == 2048
    assert info["OCIRuntime"] == "runc"     # images/containers.conf
    # The private key is readable by the key manager alone.
    key = [m for m in info["Mounts"]
           if m["Destination"] == "/etc/crm/tls/key.pem"][0]
    st = os.stat(key["Source"])
    assert (st.st_uid, st.st_mode & 0o777) == (10002, 0o400)
    assert "ro" in key["Options"] or key["RW"] is False


def test_svc_kill_and_start_recover(inventory):
    inventory.call("PUT", "/inventory/IMG-KILL", {"quantity": 5})
    master = container_pid()
    ctr("kill")
    wait_for(lambda: not os.path.exists("/proc/%d/stat" % master) or
             open("/proc/%d/stat" % master).read().split()[2] == "Z")
    assert ctr("status", check=False).returncode != 0
    with pytest.raises(OSError):
        inventory.call("GET", "/healthz")
    ctr("start")
    assert container_pid() != master
    assert wait_for(lambda: inventory.call("GET", "/readyz")[0] == 200)
    st, body = inventory.call("GET", "/inventory/IMG-KILL")
    assert st == 200 and body["quantity"] == 5
    assert ctr("status", check=False).returncode == 0


def test_tls_key_rotation_by_sigusr1(inventory, tmp_path):
    """docs/operations.md: rewrite cert.pem and key.pem in place, SIGUSR1."""
    pki = os.path.join(RUN, "pki")
    before = inventory.peer_cert()
    key, csr, crt = (str(tmp_path / n) for n in ("k.pem", "r.csr", "c.pem"))
    ext = tmp_path / "ext"
    ext.write_text("subjectAltName=DNS:localhost,IP:127.0.0.1,"
                   "DNS:inventory-service\nextendedKeyUsage=serverAuth\n")
    run("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
        "ec_paramgen_curve:P-256", "-out", key)
    run("openssl", "req", "-new", "-key", key, "-subj",
        "/CN=inventory-service", "-out", csr)
    run("openssl", "x509", "-req", "-in", csr, "-CA",
        os.path.join(pki, "ca.pem"), "-CAkey", os.path.join(pki, "ca.key"),
        "-days", "2", "-extfile", str(ext), "-out", crt)
    tls = os.path.join(RUN, "ctr", "inventory-service", "tls")
    for src, dst in ((crt, "cert.pem"), (key, "key.pem")):
        with open(src, "rb") as f, open(os.path.join(tls, dst), "r+b") as g:
            g.truncate(0)
            g.write(f.read())
    run("podman", "kill", "--signal", "USR1", "%s-inventory-service" % PREFIX)
    with open(crt) as f:
        new = ssl.PEM_cert_to_DER_cert(f.read())
    wait_for(lambda: inventory.peer_cert() == new)
    assert new != before
    st, _ = inventory.call("GET", "/inventory/IMG-1")
    assert st == 200
    # Back to the stack's own pair (a restart would do the same).
    ctr("stop")
    ctr("start")
    assert inventory.peer_cert() == before


# --- the whole stack from the registry's images ---------------------------

STACK_PORTS = {"CRM_API_PORT": "19543", "ORDER_SERVICE_PORT": "19544",
               "INVENTORY_SERVICE_PORT": "19545",
               "LOGISTICS_SERVICE_PORT": "19546"}
STACK_ENV = dict(ENV, **STACK_PORTS, CONTAINER_PREFIX=PREFIX + "-all")
PORT_OF = {"crm-api": "CRM_API_PORT", "order-service": "ORDER_SERVICE_PORT",
           "inventory-service": "INVENTORY_SERVICE_PORT",
           "logistics-service": "LOGISTICS_SERVICE_PORT"}


def stack_ctr(cmd, name, check=True):
    return run(os.path.join(STACK, "container.sh"), RUN, cmd, name,
               check=check, env=STACK_ENV)


class StackClient(Client):
    """A client of one service of the container stack, with its token."""

    def __init__(self, name):
        super().__init__(STACK_PORTS[PORT_OF[name]])
        if name == "crm-api":
            with open(os.path.join(RUN, "secrets", "api_key")) as f:
                self.token = f.read().strip()


@pytest.fixture(scope="module")
def container_stack(registry, postgres):
    names = ["inventory-service", "logistics-service", "order-service",
             "crm-api"]
    if sorted(names) != sorted(SERVICES):
        pytest.skip("the whole stack needs all four services")
    for n in names:
        stack_ctr("start", n)
    yield {n: StackClient(n) for n in names}
    for n in reversed(names):
        stack_ctr("stop", n, check=False)


def place_order(clients, qty=1):
    """Stock, a customer and one order through crm-api; its final status."""
    inv, crm = clients["inventory-service"], clients["crm-api"]
    pid = "IMG-FLOW-%d" % int(time.time() * 1000)
    st, _ = inv.call("PUT", "/inventory/" + pid, {"quantity": 10})
    assert st == 201
    st, cust = crm.call("POST", "/customers", {
        "name": "Image Test",
        "email": "img-%s@example.com" % pid.lower()})
    assert st == 201, cust
    st, order = crm.call("POST", "/orders", {
        "customer_id": cust["id"],
        "items": [{"product_id": pid, "quantity": qty}],
        "shipping_address": {"line1": "1 Main St", "city": "Berlin",
                             "postal_code": "10115", "country": "DE"}})
    assert st in (201, 202), order
    final = wait_for(lambda: crm.call("GET", "/orders/" + order["id"])[1]
                     if crm.call("GET", "/orders/" + order["id"])[1]
                     ["status"] != "pending" else None, timeout=30)
    st, left = inv.call("GET", "/inventory/" + pid)
    return final, left


def test_whole_stack_ready_and_an_order_goes_through(container_stack):
    for name, client in container_stack.items():
        assert wait_for(lambda: client.call("GET", "/readyz")[0] == 200), \
            name
    order, left = place_order(container_stack, qty=2)
    assert order["status"] == "confirmed", order
    assert order["shipment"]["id"]
    assert left["quantity"] == 8


@pytest.mark.parametrize("name", ["inventory-service", "logistics-service",
                                  "order-service", "crm-api"])
def test_each_service_killed_and_started_recovers(container_stack, name):
    stack_ctr("kill", name)
    assert stack_ctr("status", name, check=False).returncode != 0
    stack_ctr("start", name)
    for n, client in container_stack.items():
        assert wait_for(lambda: client.call("GET", "/readyz")[0] == 200,
                        timeout=20), n
    order, _ = place_order(container_stack)
    assert order["status"] == "confirmed", (name, order)
