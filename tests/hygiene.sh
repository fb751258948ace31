#!/bin/sh
# tests/hygiene.sh OUTDIR - header hygiene: both headers compile warning-free as
# C99/C11/C17 and C++11/17/20 under gcc and clang, two translation units that
# include them link, each TRAINOPT_NO_* override builds, and -ffast-math gives
# the documented warning. Ends with "N passed, N failed".
out=${1:-build/hygiene}
mkdir -p "$out"
passed=0 failed=0
strict="-Wall -Wextra -Wpedantic -Wshadow -Wconversion -Werror -I."

check() { # check NAME COMMAND...: one test
    name=$1; shift
    if "$@" > "$out/last.log" 2>&1; then passed=$((passed + 1)); else
        failed=$((failed + 1)); echo "FAIL hygiene/$name"; head -n 5 "$out/last.log" | sed 's/^/  /'; fi
}

for cc in gcc clang; do
    for std in c99 c11 c17; do
        for isa in "" "-mavx2 -mfma" "-mavx512f -mavx2 -mfma"; do
            check "$cc-$std-[$isa]" $cc -std=$std $strict $isa -DHYGIENE_TU=1 -c -x c tests/hygiene_tu.c -o "$out/tu.o"
        done
    done
done
for cxx in g++ clang++; do
    for std in c++11 c++17 c++20; do
        for isa in "" "-mavx512f -mavx2 -mfma"; do
            check "$cxx-$std-[$isa]" $cxx -std=$std $strict $isa -DHYGIENE_TU=1 -c -x c++ tests/hygiene_tu.c -o "$out/tu.o"
        done
    done
done
for flags in "-O2" "-O2 -march=native" "-O2 -march=native -DTRAINOPT_NO_AVX512" "-O2 -march=native -DTRAINOPT_NO_SIMD"; do
    check "two-units-link-[$flags]" sh -c "gcc -std=c99 $strict $flags -DHYGIENE_TU=1 -c tests/hygiene_tu.c -o $out/a.o &&
        gcc -std=c99 $strict $flags -DHYGIENE_TU=2 -c tests/hygiene_tu.c -o $out/b.o && gcc $out/a.o $out/b.o -o $out/two -lm && $out/two"
done
check "fast-math-warns" sh -c "gcc -std=c99 -I. -ffast-math -DHYGIENE_TU=1 -c tests/hygiene_tu.c -o $out/fm.o 2>&1 | grep -q 'trainopt: -ffast-math'"
check "fast-math-warning-can-be-silenced" sh -c "gcc -std=c99 -I. -Werror -ffast-math -DTRAINOPT_ALLOW_FAST_MATH -DHYGIENE_TU=1 -c tests/hygiene_tu.c -o $out/fm.o"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
