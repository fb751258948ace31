#!/bin/sh
# tests/run.sh BUILD "LEGS" ["DISPATCH_LEGS"] - checks that the packed headers match
# src/, runs the reference runner, then every other build (compiler x flags, runtime
# dispatch under each TRAINOPT_MAX_BACKEND, and native AArch64 under qemu-user), each
# checked against the committed battery hashes tests/golden/hashes.txt (make
# golden-hashes), then the hardening legs (sanitizers, valgrind, a second run for
# determinism, the fuzz corpus). Ends with the total "N passed, N failed[, N skipped]".
# Environment: VALGRIND_SUITES (the suites valgrind runs; default every suite of
# tests/suites.h), FUZZ_TARGETS (the corpora replayed).
#
# The sample: the reference runner and the two ASan legs run the full sample; every other
# leg (the compiler/flag matrix, sse2, dispatch, TSan, valgrind, AArch64 under qemu) runs
# its runner with --sample small, which runs every case of tests/test_parallel.c under
# fewer hooks and thread counts (tests/harness.h, to_ctx.small). The batteries, and so
# the --expect check against $golden_hashes, are the same in both.
#
# Timing design (2 cores). make test's compile phase (make -j2) builds every runner first;
# then this script. The runners are one thread each and run one after another in the
# foreground; the legs that are mostly compiling (hygiene, two compiles at a time; make -j2
# examples-check; install then Python) and the two slowest runners (valgrind, then AArch64
# under qemu) start at once as four background streams under nice, so the foreground
# runners keep one core, the streams take the other, and both once the runners end: no
# core idles until the last stream ends. Their logs are tallied in their place at the end,
# each section printing the stream's own wall time ("ran N s in the background") after its
# wait. The MPI leg runs last, alone (np 4 wants both cores). bench/FINDINGS.md ("make
# test's time") has the measurements.
build=$1
legs=$2
dispatch_legs=$3
golden_hashes=tests/golden/hashes.txt
small="--sample small"
valgrind_suites=${VALGRIND_SUITES:-$(sed -n 's/^TO_\(BACKEND\|ONCE\)_SUITE(\(.*\))/\2/p' tests/suites.h | paste -sd, -)}
fuzz_targets=${FUZZ_TARGETS:-optim schedules batchnorm random losses norms}
passed=0 failed=0 skipped=0
run_start=$(date +%s)

# section TITLE: ends the previous section with its wall time, then prints TITLE, so a
# slow leg shows in every log (the background legs' time is their wait, not their work).
section_start=
section() {
    now=$(date +%s)
    [ -n "$section_start" ] && echo "   ($((now - section_start)) s)"
    section_start=$now
    if [ -n "$1" ]; then echo "== $1"; fi
}

tally() { # tally LOGFILE: add the runner's closing counts
    line=$(tail -n 1 "$1")
    p=$(echo "$line" | sed -n 's/^\([0-9]*\) passed.*/\1/p')
    f=$(echo "$line" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
    s=$(echo "$line" | sed -n 's/.* \([0-9]*\) skipped.*/\1/p')
    if [ -z "$p" ] || [ -z "$f" ]; then failed=$((failed + 1)); echo "FAIL $1: no closing count (crashed?)"; return; fi
    passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + ${s:-0}))
}

section "packed headers: trainopt.h and trainopt_simd.h are what tools/pack.sh makes from src/"
if sh tools/pack.sh --check; then
    passed=$((passed + 1))
else
    failed=$((failed + 1))
fi

# The background legs: hygiene, install (then Python, as both build build/lib) and the
# examples are mostly compiling and take far more CPU than the runners below, which are one
# thread each. So all three streams start now, side by side, at a lower priority (nice):
# the runners keep one core and the streams share whatever is left, then both cores once
# the runners end. Each is reported and tallied in its place at the end, with its own wall
# time. (One stream after another on one core made them the critical path: 25 of 45 min.)
low="nice -n 10"
logged() { # logged NAME COMMAND...: COMMAND's output in $build/NAME.log, its wall time in $build/NAME.time
    name=$1; shift
    t0=$(date +%s)
    "$@" > "$build/$name.log" 2>&1
    echo $(( $(date +%s) - t0 )) > "$build/$name.time"
}
# as root, tools/need-packages.sh installs numpy, cffi and torch first; without numpy or cffi
# the whole leg is one skip (python-test.skip).
python_leg() {
    $low sh tools/need-packages.sh python3-numpy python3-cffi python3-torch
    if ! /usr/bin/python3 -c "import numpy, cffi"; then touch "$build/python-test.skip"; return; fi
    $low make --no-print-directory python && $low /usr/bin/python3 python/tests/run.py
}
background_time() { [ -f "$build/$1.time" ] && echo "   (ran $(cat "$build/$1.time") s in the background)"; }
mkdir -p "$build"
rm -f "$build"/hygiene.time "$build"/install.time "$build"/examples-check.time "$build"/python-test.time "$build/python-test.skip" \
    "$build"/valgrind.time "$build"/aarch64.time
