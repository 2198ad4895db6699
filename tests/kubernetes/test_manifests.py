"""The Kubernetes manifests (CONTRACT §8, issue 14 §2-3), checked without a
cluster: conf/kubernetes/ is what platform/tools/k8s-manifests makes from
the one list of services; every overlay renders (tests/kubernetes/
kustomize.py, and `kubectl kustomize` where kubectl is on PATH: both the
same); every rendered object is valid against the Kubernetes API schemas
(npm kubernetes-models, validate.js) with no unknown field; each pod meets
the Pod Security Standard its overlay claims (pss.py); the project's own
rules hold (rules.py: probes, resources, images by digest, no secret
values, NetworkPolicies exactly the declared calls); and
platform/stack/k8s.sh writes a kustomization with the images by digest
and Secret commands with no value in them. Each checker is shown to
reject what it must (the negative tests).
"""
import copy
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess

import pytest
import yaml

import kustomize
import pss
import rules

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
KDIR = os.path.join(REPO, "conf", "kubernetes")
GEN = os.path.join(REPO, "platform", "tools", "k8s-manifests")
K8S_SH = os.path.join(REPO, "platform", "stack", "k8s.sh")
BUILD = os.environ.get("BUILD", os.path.join(REPO, "build"))
WORK = os.path.join(BUILD, "k8s-test")
DECLS = json.loads(subprocess.run(
    [os.path.join(REPO, "platform", "tools", "service-decl"), "json"],
    check=True, stdout=subprocess.PIPE, text=True).stdout)
# Each overlay and the Pod Security Standard it claims.
OVERLAYS = {"restricted": "restricted", "baseline": "baseline",
            "trial-postgres": "restricted"}
KUBECTL = shutil.which("kubectl")
FAKE_REGISTRY = "registry.example:5000"


def render(path):
    return kustomize.build(path)


