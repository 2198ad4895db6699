"""Image tests (CONTRACT §7, issues 4 and 15): contents, size budget,
reproducible digest, one image index of linux/amd64 and linux/arm64 per
service, each platform's SBOM in the registry as an OCI artifact (found
through the referrers tag fallback), signatures verified on pull by the
stack's own policy (a signed image runs; an unsigned, tampered or re-tagged
one is refused), the arm64 executables under qemu-user, and the stack's
container runner (platform/stack/container.sh): readiness, a PUT + GET on
inventory-service, SIGKILL of the master and recovery, the sandbox of the
worker processes, a TLS key rotation by SIGUSR1; and the whole stack from
the registry's images: all four ready, an order confirmed end to end, and
each service killed (SIGKILL of PID 1) and started again recovering it.
The same images in the restricted profile (CTR_USER: uid 65532, and an
arbitrary uid with gid 0; no capability): ready, an order end to end, the
processes' sandbox, the key in the key manager's memory only; and no start
without Landlock.

Everything runs on ports and under names of its own (IMAGES_TEST_*), so a
running `./build.sh` stack (registry 5000, services 8443-8446, PostgreSQL
55432, containers crm-supply-*) is never disturbed.

arm64 is tested under qemu-user (binfmt_misc, qemu-user-static) with the
executables of tests/images/emulation/qemu-user.c (no seccomp filter, no
robust futex lists: what qemu-user cannot give a guest; that file says
more). IMAGES_TEST_ARM64_NATIVE=1 on arm64 hardware runs the image's own
arm64 executable instead and requires the seccomp filter in its workers.
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
import sys
import tarfile
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import worker_deaths  # noqa: E402 (tests/worker_deaths.py)

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("BUILD", os.path.join(REPO, "build"))
BIN_DIR = os.path.join(BUILD, "musl", "bin")
WORK = os.environ.get("IMAGES_TEST_DIR", os.path.join(BUILD, "images-test"))
RUN = os.path.join(WORK, "run")
STACK = os.path.join(REPO, "platform", "stack")
REGISTRY = os.environ.get("IMAGES_TEST_REGISTRY", "127.0.0.1:15000")
PG_PORT = os.environ.get("IMAGES_TEST_PG_PORT", "56432")
INV_PORT = os.environ.get("IMAGES_TEST_INVENTORY_PORT", "19445")
ARM64_PORT = os.environ.get("IMAGES_TEST_ARM64_PORT", "19447")
AMD64_PORT = os.environ.get("IMAGES_TEST_AMD64_PORT", "19448")
ARM64_NATIVE = os.environ.get("IMAGES_TEST_ARM64_NATIVE") == "1"
PREFIX = "crm-imgtest"
MIB = 1024 * 1024
INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
CYCLONEDX = "application/vnd.cyclonedx+json"
# The one list of services (apps/*/service.decl); the images test every
# one, or those IMAGES_TEST_SERVICES names.
DECLS = json.loads(subprocess.run(
    [os.path.join(REPO, "platform", "tools", "service-decl"), "json"],
    check=True, stdout=subprocess.PIPE, text=True).stdout)
SERVICES = os.environ.get("IMAGES_TEST_SERVICES", "").split() or sorted(DECLS)
# The architectures (platform/deps/arches): (arch, what file(1) says).
with open(os.path.join(REPO, "platform", "deps", "arches")) as _f:
    ARCHES = [l.split()[0] for l in _f if l.strip() and l[0] != "#"]
ELF = {"amd64": "x86-64", "arm64": "ARM aarch64"}
IMAGES = [(n, a) for n in SERVICES for a in ARCHES]

ENV = dict(os.environ, REGISTRY=REGISTRY, PG_PORT=PG_PORT,
           INVENTORY_SERVICE_PORT=INV_PORT, CONTAINER_PREFIX=PREFIX,
           BIN_DIR=BIN_DIR, BUILD=BUILD,
           CONTAINERS_CONF=os.path.join(REPO, "images", "containers.conf"))


# Fails each test during which a worker process died (tests/worker_deaths.py).
no_worker_died = worker_deaths.fixture(os.path.join(RUN, "logs"))


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


def index_of(oci):
    """(descriptor, index) of the layout's one tag: an image index."""
    layout = read_json(os.path.join(oci, "index.json"))
    assert len(layout["manifests"]) == 1
    desc = layout["manifests"][0]
    assert desc["mediaType"] == INDEX
    return desc, read_json(blob(oci, desc["digest"]))


def manifest_of(oci, arch):
    """(descriptor, manifest) of the layout's linux/ARCH image."""
    _, index = index_of(oci)
    desc = [m for m in index["manifests"]
            if m["platform"] == {"architecture": arch, "os": "linux"}]
    assert len(desc) == 1, arch
    return desc[0], read_json(blob(oci, desc[0]["digest"]))


def members(raw):
    """{path: TarInfo} and {path: bytes} of a gzip layer's bytes."""
    infos, data = {}, {}
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(raw))) as t:
        for m in t.getmembers():
            name = m.name.lstrip("./").rstrip("/")
            infos[name] = m
            if m.isfile():
                data[name] = t.extractfile(m).read()
    return infos, data


