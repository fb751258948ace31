#!/bin/sh
# bench/multi_overhead.sh [K N...] - instructions per tensor per step of the three forms of
# bench/multi_overhead.c (K calls, one multi call, one on a serial hook), counted by
# callgrind: not disturbed by a loaded machine, unlike times. Each count is the difference
# of two runs (inner 1 and 3), so start-up and allocation cancel. Built -O2 -mavx2 -mfma
# (valgrind has no AVX-512). Run from the top directory.
set -eu
out=build/bench/multi_overhead_avx2
mkdir -p build/bench
${CC:-gcc} -std=c99 -O2 -mavx2 -mfma -I. bench/multi_overhead.c -o $out -lm
K=${1:-200}
shift 2>/dev/null || true
ir() { valgrind --tool=callgrind --callgrind-out-file=/dev/null $out $K $N $1 $2 2>&1 | sed -n 's/.*refs: *//p' | tr -d ,; }
for N in ${*:-16 1024}; do
    line="K=$K N=$N instructions per tensor per step:"
    for how in 0 1 2; do
        a=$(ir 1 $how) b=$(ir 3 $how)
        line="$line $(echo "$a $b" | awk -v K=$K '{printf "%.0f", ($2 - $1) / (2 * 33 * K)}')"
    done
    echo "$line   (calls, multi, multi on a serial hook)"
done
