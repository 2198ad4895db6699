# tests/deps/deps-selftest.mk - `make deps-selftest`: the sysroot
# (platform/deps) links and runs a static program that uses all four
# libraries (tests/deps/selftest.sh); part of `make test`.
.PHONY: deps-selftest
deps-selftest: deps
	MUSL_CC='$(MUSL_CC)' MUSL_CFLAGS='$(MUSL_CFLAGS)' \
	    MUSL_LDFLAGS='$(MUSL_LDFLAGS)' DEPS_LIBS='$(DEPS_LIBS)' \
	    tests/deps/selftest.sh '$(MUSL_OUT)/deps-selftest'
