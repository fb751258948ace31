#!/bin/sh
# tests/run.sh BUILD "LEGS" ["DISPATCH_LEGS"] - runs the reference runner, then checks
# every other build (compiler x flags, runtime dispatch under each TRAINOPT_MAX_BACKEND,
# and native AArch64 under qemu-user) against the reference build's battery hashes.
# Ends with the total "N passed, N failed[, N skipped]".
build=$1
legs=$2
dispatch_legs=$3
passed=0 failed=0 skipped=0

tally() { # tally LOGFILE: add the runner's closing counts
    line=$(tail -n 1 "$1")
    p=$(echo "$line" | sed -n 's/^\([0-9]*\) passed.*/\1/p')
    f=$(echo "$line" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
    s=$(echo "$line" | sed -n 's/.* \([0-9]*\) skipped.*/\1/p')
    if [ -z "$p" ] || [ -z "$f" ]; then failed=$((failed + 1)); echo "FAIL $1: no closing count (crashed?)"; return; fi
    passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + ${s:-0}))
}

echo "== reference build (gcc -O2): unit tests on every backend, identity with scalar"
"$build/ref/runner" --write-hashes "$build/ref/hashes.txt" > "$build/ref/log.txt" 2>&1
grep -v '^PASS' "$build/ref/log.txt"
tally "$build/ref/log.txt"

for leg in $legs; do
    echo "== build $leg: every test, and the batteries against the reference build"
    "$build/$leg/runner" --expect "$build/ref/hashes.txt" > "$build/$leg/log.txt" 2>&1
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
        echo "== build $leg (baseline x86-64, TRAINOPT_DISPATCH) with TRAINOPT_MAX_BACKEND=$cap: every test, batteries against the reference build"
        TRAINOPT_MAX_BACKEND=$cap "$build/$leg/runner" --expect "$build/ref/hashes.txt" > "$build/$leg/log-$cap.txt" 2>&1
        grep -v '^PASS' "$build/$leg/log-$cap.txt"
        tally "$build/$leg/log-$cap.txt"
    done
done

echo "== AddressSanitizer + UndefinedBehaviorSanitizer (gcc -O1): every test on every backend"
"$build/asan/runner" --expect "$build/ref/hashes.txt" > "$build/asan/log.txt" 2>&1
grep -v '^PASS' "$build/asan/log.txt" | head -n 40
tally "$build/asan/log.txt"

echo "== native AArch64 (neon) under qemu-user"
if [ -x "$build/aarch64/runner" ] && command -v qemu-aarch64 >/dev/null 2>&1; then
    qemu-aarch64 "$build/aarch64/runner" --expect "$build/ref/hashes.txt" > "$build/aarch64/log.txt" 2>&1
    grep -v '^PASS' "$build/aarch64/log.txt"
    tally "$build/aarch64/log.txt"
else
    skipped=$((skipped + 1))
    echo "SKIP aarch64: needs gcc-aarch64-linux-gnu and qemu-user (make test-deps installs them as root)"
fi

echo "== header hygiene: C and C++ standards, gcc and clang, two units, overrides"
sh tests/hygiene.sh "$build/hygiene" > "$build/hygiene.log" 2>&1
grep -v '^PASS' "$build/hygiene.log"
tally "$build/hygiene.log"

echo "== make install into a temporary PREFIX: pkg-config, a CMake project, make uninstall"
sh tests/install.sh "$build/install" > "$build/install.log" 2>&1
grep -v '^PASS' "$build/install.log"
tally "$build/install.log"

echo "== examples at small sizes, scalar and native builds compared (make examples-check)"
make --no-print-directory examples-check > "$build/examples-check.log" 2>&1
grep -E '^(FAIL|SKIP)|passed' "$build/examples-check.log"
tally "$build/examples-check.log"

if [ "$skipped" -gt 0 ]; then
    echo "$passed passed, $failed failed, $skipped skipped"
else
    echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
