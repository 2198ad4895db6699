#!/bin/sh
# run.sh FUZZDIR SECONDS TARGET... - for each libFuzzer target: replay every
# input that once crashed it (tests/fuzz/regressions/TARGET/), then fuzz it
# for SECONDS from its seeds (tests/fuzz/corpus/TARGET/), the corpus growing
# in FUZZDIR/corpus/TARGET. A crash, leak of memory past the limit or
# timeout fails the run; the input is left in FUZZDIR/artifacts.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
dir=${1:?usage: run.sh FUZZDIR SECONDS TARGET...}
secs=${2:?usage: run.sh FUZZDIR SECONDS TARGET...}
shift 2
ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export ASAN_OPTIONS UBSAN_OPTIONS

n=0
for t in "$@"; do
	mkdir -p "$dir/corpus/$t" "$dir/artifacts"
	if ls "$here/regressions/$t/"* >/dev/null 2>&1; then
		echo "== $t: regressions"
		"$dir/bin/$t" "$here/regressions/$t/"*
	fi
	echo "== $t: $secs s"
	"$dir/bin/$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	    -print_final_stats=1 -artifact_prefix="$dir/artifacts/$t-" \
	    "$dir/corpus/$t" "$here/corpus/$t" 2>&1 |
	    grep -E '^(INFO: Seed|#[0-9]+ *DONE|Done|stat::number_of_executed_units|==[0-9]+==|SUMMARY|artifact_prefix|Test unit written)' || true
	# grep ate the exit status: the target's artifacts say whether it failed.
	if ls "$dir/artifacts/$t-"* >/dev/null 2>&1; then
		echo "FAILED: $t (input in $dir/artifacts)"
		exit 1
	fi
	n=$((n + 1))
done
echo "fuzz: $n passed, 0 failed"
