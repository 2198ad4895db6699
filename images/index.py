#!/usr/bin/env python3
"""index.py OCI_DIR TAG ARCH...

Joins the per-platform images of the OCI layout OCI_DIR, tagged TAG-ARCH
(one for each ARCH, pushed there by images/build.sh), into one OCI image
index for linux/ARCH..., tagged TAG; the TAG-ARCH tags are dropped from the
layout's index.json (their manifests stay, as blobs the index names).

Prints the index digest, then one "ARCH DIGEST" line per platform manifest.
Deterministic: the same platform manifests give the same index bytes, so the
index is as reproducible as its images (CONTRACT §7).
"""
import hashlib
import json
import os
import sys

INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
REF = "org.opencontainers.image.ref.name"


def blob_path(root, digest):
    algo, hexd = digest.split(":", 1)
    return os.path.join(root, "blobs", algo, hexd)


def put_blob(root, data):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    path = blob_path(root, digest)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    return digest


def main():
    if len(sys.argv) < 4:
        sys.exit("usage: index.py OCI_DIR TAG ARCH...")
    root, tag, arches = sys.argv[1], sys.argv[2], sys.argv[3:]
    with open(os.path.join(root, "index.json")) as f:
        layout = json.load(f)
    by_ref = {m.get("annotations", {}).get(REF): m
              for m in layout["manifests"]}
    platforms = []
    for arch in arches:
        desc = by_ref.get("%s-%s" % (tag, arch))
        if desc is None or desc["mediaType"] != MANIFEST:
            sys.exit("index.py: no image %s-%s in %s" % (tag, arch, root))
        with open(blob_path(root, desc["digest"])) as f:
            manifest = json.load(f)
        with open(blob_path(root, manifest["config"]["digest"])) as f:
            config = json.load(f)
        if (config.get("os"), config.get("architecture")) != ("linux", arch):
            sys.exit("index.py: %s-%s is %s/%s, not linux/%s" % (
                tag, arch, config.get("os"), config.get("architecture"),
                arch))
        platforms.append({
            "mediaType": MANIFEST,
            "digest": desc["digest"],
            "size": desc["size"],
            "platform": {"architecture": arch, "os": "linux"},
        })
    index = json.dumps({"schemaVersion": 2, "mediaType": INDEX,
                        "manifests": platforms},
                       separators=(",", ":")).encode()
    digest = put_blob(root, index)
    layout["manifests"] = [{"mediaType": INDEX, "digest": digest,
                            "size": len(index),
                            "annotations": {REF: tag}}]
    with open(os.path.join(root, "index.json.tmp"), "w") as f:
        json.dump(layout, f, separators=(",", ":"))
    os.rename(os.path.join(root, "index.json.tmp"),
              os.path.join(root, "index.json"))
    print(digest)
    for p in platforms:
        print(p["platform"]["architecture"], p["digest"])


if __name__ == "__main__":
    main()
