# tests/unit/unit.mk - `make unit`: the platform library's Check tests.
#
# Every tests/unit/test_*.c is one test program, built for the host (glibc)
# with ASan+UBSan against $(PLATFORM_HOST_LIB) and Kore's host library
# ($(KORE_HOST_LIB), main renamed kore_main), then run; any failure, any
# sanitizer report (halt_on_error) or a crash fails the target. Check
# prints its summary line per program ("100%: Checks: N, Failures: 0,
# Errors: 0"), and a last line sums them up.

UNIT_SRCS	:= $(sort $(wildcard tests/unit/test_*.c))
UNIT_DIR	:= $(BUILD)/host/unit
UNIT_BINS	:= $(UNIT_SRCS:tests/unit/%.c=$(UNIT_DIR)/%)

UNIT_ENV	:= CK_FORK=yes CK_DEFAULT_TIMEOUT=60 \
		   ASAN_OPTIONS=halt_on_error=1:detect_leaks=0:abort_on_error=0 \
		   UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

.PHONY: unit unit-build
unit-build: $(UNIT_BINS)

# An app's pure domain code tested on the host: UNIT_APP_<test> names the
# app folder whose listed sources the test also compiles.
UNIT_APP_test_logistics		:= apps/logistics-service
UNIT_APP_SRCS_test_logistics	:= apps/logistics-service/plan.c
$(UNIT_DIR)/test_logistics: $(UNIT_APP_SRCS_test_logistics) \
    apps/logistics-service/plan.h

# The shared-memory lock is private to the platform (platform/src/shm.h).
UNIT_APP_test_shm		:= platform/src

$(UNIT_DIR)/%: tests/unit/%.c tests/unit/unit.h $(PLATFORM_HOST_LIB) \
    $(KORE_HOST_LIB)
	@mkdir -p $(@D)
	cc $(PLATFORM_HOST_CFLAGS) $(UNIT_APP_$*:%=-I%) $< \
	    $(UNIT_APP_SRCS_$*) -o $@ $(PLATFORM_HOST_LIB) \
	    $(KORE_HOST_LIB) $(HOST_LIBS)

unit: $(UNIT_BINS)
	@set -o pipefail; checks=0; bad=0; failed=0; progs=0; \
	for t in $(UNIT_BINS); do \
		progs=$$((progs + 1)); \
		echo "== $$(basename $$t)"; \
		out=$$($(UNIT_ENV) $$t 2>&1); rc=$$?; \
		echo "$$out"; \
		n=$$(echo "$$out" | sed -n 's/.*Checks: \([0-9]*\), Failures: \([0-9]*\), Errors: \([0-9]*\).*/\1 \2 \3/p' | tail -1); \
		set -- $${n:-0 0 0}; \
		checks=$$((checks + $$1)); bad=$$((bad + $$2 + $$3)); \
		if [ $$rc -ne 0 ] || [ -z "$$n" ] || [ "$$2 $$3" != "0 0" ]; then \
			echo "FAILED: $$(basename $$t) (exit $$rc)"; \
			failed=$$((failed + 1)); \
			if [ -z "$$n" ]; then bad=$$((bad + 1)); fi; \
		fi; \
	done; \
	echo "unit: $$progs programs, $$failed failed"; \
	echo "unit: $$((checks - bad)) passed, $$bad failed"; \
	test $$failed -eq 0