def layer_members(oci, arch):
    """members() of the linux/ARCH image's single layer."""
    _, man = manifest_of(oci, arch)
    assert len(man["layers"]) == 1, "one squashed layer expected"
    with open(blob(oci, man["layers"][0]["digest"]), "rb") as f:
        return members(f.read())


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


def built_file(built, name, f):
    with open(os.path.join(built["dir"], name, f)) as g:
        return g.read()


def platform_digests(built, name):
    """{arch: manifest digest} as images/build.sh wrote them."""
    return dict(l.split() for l in
                built_file(built, name, "manifests").splitlines())


# --- the registry, read as any client of the distribution API would -----

def reg_get(path, accept=None):
    conn = http.client.HTTPConnection(REGISTRY, timeout=10)
    try:
        conn.request("GET", path, headers={"Accept": accept} if accept
                     else {})
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def reg_manifest(name, ref, accept):
    st, raw = reg_get("/v2/%s/manifests/%s" % (name, ref), accept)
    assert st == 200, (name, ref, st, raw[:200])
    return raw


def reg_blob(name, digest):
    st, raw = reg_get("/v2/%s/blobs/%s" % (name, digest))
    assert st == 200, (name, digest, st)
    assert "sha256:" + hashlib.sha256(raw).hexdigest() == digest
    return raw


def trust():
    """The stack's pull settings: its policy and signature store."""
    s = os.path.join(RUN, "signing")
    return ["--policy", os.path.join(s, "policy.json"),
            "--registries.d", os.path.join(s, "registries.d")]


# --- fixtures ------------------------------------------------------------

@pytest.fixture(scope="session")
def built():
    """images/build.sh run from the tree's executables; B (a second build)
    is made by the reproducibility test."""
    assert SERVICES, "no apps/*/service.decl"
    run("make", "-C", REPO, "BUILD=" + BUILD, "services-all")
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    a = build_images(os.path.join(WORK, "a"))
    return {"dir": os.path.join(WORK, "a"), "log": a.stderr}


@pytest.fixture(scope="session")
def registry(built):
    """The test registry with the images pushed by registry.sh: signed
    with the run's key (pki.sh), SBOMs attached."""
    run(os.path.join(STACK, "pki.sh"), RUN)
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


def ctr(cmd, name="inventory-service", check=True, env=None):
    return run(os.path.join(STACK, "container.sh"), RUN, cmd, name,
               check=check, env=env)


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

def test_one_index_of_every_platform(built):
    for name in SERVICES:
        oci = os.path.join(built["dir"], name, "oci")
        desc, index = index_of(oci)
        assert desc["digest"] == built_file(built, name, "digest").strip()
        assert index["mediaType"] == INDEX
        assert sorted(m["platform"]["architecture"]
                      for m in index["manifests"]) == sorted(ARCHES)
        assert platform_digests(built, name) == {
            m["platform"]["architecture"]: m["digest"]
            for m in index["manifests"]}
        for m in index["manifests"]:
            assert m["mediaType"] == MANIFEST
            assert m["platform"]["os"] == "linux"


@pytest.mark.parametrize("name,arch", IMAGES)
def test_contents_are_exactly_the_listed_files(built, name, arch):
    infos, data = layer_members(os.path.join(built["dir"], name, "oci"),
                                arch)
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
    # The public RFC 7919 group, and no key material anywhere (nor the
    # image signing key: a GPG secret key block or packet).
    ff = run("openssl", "genpkey", "-genparam", "-algorithm", "DH",
             "-pkeyopt", "group:ffdhe2048").stdout.encode()
    assert data["etc/crm/tls/ffdhe2048.pem"] == ff
    pem_key = re.compile(rb"-----BEGIN [A-Z ]*PRIVATE KEY-----\s+[A-Za-z0-9+/]"
                         rb"|-----BEGIN PGP PRIVATE KEY BLOCK-----")
    for p, b in data.items():
        assert not pem_key.search(b), p


@pytest.mark.parametrize("name,arch", IMAGES)
def test_executable_is_static_and_stripped(built, name, arch, tmp_path):
    _, data = layer_members(os.path.join(built["dir"], name, "oci"), arch)
    exe = tmp_path / name
    exe.write_bytes(data["usr/bin/" + name])
    out = run("file", "-b", str(exe)).stdout
    assert "statically linked" in out and "stripped" in out
    assert "not stripped" not in out and "interpreter" not in out
    assert ELF[arch] in out, out


@pytest.mark.parametrize("name,arch", IMAGES)
def test_config_labels_entrypoint(built, name, arch):
    oci = os.path.join(built["dir"], name, "oci")
    _, man = manifest_of(oci, arch)
    cfg = read_json(blob(oci, man["config"]["digest"]))
    assert (cfg["os"], cfg["architecture"]) == ("linux", arch)
    c = cfg["config"]
    assert c["Entrypoint"] == ["/usr/bin/" + name, "-f", "-c",
                               "/etc/crm/%s.conf" % name]
    assert not c.get("Cmd") and not c.get("User")
    # The declared port is the one the conf binds and the image exposes.
    assert conf_port(name) == str(DECLS[name]["port"])
    assert list(c["ExposedPorts"]) == ["%s/tcp" % DECLS[name]["port"]]
    labels = c["Labels"]
    rev = run("git", "-C", REPO, "rev-parse", "HEAD").stdout.strip()
    version = built_file(built, name, "version").strip()
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

