# tests/tests.mk - `make test` runs everything: the Kore patch series'
# check (tests/kore-series), the sysroot's own check (tests/deps), unit
# (Check, glibc with ASan and UBSan), the fuzz targets for a short fixed
# time (tests/fuzz: libFuzzer, clang, ASan and UBSan), integration
# (tests/kore-smoke, tests/stack, then real PostgreSQL, real TLS, static
# services), images (tests/images: build, registry, containers), the
# Kubernetes manifests (tests/kubernetes: schemas, Pod Security Standards,
# kube play) and a smoke run of the benchmark (tests/bench: `make bench`
# itself is not part of it). It installs what it needs first, so it works
# on a fresh machine too.
include tests/deps/deps-selftest.mk
include tests/unit/unit.mk
include tests/kore-smoke/kore-smoke.mk
include tests/stack/stack.mk
include tests/integration/integration.mk
include tests/images/images.mk
include tests/bench/bench.mk
include tests/fuzz/fuzz.mk
include tests/kore-series/kore-series.mk
include tests/kubernetes/kubernetes.mk

.PHONY: packages
packages:
	./build.sh packages

test: packages
	$(MAKE) kore-series
	$(MAKE) deps-selftest
	$(MAKE) unit
	$(MAKE) fuzz-smoke
	$(MAKE) integration
	$(MAKE) images-test
	$(MAKE) k8s-test
	$(MAKE) bench-smoke