def kubectl_render(path):
    r = subprocess.run([KUBECTL, "kustomize", path], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return kustomize.load_docs(r.stdout)


def by_key(objs):
    out = {}
    for o in objs:
        k = kustomize.key(o)
        assert k not in out, "two objects %s" % (k,)
        out[k] = o
    return out


def overlay(name):
    return os.path.join(KDIR, "overlays", name)


@pytest.fixture(scope="session")
def node_path():
    r = subprocess.run([os.path.join(HERE, "models.sh")],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def validate(objs, node_path):
    r = subprocess.run(["node", os.path.join(HERE, "validate.js")],
                       input=json.dumps(objs), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=120,
                       env=dict(os.environ, NODE_PATH=node_path))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert len(out) == len(objs)
    return out


def schema_errors(objs, node_path):
    return ["%s %s: %s" % (o["kind"], o["metadata"]["name"], res["errors"])
            for o, res in zip(objs, validate(objs, node_path))
            if not res["ok"]]


# --- generated from the one list ------------------------------------------

def test_committed_manifests_are_what_the_generator_makes():
    r = subprocess.run([GEN, "check"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    assert r.returncode == 0, r.stderr


def test_check_names_a_hand_edit_and_a_stray_file(tmp_path):
    d = tmp_path / "k"
    shutil.copytree(KDIR, d)
    f = d / "base" / "order-service.yaml"
    f.write_text(f.read_text().replace("replicas: 2", "replicas: 3"))
    (d / "base" / "extra.yaml").write_text("kind: ConfigMap\n")
    r = subprocess.run([GEN, "check", str(d)], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    assert r.returncode == 1
    assert "base/order-service.yaml" in r.stderr
    assert "base/extra.yaml (not generated)" in r.stderr
    assert "base/crm-api.yaml" not in r.stderr
    # write puts it back as generated, the stray file gone.
    subprocess.run([GEN, "write", str(d)], check=True)
    subprocess.run([GEN, "check", str(d)], check=True)
    assert not (d / "base" / "extra.yaml").exists()


def test_a_new_declaration_gives_its_manifests(tmp_path):
    """A fifth service, one folder and one conf: its Deployment, Service,
    ... and exactly its network edges follow, nothing written by hand."""
    apps, conf, out = tmp_path / "apps", tmp_path / "conf", tmp_path / "k"
    shutil.copytree(os.path.join(REPO, "apps"), apps)
    shutil.copytree(os.path.join(REPO, "conf"), conf,
                    ignore=shutil.ignore_patterns("kubernetes"))
    (apps / "stock-ledger").mkdir()
    (apps / "stock-ledger" / "service.decl").write_text(
        "port 8450\nauth service\nrate 100 200\ndatabase stock_ledger\n"
        "calls inventory-service\ndescription a ledger\n")
    text = (conf / "inventory-service.conf").read_text()
    (conf / "stock-ledger.conf").write_text(
        text.replace("bind 0.0.0.0 8445", "bind 0.0.0.0 8450"))
    decl = (apps / "inventory-service" / "service.decl")
    decl.write_text(decl.read_text() + "allow /inventory/:id stock-ledger\n")
    subprocess.run([GEN, "--apps", str(apps), "--conf", str(conf), "write",
                    str(out)], check=True)
    decls = json.loads(subprocess.run(
        [os.path.join(REPO, "platform", "tools", "service-decl"), "--apps",
         str(apps), "json"], check=True, stdout=subprocess.PIPE,
        text=True).stdout)
    objs = render(str(out / "overlays" / "restricted"))
    assert rules.violations(objs, decls, conf_dir=str(conf)) == []
    edges = rules.network_edges(objs)
    assert ("stock-ledger", "inventory-service", 8445) in edges["pod"]
    assert "stock-ledger" in _np(objs, "postgres-egress")["spec"][
        "podSelector"]["matchExpressions"][0]["values"]
    env = {e["name"]: e.get("value") for e in _ctr(_dep(
        objs, "stock-ledger"))["env"]}
    assert env["INVENTORY_SERVICE_URL"] == "https://inventory-service:8445"
    # The repository's own manifests are not what this list makes.
    r = subprocess.run([GEN, "--apps", str(apps), "--conf", str(conf),
                        "check"], stderr=subprocess.PIPE, text=True)
    assert r.returncode == 1 and "base/stock-ledger.yaml" in r.stderr


def test_every_declared_service_has_its_file():
    base = by_key(render(os.path.join(KDIR, "base")))
    for n in DECLS:
        assert ("apps/v1", "Deployment", "crm-supply", n) in base


def test_no_secret_value_in_the_committed_manifests():
    for d, _, files in os.walk(KDIR):
        for f in files:
            with open(os.path.join(d, f), encoding="utf-8") as fh:
                for doc in kustomize.load_docs(fh.read()):
                    assert doc.get("kind") != "Secret", f
    # And nothing that looks like the stack's secrets or a key.
    text = "".join(open(os.path.join(d, f), encoding="utf-8").read()
                   for d, _, fs in os.walk(KDIR) for f in fs)
    assert "PRIVATE KEY" not in text and "stringData" not in text


# --- rendering ------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(OVERLAYS))
def test_overlay_renders(name):
    objs = render(overlay(name))
    by_key(objs)
    assert all(o["metadata"].get("namespace") == "crm-supply"
               for o in objs if o["kind"] != "Namespace")


@pytest.mark.skipif(KUBECTL is None, reason="no kubectl on PATH (the "
                    "rendering of tests/kubernetes/kustomize.py is checked "
                    "by the other tests)")
@pytest.mark.parametrize("name", sorted(OVERLAYS))
def test_render_equals_kubectl_kustomize(name):
    mine, theirs = by_key(render(overlay(name))), \
        by_key(kubectl_render(overlay(name)))
    assert sorted(mine) == sorted(theirs)
    for k in mine:
        assert mine[k] == theirs[k], k


def test_mini_kustomize_refuses_what_it_does_not_know(tmp_path):
    (tmp_path / "kustomization.yaml").write_text(
        "resources:\n- %s\ncommonLabels:\n  a: b\n" %
        os.path.relpath(overlay("restricted"), tmp_path))
    with pytest.raises(kustomize.KustomizeError, match="commonLabels"):
        render(str(tmp_path))


def test_strategic_merge_as_kustomize():
    base = {"spec": {"containers": [{"name": "a", "image": "x", "env": [
        {"name": "A", "value": "1"}]}, {"name": "b"}],
        "securityContext": {"runAsUser": 1, "fsGroup": 2}}}
    out = kustomize.smp(base, {"spec": {
        "containers": [{"name": "a", "env": [{"name": "B", "value": "2"}],
                        "args": ["-x"]}],
        "securityContext": {"runAsUser": None}}})
    assert out["spec"]["containers"][0]["env"] == [
        {"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
    assert out["spec"]["containers"][0]["args"] == ["-x"]
    assert out["spec"]["containers"][1] == {"name": "b"}
    assert out["spec"]["securityContext"] == {"fsGroup": 2}
    assert kustomize.set_image("unset.invalid/a@sha256:00", [
        {"name": "unset.invalid/a", "newName": "r:5000/a",
         "digest": "sha256:11"}]) == "r:5000/a@sha256:11"
    assert kustomize.set_image("r:5000/a:1", [
        {"name": "r:5000/a", "newTag": "2"}]) == "r:5000/a:2"


# --- API schemas ----------------------------------------------------------

@pytest.mark.parametrize("name", sorted(OVERLAYS))
def test_schema_valid(name, node_path):
    objs = render(overlay(name))
    assert schema_errors(objs, node_path) == []


def deployment(objs, name="order-service"):
    return copy.deepcopy(next(o for o in objs if o["kind"] == "Deployment"
                              and o["metadata"]["name"] == name))


BAD_OBJECTS = {
    "replicas as text": lambda d: d["spec"].__setitem__("replicas", "two"),
    "container without a name": lambda d: d["spec"]["template"]["spec"][
        "containers"][0].pop("name"),
    "no selector": lambda d: d["spec"].pop("selector"),
    "unknown field in a probe": lambda d: d["spec"]["template"]["spec"][
        "containers"][0]["readinessProbe"].__setitem__("httpget", {}),
    "misspelt field deep down": lambda d: d["spec"]["template"]["spec"][
        "containers"][0]["securityContext"]["capabilities"].__setitem__(
            "dorp", ["ALL"]),
    "unknown top-level field": lambda d: d.__setitem__("specs", {}),
    "env value a number": lambda d: d["spec"]["template"]["spec"][
        "containers"][0]["env"][0].__setitem__("value", 1),
    "unknown kind": lambda d: d.__setitem__("kind", "Deploymint"),
}


def test_schema_rejects_bad_objects(node_path):
    good = deployment(render(overlay("restricted")))
    bad = []
    for why, spoil in BAD_OBJECTS.items():
        d = copy.deepcopy(good)
        spoil(d)
        bad.append(d)
    res = validate([good] + bad, node_path)
    assert res[0]["ok"], res[0]
    for why, r in zip(BAD_OBJECTS, res[1:]):
        assert not r["ok"], "accepted: %s" % why


# --- Pod Security Standards ---------------------------------------------

@pytest.mark.parametrize("name", sorted(OVERLAYS))
def test_pods_meet_their_pod_security_standard(name):
    level = OVERLAYS[name]
    objs = render(overlay(name))
    pods = [o for o in objs if pss.pod_template(o)]
    assert pods
    for o in pods:
        assert pss.violations(o, level) == [], o["metadata"]["name"]
    ns = next(o for o in objs if o["kind"] == "Namespace")
    assert ns["metadata"]["labels"][
        "pod-security.kubernetes.io/enforce"] == level


def test_baseline_overlay_is_not_restricted():
    for o in render(overlay("baseline")):
        if o["kind"] == "Deployment":
            v = pss.violations(o, "restricted")
            assert any("runAsNonRoot" in x for x in v)
            assert any("SETUID" in x for x in v)
            sc = o["spec"]["template"]["spec"]["containers"][0][
                "securityContext"]
            assert sc["capabilities"] == {
                "drop": ["ALL"], "add": ["SETUID", "SETGID", "SYS_CHROOT"]}
            assert sc["allowPrivilegeEscalation"] is False
            assert sc["readOnlyRootFilesystem"] is True
            assert "runAsUser" not in o["spec"]["template"]["spec"][
                "securityContext"]


def _pod(d):
    return d["spec"]["template"]["spec"]


def _ctr(d):
    return _pod(d)["containers"][0]


def _sc(d):
    return _ctr(d)["securityContext"]


# (spoil, the weakest level that refuses it)
PSS_BAD = {
    "hostNetwork": (lambda d: _pod(d).__setitem__("hostNetwork", True),
                    "baseline"),
    "hostPID": (lambda d: _pod(d).__setitem__("hostPID", True), "baseline"),
    "hostIPC": (lambda d: _pod(d).__setitem__("hostIPC", True), "baseline"),
    "privileged": (lambda d: _sc(d).__setitem__("privileged", True),
                   "baseline"),
    "cap NET_ADMIN": (lambda d: _sc(d)["capabilities"].__setitem__(
        "add", ["NET_ADMIN"]), "baseline"),
    "cap SYS_ADMIN": (lambda d: _sc(d)["capabilities"].__setitem__(
        "add", ["SYS_ADMIN"]), "baseline"),
    "hostPath": (lambda d: _pod(d)["volumes"].append(
        {"name": "h", "hostPath": {"path": "/"}}), "baseline"),
    "hostPort": (lambda d: _ctr(d)["ports"][0].__setitem__("hostPort", 443),
                 "baseline"),
    "procMount": (lambda d: _sc(d).__setitem__("procMount", "Unmasked"),
                  "baseline"),
    "seccomp Unconfined": (lambda d: _pod(d)["securityContext"][
        "seccompProfile"].__setitem__("type", "Unconfined"), "baseline"),
    "SELinux type": (lambda d: _sc(d).__setitem__(
        "seLinuxOptions", {"type": "spc_t"}), "baseline"),
    "AppArmor unconfined": (lambda d: _sc(d).__setitem__(
        "appArmorProfile", {"type": "Unconfined"}), "baseline"),
    "unsafe sysctl": (lambda d: _pod(d)["securityContext"].__setitem__(
        "sysctls", [{"name": "kernel.msgmax", "value": "1"}]), "baseline"),
    "hostProcess": (lambda d: _sc(d).__setitem__(
        "windowsOptions", {"hostProcess": True}), "baseline"),
    "privilege escalation": (lambda d: _sc(d).__setitem__(
        "allowPrivilegeEscalation", True), "restricted"),
    "no allowPrivilegeEscalation": (lambda d: _sc(d).pop(
        "allowPrivilegeEscalation"), "restricted"),
    "runAsNonRoot false": (lambda d: _sc(d).__setitem__(
        "runAsNonRoot", False), "restricted"),
    "runAsNonRoot unset": (lambda d: (_sc(d).pop("runAsNonRoot"), _pod(d)[
        "securityContext"].pop("runAsNonRoot")), "restricted"),
    "uid 0": (lambda d: _pod(d)["securityContext"].__setitem__(
        "runAsUser", 0), "restricted"),
    "no seccomp": (lambda d: _pod(d)["securityContext"].pop(
        "seccompProfile"), "restricted"),
    "no drop ALL": (lambda d: _sc(d)["capabilities"].__setitem__(
        "drop", ["NET_RAW"]), "restricted"),
    "cap SETUID": (lambda d: _sc(d)["capabilities"].__setitem__(
        "add", ["SETUID"]), "restricted"),
    "nfs volume": (lambda d: _pod(d)["volumes"].append(
        {"name": "n", "nfs": {"server": "x", "path": "/"}}), "restricted"),
}


@pytest.mark.parametrize("why", sorted(PSS_BAD))
def test_pod_security_check_refuses(why):
    spoil, level = PSS_BAD[why]
    d = deployment(render(overlay("restricted")))
    assert pss.violations(d, "restricted") == []
    spoil(d)
    assert pss.violations(d, "restricted"), why
    if level == "baseline":
        assert pss.violations(d, "baseline"), why
    else:
        assert pss.violations(d, "baseline") == [], why


def test_pod_security_allows_net_bind_service_only():
    d = deployment(render(overlay("restricted")))
    _sc(d)["capabilities"]["add"] = ["NET_BIND_SERVICE"]
    assert pss.violations(d, "restricted") == []


# --- the project's rules --------------------------------------------------

def test_project_rules_hold_for_the_overlays():
    assert rules.violations(render(overlay("restricted")), DECLS) == []
    assert rules.violations(render(overlay("baseline")), DECLS) == []
    assert rules.violations(render(overlay("trial-postgres")), DECLS,
                            db_peer="postgres") == []


def _dep(objs, n):
    return next(o for o in objs if o["kind"] == "Deployment" and
                o["metadata"]["name"] == n)


def _np(objs, n):
    return next(o for o in objs if o["kind"] == "NetworkPolicy" and
                o["metadata"]["name"] == n)


RULES_BAD = {
    "no readiness probe": lambda o: _ctr(_dep(o, "crm-api")).pop(
        "readinessProbe"),
    "liveness on /readyz": lambda o: _ctr(_dep(o, "crm-api"))[
        "livenessProbe"]["httpGet"].__setitem__("path", "/readyz"),
    "probe over HTTP": lambda o: _ctr(_dep(o, "crm-api"))["startupProbe"][
        "httpGet"].__setitem__("scheme", "HTTP"),
    "probe on another port": lambda o: _ctr(_dep(o, "crm-api"))[
        "readinessProbe"]["httpGet"].__setitem__("port", 9999),
    "no memory limit": lambda o: _ctr(_dep(o, "order-service"))[
        "resources"]["limits"].pop("memory"),
    "request over limit": lambda o: _ctr(_dep(o, "order-service"))[
        "resources"]["requests"].__setitem__("memory", "1Gi"),
    "image :latest": lambda o: _ctr(_dep(o, "inventory-service")).__setitem__(
        "image", "127.0.0.1:5000/inventory-service:latest"),
    "one replica": lambda o: _dep(o, "logistics-service")["spec"].__setitem__(
        "replicas", 1),
    "token mounted": lambda o: _pod(_dep(o, "crm-api")).__setitem__(
        "automountServiceAccountToken", True),
    "grace period 5 s": lambda o: _pod(_dep(o, "crm-api")).__setitem__(
        "terminationGracePeriodSeconds", 5),
    "a drain longer than the grace period": lambda o: next(
        x for x in o if x["kind"] == "ConfigMap" and
        x["metadata"]["name"] == "crm-api-conf")["data"].__setitem__(
            "crm-api.conf", next(
                x for x in o if x["kind"] == "ConfigMap" and
                x["metadata"]["name"] == "crm-api-conf")["data"][
                    "crm-api.conf"].replace("drain_timeout\t\t5",
                                            "drain_timeout\t\t25")),
    "a ConfigMap that is not the conf": lambda o: next(
        x for x in o if x["kind"] == "ConfigMap" and
        x["metadata"]["name"] == "crm-api-conf")["data"].__setitem__(
            "crm-api.conf", "workers 1\n"),
    "no PDB": lambda o: o.remove(next(
        x for x in o if x["kind"] == "PodDisruptionBudget")),
    "Service on another port": lambda o: next(
        x for x in o if x["kind"] == "Service")["spec"]["ports"][0]
    .__setitem__("port", 443),
    "a Secret with data": lambda o: o.append({
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"},
        "data": {"k": "dg=="}}),
    "an undeclared URL": lambda o: _ctr(_dep(o, "crm-api"))["env"].append(
        {"name": "INVENTORY_SERVICE_URL",
         "value": "https://inventory-service:8445"}),
    "sslmode require": lambda o: next(
        e for e in _ctr(_dep(o, "crm-api"))["env"]
        if e["name"] == "DB_CONNINFO").__setitem__(
            "value", "host=x user=crm_api sslmode=require"),
    "a password in the env": lambda o: _ctr(_dep(o, "crm-api"))[
        "env"].append({"name": "DB_PASSWORD", "value": "hunter2"}),
    "key readable by all": lambda o: _pod(_dep(o, "crm-api"))["volumes"][1][
        "secret"]["items"][1].__setitem__("mode", 0o444),
    "tokens readable by all": lambda o: _pod(_dep(o, "crm-api"))["volumes"][
        3]["secret"].__setitem__("defaultMode", 0o644),
    "CA unreadable by the workers": lambda o: _pod(_dep(o, "order-service"))[
        "volumes"][2]["secret"].__setitem__("defaultMode", 0o440),
    "config not mounted": lambda o: _ctr(_dep(o, "crm-api"))[
        "volumeMounts"].pop(0),
    "an undeclared edge": lambda o: _np(o, "crm-api")["spec"][
        "egress"].append({"to": [{"podSelector": {"matchLabels": {
            rules.LABEL: "inventory-service"}}}], "ports": [
                {"protocol": "TCP", "port": 8445}]}),
    "an edge open on one side": lambda o: _np(o, "order-service")["spec"][
        "ingress"][0]["from"].append({"podSelector": {"matchLabels": {
            rules.LABEL: "inventory-service"}}}),
    "a declared edge missing": lambda o: _np(o, "logistics-service")[
        "spec"].pop("egress"),
    "internal service open to all": lambda o: _np(o, "inventory-service")[
        "spec"]["ingress"][0].pop("from"),
    "egress to anything": lambda o: _np(o, "crm-api")["spec"][
        "egress"].append({"ports": [{"protocol": "TCP", "port": 443}]}),
    "no default deny": lambda o: o.remove(_np(o, "default-deny")),
    "logistics to PostgreSQL": lambda o: _np(o, "postgres-egress")["spec"][
        "podSelector"]["matchExpressions"][0]["values"].append(
            "logistics-service"),
}


@pytest.mark.parametrize("why", sorted(RULES_BAD))
def test_project_rules_refuse(why):
    objs = render(overlay("restricted"))
    if why == "image :latest":
        # Judged as a deployable rendering (no placeholder left).
        for o in objs:
            if o["kind"] == "Deployment":
                _ctr(o)["image"] = "%s/%s@sha256:%s" % (
                    FAKE_REGISTRY, o["metadata"]["name"], "1" * 64)
    RULES_BAD[why](objs)
    assert rules.violations(objs, DECLS, placeholder=(why != "image :latest"),
                            registry=None) != [], why


# --- platform/stack/k8s.sh: images by digest, Secret commands ------------

@pytest.fixture(scope="module")
def k8s_run(tmp_path_factory):
    """A run dir with the stack's PKI and secrets, and an images dir whose
    digests are fake (what ./build.sh images leaves: NAME/digest)."""
    top = tmp_path_factory.mktemp("k8s")
    run, images = top / "run", top / "images"
    subprocess.run([os.path.join(REPO, "platform", "stack", "pki.sh"),
                    str(run)], check=True, stdout=subprocess.PIPE,
                   stderr=subprocess.PIPE)
    digests = {}
    for n in DECLS:
        (images / n).mkdir(parents=True)
        digests[n] = "sha256:" + hashlib.sha256(n.encode()).hexdigest()
        (images / n / "digest").write_text(digests[n] + "\n")
    return {"run": run, "images": images, "digests": digests}


def k8s_sh(k8s_run, *args, **env):
    e = dict(os.environ, IMAGES=str(k8s_run["images"]),
             REGISTRY=FAKE_REGISTRY, POSTGRES_HOST="db.example")
    e.update(env)
    return subprocess.run([K8S_SH, str(k8s_run["run"])] + list(args),
                          env=e, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=120)


def secret_values(run):
    vals = []
    for d, _, fs in os.walk(run / "secrets"):
        for f in fs:
            v = open(os.path.join(d, f)).read().strip()
            if f != "api_keys" and v:
                vals.append(v)
    for f in (run / "pki").glob("*.key"):
        vals.append(f.read_text().split("\n")[1])
    return vals


@pytest.mark.parametrize("ov", ["restricted", "baseline"])
def test_k8s_sh_sets_images_by_digest(k8s_run, ov, node_path):
    r = k8s_sh(k8s_run, ov, POSTGRES_CIDR="10.20.30.40/32",
               POSTGRES_PORT="6432")
    assert r.returncode == 0, r.stderr
    kdir = str(k8s_run["run"] / "kubernetes")
    objs = render(kdir)
    if KUBECTL:
        assert by_key(objs) == by_key(kubectl_render(kdir))
    for o in objs:
        for c in (pss.pod_template(o) or ({}, {}))[1].get("containers", []):
            n = c["name"]
            assert c["image"] == "%s/%s@%s" % (
                FAKE_REGISTRY, n, k8s_run["digests"][n])
    assert rules.violations(objs, DECLS, placeholder=False,
                            registry=FAKE_REGISTRY, db_port=6432) == []
    assert rules.network_edges(objs)["external"] == {
        (n, "10.20.30.40/32", 6432) for n in DECLS if DECLS[n]["database"]}
    assert schema_errors(objs, node_path) == []
    for o in objs:
        assert pss.violations(o, OVERLAYS[ov]) == []


def test_k8s_sh_secrets_are_files_not_values(k8s_run):
    r = k8s_sh(k8s_run, "restricted")
    assert r.returncode == 0, r.stderr
    out = k8s_run["run"] / "kubernetes"
    script = (out / "secrets.sh").read_text()
    printed = r.stderr
    for v in secret_values(k8s_run["run"]):
        assert v not in script and v not in printed
        assert v not in (out / "kustomization.yaml").read_text()
    # Exactly what each service is given (platform/stack/lib.sh).
    for n, d in DECLS.items():
        files = sorted(os.listdir(out / "secrets" / n))
        want = ["credentials"] + (["db_password"] if d["database"] else []) \
            + (["identity_token"] if d["calls"] else [])
        assert files == sorted(want), n
        for f in files:
            m = os.stat(out / "secrets" / n / f).st_mode
            assert stat.S_IMODE(m) == 0o400
        creds = (out / "secrets" / n / "credentials").read_text()
        assert re.search(r"^\S+ [0-9a-f]{64}$", creds, re.M)
    # One command per Secret the manifests mount.
    mounted = set()
    for o in render(str(out)):
        for v in (pss.pod_template(o) or ({}, {}))[1].get("volumes", []):
            if "secret" in v:
                mounted.add(v["secret"]["secretName"])
        for c in (pss.pod_template(o) or ({}, {}))[1].get("containers", []):
            for e in c.get("env", []):
                ref = (e.get("valueFrom") or {}).get("secretKeyRef")
                if ref:
                    mounted.add(ref["name"])
    created = set(re.findall(r"^k create secret \w+ (\S+)", script, re.M))
    assert created == mounted


@pytest.mark.skipif(KUBECTL is None, reason="kubectl renders the Secrets "
                    "of the commands (client side, no cluster)")
def test_k8s_sh_secret_commands_make_the_mounted_keys(k8s_run, node_path):
    r = k8s_sh(k8s_run, "restricted")
    assert r.returncode == 0, r.stderr
    out = k8s_run["run"] / "kubernetes"
    script = (out / "secrets.sh").read_text()
    made = {}
    for line in script.split("\n"):
        if line.startswith("k create secret "):
            # The script's own line, run by sh with kubectl's client-side
            # dry run: no cluster is contacted.
            y = subprocess.run(
                ["sh", "-c", "kubectl -n crm-supply %s --dry-run=client -o "
                 "yaml" % line[2:]], check=True, stdout=subprocess.PIPE,
                text=True).stdout
            s = yaml.safe_load(y)
            made[s["metadata"]["name"]] = s
    assert schema_errors(list(made.values()), node_path) == []
    objs = render(str(out))
    for o in objs:
        pt = pss.pod_template(o)
        if not pt:
            continue
        for v in pt[1].get("volumes", []):
            if "secret" in v:
                s = made[v["secret"]["secretName"]]
                for it in v["secret"].get("items", []):
                    assert it["key"] in s["data"], (v, it)
        for c in pt[1]["containers"]:
            for e in c.get("env", []):
                ref = (e.get("valueFrom") or {}).get("secretKeyRef")
                if ref:
                    assert ref["key"] in made[ref["name"]]["data"]
    assert made["crm-supply-postgres"]["data"]["host"] == \
        "ZGIuZXhhbXBsZQ=="	# db.example


@pytest.mark.parametrize("spoil,env,msg", [
    ("nodigest", {}, "digest"),
    ("baddigest", {}, "not a sha256 digest"),
    (None, {"POSTGRES_HOST": ""}, "POSTGRES_HOST"),
    (None, {"POSTGRES_PORT": "54x"}, "POSTGRES_PORT"),
])
def test_k8s_sh_refuses(k8s_run, tmp_path, spoil, env, msg):
    images = tmp_path / "images"
    shutil.copytree(k8s_run["images"], images)
    if spoil == "nodigest":
        (images / "order-service" / "digest").unlink()
    elif spoil == "baddigest":
        (images / "order-service" / "digest").write_text("latest\n")
    r = k8s_sh(k8s_run, "restricted", IMAGES=str(images), **env)
    assert r.returncode != 0 and msg in r.stderr, r.stderr


def test_k8s_sh_trial_postgres_needs_an_image_by_digest(k8s_run):
    r = k8s_sh(k8s_run, "trial-postgres")
    assert r.returncode != 0 and "TRIAL_POSTGRES_IMAGE" in r.stderr
    r = k8s_sh(k8s_run, "trial-postgres",
               TRIAL_POSTGRES_IMAGE="docker.io/library/postgres:15")
    assert r.returncode != 0
    img = "docker.io/library/postgres@sha256:" + "2" * 64
    r = k8s_sh(k8s_run, "trial-postgres", TRIAL_POSTGRES_IMAGE=img)
    assert r.returncode == 0, r.stderr
    objs = render(str(k8s_run["run"] / "kubernetes"))
    assert _ctr(_dep(objs, "postgres"))["image"] == img
    assert rules.violations(objs, DECLS, placeholder=False,
                            registry=FAKE_REGISTRY,
                            db_peer="postgres") == []
    script = (k8s_run["run"] / "kubernetes" / "secrets.sh").read_text()
    assert "postgres-tls" in script and "crm-supply-trial-postgres" in script
