"""rules.py - the project's own rules for its rendered Kubernetes manifests
(CONTRACT §8, issue 14 §2), beyond the API schemas (validate.js) and the
Pod Security Standards (pss.py). violations(objs, decls, ...) lists every
broken rule; an empty list is a pass.

Per service of the one list (platform/tools/service-decl json): a
Deployment (2+ replicas, its own ServiceAccount with no token, grace
period 30 s), a ClusterIP Service on the declared port, a ConfigMap with
conf/NAME.conf (but for its drain_delay; the drain fitting the grace
period) mounted at /etc/crm/NAME.conf, a PodDisruptionBudget over
its pods; secret files readable by owner and group only (the key, the
tokens), certificates by all; every container with startup (/healthz),
readiness (/readyz)
and liveness (/healthz) probes over HTTPS on the declared port, requests
and limits for CPU and memory, an image by digest; the environment naming
exactly the services it calls (https://NAME:PORT) and PostgreSQL with
sslmode=verify-full. No Secret carries a value. The NetworkPolicies deny
by default and allow exactly the declared calls (network_edges()).
"""
import os
import re

DIGEST_IMAGE = re.compile(r"^[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)+"
                          r"@sha256:[0-9a-f]{64}$")
PLACEHOLDER_REGISTRY = "unset.invalid"
LABEL = "app.kubernetes.io/name"
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
QUANTITY = re.compile(r"^([0-9.]+)(m|Ki|Mi|Gi)?$")
SCALE = {None: 1, "m": 0.001, "Ki": 1024, "Mi": 1024 ** 2, "Gi": 1024 ** 3}


def quantity(q):
    m = QUANTITY.match(str(q))
    if not m:
        raise ValueError("quantity %r" % q)
    return float(m.group(1)) * SCALE[m.group(2)]


def index(objs):
    return {(o["kind"], o["metadata"]["name"]): o for o in objs}


def _port_of(container, port):
    """A probe's or Service's port (a number or a port name) as a number."""
    if isinstance(port, int):
        return port
    for p in container.get("ports") or []:
        if p.get("name") == port:
            return p.get("containerPort")
    return None


def _conf_but(text, key):
    """A Kore config's lines, KEY's left out."""
    return [line for line in text.split("\n")
            if (line.split() or [""])[0] != key]


def _conf_int(text, key):
    for line in text.split("\n"):
        w = line.split()
        if len(w) == 2 and w[0] == key and w[1].isdigit():
            return int(w[1])
    return None


def _selects(selector, labels):
    ml = (selector or {}).get("matchLabels") or {}
    return bool(ml) and all(labels.get(k) == v for k, v in ml.items())