@pytest.mark.parametrize("name,arch", IMAGES)
def test_size_budget(built, name, arch):
    oci = os.path.join(built["dir"], name, "oci")
    desc, man = manifest_of(oci, arch)
    compressed = desc["size"] + man["config"]["size"] + sum(
        l["size"] for l in man["layers"])
    with open(blob(oci, man["layers"][0]["digest"]), "rb") as f:
        uncompressed = len(gzip.decompress(f.read()))
    assert compressed <= 3 * MIB
    assert uncompressed <= 7 * MIB
    # The build printed both sizes of this platform's image.
    m = re.search(r"^%s linux/%s: ([0-9.]+) MiB compressed .* ([0-9.]+) MiB "
                  r"uncompressed" % (re.escape(name), arch), built["log"],
                  re.M)
    assert m, built["log"]
    assert abs(float(m.group(1)) - compressed / MIB) < 0.01
    assert abs(float(m.group(2)) - uncompressed / MIB) < 0.01


@pytest.mark.parametrize("arch", ARCHES)
def test_over_budget_fails_the_build(built, arch, tmp_path):
    # One platform's executable with 8 MiB of random data in a section
    # strip keeps: the build fails for that platform alone.
    name = SERVICES[0]
    gnu = {"amd64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu"}[arch]
    bindir = tmp_path / "bin"
    bindir.mkdir()
    rnd = tmp_path / "random"
    rnd.write_bytes(os.urandom(8 * MIB))
    src = os.path.join(BUILD, "musl" if arch == "amd64" else "musl-" + arch,
                       "bin", name)
    run(gnu + "-objcopy", "--add-section", ".fat=%s" % rnd,
        "--set-section-flags", ".fat=alloc,load,readonly,data", src,
        str(bindir / name))
    r = run(os.path.join(REPO, "images", "build.sh"), str(tmp_path / "out"),
            name, check=False,
            env=dict(ENV, **{"BIN_DIR_" + arch: str(bindir)}))
    assert r.returncode != 0
    assert re.search(r"^%s linux/%s: .*OVER BUDGET" % (re.escape(name), arch),
                     r.stderr, re.M), r.stderr
    others = [a for a in ARCHES if a != arch]
    for a in others:
        assert not re.search(r"linux/%s: .*OVER BUDGET" % a, r.stderr)
    assert "over budget" in r.stderr


# --- reproducibility ------------------------------------------------------

def test_rebuild_gives_the_same_digest(built):
    """A second build from the same tree: the same index digest (so the
    same platform manifests, configs and layers) and the same SBOMs."""
    b = os.path.join(WORK, "b")
    build_images(b)
    for name in SERVICES:
        da = built_file(built, name, "digest").strip()
        db = built_file({"dir": b}, name, "digest").strip()
        assert da.startswith("sha256:") and da == db, name
        with open(os.path.join(b, name, "oci", "index.json")) as f:
            assert json.load(f)["manifests"][0]["digest"] == db
        assert built_file(built, name, "manifests") == \
            built_file({"dir": b}, name, "manifests")
        for arch in ARCHES:
            f = "sbom-%s.json" % arch
            assert built_file(built, name, f) == built_file({"dir": b},
                                                            name, f)


# --- registry round trip --------------------------------------------------

@pytest.mark.parametrize("name", SERVICES)
def test_push_pull_round_trip(built, registry, name, tmp_path):
    digest = built_file(built, name, "digest").strip()
    version = built_file(built, name, "version").strip()
    for tag in (version, "latest"):
        raw = run("skopeo", "inspect", "--tls-verify=false", "--raw",
                  "docker://%s/%s:%s" % (registry, name, tag)).stdout
        assert "sha256:" + hashlib.sha256(raw.encode()).hexdigest() == digest
        assert json.loads(raw)["mediaType"] == INDEX
    # Pull every platform back with a standard tool, through the stack's
    # signature policy, and unpack the layers.
    dest = tmp_path / "pulled"
    run("skopeo", "copy", "--quiet", "--all", "--preserve-digests",
        "--remove-signatures", "--src-tls-verify=false", *trust(),
        "docker://%s/%s:latest" % (registry, name), "oci:%s:x" % dest)
    desc, _ = index_of(str(dest))
    assert desc["digest"] == digest
    for arch in ARCHES:
        pulled, _ = layer_members(str(dest), arch)
        built_, _ = layer_members(os.path.join(built["dir"], name, "oci"),
                                  arch)
        assert sorted(pulled) == sorted(built_)
        assert "usr/bin/" + name in pulled


def test_second_push_changes_nothing(built, registry):
    r = run(os.path.join(STACK, "registry.sh"), RUN, "push", built["dir"])
    for name in SERVICES:
        assert "%s/%s:" % (REGISTRY, name) in r.stderr
        assert re.search(r"%s:.* already" % re.escape(name), r.stderr)
    for name in SERVICES:
        for digest in platform_digests(built, name).values():
            sigs = os.listdir(os.path.join(
                RUN, "registry", "signatures",
                "%s@%s" % (name, digest.replace(":", "="))))
            # One for :<version>, one for :latest; none added by the
            # second push.
            assert sorted(sigs) == ["signature-1", "signature-2"]


