#!/usr/bin/env python3
"""attach.py REGISTRY REPO SUBJECT ARTIFACT_TYPE FILE

Attaches FILE to an image in the registry as an OCI artifact, the way the
OCI distribution spec 1.1 defines it: an image manifest whose artifactType
is ARTIFACT_TYPE, with an empty config, FILE as its one layer (media type
ARTIFACT_TYPE), and whose `subject` is SUBJECT, the image manifest it
describes (a file: the manifest's bytes, as in the OCI layout the image was
pushed from; it must be in REPO already). Registry 2.8 (Debian's
docker-registry) keeps such manifests but has no referrers API, so the
referrers tag fallback of the spec is kept up to date as well: the tag
sha256-<hex of SUBJECT's digest> names an image index listing every
artifact whose subject is SUBJECT (this one added when missing; nothing is
written when it is there already, so a second run changes nothing).

Plain HTTP: the registry listens on loopback only (platform/stack/
registry.sh). Prints the artifact manifest's digest.
"""
import hashlib
import http.client
import json
import os
import sys

INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
EMPTY = "application/vnd.oci.empty.v1+json"


class Registry:
    def __init__(self, addr):
        self.addr = addr

    def request(self, method, path, body=None, headers=None):
        conn = http.client.HTTPConnection(self.addr, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            return r.status, dict(r.getheaders()), r.read()
        finally:
            conn.close()

    def push_blob(self, repo, data):
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        st, _, _ = self.request("HEAD", "/v2/%s/blobs/%s" % (repo, digest))
        if st == 200:
            return digest
        st, h, body = self.request("POST", "/v2/%s/blobs/uploads/" % repo)
        if st != 202:
            raise SystemExit("attach.py: upload to %s refused: %d %s"
                             % (repo, st, body[:200]))
        loc = h.get("Location") or h.get("location")
        sep = "&" if "?" in loc else "?"
        if loc.startswith("http"):
            loc = "/" + loc.split("/", 3)[3]
        st, _, body = self.request(
            "PUT", "%s%sdigest=%s" % (loc, sep, digest), body=data,
            headers={"Content-Type": "application/octet-stream",
                     "Content-Length": str(len(data))})
        if st != 201:
            raise SystemExit("attach.py: blob %s refused: %d %s"
                             % (digest, st, body[:200]))
        return digest

    def get_manifest(self, repo, ref, media_type):
        st, _, body = self.request("GET", "/v2/%s/manifests/%s" % (repo, ref),
                                   headers={"Accept": media_type})
        return body if st == 200 else None

    def put_manifest(self, repo, ref, media_type, data):
        st, _, body = self.request(
            "PUT", "/v2/%s/manifests/%s" % (repo, ref), body=data,
            headers={"Content-Type": media_type,
                     "Content-Length": str(len(data))})
        if st != 201:
            raise SystemExit("attach.py: manifest %s:%s refused: %d %s"
                             % (repo, ref, st, body[:300]))


def dumps(obj):
    return json.dumps(obj, separators=(",", ":")).encode()


def main():
    if len(sys.argv) != 6:
        sys.exit(__doc__.strip().splitlines()[0])
    addr, repo, subject_file, artifact_type, path = sys.argv[1:]
    reg = Registry(addr)
    with open(subject_file, "rb") as f:
        subject_raw = f.read()
    subject = {"mediaType": json.loads(subject_raw)["mediaType"],
               "digest": "sha256:" + hashlib.sha256(subject_raw).hexdigest(),
               "size": len(subject_raw)}
    if reg.get_manifest(repo, subject["digest"], subject["mediaType"]) \
            is None:
        sys.exit("attach.py: %s@%s is not in the registry %s"
                 % (repo, subject["digest"], addr))
    with open(path, "rb") as f:
        data = f.read()
    title = {"org.opencontainers.image.title": os.path.basename(path)}
    artifact = dumps({
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "artifactType": artifact_type,
        "config": {"mediaType": EMPTY, "digest": reg.push_blob(repo, b"{}"),
                   "size": 2},
        "layers": [{"mediaType": artifact_type,
                    "digest": reg.push_blob(repo, data), "size": len(data),
                    "annotations": title}],
        "subject": subject,
        "annotations": title,
    })
    digest = "sha256:" + hashlib.sha256(artifact).hexdigest()
    reg.put_manifest(repo, digest, MANIFEST, artifact)
    # The referrers tag fallback (distribution spec 1.1, "Referrers Tag
    # Schema"): one index per subject, a descriptor per referrer.
    tag = subject["digest"].replace(":", "-")
    raw = reg.get_manifest(repo, tag, INDEX)
    index = json.loads(raw) if raw else {"schemaVersion": 2,
                                          "mediaType": INDEX,
                                          "manifests": []}
    if not any(m["digest"] == digest for m in index["manifests"]):
        index["manifests"].append({"mediaType": MANIFEST, "digest": digest,
                                   "size": len(artifact),
                                   "artifactType": artifact_type,
                                   "annotations": title})
        reg.put_manifest(repo, tag, INDEX, dumps(index))
    print(digest)


if __name__ == "__main__":
    main()
