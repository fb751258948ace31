#!/bin/sh
# tests/hygiene.sh OUTDIR - header hygiene: both headers compile warning-free as
# C99/C11/C17 and C++11/17/20 under gcc and clang, two translation units that
# include them link (gcc, clang, and C with C++), a caller with constant
# arguments compiles warning-free at -O2 and -O3, each TRAINOPT_NO_* override
# builds, -ffast-math gives the documented warning, and the headers include only
# C standard headers. Ends with "N passed, N failed".
out=${1:-build/hygiene}
mkdir -p "$out"
passed=0 failed=0 skipped=0
strict="-Wall -Wextra -Wpedantic -Wshadow -Wconversion -Werror -DTRAINOPT_STATIC -I."

check() { # check NAME COMMAND...: one test
    name=$1; shift
    if "$@" > "$out/last.log" 2>&1; then passed=$((passed + 1)); else
        failed=$((failed + 1)); echo "FAIL hygiene/$name"; head -n 5 "$out/last.log" | sed 's/^/  /'; fi
}

for cc in gcc clang; do
    for std in c99 c11 c17; do
        for isa in "" "-mavx2 -mfma" "-mavx512f -mavx2 -mfma" "-DTRAINOPT_DISPATCH"; do
            check "$cc-$std-[$isa]" $cc -std=$std $strict $isa -DHYGIENE_TU=1 -c -x c tests/hygiene_tu.c -o "$out/tu.o"
        done
    done
done
for cxx in g++ clang++; do
    for std in c++11 c++17 c++20; do
        for isa in "" "-mavx512f -mavx2 -mfma" "-DTRAINOPT_DISPATCH"; do
            check "$cxx-$std-[$isa]" $cxx -std=$std $strict $isa -DHYGIENE_TU=1 -c -x c++ tests/hygiene_tu.c -o "$out/tu.o"
        done
    done
done
for flags in "-O2" "-O2 -march=native" "-O2 -march=native -DTRAINOPT_NO_AVX512" "-O2 -march=native -DTRAINOPT_NO_SIMD"; do
    check "two-units-link-[$flags]" sh -c "gcc -std=c99 $strict $flags -DHYGIENE_TU=1 -c tests/hygiene_tu.c -o $out/a.o &&
        gcc -std=c99 $strict $flags -DHYGIENE_TU=2 -c tests/hygiene_tu.c -o $out/b.o && gcc $out/a.o $out/b.o -o $out/two -lm && $out/two"
done
# The same under clang, and one C unit linked with one C++ unit (extern "C" linkage).
for flags in "-O2 -march=native" "-O2 -march=native -DTRAINOPT_NO_AVX512" "-O2 -march=native -DTRAINOPT_NO_SIMD"; do
    check "two-units-link-clang-[$flags]" sh -c "clang -std=c11 $strict $flags -DHYGIENE_TU=1 -c tests/hygiene_tu.c -o $out/a.o &&
        clang -std=c11 $strict $flags -DHYGIENE_TU=2 -c tests/hygiene_tu.c -o $out/b.o && clang $out/a.o $out/b.o -o $out/two -lm && $out/two"
done
check "two-units-link-c-and-c++" sh -c "gcc -std=c99 $strict -O2 -DHYGIENE_TU=1 -c tests/hygiene_tu.c -o $out/a.o &&
    g++ -std=c++17 $strict -O2 -DHYGIENE_TU=2 -x c++ -c tests/hygiene_tu.c -o $out/b.o && g++ $out/a.o $out/b.o -o $out/two -lm && $out/two"

# A caller whose arguments are all constants: warning-free too once the compiler
# clones the kernels for them (tests/hygiene_consts.c says what this caught).
for cc in gcc clang; do
    for opt in -O2 -O3; do
        for isa in "" "-mavx2 -mfma" "-mavx512f -mavx2 -mfma" "-DTRAINOPT_DISPATCH"; do
            check "constant-arguments-$cc$opt-[$isa]" $cc -std=c99 $strict $opt $isa -c tests/hygiene_consts.c -o "$out/consts.o"
        done
    done
done

