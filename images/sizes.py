#!/usr/bin/env python3
"""sizes.py OCI_DIR TAG MAX_COMPRESSED MAX_UNCOMPRESSED NAME

Reads the image TAG of the OCI layout OCI_DIR - an image index (one image
per platform) or a single image - and prints, for each platform's image,
its compressed size (the bytes a pull of that platform transfers: its
manifest, config and layer blobs) and its uncompressed size (the layers
unpacked) to stderr, one line each:
    NAME linux/ARCH: C MiB compressed (budget B), U MiB uncompressed (...)
Exits 1 when any platform's image is over either budget (bytes): the
budget is per platform image (CONTRACT §7).
tests/bench/bench.py imports image_sizes() for its table.
"""
import gzip
import json
import os
import sys

INDEX = "application/vnd.oci.image.index.v1+json"


def blob(root, digest):
    algo, hexd = digest.split(":", 1)
    return os.path.join(root, "blobs", algo, hexd)


def read_json(root, digest):
    with open(blob(root, digest)) as f:
        return json.load(f)


def tagged(root, tag):
    """The descriptor the layout's index.json names TAG."""
    with open(os.path.join(root, "index.json")) as f:
        index = json.load(f)
    desc = [m for m in index["manifests"]
            if m.get("annotations", {}).get(
                "org.opencontainers.image.ref.name") == tag]
    if len(desc) != 1:
        raise ValueError("no single manifest tagged %s in %s" % (tag, root))
    return desc[0]


def platform_images(root, tag):
    """[(arch, manifest descriptor)] of TAG: each image of its index, or
    the single image it names."""
    desc = tagged(root, tag)
    if desc["mediaType"] == INDEX:
        return [(m["platform"]["architecture"], m)
                for m in read_json(root, desc["digest"])["manifests"]]
    manifest = read_json(root, desc["digest"])
    config = read_json(root, manifest["config"]["digest"])
    return [(config["architecture"], desc)]


def manifest_sizes(root, desc):
    """(compressed, uncompressed) bytes of the image DESC names."""
    manifest = read_json(root, desc["digest"])
    compressed = desc["size"] + manifest["config"]["size"]
    uncompressed = 0
    for layer in manifest["layers"]:
        compressed += layer["size"]
        with gzip.open(blob(root, layer["digest"])) as g:
            while True:
                chunk = g.read(1 << 20)
                if not chunk:
                    break
                uncompressed += len(chunk)
    return compressed, uncompressed


def image_sizes(root, tag, arch="amd64"):
    """(manifest digest, compressed bytes, uncompressed bytes) of the ARCH
    image of TAG in the OCI layout ROOT."""
    for a, desc in platform_images(root, tag):
        if a == arch:
            return (desc["digest"],) + manifest_sizes(root, desc)
    raise ValueError("no linux/%s image tagged %s in %s" % (arch, tag, root))


def main():
    root, tag, max_c, max_u, name = sys.argv[1:6]
    max_c, max_u = int(max_c), int(max_u)
    try:
        images = platform_images(root, tag)
    except (OSError, ValueError) as e:
        sys.exit("sizes.py: %s" % e)
    mib = 1024.0 * 1024.0
    ok = True
    for arch, desc in images:
        compressed, uncompressed = manifest_sizes(root, desc)
        fits = compressed <= max_c and uncompressed <= max_u
        ok = ok and fits
        print("%s linux/%s: %.2f MiB compressed (budget %.0f), %.2f MiB "
              "uncompressed (budget %.0f)%s" % (
                  name, arch, compressed / mib, max_c / mib,
                  uncompressed / mib, max_u / mib,
                  "" if fits else "  OVER BUDGET"), file=sys.stderr)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