( logged hygiene env HYGIENE_JOBS=2 $low sh tests/hygiene.sh "$build/hygiene" ) &
hygiene_leg=$!
( logged examples-check $low make --no-print-directory -j2 examples-check ) &
examples_leg=$!
( logged install $low sh tests/install.sh "$build/install"; logged python-test python_leg ) &
install_leg=$!
# valgrind's own report goes to memcheck.txt, so the runner's closing count stays last in
# log.txt; its exit status (99: memcheck errors) to status.txt.
valgrind_run() {
    $low valgrind -q --error-exitcode=99 --leak-check=no --log-file="$build/valgrind/memcheck.txt" \
        "$build/valgrind/runner" $small --only "$valgrind_suites" --expect "$golden_hashes" > "$build/valgrind/log.txt" 2>&1
    echo $? > "$build/valgrind/status.txt"
}
have_valgrind() { [ -x "$build/valgrind/runner" ] && command -v valgrind >/dev/null 2>&1; }
have_qemu() { [ -x "$build/aarch64/runner" ] && command -v qemu-aarch64 >/dev/null 2>&1; }
rm -f "$build/valgrind/status.txt"
(
    if have_valgrind; then logged valgrind valgrind_run; fi
    if have_qemu; then logged aarch64 $low qemu-aarch64 "$build/aarch64/runner" $small --expect "$golden_hashes"; fi
) &
slow_runners_leg=$!

section "reference build (gcc -O2): unit tests on every backend, identity with scalar and with $golden_hashes"
"$build/ref/runner" --write-hashes "$build/ref/hashes.txt" --expect "$golden_hashes" > "$build/ref/log.txt" 2>&1
grep -v '^PASS' "$build/ref/log.txt"
tally "$build/ref/log.txt"

for leg in $legs; do
    section "build $leg: every test (the small sample), and the batteries against $golden_hashes"
    "$build/$leg/runner" $small --expect "$golden_hashes" > "$build/$leg/log.txt" 2>&1
    grep -v '^PASS' "$build/$leg/log.txt"
    tally "$build/$leg/log.txt"
done

cpu_has() { grep -qw "$1" /proc/cpuinfo 2>/dev/null; }
for leg in $dispatch_legs; do
    for cap in scalar avx2 avx512; do
        case $cap in
            avx2) cpu_has avx2 && cpu_has fma || { skipped=$((skipped + 1)); echo "SKIP $leg [$cap]: this CPU lacks AVX2+FMA"; continue; } ;;
            avx512) cpu_has avx512f || { skipped=$((skipped + 1)); echo "SKIP $leg [$cap]: this CPU lacks AVX-512F"; continue; } ;;
        esac
        section "build $leg (baseline x86-64, TRAINOPT_DISPATCH) with TRAINOPT_MAX_BACKEND=$cap: every test (the small sample), batteries against $golden_hashes"
        TRAINOPT_MAX_BACKEND=$cap "$build/$leg/runner" $small --expect "$golden_hashes" > "$build/$leg/log-$cap.txt" 2>&1
        grep -v '^PASS' "$build/$leg/log-$cap.txt"
        tally "$build/$leg/log-$cap.txt"
    done
done

section "AddressSanitizer + UndefinedBehaviorSanitizer (gcc -O1): every test on every backend"
"$build/asan/runner" --expect "$golden_hashes" > "$build/asan/log.txt" 2>&1
grep -v '^PASS' "$build/asan/log.txt" | head -n 40
tally "$build/asan/log.txt"

section "AddressSanitizer + UndefinedBehaviorSanitizer (clang -O1): every test on every backend"
"$build/asan-clang/runner" --expect "$golden_hashes" > "$build/asan-clang/log.txt" 2>&1
grep -v '^PASS' "$build/asan-clang/log.txt" | head -n 40
tally "$build/asan-clang/log.txt"

# ThreadSanitizer: a self-contained block (it builds its own runner; skipped, with the
# reason, where clang's TSan cannot build or run a threaded program here).
section "ThreadSanitizer (clang -O1): the threaded suites (the Makefile's SUITES_tsan) on scalar and avx512, the small sample"
tsan_probe=$build/tsan-probe
mkdir -p "$build"
printf '#include <pthread.h>\nstatic void *f(void *p) { return p; }\nint main(void) { pthread_t t; return pthread_create(&t, 0, f, 0) || pthread_join(t, 0); }\n' > "$tsan_probe.c"
if ! clang -fsanitize=thread "$tsan_probe.c" -o "$tsan_probe" -pthread > "$tsan_probe.log" 2>&1; then
    skipped=$((skipped + 1)); echo "SKIP tsan: clang cannot build a -fsanitize=thread program here ($(head -n 1 "$tsan_probe.log"))"
elif ! "$tsan_probe" > "$tsan_probe.log" 2>&1; then
    skipped=$((skipped + 1)); echo "SKIP tsan: a ThreadSanitizer program does not run here ($(head -n 1 "$tsan_probe.log"))"