# --- SBOM in the registry ---------------------------------------------------

def pinned_sources():
    with open(os.path.join(REPO, "platform", "deps", "manifest")) as f:
        return {tuple(w[i] for i in (0, 1, 3, 4)) for w in
                (l.split("#", 1)[0].split() for l in f) if w}


@pytest.mark.parametrize("name,arch", IMAGES)
def test_sbom_in_registry(built, registry, name, arch):
    """The platform image's SBOM, found as any OCI 1.1 client finds it on
    a registry without the referrers API (the referrers tag fallback),
    names exactly that image, its files and the pinned sources."""
    digest = platform_digests(built, name)[arch]
    image_raw = reg_manifest(name, digest, MANIFEST)
    image = json.loads(image_raw)
    # The referrers tag fallback: sha256-<hex> is an index of the
    # artifacts whose subject is the image; one of them is its SBOM.
    refs = json.loads(reg_manifest(name, digest.replace(":", "-"), INDEX))
    assert refs["mediaType"] == INDEX
    sboms = [m for m in refs["manifests"] if m.get("artifactType") ==
             CYCLONEDX]
    assert len(sboms) == 1, refs
    art_raw = reg_manifest(name, sboms[0]["digest"], MANIFEST)
    assert "sha256:" + hashlib.sha256(art_raw).hexdigest() == \
        sboms[0]["digest"] and len(art_raw) == sboms[0]["size"]
    art = json.loads(art_raw)
    assert art["mediaType"] == MANIFEST and art["artifactType"] == CYCLONEDX
    assert art["config"]["mediaType"] == "application/vnd.oci.empty.v1+json"
    assert reg_blob(name, art["config"]["digest"]) == b"{}"
    # Its subject is exactly the platform's image manifest.
    assert art["subject"] == {"mediaType": MANIFEST, "digest": digest,
                              "size": len(image_raw)}
    assert len(art["layers"]) == 1 and \
        art["layers"][0]["mediaType"] == CYCLONEDX
    raw = reg_blob(name, art["layers"][0]["digest"])
    assert raw.decode() == built_file(built, name, "sbom-%s.json" % arch)
    bom = json.loads(raw)
    assert (bom["bomFormat"], bom["specVersion"]) == ("CycloneDX", "1.5")
    meta = bom["metadata"]["component"]
    assert meta["type"] == "container" and meta["name"] == name
    assert meta["hashes"] == [{"alg": "SHA-256",
                               "content": digest.split(":")[1]}]
    props = {p["name"]: p["value"] for p in meta["properties"]}
    assert props["oci:platform"] == "linux/" + arch
    rev = run("git", "-C", REPO, "rev-parse", "HEAD").stdout.strip()
    assert props["org.opencontainers.image.revision"] == rev
    comps = bom["components"]
    # Our own code at its commit.
    ours = [c for c in comps if c["type"] == "application"]
    assert len(ours) == 1 and ours[0]["name"] == name and \
        ours[0]["version"] == rev
    # Exactly the pinned sources, each with its licence, purl and where
    # to download it; each file with its sha256 and download location.
    listed = set()
    for c in comps:
        if not any(p["name"] == "crm-supply:pinned"
                   for p in c.get("properties", [])):
            continue
        assert c["licenses"][0]["license"]["id"]
        assert c["purl"].startswith("pkg:deb/debian/%s@%s?" % (
            c["name"], c["version"]))
        assert c["externalReferences"][0]["type"] == "distribution"
        for f in c["components"]:
            listed.add((c["name"], c["version"], f["name"],
                        f["hashes"][0]["content"]))
            url = f["externalReferences"][0]["url"]
            assert url.startswith("https://") and url.endswith(
                "/" + f["name"])
    assert listed == pinned_sources()
    libc = [c for c in comps if c["name"] == "musl"]
    assert len(libc) == 1 and libc[0]["purl"].endswith(
        "?arch=%s&distro=debian-12" % arch)
    # The image's files, each with the sha256 of its bytes in the layer
    # the registry serves.
    _, data = members(reg_blob(name, image["layers"][0]["digest"]))
    files = {c["name"]: c["hashes"][0]["content"] for c in comps
             if c["type"] == "file"}
    assert files == {"/" + p: hashlib.sha256(b).hexdigest()
                     for p, b in data.items()}


# --- signatures -------------------------------------------------------------

def test_signing_key_is_the_stacks_and_nowhere_else(registry):
    s = os.path.join(RUN, "signing")
    assert os.stat(os.path.join(s, "gnupg")).st_mode & 0o777 == 0o700
    # Never committed: run/ and build/ are ignored, and git knows no key.
    tracked = run("git", "-C", REPO, "ls-files").stdout.split()
    assert not [t for t in tracked if t.endswith((".gpg", ".key", ".kbx"))]
    policy = read_json(os.path.join(s, "policy.json"))
    assert policy["default"] == [{"type": "reject"}]
    req = policy["transports"]["docker"][""]
    assert req[0]["type"] == "signedBy" and \
        req[0]["keyPath"] == os.path.join(s, "image-signing.gpg")


