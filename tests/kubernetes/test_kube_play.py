"""The rendered manifests run for real: `podman kube play` of an overlay,
images by digest from a registry of the test's own, the manifests'
securityContext, resources, environment, mounts and Secrets (made by the
commands platform/stack/k8s.sh writes), against a PostgreSQL of its own:
every service answers /readyz and an order goes through end to end
(tests/smoke/order.sh). tests/kubernetes/kube_play.py says what kube play
needs changed (host network, files for Secrets, no probes).

What this does not prove (no cluster runs here): Services and their DNS
names, NetworkPolicies, probes run by a kubelet, PodDisruptionBudgets,
several replicas, rolling updates, admission by the Pod Security
Standards (tests/kubernetes/test_manifests.py checks the manifests for
those).

Both overlays run: baseline (root with SETUID, SETGID, SYS_CHROOT) and
restricted (uid 65532, no capability: the services start without chroot
and uid switch by themselves, CONTRACT §7).

Own ports and names (never the stack's 8443-8446/55432/5000 nor the image
tests' 15000/56432): services 28443-28446, PostgreSQL 57432, registry
28500, pods crm-k8stest-NAME. Needs root, podman, catatonit (kube play's
pause process) and the image build's tools (./build.sh packages).
"""
import json
import os
import re
import shlex
import shutil
import ssl
import subprocess
import time
import urllib.request

import pytest

import kube_play
import kustomize

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
STACK = os.path.join(REPO, "platform", "stack")
BUILD = os.environ.get("BUILD", os.path.join(REPO, "build"))
WORK = os.environ.get("K8S_TEST_DIR", os.path.join(BUILD, "k8s-test"))
RUN = os.path.join(WORK, "run")
REGISTRY = os.environ.get("K8S_TEST_REGISTRY", "127.0.0.1:28500")
PG_PORT = int(os.environ.get("K8S_TEST_PG_PORT", "57432"))
PORT_BASE = int(os.environ.get("K8S_TEST_PORT_BASE", "28443"))
PREFIX = "crm-k8stest"
DECLS = json.loads(subprocess.run(
    [os.path.join(REPO, "platform", "tools", "service-decl"), "json"],
    check=True, stdout=subprocess.PIPE, text=True).stdout)
NAMES = sorted(DECLS, key=lambda n: DECLS[n]["port"])
PORTS = {n: PORT_BASE + i for i, n in enumerate(NAMES)}
ENV = dict(os.environ, REGISTRY=REGISTRY, PG_PORT=str(PG_PORT),
           CONTAINERS_CONF=os.path.join(REPO, "images", "containers.conf"),
           **{n.upper().replace("-", "_") + "_PORT": str(p)
              for n, p in PORTS.items()})

pytestmark = pytest.mark.skipif(
    os.environ.get("K8S_KUBE_PLAY", "1") == "0",
    reason="K8S_KUBE_PLAY=0 (no podman storage here, e.g. a chroot)")


def run(*cmd, check=True, env=None, timeout=600):
    r = subprocess.run(cmd, env=env or ENV, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s\n%s" % (
            " ".join(cmd), r.returncode, r.stdout[-3000:], r.stderr[-3000:]))
    return r


@pytest.fixture(scope="module")
def stack():
    """Images built and pushed to the test's registry, PostgreSQL migrated,
    the PKI and secrets: what an operator has before `kubectl apply`."""
    for t in ("podman", "buildah", "skopeo", "catatonit"):
        assert shutil.which(t) or os.path.exists("/usr/libexec/podman/" + t), \
            "missing %s (./build.sh packages)" % t
    run("make", "-C", REPO, "BUILD=" + BUILD, "services-all")
    # What an earlier run left running (it may have stopped half way).
    run(os.path.join(STACK, "postgres.sh"), RUN, "stop", check=False)
    run(os.path.join(STACK, "registry.sh"), RUN, "stop", check=False)
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    images = os.path.join(WORK, "images")
    run(os.path.join(REPO, "images", "build.sh"), images,
        env=dict(ENV, BUILD=BUILD))
    # The PKI first: it makes the key the images are signed with.
    run(os.path.join(STACK, "pki.sh"), RUN)
    run(os.path.join(STACK, "registry.sh"), RUN, "start")
    run(os.path.join(STACK, "registry.sh"), RUN, "push", images)
    run(os.path.join(STACK, "postgres.sh"), RUN, "start")
    run(os.path.join(STACK, "migrate.sh"), RUN)
    run(os.path.join(STACK, "env.sh"), RUN)
    yield {"images": images}
    run(os.path.join(STACK, "postgres.sh"), RUN, "stop", check=False)
    run(os.path.join(STACK, "registry.sh"), RUN, "stop", check=False)