def service_violations(n, d, decls, by, placeholder, registry, conf_dir):
    out = []
    need = [("Deployment", n), ("Service", n), ("ServiceAccount", n),
            ("ConfigMap", n + "-conf"), ("PodDisruptionBudget", n),
            ("NetworkPolicy", n)]
    missing = [k for k in need if k not in by]
    if missing:
        return ["%s: missing %s" % (n, missing)]
    dep, svc, sa = by[("Deployment", n)], by[("Service", n)], \
        by[("ServiceAccount", n)]
    if sa.get("automountServiceAccountToken") is not False:
        out.append("%s: ServiceAccount mounts a token" % n)
    spec = dep["spec"]
    if spec.get("replicas", 1) < 2:
        out.append("%s: fewer than 2 replicas" % n)
    tmpl = spec["template"]
    labels = tmpl["metadata"].get("labels") or {}
    pod = tmpl["spec"]
    if not _selects(spec.get("selector"), labels):
        out.append("%s: the Deployment's selector misses its pods" % n)
    if pod.get("serviceAccountName") != n:
        out.append("%s: not its own ServiceAccount" % n)
    if pod.get("automountServiceAccountToken") is not False:
        out.append("%s: the pod mounts a ServiceAccount token" % n)
    if pod.get("terminationGracePeriodSeconds") != 30:
        out.append("%s: terminationGracePeriodSeconds is not 30" % n)
    cs = pod.get("containers") or []
    main = [c for c in cs if c.get("name") == n]
    if len(main) != 1:
        return out + ["%s: no container named %s" % (n, n)]
    c = main[0]
    # Probes: HTTPS, the right paths, the declared port.
    for kind, path in (("startupProbe", "/healthz"),
                       ("readinessProbe", "/readyz"),
                       ("livenessProbe", "/healthz")):
        g = (c.get(kind) or {}).get("httpGet") or {}
        if g.get("path") != path or g.get("scheme") != "HTTPS" or \
                _port_of(c, g.get("port")) != d["port"]:
            out.append("%s: %s is not HTTPS GET %s on %d" % (
                n, kind, path, d["port"]))
    for cc in cs + (pod.get("initContainers") or []):
        res = cc.get("resources") or {}
        for k in ("cpu", "memory"):
            rq = (res.get("requests") or {}).get(k)
            lm = (res.get("limits") or {}).get(k)
            if rq is None or lm is None:
                out.append("%s: container %s has no %s request and limit"
                           % (n, cc.get("name"), k))
            elif quantity(rq) > quantity(lm):
                out.append("%s: %s request over its limit" % (n, k))
        img = cc.get("image", "")
        if not DIGEST_IMAGE.match(img):
            out.append("%s: image %r is not by digest" % (n, img))
        elif img.startswith(PLACEHOLDER_REGISTRY + "/") != placeholder:
            out.append("%s: image %r %s" % (
                n, img, "is not the placeholder" if placeholder else
                "is still the placeholder"))
        elif registry and not img.startswith("%s/%s@" % (registry, n)):
            out.append("%s: image %r not from %s" % (n, img, registry))
    # Secret files: the key and the tokens readable by owner and group only
    # (root and fsGroup), certificates by all (the workers read the CAs).
    for v in pod.get("volumes") or []:
        sec = v.get("secret")
        if not sec:
            continue
        for it in sec.get("items") or [{"key": None, "path": "*"}]:
            m = it.get("mode", sec.get("defaultMode", 0o644))
            public = it["path"].endswith(".pem") and \
                not it["path"].endswith("key.pem")
            if public and m & 0o444 != 0o444:
                out.append("%s: %s/%s not readable by the workers" % (
                    n, v["name"], it["path"]))
            if not public and (m & 0o007 or m & 0o440 != 0o440):
                out.append("%s: %s/%s mode %o (want owner and group read "
                           "only)" % (n, v["name"], it["path"], m))
    if [p.get("containerPort") for p in c.get("ports") or []] != \
            [d["port"]]:
        out.append("%s: container port is not %d" % (n, d["port"]))
    # The Service.
    ports = (svc.get("spec") or {}).get("ports") or []
    if svc["spec"].get("type", "ClusterIP") != "ClusterIP" or \
            len(ports) != 1 or ports[0].get("port") != d["port"] or \
            _port_of(c, ports[0].get("targetPort")) != d["port"]:
        out.append("%s: Service is not ClusterIP %d -> %d" % (
            n, d["port"], d["port"]))
    sel = svc["spec"].get("selector") or {}
    if not sel or any(labels.get(k) != v for k, v in sel.items()):
        out.append("%s: the Service selects other pods" % n)
    # The PDB.
    pdb = by[("PodDisruptionBudget", n)]["spec"]
    if not _selects(pdb.get("selector"), labels) or not (
            pdb.get("maxUnavailable") == 1 or pdb.get("minAvailable") == 1):
        out.append("%s: PodDisruptionBudget is not 1 over its pods" % n)
    # Its config: conf/NAME.conf but for its drain_delay, mounted over the
    # image's; the drain it sets (and the 2 s after which the service's
    # parent kills a worker) fits the grace period.
    cm = by[("ConfigMap", n + "-conf")]
    text = (cm.get("data") or {}).get(n + ".conf") or ""
    with open(os.path.join(conf_dir, n + ".conf"), encoding="utf-8") as f:
        if _conf_but(text, "drain_delay") != _conf_but(f.read(),
                                                       "drain_delay"):
            out.append("%s: its ConfigMap is not conf/%s.conf" % (n, n))
    drain = [_conf_int(text, k) for k in ("drain_delay", "drain_timeout")]
    if None in drain or sum(drain) + 2 >= (
            pod.get("terminationGracePeriodSeconds") or 30):
        out.append("%s: its drain does not fit the grace period" % n)
    conf_vol = [v["name"] for v in pod.get("volumes") or []
                if (v.get("configMap") or {}).get("name") == n + "-conf"]
    if not any(m.get("mountPath") == "/etc/crm/%s.conf" % n and
               m.get("name") in conf_vol for m in c.get("volumeMounts") or []):
        out.append("%s: config not mounted at /etc/crm/%s.conf" % (n, n))
    # The environment: the calls, as declared; PostgreSQL verified.
    env = {e["name"]: e for e in c.get("env") or []}
    urls = {k: e.get("value") for k, e in env.items() if k.endswith("_URL")}
    want = {x.upper().replace("-", "_") + "_URL":
            "https://%s:%d" % (x, decls[x]["port"]) for x in d["calls"]}
    if urls != want:
        out.append("%s: upstream URLs %s, declared %s" % (n, urls, want))
    if d["calls"] and "CA_FILE" not in env:
        out.append("%s: calls services but has no CA_FILE" % n)
    ci = (env.get("DB_CONNINFO") or {}).get("value", "")
    if d["database"]:
        words = ci.split()
        if "sslmode=verify-full" not in words or \
                "user=" + d["database"] not in words or \
                "password" in ci:
            out.append("%s: DB_CONNINFO %r" % (n, ci))
    elif ci:
        out.append("%s: a DB_CONNINFO but no database" % n)
    for k, e in env.items():
        if re.search(r"TOKEN|PASSWORD|SECRET|KEY", k) and \
                not k.endswith("_FILE") and "value" in e:
            out.append("%s: env %s carries a value" % (n, k))
    return out