@pytest.mark.parametrize("name", SERVICES)
def test_every_manifest_is_signed_for_both_tags(built, registry, name):
    """Each manifest (the index and every platform's) carries a GPG simple
    signature by the stack's key for REGISTRY/NAME:<version> and :latest;
    gpg itself checks them against the exported public key."""
    version = built_file(built, name, "version").strip()
    digests = [built_file(built, name, "digest").strip()] + \
        list(platform_digests(built, name).values())
    key = os.path.join(RUN, "signing", "image-signing.gpg")
    home = os.path.join(WORK, "verify-gnupg")
    os.makedirs(home, mode=0o700, exist_ok=True)
    genv = dict(ENV, GNUPGHOME=home)
    run("gpg", "--batch", "--quiet", "--import", key, env=genv)
    fpr = run("gpg", "--batch", "--with-colons", "--show-keys", key,
              env=genv).stdout
    fpr = [l.split(":")[9] for l in fpr.splitlines() if l.startswith("fpr")][0]
    for digest in digests:
        d = os.path.join(RUN, "registry", "signatures",
                         "%s@%s" % (name, digest.replace(":", "=")))
        ids = set()
        for sig in sorted(os.listdir(d)):
            out = run("gpg", "--batch", "--status-fd", "2", "--decrypt",
                      os.path.join(d, sig), env=genv)
            assert "[GNUPG:] GOODSIG" in out.stderr
            assert "[GNUPG:] VALIDSIG %s " % fpr in out.stderr
            crit = json.loads(out.stdout)["critical"]
            assert crit["type"] == "atomic container signature"
            assert crit["image"]["docker-manifest-digest"] == digest
            ids.add(crit["identity"]["docker-reference"])
        assert ids == {"%s/%s:%s" % (REGISTRY, name, t)
                       for t in (version, "latest")}
    run("gpgconf", "--kill", "gpg-agent", env=genv, check=False)


def tampered(built, name, out):
    """NAME's image layout with one label changed: every digest differs."""
    src = os.path.join(built["dir"], name, "oci")
    shutil.copytree(src, out)
    _, index = index_of(out)
    for m in index["manifests"]:
        man = read_json(blob(out, m["digest"]))
        cfg = read_json(blob(out, man["config"]["digest"]))
        cfg["config"]["Labels"]["org.opencontainers.image.description"] += \
            " (tampered)"
        raw = json.dumps(cfg).encode()
        man["config"] = dict(man["config"], size=len(raw),
                             digest=put_blob(out, raw))
        raw = json.dumps(man).encode()
        m.update(size=len(raw), digest=put_blob(out, raw))
    raw = json.dumps(index).encode()
    layout = {"schemaVersion": 2, "manifests": [{
        "mediaType": INDEX, "digest": put_blob(out, raw), "size": len(raw),
        "annotations": {"org.opencontainers.image.ref.name": "x"}}]}
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump(layout, f)
    return out


def put_blob(oci, raw):
    digest = "sha256:" + hashlib.sha256(raw).hexdigest()
    with open(blob(oci, digest), "wb") as f:
        f.write(raw)
    return digest


def refused(tag, reason):
    """container.sh start of inventory-service:TAG is refused for REASON,
    and nothing of it runs."""
    env = dict(ENV, IMAGE_TAG=tag, CONTAINER_PREFIX=PREFIX + "-refused")
    r = ctr("start", check=False, env=env)
    assert r.returncode != 0
    msg = r.stderr.strip().splitlines()[-1]
    assert msg.startswith("container.sh: refused to pull %s/inventory-service"
                          ":%s: " % (REGISTRY, tag)), r.stderr
    assert re.search(reason, msg), msg
    assert "signature policy" in msg
    assert run("podman", "container", "exists",
               PREFIX + "-refused-inventory-service",
               check=False).returncode != 0
    assert run("podman", "image", "exists", "%s/inventory-service:%s" % (
        REGISTRY, tag), check=False).returncode != 0


def test_unsigned_tampered_image_is_refused(built, registry, postgres,
                                            tmp_path):
    out = tampered(built, "inventory-service", str(tmp_path / "t"))
    run("skopeo", "copy", "--quiet", "--all", "--preserve-digests",
        "--insecure-policy", "--dest-tls-verify=false", "oci:%s:x" % out,
        "docker://%s/inventory-service:tampered" % REGISTRY)
    refused("tampered", r"A signature was required, but no signature exists")


def retag(src, tag):
    """REGISTRY/SRC copied, with its signatures, as inventory-service:TAG
    (a registry user's re-tag: nothing is signed anew)."""
    run("skopeo", "copy", "--quiet", "--all", "--preserve-digests",
        "--src-tls-verify=false", "--dest-tls-verify=false", *trust(),
        "docker://%s/%s" % (REGISTRY, src),
        "docker://%s/inventory-service:%s" % (REGISTRY, tag))


