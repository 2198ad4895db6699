"""kustomize.py - the part of kustomize that conf/kubernetes/ and the
kustomization of platform/stack/k8s.sh use, so that the tests render the
overlays without kubectl (Debian 12 has no current one). Where kubectl is
present, tests/kubernetes compares this rendering with `kubectl kustomize`.

Supported, as kustomize does it:
  resources   files (one or more YAML documents) and folders holding a
              kustomization.yaml, rendered first, in order
  patches     strategic merge patches, from `path:` or inline `patch:`,
              matched by kind and name (and namespace when the patch names
              one): maps merge, null deletes a field, the lists Kubernetes
              merges by key (containers and volumes by name, volumeMounts
              by mountPath, env by name) merge item by item, other lists
              are replaced
  images      name -> newName, newTag, digest (digest wins over a tag)
  namespace   set on every namespaced object; a Namespace object is
              renamed to it
Anything else in a kustomization (another key, a patch `target:`, a $patch
directive) is refused, so that a layout change this file does not follow
fails here instead of rendering something else than kustomize.
"""
import copy
import os

import yaml

KEYS = {"apiVersion", "kind", "namespace", "resources", "patches", "images"}
MERGE_KEYS = {"containers": "name", "initContainers": "name",
              "ephemeralContainers": "name", "volumes": "name",
              "volumeMounts": "mountPath", "env": "name"}
# Kinds without a namespace (the ones a layout like ours could hold).
CLUSTER_KINDS = {"Namespace", "ClusterRole", "ClusterRoleBinding",
                 "CustomResourceDefinition", "PersistentVolume",
                 "StorageClass", "PriorityClass"}


class KustomizeError(Exception):
    pass


def load_docs(text):
    return [d for d in yaml.safe_load_all(text) if d is not None]


def _merge_list(base, patch, key):
    out = [copy.deepcopy(x) for x in base]
    for p in patch:
        if not isinstance(p, dict) or key not in p:
            raise KustomizeError("list item without its key %r: %r" %
                                 (key, p))
        for i, b in enumerate(out):
            if isinstance(b, dict) and b.get(key) == p[key]:
                out[i] = smp(b, p)
                break
        else:
            out.append(copy.deepcopy(p))
    return out


def smp(base, patch):
    """Strategic merge of patch into base (both maps); a new map."""
    out = copy.deepcopy(base)
    for k, v in patch.items():
        if isinstance(k, str) and k.startswith("$"):
            raise KustomizeError("unsupported directive %s" % k)
        if v is None:
            out.pop(k, None)
        elif k in MERGE_KEYS and isinstance(v, list) and \
                isinstance(out.get(k), list):
            out[k] = _merge_list(out[k], v, MERGE_KEYS[k])
        elif isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = smp(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def split_image(ref):
    """(name, tag, digest) of an image reference."""
    if "@" in ref:
        name, digest = ref.split("@", 1)
        return name, None, digest
    i = ref.rfind(":")
    if i > ref.rfind("/"):
        return ref[:i], ref[i + 1:], None
    return ref, None, None


def set_image(ref, rules):
    name, tag, digest = split_image(ref)
    for r in rules:
        if r.get("name") != name:
            continue
        extra = set(r) - {"name", "newName", "newTag", "digest"}
        if extra:
            raise KustomizeError("images: unsupported %s" % sorted(extra))
        name = r.get("newName", name)
        if "digest" in r:
            return "%s@%s" % (name, r["digest"])
        if "newTag" in r:
            return "%s:%s" % (name, r["newTag"])
        return name + (":" + tag if tag else "") + \
            ("@" + digest if digest else "")
    return ref


def _images(node, rules):
    if isinstance(node, dict):
        for k, v in node.items():
            if k in ("containers", "initContainers",
                     "ephemeralContainers") and isinstance(v, list):
                for c in v:
                    if isinstance(c, dict) and "image" in c:
                        c["image"] = set_image(c["image"], rules)
            _images(v, rules)
    elif isinstance(node, list):
        for x in node:
            _images(x, rules)


def _matches(obj, patch):
    pm = patch.get("metadata") or {}
    om = obj.get("metadata") or {}
    if obj.get("kind") != patch.get("kind") or om.get("name") != \
            pm.get("name"):
        return False
    if "namespace" in pm and om.get("namespace") != pm["namespace"]:
        return False
    return True


def build(path):
    """The objects path (a folder with a kustomization.yaml) renders to."""
    kfile = os.path.join(path, "kustomization.yaml")
    if not os.path.isfile(kfile):
        raise KustomizeError("no %s" % kfile)
    with open(kfile, encoding="utf-8") as f:
        k = yaml.safe_load(f) or {}
    extra = set(k) - KEYS
    if extra:
        raise KustomizeError("%s: unsupported %s" % (kfile, sorted(extra)))
    objs = []
    for r in k.get("resources", []):
        p = os.path.normpath(os.path.join(path, r))
        if os.path.isdir(p):
            objs += build(p)
        else:
            with open(p, encoding="utf-8") as f:
                objs += load_docs(f.read())
    for pt in k.get("patches", []):
        if set(pt) - {"path", "patch"} or len(pt) != 1:
            raise KustomizeError("%s: a patch is path: or patch: only" %
                                 kfile)
        if "path" in pt:
            with open(os.path.join(path, pt["path"]), encoding="utf-8") as f:
                docs = load_docs(f.read())
        else:
            docs = load_docs(pt["patch"])
        for d in docs:
            hits = [i for i, o in enumerate(objs) if _matches(o, d)]
            if len(hits) != 1:
                raise KustomizeError("%s: patch %s/%s matches %d objects" % (
                    kfile, d.get("kind"), (d.get("metadata") or {}).get(
                        "name"), len(hits)))
            objs[hits[0]] = smp(objs[hits[0]], d)
    if "images" in k:
        for o in objs:
            _images(o, k["images"])
    if "namespace" in k:
        for o in objs:
            if o.get("kind") == "Namespace":	# renamed, as kustomize does
                o.setdefault("metadata", {})["name"] = k["namespace"]
            elif o.get("kind") not in CLUSTER_KINDS:
                o.setdefault("metadata", {})["namespace"] = k["namespace"]
    return objs


def key(obj):
    m = obj.get("metadata") or {}
    return (obj.get("apiVersion"), obj.get("kind"), m.get("namespace"),
            m.get("name"))