def network_edges(objs):
    """What the NetworkPolicies let through, as sets of edges:
    pod: {(from, to, port)} allowed both ways (the caller's egress and the
    callee's ingress); half: edges only one side allows; world: ingress
    from anywhere {(to, port)}; external: egress to ipBlocks
    {(from, cidr, port)}; dns: pods that may ask kube-dns; bad: rules that
    allow everything. Pods are named by their app.kubernetes.io/name label,
    or '*' for a policy over every pod."""
    pods = sorted({o["spec"]["template"]["metadata"]["labels"][LABEL]
                   for o in objs if o["kind"] == "Deployment"})
    eg, ing = set(), set()
    world, external, dns, bad = set(), set(), set(), []
    deny = False

    def selected(sel):
        if sel == {}:
            return pods
        ml = sel.get("matchLabels") or {}
        out = [p for p in pods if not ml or ml.get(LABEL) in (None, p)]
        if set(ml) - {LABEL, "app.kubernetes.io/part-of"}:
            return []
        for e in sel.get("matchExpressions") or []:
            if e.get("key") != LABEL or e.get("operator") != "In":
                return []
            out = [p for p in out if p in e.get("values", [])]
        return out

    for o in objs:
        if o["kind"] != "NetworkPolicy":
            continue
        s = o["spec"]
        sel = selected(s.get("podSelector", {}))
        types = s.get("policyTypes") or []
        if s.get("podSelector") == {} and not s.get("ingress") and \
                not s.get("egress") and set(types) == {"Ingress", "Egress"}:
            deny = True
        for r in s.get("ingress") or []:
            ports = [(p.get("protocol", "TCP"), p.get("port"))
                     for p in r.get("ports") or []]
            if not ports:
                bad.append("%s: ingress on every port" % o["metadata"]["name"])
            frm = r.get("from")
            for to in sel:
                for _, port in ports:
                    if not frm:
                        world.add((to, port))
                    for peer in frm or []:
                        if set(peer) == {"podSelector"}:
                            for f in selected(peer["podSelector"]):
                                ing.add((f, to, port))
                        else:
                            bad.append("%s: ingress from %s" % (
                                o["metadata"]["name"], peer))
        for r in s.get("egress") or []:
            ports = [(p.get("protocol", "TCP"), p.get("port"))
                     for p in r.get("ports") or []]
            if not ports or not r.get("to"):
                bad.append("%s: egress to everything on %s" % (
                    o["metadata"]["name"], ports or "every port"))
            for f in sel:
                for peer in r.get("to") or []:
                    if set(peer) == {"podSelector"}:
                        for to in selected(peer["podSelector"]):
                            for _, port in ports:
                                eg.add((f, to, port))
                    elif set(peer) == {"ipBlock"}:
                        for _, port in ports:
                            external.add((f, peer["ipBlock"]["cidr"], port))
                    elif peer == {"namespaceSelector": {"matchLabels": {
                            "kubernetes.io/metadata.name": "kube-system"}},
                            "podSelector": {"matchLabels": {
                                "k8s-app": "kube-dns"}}} and \
                            sorted(ports) == [("TCP", 53), ("UDP", 53)]:
                        dns.add(f)
                    else:
                        bad.append("%s: egress to %s" % (
                            o["metadata"]["name"], peer))
    return {"deny": deny, "pod": eg & ing, "half": eg ^ ing,
            "world": world, "external": external, "dns": dns, "bad": bad,
            "pods": pods}


