"""kube_play.py - a rendered overlay turned into what podman 4.3's `kube
play` runs on one host, keeping what it can honour of the manifests: the
images (by digest), the pod and container securityContext (user, groups,
capabilities, no privilege escalation, read-only root, seccomp), the
resources, the environment, the mount paths and the files' modes.

What has to change, and why:
  - Deployment -> one Pod per service (kube play makes one replica), named
    PREFIX-NAME; hostNetwork (no cluster network here): the Kore config's
    bind becomes 127.0.0.1 and the test's own port, and every
    https://NAME:PORT in the environment https://127.0.0.1:<its port>;
  - Secret and ConfigMap volumes -> hostPath files, written as kubelet
    writes them (mode defaultMode, group fsGroup): podman 4.3 crashes on a
    secret volume without `optional` and ignores `optional: true`
    (podman#16636), ignores defaultMode and fsGroup, and mounts a whole
    volume where a subPath names one file;
  - env from secretKeyRef -> the value, and $(VAR) references expanded as
    the kubelet does: podman 4.3 reads such secrets as JSON only
    (podman#16269) and does not expand $(VAR);
  - the probes are dropped: kube play runs an httpGet probe as a command
    inside the container, and a FROM scratch image has none (the test asks
    /readyz itself), and so are the fields kube play does not know
    (serviceAccountName, topologySpreadConstraints, ...).
"""
import copy
import os
import re

LABEL = "app.kubernetes.io/name"


def _write(path, data, mode, gid):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
    os.chown(path, 0, gid if gid is not None else 0)
    os.chmod(path, mode)


def convert(objs, secrets, ports, out, prefix, bind_host="127.0.0.1"):
    """objs: the rendered overlay; secrets: {secret name: {key: bytes}}
    (what the Secret commands of platform/stack/k8s.sh create); ports:
    {service: port here}; out: a folder for the files. Returns the pod
    objects for `podman kube play`."""
    cms = {o["metadata"]["name"]: o for o in objs if o["kind"] == "ConfigMap"}
    pods = []
    for dep in objs:
        if dep["kind"] != "Deployment":
            continue
        name = dep["metadata"]["name"]
        spec = copy.deepcopy(dep["spec"]["template"]["spec"])
        psc = spec.get("securityContext") or {}
        gid = psc.get("fsGroup")
        files = {}	# volume name -> {path in volume: host file}
        for v in spec.get("volumes") or []:
            src = v.get("secret") or v.get("configMap")
            if src is None:
                raise ValueError("%s: volume %s: only secret and configMap "
                                 "volumes are converted" % (name, v["name"]))
            if "secret" in v:
                data = secrets[src["secretName"]]
                mode = src.get("defaultMode", 0o644)
            else:
                data = {k: x.encode() for k, x in
                        cms[src["name"]]["data"].items()}
                mode = src.get("defaultMode", 0o644)
            items = src.get("items") or [{"key": k, "path": k} for k in data]
            d = os.path.join(out, name, v["name"])
            files[v["name"]] = {}
            for it in items:
                body = data[it["key"]]
                if "configMap" in v:
                    body = _rebind(body, ports[name], bind_host)
                p = os.path.join(d, it["path"])
                _write(p, body, it.get("mode", mode), gid)
                files[v["name"]][it["path"]] = p
        volumes, mounts = [], []
        c = spec["containers"][0]
        for i, m in enumerate(c.get("volumeMounts") or []):
            vf = files[m["name"]]
            if "subPath" in m:
                host, typ = vf[m["subPath"]], "File"
            else:
                host, typ = os.path.join(out, name, m["name"]), "Directory"
            vn = "v%d" % i
            volumes.append({"name": vn, "hostPath": {"path": host,
                                                     "type": typ}})
            mounts.append({"name": vn, "mountPath": m["mountPath"],
                           "readOnly": True})
        env = _env(c.get("env") or [], secrets, ports)
        ctr = {"name": name, "image": c["image"], "env": env,
               "resources": c.get("resources"),
               "securityContext": c.get("securityContext"),
               "volumeMounts": mounts}
        pod = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": "%s-%s" % (prefix, name),
                            "labels": {LABEL: name}},
               "spec": {"hostNetwork": True, "restartPolicy": "Never",
                        "securityContext": {k: x for k, x in psc.items()
                                            if k != "fsGroup"},
                        "containers": [ctr], "volumes": volumes}}
        pods.append(pod)
    return pods


def _rebind(conf, port, host):
    return re.sub(rb"(?m)^(\s*bind\s+)\S+\s+\d+", lambda m: m.group(1) + (
        "%s %d" % (host, port)).encode(), conf)


def _env(env, secrets, ports):
    vals, out = {}, []
    for e in env:
        if "valueFrom" in e:
            ref = e["valueFrom"]["secretKeyRef"]
            v = secrets[ref["name"]][ref["key"]].decode()
        else:
            v = re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)",
                       lambda m: vals.get(m.group(1), m.group(0)),
                       e["value"])
        m = re.match(r"^https://([a-z0-9-]+):\d+$", v)
        if e["name"].endswith("_URL") and m and m.group(1) in ports:
            v = "https://127.0.0.1:%d" % ports[m.group(1)]
        vals[e["name"]] = v
        out.append({"name": e["name"], "value": v})
    return out