def test_retagged_image_is_refused(built, registry, postgres):
    # crm-api's image under inventory-service: signed by the stack's key,
    # but for another name.
    retag("crm-api:latest", "crm-api")
    refused("crm-api", r"Signature for identity %s/crm-api:.* is not "
            r"accepted" % re.escape(REGISTRY))
    # The inventory image itself under a tag it was never signed for.
    retag("inventory-service:latest", "other")
    refused("other", r"Signature for identity %s/inventory-service:.* is "
            r"not accepted" % re.escape(REGISTRY))


def test_signed_image_runs_through_the_policy(inventory):
    """The signed image, pulled by container.sh through the stack's policy,
    serves (the container tests below use it); it is the image the
    registry's :latest names, for this machine's platform."""
    assert wait_for(lambda: inventory.call("GET", "/healthz")[0] == 200)
    info = json.loads(run("podman", "image", "inspect", "%s/inventory-"
                          "service:latest" % REGISTRY).stdout)[0]
    assert info["Architecture"] == "amd64"


# --- arm64 -----------------------------------------------------------------

ARM64_BIN = os.path.join(BUILD, "musl-arm64",
                         "bin" if ARM64_NATIVE else "emulated")


def arm64_runs_here():
    """arm64 executables run here: natively, or through binfmt_misc's
    qemu-aarch64 entry (qemu-user-static; ./build.sh packages enables it)."""
    if os.uname().machine == "aarch64":
        return True
    try:
        with open("/proc/sys/fs/binfmt_misc/qemu-aarch64") as f:
            return f.readline().strip() == "enabled"
    except OSError:
        return False


@pytest.fixture(scope="module")
def logistics_both():
    """logistics-service (stateless) twice, natively with service.sh: the
    arm64 executable (under qemu-user here, unless IMAGES_TEST_ARM64_NATIVE)
    and the amd64 one, each as a replica of its own on a port of its own."""
    assert arm64_runs_here(), "no binfmt_misc entry qemu-aarch64: " \
        "./build.sh packages installs qemu-user-static and enables it"
    if not ARM64_NATIVE:
        run("make", "-C", REPO, "BUILD=" + BUILD, "ARCH=arm64",
            "emulated-services")
    run(os.path.join(STACK, "pki.sh"), RUN)
    env = {"arm64": dict(ENV, BIN_DIR=ARM64_BIN, INSTANCE="arm64",
                         INSTANCE_PORT=ARM64_PORT),
           "amd64": dict(ENV, INSTANCE="amd64", INSTANCE_PORT=AMD64_PORT)}
    svc = os.path.join(STACK, "service.sh")
    for a in ("arm64", "amd64"):
        run(svc, RUN, "start", "logistics-service", env=env[a])
    yield {"arm64": Client(ARM64_PORT), "amd64": Client(AMD64_PORT)}
    for a in ("arm64", "amd64"):
        run(svc, RUN, "stop", "logistics-service", env=env[a], check=False)


@pytest.mark.parametrize("name", SERVICES)
def test_arm64_image_executable_starts(built, name, tmp_path):
    """The arm64 image's own executable (stripped, static) runs: Kore's
    start-up as far as its build information, on arm64 (emulated here)."""
    assert arm64_runs_here()
    _, data = layer_members(os.path.join(built["dir"], name, "oci"), "arm64")
    exe = tmp_path / name
    exe.write_bytes(data["usr/bin/" + name])
    exe.chmod(0o755)
    out = run(str(exe), "-v").stdout
    assert out.startswith("4.1.0-crm ") and "pgsql" in out, out


def test_arm64_service_answers_healthz_over_tls(logistics_both):
    arm = logistics_both["arm64"]
    for v in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
        arm.ctx.minimum_version = arm.ctx.maximum_version = v
        assert arm.call("GET", "/healthz") == (200, {"status": "ok"})
    arm.ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    arm.ctx.maximum_version = ssl.TLSVersion.MAXIMUM_SUPPORTED
    with open(os.path.join(RUN, "svc", "logistics-service.arm64.pid")) as f:
        master = int(f.read())
    exe = os.readlink("/proc/%d/exe" % master)
    if not ARM64_NATIVE:
        # The master is an aarch64 executable run by qemu-user.
        assert "qemu-aarch64" in exe, exe
    # Kore's privilege separation works as on amd64: workers as crm,
    # the key manager as crm-keys, nothing of them as root.
    uids = sorted(status(c)["Uid"][0] for c in children(master))
    assert uids.count("10002") == 1 and uids.count("10001") >= 2, uids
    for c in children(master):
        # Not proven under emulation: qemu-user cannot install a guest's
        # seccomp filter (tests/images/emulation/qemu-user.c), so the
        # workers run without one there; on arm64 hardware they must have
        # Kore's filter.
        assert status(c)["Seccomp"] == (["2"] if ARM64_NATIVE else ["0"])