# Runtime dispatch: units built for baseline x86-64 link, and trainopt_backend() reports
# the best variant the CPU has, or the one TRAINOPT_MAX_BACKEND caps it at.
best=scalar
grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo && best=avx2
[ $best = avx2 ] && grep -qw avx512f /proc/cpuinfo && best=avx512
dispatch_reports() { # dispatch_reports CC FLAGS CAP EXPECTED
    $1 $strict -march=x86-64 $2 -DHYGIENE_TU=1 -c tests/hygiene_tu.c -o "$out/da.o" &&
        $1 $strict -march=x86-64 $2 -DHYGIENE_TU=2 -c tests/hygiene_tu.c -o "$out/db.o" &&
        $1 "$out/da.o" "$out/db.o" -o "$out/dtwo" -lm || return 1
    got=$(TRAINOPT_MAX_BACKEND=$3 "$out/dtwo" | cut -d' ' -f1)
    [ "$got" = "$4" ] || { echo "trainopt_backend() = $got, expected $4"; return 1; }
}
capped() { # the variant a cap gives on this CPU
    case "$1/$best" in scalar/*|avx2/scalar) echo scalar ;; avx2/*|avx512/avx2) echo avx2 ;; *) echo "$best" ;; esac
}
for cc in gcc clang; do
    check "dispatch-$cc-best-variant" dispatch_reports $cc "-std=c99 -O2 -DTRAINOPT_DISPATCH" "" $best
    for cap in scalar avx2 avx512; do
        check "dispatch-$cc-TRAINOPT_MAX_BACKEND=$cap" dispatch_reports $cc "-std=c99 -O2 -DTRAINOPT_DISPATCH" $cap "$(capped $cap)"
    done
done
check "dispatch-c++-best-variant" dispatch_reports g++ "-std=c++17 -x c++ -O2 -DTRAINOPT_DISPATCH" "" $best
check "dispatch-TRAINOPT_NO_AVX512" dispatch_reports gcc "-std=c99 -O2 -DTRAINOPT_DISPATCH -DTRAINOPT_NO_AVX512" "" "$(capped avx2)"
check "dispatch-TRAINOPT_NO_SIMD-turns-it-off" dispatch_reports gcc "-std=c99 -O2 -DTRAINOPT_DISPATCH -DTRAINOPT_NO_SIMD" "" scalar
if command -v python3 > /dev/null 2>&1; then
    check "dispatch-names-up-to-date" python3 tools/gen_dispatch.py --check
else
    skipped=$((skipped + 1)); echo "SKIP hygiene/dispatch-names-up-to-date: needs python3 (a stale list also fails the dispatch builds)"
fi

# Only C standard headers (and the compiler's own intrinsics header of the backend):
# every #include of both headers is on this list, and stdio.h does not leak in
# (FILE stays undeclared unless the user includes it).
only_standard_includes() {
    allowed=" stddef.h stdint.h stdlib.h string.h math.h trainopt.h trainopt_simd.h immintrin.h arm_neon.h simde/arm/neon.h "
    for h in $(sed -n 's/^# *include *[<"]\([^>"]*\)[>"].*/\1/p' trainopt.h trainopt_simd.h); do
        case "$allowed" in *" $h "*) ;; *) echo "trainopt includes <$h>, not on the list"; return 1 ;; esac
    done
}
check "includes-only-standard-headers" only_standard_includes
stdio_not_pulled_in() {
    printf '#include "trainopt.h"\nint uses_file(FILE *f);\n' > "$out/leak.c"
    printf '#include <stdio.h>\n#include "trainopt.h"\nint uses_file(FILE *f);\n' > "$out/noleak.c"
    gcc -std=c99 -I. -march=native -c "$out/noleak.c" -o "$out/leak.o" || return 1
    ! gcc -std=c99 -I. -march=native -c "$out/leak.c" -o "$out/leak.o" 2> "$out/leak.err" && grep -q FILE "$out/leak.err"
}
check "stdio-not-pulled-in" stdio_not_pulled_in
check "fast-math-warns" sh -c "gcc -std=c99 -I. -ffast-math -DHYGIENE_TU=1 -c tests/hygiene_tu.c -o $out/fm.o 2>&1 | grep -q 'trainopt: -ffast-math'"
check "fast-math-warning-can-be-silenced" sh -c "gcc -std=c99 -I. -Werror -ffast-math -DTRAINOPT_ALLOW_FAST_MATH -DHYGIENE_TU=1 -c tests/hygiene_tu.c -o $out/fm.o"
if [ "$skipped" -gt 0 ]; then echo "$passed passed, $failed failed, $skipped skipped"; else echo "$passed passed, $failed failed"; fi
[ "$failed" -eq 0 ]