def network_violations(objs, decls, db_port=5432, db_peer=None):
    """The policies against the declarations: pod-to-pod exactly the
    calls, from anywhere only the public API (auth api_key), out of the
    cluster only the services with a database to PostgreSQL's port (or, with
    db_peer, to that pod), DNS for all."""
    e = network_edges(objs)
    out = ["network: %s" % b for b in e["bad"]]
    if not e["deny"]:
        out.append("network: no default deny of ingress and egress")
    want = {(a, b, decls[b]["port"]) for a in decls for b in
            decls[a]["calls"]}
    dbs = sorted(n for n in decls if decls[n]["database"])
    if db_peer:
        want |= {(n, db_peer, db_port) for n in dbs}
    if e["pod"] != want:
        out.append("network: pod-to-pod %s, declared %s" % (
            sorted(e["pod"]), sorted(want)))
    if e["half"]:
        out.append("network: allowed on one side only %s" %
                   sorted(e["half"]))
    world = {(n, decls[n]["port"]) for n in decls
             if decls[n]["auth"] == "api_key"}
    if e["world"] != world:
        out.append("network: open to anyone %s, public %s" % (
            sorted(e["world"]), sorted(world)))
    ext = {(f, port) for f, _, port in e["external"]}
    if ext != (set() if db_peer else {(n, db_port) for n in dbs}):
        out.append("network: egress out of the cluster %s" %
                   sorted(e["external"]))
    if set(decls) - e["dns"]:
        out.append("network: no DNS for %s" % sorted(set(decls) - e["dns"]))
    return out


def violations(objs, decls, placeholder=True, registry=None, db_port=5432,
               db_peer=None, conf_dir=os.path.join(REPO, "conf")):
    by = index(objs)
    out = []
    for n, d in sorted(decls.items()):
        out += service_violations(n, d, decls, by, placeholder, registry,
                                  conf_dir)
    for o in objs:
        if o["kind"] == "Secret" and (o.get("data") or
                                      o.get("stringData")):
            out.append("Secret %s carries values" % o["metadata"]["name"])
    out += network_violations(objs, decls, db_port, db_peer)
    return out
