#!/usr/bin/env python3
"""sizes.py OCI_DIR TAG MAX_COMPRESSED MAX_UNCOMPRESSED NAME

Reads the image TAG of the OCI layout OCI_DIR, prints its compressed size
(the bytes a pull transfers: manifest, config and layer blobs) and its
uncompressed size (the layers unpacked) to stderr, and its manifest digest
to stdout. Exits 1 when either size is over its budget (bytes).
tests/bench/bench.py imports image_sizes() for its table.
"""
import gzip
import json
import os
import sys


def blob(root, digest):
    algo, hexd = digest.split(":", 1)
    return os.path.join(root, "blobs", algo, hexd)


def image_sizes(root, tag):
    """(manifest digest, compressed bytes, uncompressed bytes) of the image
    TAG in the OCI layout ROOT."""
    with open(os.path.join(root, "index.json")) as f:
        index = json.load(f)
    desc = [m for m in index["manifests"]
            if m.get("annotations", {}).get(
                "org.opencontainers.image.ref.name") == tag]
    if len(desc) != 1:
        raise ValueError("no single manifest tagged %s in %s" % (tag, root))
    desc = desc[0]
    with open(blob(root, desc["digest"])) as f:
        manifest = json.load(f)
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
    return desc["digest"], compressed, uncompressed


def main():
    root, tag, max_c, max_u, name = sys.argv[1:6]
    try:
        digest, compressed, uncompressed = image_sizes(root, tag)
    except ValueError as e:
        sys.exit("sizes.py: %s" % e)
    ok = compressed <= int(max_c) and uncompressed <= int(max_u)
    mib = 1024.0 * 1024.0
    print("%s: %.2f MiB compressed (budget %.0f), %.2f MiB uncompressed "
          "(budget %.0f)%s" % (name, compressed / mib, int(max_c) / mib,
                               uncompressed / mib, int(max_u) / mib,
                               "" if ok else "  OVER BUDGET"),
          file=sys.stderr)
    print(digest)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