def test_arm64_answers_as_amd64(logistics_both):
    """The same requests to the arm64 and the amd64 executable: the same
    answers (deterministic planning, JSON parsing, validation, errors)."""
    order = {"order_id": "7f0c6a52-3b1e-4d7a-9c2f-0a1b2c3d4e5f",
             "items": [{"product_id": "SKU-ARM-1", "quantity": 3}],
             "destination": {"postal_code": "80331", "country": "DE"},
             "service_level": "express"}
    answers = {}
    for arch, client in logistics_both.items():
        st, body = client.call("POST", "/shipments", order)
        assert st == 201, body
        for k in ("created_at", "eta"):
            assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", body.pop(k))
        bad = client.call("POST", "/shipments", dict(order, items=[
            {"product_id": "bad id", "quantity": 0}]))
        assert bad[0] == 400
        bad[1]["error"].pop("request_id")
        answers[arch] = (body, bad)
    assert answers["arm64"] == answers["amd64"]


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
    # Capabilities: SETGID(6) SETUID(7) SYS_CHROOT(18), nothing else (no
    # KILL: signals reach the children as messages).
    want = (1 << 6) | (1 << 7) | (1 << 18)
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


def ctr_env(env, cmd, name, check=True):
    return run(os.path.join(STACK, "container.sh"), RUN, cmd, name,
               check=check, env=env)


def stack_ctr(cmd, name, check=True):
    return ctr_env(STACK_ENV, cmd, name, check)


class StackClient(Client):
    """A client of one service of a container stack, with its token."""

    def __init__(self, name, ports=STACK_PORTS):
        super().__init__(ports[PORT_OF[name]])
        if name == "crm-api":
            with open(os.path.join(RUN, "secrets", "api_key")) as f:
                self.token = f.read().strip()


def whole_stack(env, ports):
    """The four services started by container.sh with env (their ports
    in ports), in their order of dependence: yields their clients, then
    stops them."""
    names = ["inventory-service", "logistics-service", "order-service",
             "crm-api"]
    if sorted(names) != sorted(SERVICES):
        pytest.skip("the whole stack needs all four services")
    try:
        for n in names:
            ctr_env(env, "start", n)
        yield {n: StackClient(n, ports) for n in names}
    finally:
        for n in reversed(names):
            ctr_env(env, "stop", n, check=False)


@pytest.fixture(scope="module")
def container_stack(registry, postgres):
    yield from whole_stack(STACK_ENV, STACK_PORTS)


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


# --- the restricted profile (CONTRACT §7): any uid, no capability --------

RESTRICTED_PORTS = {"CRM_API_PORT": "19643", "ORDER_SERVICE_PORT": "19644",
                    "INVENTORY_SERVICE_PORT": "19645",
                    "LOGISTICS_SERVICE_PORT": "19646"}
# INSTANCE: folders, containers and logs of their own (container.sh).
RESTRICTED_ENV = dict(ENV, **RESTRICTED_PORTS, INSTANCE="r",
                      CONTAINER_PREFIX=PREFIX + "-r", CTR_USER="65532:65532")
# OpenShift's restricted-v2: an arbitrary uid without passwd entry, gid 0.
OPENSHIFT_ENV = dict(ENV, INSTANCE="oc", INVENTORY_SERVICE_PORT="19647",
                     CONTAINER_PREFIX=PREFIX + "-oc",
                     CTR_USER="1000770000:0")


def ctr_name(env, name):
    return "%s-%s.%s" % (env["CONTAINER_PREFIX"], name, env["INSTANCE"])


def ctr_log_lines(env, name):
    """The service's own lines (podman's k8s-file format stripped)."""
    path = os.path.join(RUN, "logs", "%s.%s.log" % (name, env["INSTANCE"]))
    with open(path) as f:
        return [line.rstrip("\n").split(" ", 3)[-1] for line in f]


def key_scalar(name):
    out = run("openssl", "ec", "-in", os.path.join(RUN, "pki", name + ".key"),
              "-text", "-noout").stdout
    hexs = re.search(r"priv:\n((?:\s+[0-9a-f:]+\n)+)pub:", out).group(1)
    raw = bytes.fromhex(re.sub(r"[\s:]", "", hexs))[-32:].rjust(32, b"\0")
    return raw, raw[::-1]            # as bytes, and as BIGNUM limbs


def holds(pid, needles):
    """The process's readable memory holds one of needles (read as root)."""
    with open("/proc/%d/maps" % pid) as maps, \
            open("/proc/%d/mem" % pid, "rb") as mem:
        for line in maps:
            lo, hi = (int(x, 16) for x in line.split()[0].split("-"))
            if "r" not in line.split()[1] or "[v" in line:
                continue
            try:
                mem.seek(lo)
                data = mem.read(hi - lo)
            except (OSError, ValueError, OverflowError):
                continue
            if any(n in data for n in needles):
                return True
    return False


def keymgr_of(master):
    for pid in children(master):
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            if b"keymgr" in f.read():
                return pid
    raise AssertionError("no key manager under %d" % master)


