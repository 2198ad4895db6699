#!/usr/bin/env python3
"""sbom.py MANIFEST NAME VERSION REVISION CREATED DIGEST

Prints the SBOM of the image NAME:VERSION (manifest digest DIGEST) as
CycloneDX 1.5 JSON: one component per pinned source package of
platform/deps/manifest (name, version, purl), each with its pinned files
and their sha256, plus the musl C library the executable links statically
(a Debian build package, not a pinned source: its version is the
installed one). Deterministic: the same inputs give the same bytes.
"""
import json
import subprocess
import sys
import uuid


def pinned(path):
    pkgs = {}
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0].split()
            if not line:
                continue
            name, version, kind, fname, sha = line
            key = (name, version)
            if key not in pkgs:
                pkgs[key] = {
                    "type": "library",
                    "bom-ref": "%s@%s" % key,
                    "name": name,
                    "version": version,
                    "purl": "pkg:deb/debian/%s@%s%s" % (
                        name, version, "?arch=source" if kind == "src"
                        else "?arch=amd64"),
                    "components": [],
                }
            pkgs[key]["components"].append({
                "type": "file",
                "name": fname,
                "hashes": [{"alg": "SHA-256", "content": sha}],
            })
    return [pkgs[k] for k in sorted(pkgs)]


def musl():
    try:
        v = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "musl-dev"],
                           capture_output=True, text=True,
                           check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return []
    return [{"type": "library", "bom-ref": "musl@" + v, "name": "musl",
             "version": v, "purl": "pkg:deb/debian/musl-dev@%s?arch=amd64" % v,
             "description": "C library linked statically (Debian build "
                            "package, not a pinned source)"}]


def main():
    manifest, name, version, revision, created, digest = sys.argv[1:7]
    bom = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": "urn:uuid:%s" % uuid.uuid5(uuid.NAMESPACE_URL,
                                                   name + "@" + digest),
        "version": 1,
        "metadata": {
            "timestamp": created,
            "component": {
                "type": "container",
                "bom-ref": name,
                "name": name,
                "version": version,
                "hashes": [{"alg": "SHA-256",
                            "content": digest.split(":", 1)[1]}],
                "properties": [
                    {"name": "org.opencontainers.image.revision",
                     "value": revision},
                    {"name": "org.opencontainers.image.created",
                     "value": created},
                ],
            },
        },
        "components": pinned(manifest) + musl(),
    }
    json.dump(bom, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")


main()
