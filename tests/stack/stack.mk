# tests/stack/stack.mk - `make stack-selftest`: platform/stack's scripts
# against a real PostgreSQL cluster of their own (tests/stack/selftest.sh:
# PKI, start, migrations and their upgrade, roles' privileges, TLS, crash
# recovery); part of `make integration`. Its run dir is thrown away, its
# port moves with ITEST_PORT_OFFSET as the integration tests' do. Needs root.
STACK_SELFTEST_RUN	:= $(BUILD)/stack-selftest

.PHONY: stack-selftest
stack-selftest:
	SELFTEST_PG_PORT=$$((55433 + $${ITEST_PORT_OFFSET:-0})) \
	    tests/stack/selftest.sh $(STACK_SELFTEST_RUN)
