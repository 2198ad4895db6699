# tests/integration/integration.mk - integration tests: a real PostgreSQL
# cluster, the real PKI and the static services over real TLS, started and
# stopped by the test run itself (tests/integration/conftest.py) on ports of
# their own. Debian's python3 carries pytest (python3-pytest). First the
# Kore smoke test (tests/kore-smoke: keymgr alone holds the key, privsep,
# seccomp, TLS policy, HTTP-layer errors, exit codes) and the stack's scripts
# on a cluster of their own (tests/stack).
PYTEST		:= /usr/bin/python3 -m pytest

.PHONY: integration
integration: services kore-smoke stack-selftest
	BUILD=$(BUILD) $(PYTEST) -q -p no:cacheprovider tests/integration
