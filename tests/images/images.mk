# tests/images/images.mk - image tests (CONTRACT §7): contents, size budget,
# reproducible digest, SBOM, registry round trip, and the stack's container
# runner (readiness, PUT + GET, SIGKILL recovery, sandbox, key rotation).
# Own registry, PostgreSQL and service ports, and container names
# (IMAGES_TEST_* in tests/images/test_images.py): a running stack is never
# touched. Needs root (podman, buildah) and the packages of ./build.sh.
.PHONY: images-test
images-test: services
	BUILD=$(BUILD) /usr/bin/python3 -m pytest -q -p no:cacheprovider -rfE \
	    tests/images