def assert_restricted(env, name, uid, gid):
    """Every process of the container: uid/gid, no capability, no new
    privileges, non-dumpable (its /proc files are root's); the workers and
    key manager under seccomp; the first log line says how it started; the
    private key is in the key manager's memory only, and a process of the
    same uid cannot read that memory."""
    master = int(run("podman", "inspect", "-f", "{{.State.Pid}}",
                     ctr_name(env, name)).stdout)
    kids = children(master)
    assert len(kids) >= 3, kids                 # workers + key manager
    for pid in [master] + kids:
        s = status(pid)
        assert s["Uid"] == [str(uid)] * 4 and s["Gid"] == [str(gid)] * 4
        assert int(s["CapEff"][0], 16) == 0 and s["NoNewPrivs"] == ["1"]
        assert os.stat("/proc/%d/status" % pid).st_uid == 0, pid
    for pid in kids:
        assert status(pid)["Seccomp"] == ["2"], pid
    lines = ctr_log_lines(env, name)
    assert lines[0].startswith("[parent]: unprivileged start (uid %d, gid "
                               "%d): no chroot, no privilege drop"
                               % (uid, gid)), lines[:3]
    assert any("Landlock (ABI" in line and "/etc/crm/tls/key.pem" not in
               line for line in lines), lines[:10]
    keymgr = keymgr_of(master)
    needles = key_scalar(name)
    assert holds(keymgr, needles)
    assert not any(holds(p, needles) for p in [master] + kids
                   if p != keymgr)
    # Debian's python3: one on root's PATH may live where that uid cannot
    # read (pyenv under /root).
    same_uid = run("setpriv", "--reuid", str(uid), "--regid", str(gid),
                   "--clear-groups", "/usr/bin/python3", "-c",
                   "open('/proc/%d/mem', 'rb')" % keymgr, check=False)
    assert same_uid.returncode != 0 and "PermissionError" in \
        same_uid.stderr, same_uid.stderr


@pytest.fixture(scope="module")
def restricted_stack(registry, postgres):
    yield from whole_stack(RESTRICTED_ENV, RESTRICTED_PORTS)


def test_restricted_stack_runs_an_order(restricted_stack):
    """All four images as uid 65532, every capability dropped, no new
    privileges, root read-only, the secrets readable through the group:
    ready, an order confirmed end to end, and the sandbox holds."""
    for name, client in restricted_stack.items():
        assert wait_for(lambda: client.call("GET", "/readyz")[0] == 200,
                        timeout=20), name
    order, left = place_order(restricted_stack, qty=2)
    assert order["status"] == "confirmed", order
    assert left["quantity"] == 8
    for name in restricted_stack:
        info = json.loads(run("podman", "inspect",
                              ctr_name(RESTRICTED_ENV, name)).stdout)[0]
        hc = info["HostConfig"]
        assert hc["ReadonlyRootfs"] is True and hc["CapAdd"] in (None, [])
        assert "no-new-privileges" in " ".join(hc["SecurityOpt"])
        assert info["Config"]["User"] == "65532:65532"
        assert_restricted(RESTRICTED_ENV, name, 65532, 65532)


def test_restricted_as_an_arbitrary_uid_with_gid_0(registry, postgres):
    """OpenShift's way: a uid with no passwd entry, gid 0, the secrets
    readable by group 0; the rest as above."""
    try:
        ctr_env(OPENSHIFT_ENV, "start", "inventory-service")
        client = Client(OPENSHIFT_ENV["INVENTORY_SERVICE_PORT"])
        assert wait_for(lambda: client.call("GET", "/readyz")[0] == 200)
        st, body = client.call("PUT", "/inventory/IMG-OC", {"quantity": 3})
        assert st in (200, 201), body
        st, body = client.call("GET", "/inventory/IMG-OC")
        assert st == 200 and body["quantity"] == 3
        assert_restricted(OPENSHIFT_ENV, "inventory-service", 1000770000, 0)
    finally:
        ctr_env(OPENSHIFT_ENV, "stop", "inventory-service", check=False)


def test_restricted_refuses_to_start_without_landlock(registry, postgres,
                                                       tmp_path):
    """Where the kernel or the runtime's seccomp profile gives no Landlock,
    an unprivileged start would leave the key file within a worker's
    reach: the service refuses to start, and says why."""
    with open("/usr/share/containers/seccomp.json") as f:
        profile = json.load(f)
    for rule in profile["syscalls"]:
        rule["names"] = [n for n in rule["names"]
                         if not n.startswith("landlock_")]
    (tmp_path / "seccomp.json").write_text(json.dumps(profile))
    name = "inventory-service"
    try:
        ctr_env(OPENSHIFT_ENV, "start", name)
        info = json.loads(run("podman", "inspect",
                              ctr_name(OPENSHIFT_ENV, name)).stdout)[0]
    finally:
        ctr_env(OPENSHIFT_ENV, "stop", name, check=False)
    args = ["podman", "run", "--rm", "--network", "host", "--read-only",
            "--user", info["Config"]["User"], "--cap-drop", "all",
            "--security-opt", "no-new-privileges",
            "--security-opt", "seccomp=%s" % (tmp_path / "seccomp.json")]
    for m in info["Mounts"]:
        args += ["-v", "%s:%s:ro" % (m["Source"], m["Destination"])]
    for e in info["Config"]["Env"]:
        if not e.startswith(("PATH=", "container=", "HOME=", "HOSTNAME=")):
            args += ["--env", e]
    r = subprocess.run(args + [info["ImageName"]], env=ENV, timeout=60,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True)
    assert r.returncode != 0, r.stdout
    assert "no chroot and no Landlock" in r.stdout, r.stdout