def secrets_from_script(script):
    """{name: {key: bytes}}: the Secrets the `k create secret` lines of
    platform/stack/k8s.sh's secrets.sh make, read from the same files."""
    out = {}
    for line in script.split("\n"):
        if not line.startswith("k create secret "):
            continue
        w = shlex.split(line)
        kind, name, data = w[3], w[4], {}
        for a in w[5:]:
            opt, _, val = a.partition("=")
            if opt == "--from-literal":
                k, _, v = val.partition("=")
                data[k] = v.encode()
            elif opt == "--from-file":
                k, _, p = val.rpartition("=") if "=" in val else \
                    ("", "", val)
                if os.path.isdir(p):
                    for f in sorted(os.listdir(p)):
                        data[f] = open(os.path.join(p, f), "rb").read()
                else:
                    data[k or os.path.basename(p)] = open(p, "rb").read()
            elif opt in ("--cert", "--key") and kind == "tls":
                data["tls.crt" if opt == "--cert" else "tls.key"] = \
                    open(val, "rb").read()
            else:
                raise AssertionError("unknown option in %r" % line)
        out[name] = data
    return out


def ready(port):
    ctx = ssl.create_default_context(
        cafile=os.path.join(RUN, "pki", "ca.pem"))
    try:
        with urllib.request.urlopen("https://127.0.0.1:%d/readyz" % port,
                                    context=ctx, timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def play(stack, overlay):
    """k8s.sh for the overlay, rendered, converted, played. Returns the
    file played (for `podman kube down`)."""
    run(os.path.join(STACK, "k8s.sh"), RUN, overlay,
        env=dict(ENV, IMAGES=stack["images"], POSTGRES_HOST="127.0.0.1",
                 POSTGRES_PORT=str(PG_PORT)))
    kdir = os.path.join(RUN, "kubernetes")
    objs = kustomize.build(kdir)
    with open(os.path.join(kdir, "secrets.sh")) as f:
        secrets = secrets_from_script(f.read())
    out = os.path.join(WORK, "play-" + overlay)
    shutil.rmtree(out, ignore_errors=True)
    pods = kube_play.convert(objs, secrets, PORTS, out, PREFIX)
    path = os.path.join(WORK, "play-%s.yaml" % overlay)
    with open(path, "w") as f:
        f.write("".join("---\n" + json.dumps(p, indent=1) + "\n"
                        for p in pods))
    for p in pods:
        run("podman", "pod", "rm", "--force", "--ignore",
            p["metadata"]["name"], check=False)
    run("podman", "kube", "play", "--tls-verify=false", "--quiet", path)
    return path


def down(path):
    run("podman", "kube", "down", path, check=False)
    for n in NAMES:
        run("podman", "pod", "rm", "--force", "--ignore",
            "%s-%s" % (PREFIX, n), check=False)


def wait_ready(timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        if all(ready(p) for p in PORTS.values()):
            return True
        time.sleep(0.5)
    return False


def logs(n):
    r = run("podman", "logs", "%s-%s-%s" % (PREFIX, n, n), check=False)
    return (r.stdout + r.stderr)[-2000:]


def master_pid(n):
    return int(run("podman", "inspect", "-f", "{{.State.Pid}}",
                   "%s-%s-%s" % (PREFIX, n, n)).stdout.strip())


def status(pid):
    with open("/proc/%d/status" % pid) as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f
                    if ":\t" in line)


def test_baseline_overlay_runs_an_order(stack):
    path = play(stack, "baseline")
    try:
        assert wait_ready(), "not ready:\n" + "\n".join(
            "%s: %s" % (n, logs(n)) for n in NAMES if not ready(PORTS[n]))
        r = run(os.path.join(REPO, "tests", "smoke", "order.sh"),
                os.path.join(RUN, "stack.env"))
        assert "is confirmed" in r.stdout
        for n in NAMES:
            ctr = "%s-%s-%s" % (PREFIX, n, n)
            info = json.loads(run("podman", "inspect", ctr).stdout)[0]
            hc = info["HostConfig"]
            # The manifests' securityContext and limits, as run.
            assert hc["ReadonlyRootfs"] is True
            assert "no-new-privileges" in " ".join(hc["SecurityOpt"])
            assert hc["Memory"] == 256 * 1024 * 1024
            st = status(master_pid(n))
            assert st["Uid"].split()[0] == "0"
            # CapEff: SETGID (6), SETUID (7), SYS_CHROOT (18), nothing else.
            assert int(st["CapEff"], 16) == (1 << 6) | (1 << 7) | (1 << 18)
            assert st["NoNewPrivs"] == "1"
            kids = run("pgrep", "-P", str(master_pid(n))).stdout.split()
            workers = [int(k) for k in kids
                       if status(int(k))["Uid"].split()[0] == "10001"]
            assert workers, n
            for w in workers:
                s = status(w)
                assert s["Seccomp"] == "2" and int(s["CapEff"], 16) == 0
    finally:
        down(path)


def test_restricted_overlay_runs_an_order(stack):
    path = play(stack, "restricted")
    try:
        assert wait_ready(), "not ready:\n" + "\n".join(
            "%s: %s" % (n, logs(n)) for n in NAMES if not ready(PORTS[n]))
        r = run(os.path.join(REPO, "tests", "smoke", "order.sh"),
                os.path.join(RUN, "stack.env"))
        assert "is confirmed" in r.stdout
        for n in NAMES:
            ctr = "%s-%s-%s" % (PREFIX, n, n)
            hc = json.loads(run("podman", "inspect", ctr).stdout)[0][
                "HostConfig"]
            assert hc["ReadonlyRootfs"] is True
            assert "no-new-privileges" in " ".join(hc["SecurityOpt"])
            # Its first log line says how it started.
            first = run("podman", "logs", ctr).stdout.split("\n", 1)[0]
            assert "unprivileged start (uid 65532, gid 65532): no chroot, " \
                "no privilege drop" in first, (n, first)
            master = master_pid(n)
            kids = [int(k) for k in
                    run("pgrep", "-P", str(master)).stdout.split()]
            assert len(kids) >= 3, n           # workers + key manager
            for pid in [master] + kids:
                st = status(pid)
                assert st["Uid"].split() == ["65532"] * 4, (n, pid)
                assert int(st["CapEff"], 16) == 0, (n, pid)
                assert st["NoNewPrivs"] == "1", (n, pid)
            for pid in kids:
                assert status(pid)["Seccomp"] == "2", (n, pid)
    finally:
        down(path)


def conf_value(name, key):
    """An integer setting of conf/NAME.conf (the ConfigMap's source)."""
    with open(os.path.join(REPO, "conf", name + ".conf")) as f:
        for line in f:
            w = line.split()
            if len(w) == 2 and w[0] == key:
                return int(w[1])
    raise AssertionError("%s: no %s" % (name, key))


def test_a_flood_of_connections_fits_the_memory_limit(stack):
    """As many clients as the conf lets in (workers x
    worker_max_connections), each asking /healthz over its own TLS
    connection: the service answers them, within the manifests' memory
    limit, and is not killed for memory (a container over its limit is;
    a kubelet would restart it, dropping every connection)."""
    name = "inventory-service"
    conns = conf_value(name, "workers") * \
        conf_value(name, "worker_max_connections")
    path = play(stack, "restricted")
    ctr = "%s-%s-%s" % (PREFIX, name, name)
    try:
        assert wait_ready(), "not ready:\n" + logs(name)
        master = master_pid(name)
        procs = sorted(run("pgrep", "-P", str(master)).stdout.split())
        assert len(procs) >= 3, procs          # workers + key manager
        r = run("wrk", "-t", "2", "-c", str(conns), "-d", "10s",
                "--timeout", "10s", "-s",
                os.path.join(REPO, "tests", "bench", "wrk", "healthz.lua"),
                "https://127.0.0.1:%d/healthz" % PORTS[name],
                env=dict(ENV, BENCH_WRK_DIR=os.path.join(
                    REPO, "tests", "bench", "wrk"), BENCH_TOKEN=""),
                timeout=120)
        # Nothing killed: the same master, workers and key manager.
        st = json.loads(run("podman", "inspect", ctr).stdout)[0]["State"]
        assert st["Running"] and not st.get("OOMKilled"), (st, logs(name))
        assert master_pid(name) == master
        assert sorted(run("pgrep", "-P", str(master)).stdout.split()) == \
            procs, logs(name)
        assert ready(PORTS[name]), logs(name)
        m = re.search(r"^BENCH_JSON (.*)$", r.stdout, re.M)
        assert m, r.stdout[-2000:]
        assert json.loads(m.group(1))["requests"] > conns, m.group(1)
    finally:
        down(path)