elif ! make --no-print-directory -j2 "$build/tsan/runner" > "$build/tsan-build.log" 2>&1; then
    failed=$((failed + 1)); echo "FAIL tsan: the runner does not build (log: $build/tsan-build.log)"
else
    "$build/tsan/runner" $small > "$build/tsan/log.txt" 2>&1 # it holds only SUITES_tsan's suites
    grep -v '^PASS' "$build/tsan/log.txt" | head -n 40
    if grep -q 'ThreadSanitizer' "$build/tsan/log.txt"; then failed=$((failed + 1)); echo "FAIL tsan: a race was reported"; fi
    tally "$build/tsan/log.txt"
fi

section "determinism: the reference runner run again gives the same battery hashes"
"$build/ref/runner" --battery-only --write-hashes "$build/ref/hashes-rerun.txt" > "$build/ref/rerun-log.txt" 2>&1
if cmp -s "$build/ref/hashes.txt" "$build/ref/hashes-rerun.txt"; then
    passed=$((passed + 1))
else
    failed=$((failed + 1))
    echo "FAIL determinism/run-twice: the second run's hashes differ"
    diff "$build/ref/hashes.txt" "$build/ref/hashes-rerun.txt" | head -n 10
fi

section "fuzz corpus replay: every committed input, every backend against scalar (libFuzzer, ASan, UBSan)"
for t in $fuzz_targets; do
    if [ ! -x "$build/fuzz/fuzz_$t" ]; then
        skipped=$((skipped + 1))
        echo "SKIP fuzz-replay/$t: clang cannot link -fsanitize=fuzzer here (Debian: libclang-rt-14-dev)"
    elif "$build/fuzz/fuzz_$t" tests/fuzz/corpus/"$t"/* > "$build/fuzz/replay-$t.log" 2>&1; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL fuzz-replay/$t"
        grep -E 'FUZZ DIFF|ERROR|SUMMARY|Running' "$build/fuzz/replay-$t.log" | tail -n 20
    fi
done

wait "$slow_runners_leg"
section "valgrind memcheck, scalar backend only, the small sample (suites: $valgrind_suites)"
if have_valgrind; then
    background_time valgrind
    grep -v '^PASS' "$build/valgrind/log.txt" | head -n 40
    tally "$build/valgrind/log.txt"
    if [ "$(cat "$build/valgrind/status.txt" 2>/dev/null)" = 99 ] || [ -s "$build/valgrind/memcheck.txt" ]; then
        failed=$((failed + 1))
        echo "FAIL valgrind: memcheck reported errors"
        head -n 40 "$build/valgrind/memcheck.txt"
    fi
else
    skipped=$((skipped + 1))
    echo "SKIP valgrind: needs valgrind (make test-deps installs it as root)"
fi

section "native AArch64 (neon) under qemu-user, the small sample"
if have_qemu; then
    background_time aarch64
    grep -v '^PASS' "$build/aarch64.log"
    tally "$build/aarch64.log"
else
    skipped=$((skipped + 1))
    echo "SKIP aarch64: needs gcc-aarch64-linux-gnu and qemu-user (make test-deps installs them as root)"
fi

wait "$hygiene_leg" "$examples_leg" "$install_leg"
section "header hygiene: C and C++ standards, gcc and clang, two units, overrides"
background_time hygiene
grep -v '^PASS' "$build/hygiene.log"
tally "$build/hygiene.log"

section "make install into a temporary PREFIX: pkg-config, a CMake project, make uninstall"
background_time install
grep -v '^PASS' "$build/install.log"
tally "$build/install.log"

section "examples at small sizes, scalar and native builds compared (make examples-check)"
background_time examples-check
grep -E '^(FAIL|SKIP)|passed' "$build/examples-check.log"
tally "$build/examples-check.log"

section "Python: python/trainopt (trainopt.np, trainopt.torch against torch.optim 1.13) over libtrainopt"
# Run in the background after install (python_leg above): make python builds libtrainopt and
# regenerates python/trainopt/_api.py if trainopt.h is newer. Without PyTorch the torch tests
# are skips (counted); without numpy or cffi the whole leg is one skip.
background_time python-test
if [ -e "$build/python-test.skip" ]; then
    skipped=$((skipped + 1))
    echo "SKIP python: /usr/bin/python3 lacks numpy or cffi (Debian: python3-numpy python3-cffi)"
else
    grep -E '^(FAIL|ERROR|SKIP)|^[A-Za-z]*Error|passed' "$build/python-test.log"
    tally "$build/python-test.log"
fi
# After the background legs: np 4 takes both cores.
section "data-parallel example on MPI: np 1, 2 and 4 give the same bits, a killed run resumes to them (make ddp-check)"
make --no-print-directory ddp-check > "$build/ddp-check.log" 2>&1
grep -E '^(FAIL|SKIP)|passed' "$build/ddp-check.log"
tally "$build/ddp-check.log"

section ""
echo "run phase: $(( $(date +%s) - run_start )) s"
if [ "$skipped" -gt 0 ]; then
    echo "$passed passed, $failed failed, $skipped skipped"
else
    echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
