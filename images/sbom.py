#!/usr/bin/env python3
"""sbom.py --oci DIR --digest DIGEST --arch ARCH --name NAME --version V
          --revision REV --created TIME --source URL

Prints the SBOM of one platform's image - the image manifest DIGEST in the
OCI layout DIR, the linux/ARCH image of service NAME:V - as CycloneDX 1.5
JSON (docs/operations.md says why CycloneDX). It names:
  - the image itself (metadata.component): its manifest digest and
    platform, the commit and its time;
  - our own code: the service at commit REV of the repository URL;
  - every pinned source package of platform/deps/manifest: name, version,
    purl, licence and download location (platform/deps/origins), and each
    of its pinned files with its sha256 and download location; each carries
    the property crm-supply:pinned (its kind: src or deb);
  - musl, the C library linked statically (a Debian build package of ARCH,
    not a pinned source: its version is the installed one);
  - every file of the image, with its sha256, read from the image's layer.
Deterministic: the same image and inputs give the same bytes.
"""
import argparse
import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import uuid

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
DEPS = os.path.join(REPO, "platform", "deps")


def words(path):
    with open(path) as f:
        for line in f:
            w = line.split("#", 1)[0].split()
            if w:
                yield w


def origins():
    return {w[0]: {"licence": w[1], "pool": w[2]}
            for w in words(os.path.join(DEPS, "origins"))}


def pinned():
    where = origins()
    pkgs = {}
    for name, version, kind, fname, sha in words(
            os.path.join(DEPS, "manifest")):
        if name not in where:
            sys.exit("sbom.py: %s has no line in platform/deps/origins"
                     % name)
        pool = where[name]["pool"]
        key = (name, version)
        if key not in pkgs:
            # A "deb" pin is a binary package whose payload is the source
            # we build (platform/deps/manifest): its purl names the .deb.
            qual = "arch=source" if kind == "src" else "arch=" + (
                fname.rsplit("_", 1)[1].split(".")[0])
            pkgs[key] = {
                "type": "library",
                "bom-ref": "%s@%s" % key,
                "name": name,
                "version": version,
                "purl": "pkg:deb/debian/%s@%s?%s&distro=debian-12" % (
                    name, version, qual),
                "licenses": [{"license": {"id": where[name]["licence"]}}],
                "externalReferences": [
                    {"type": "distribution", "url": pool + "/"}],
                "properties": [{"name": "crm-supply:pinned",
                                "value": kind}],
                "components": [],
            }
        pkgs[key]["components"].append({
            "type": "file",
            "bom-ref": "%s@%s/%s" % (name, version, fname),
            "name": fname,
            "hashes": [{"alg": "SHA-256", "content": sha}],
            "externalReferences": [
                {"type": "distribution", "url": "%s/%s" % (pool, fname)}],
        })
    return [pkgs[k] for k in sorted(pkgs)]


def musl(arch):
    try:
        v = subprocess.run(["dpkg-query", "-W", "-f=${Version}",
                            "musl-dev:" + arch], capture_output=True,
                           text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        sys.exit("sbom.py: musl-dev:%s is not installed" % arch)
    return {"type": "library", "bom-ref": "musl@" + v, "name": "musl",
            "version": v,
            "purl": "pkg:deb/debian/musl-dev@%s?arch=%s&distro=debian-12"
                    % (v, arch),
            "licenses": [{"license": {"id": "MIT"}}],
            "description": "C library linked statically (Debian build "
                           "package, not a pinned source)"}


def blob(oci, digest):
    return os.path.join(oci, "blobs", *digest.split(":", 1))


def image_files(oci, digest):
    """[(path, sha256 hex)] of the regular files in the image's layers."""
    with open(blob(oci, digest)) as f:
        manifest = json.load(f)
    files = {}
    for layer in manifest["layers"]:
        with open(blob(oci, layer["digest"]), "rb") as f:
            raw = gzip.decompress(f.read())
        with tarfile.open(fileobj=io.BytesIO(raw)) as t:
            for m in t.getmembers():
                if m.isfile():
                    path = "/" + m.name.lstrip("./")
                    files[path] = hashlib.sha256(
                        t.extractfile(m).read()).hexdigest()
    return sorted(files.items())


def main():
    ap = argparse.ArgumentParser()
    for opt in ("oci", "digest", "arch", "name", "version", "revision",
                "created", "source"):
        ap.add_argument("--" + opt, required=True)
    a = ap.parse_args()
    image_ref = "%s@%s" % (a.name, a.digest)
    code_ref = "crm-supply/%s@%s" % (a.name, a.revision)
    pkgs = pinned()
    libc = musl(a.arch)
    files = [{"type": "file", "bom-ref": "file:" + path, "name": path,
              "hashes": [{"alg": "SHA-256", "content": sha}]}
             for path, sha in image_files(a.oci, a.digest)]
    code = {
        "type": "application",
        "bom-ref": code_ref,
        "name": a.name,
        "version": a.revision,
        "description": "crm-supply's own code (apps/%s, platform/, the "
                       "Kore patch series) at its commit" % a.name,
        "licenses": [{"license": {"name": "LicenseRef-crm-supply"}}],
        "externalReferences": [{"type": "vcs", "url": a.source}],
        "properties": [{"name": "crm-supply:commit", "value": a.revision}],
    }
    bom = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": "urn:uuid:%s" % uuid.uuid5(uuid.NAMESPACE_URL,
                                                   image_ref),
        "version": 1,
        "metadata": {
            "timestamp": a.created,
            "component": {
                "type": "container",
                "bom-ref": image_ref,
                "name": a.name,
                "version": a.version,
                "hashes": [{"alg": "SHA-256",
                            "content": a.digest.split(":", 1)[1]}],
                "properties": [
                    {"name": "oci:platform", "value": "linux/" + a.arch},
                    {"name": "org.opencontainers.image.revision",
                     "value": a.revision},
                    {"name": "org.opencontainers.image.created",
                     "value": a.created},
                ],
            },
        },
        "components": [code] + pkgs + [libc] + files,
        "dependencies": [
            {"ref": image_ref,
             "dependsOn": [code_ref] + [f["bom-ref"] for f in files]},
            {"ref": code_ref,
             "dependsOn": [p["bom-ref"] for p in pkgs] + [libc["bom-ref"]]},
        ],
    }
    json.dump(bom, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
