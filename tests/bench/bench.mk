# tests/bench/bench.mk - the performance harness of issue 5
# (tests/bench/bench.py, docs/performance.md). Included by the top Makefile.
#
#   make bench        full run: each case 3 x 10 s after a warm-up, medians,
#                     ratios against references measured in the same run,
#                     targets enforced; bench/results/latest.json
#   make bench-smoke  one short run of every case (~1 min at most): proves the
#                     harness end to end, fails on any error, no targets;
#                     bench/results/smoke.json. Part of `make test`.
# Both start what they need in $(BUILD)/bench on ports of their own (see
# bench.py for BENCH_* settings) and stop it again. `make bench` runs the
# stack as `make up` does, in containers (images built from $(BUILD)'s
# executables, its own registry); `make bench-smoke` runs the same
# executables natively: containers would double its time in `make test`,
# where tests/images already runs the container stack
# (BENCH_STACK=container|native chooses; docs/performance.md).
BENCH		:= /usr/bin/python3 tests/bench/bench.py

.PHONY: bench bench-smoke
bench: packages services-all
	BUILD=$(BUILD) $(BENCH) full

bench-smoke: packages services
	BUILD=$(BUILD) $(BENCH) smoke
