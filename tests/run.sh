#!/bin/sh
# SPDX-License-Identifier: ISC
# Run every test of a build: the check unit test binaries in BUILD/tests/,
# then the end-to-end suite (tests/e2e, Python unittest) and the
# interoperability suite (tests/interop, against a real Postfix) against
# the binaries in BUILD. Ends with one line `check: N passed, M failed[, K
# skipped]` and a non-zero status when anything failed.
#   usage: sh tests/run.sh BUILD
set -u

cd "$(dirname "$0")/.." || exit 1
BUILD=${1:-build}
case "$BUILD" in
/*) ;;
*) BUILD="$(pwd)/$BUILD" ;;
esac
BUILD=${BUILD%/}

export CK_FORK="${CK_FORK:-yes}"
export CK_DEFAULT_TIMEOUT="${CK_DEFAULT_TIMEOUT:-30}"
case "$BUILD:${SANITIZE:-}" in
*-san:* | *:1)
	# Sanitizer build (build-san, or `make SANITIZE=1 BUILD=...`): every
	# process, daemons included, dies loudly on the first error; the e2e
	# harness also fails a test whose daemon logs show a report.
	export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
	export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
	;;
esac

passed=0
failed=0
skipped=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/empath-check.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

# --- unit tests (check) ---------------------------------------------------
echo "== unit tests ($BUILD/tests)"
found=0
for t in "$BUILD"/tests/test_*; do
	if ! [ -f "$t" ] || ! [ -x "$t" ]; then continue; fi
	found=1
	echo "-- $(basename "$t")"
	"$t" >"$tmp/unit.out" 2>&1
	rc=$?
	cat "$tmp/unit.out"
	# check prints "NN%: Checks: N, Failures: F, Errors: E" per suite runner.
	counts=$(sed -n 's/.*Checks: \([0-9]*\), Failures: \([0-9]*\), Errors: \([0-9]*\).*/\1 \2 \3/p' "$tmp/unit.out" |
	    awk '{ n += $1; f += $2 + $3 } END { printf "%d %d\n", n, f }')
	n=${counts% *}
	f=${counts#* }
	if [ "$n" -eq 0 ] || { [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; }; then
		# No summary (crash, sanitizer abort) or a failing exit status
		# with no failed check: count the binary itself as one failure.
		echo "FAIL: $(basename "$t") exited with status $rc"
		f=$((f + 1))
	fi
	passed=$((passed + n - (f > n ? n : f)))
	failed=$((failed + f))
done
[ "$found" -eq 1 ] || echo "(no unit test binaries found)"

# --- end-to-end and interoperability tests ---------------------------------
# suite NAME DIR: run the Python unittest files DIR/test_*.py against the
# binaries in BUILD and add up unittest's counts.
suite() {
	name=$1
	dir=$2
	echo "== $name tests ($dir against $BUILD)"
	if ! [ -x "$BUILD/empath-master" ]; then
		echo "FAIL: $BUILD/empath-master is not built"
		failed=$((failed + 1))
		return
	fi
	# unittest writes its report to stderr; keep a copy to count from,
	# while still streaming it.
	{
		EMPATH_BUILD="$BUILD" python3 -m unittest discover -v \
		    -s "$dir" -t "$dir" -p 'test_*.py' 2>&1
		echo $? >"$tmp/$name.rc"
	} | tee "$tmp/$name.out"
	rc=$(cat "$tmp/$name.rc" 2>/dev/null || echo 1)
	ran=$(sed -n 's/^Ran \([0-9]*\) tests\{0,1\} in .*/\1/p' "$tmp/$name.out" | tail -n 1)
	last=$(grep -E '^(OK|FAILED)( \(.*\))?$' "$tmp/$name.out" | tail -n 1)
	# "FAILED (failures=1, errors=2, skipped=3)": one count, 0 if absent.
	num() {
		v=$(echo "$last" | sed -n "s/.*[(,] *$1=\([0-9]*\).*/\1/p")
		echo "${v:-0}"
	}
	ef=$(($(num failures) + $(num errors) + $(num 'unexpected successes')))
	es=$(($(num skipped) + $(num 'expected failures')))
	if [ -z "$ran" ]; then
		echo "FAIL: the $name suite did not run (status $rc)"
		failed=$((failed + 1))
		return
	fi
	if [ "$rc" -ne 0 ] && [ "$ef" -eq 0 ]; then
		echo "FAIL: the $name suite exited with status $rc"
		ef=1
	fi
	p=$((ran - ef - es))
	[ "$p" -ge 0 ] || p=0
	passed=$((passed + p))
	failed=$((failed + ef))
	skipped=$((skipped + es))
}

suite end-to-end tests/e2e
# A real Postfix on loopback (instances of its own; root only, else the
# classes are skipped), relaying into Empath and receiving from it.
suite interop tests/interop

summary="check: $passed passed, $failed failed"
[ "$skipped" -eq 0 ] || summary="$summary, $skipped skipped"
echo "$summary"
[ "$failed" -eq 0 ]
