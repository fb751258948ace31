#!/bin/sh
# tests/hygiene.sh OUTDIR - header hygiene, in each of the header's modes: a unit that
# only includes trainopt.h (declarations), the implementation unit (TRAINOPT_IMPLEMENTATION:
# the kernels with external linkage) and a TRAINOPT_STATIC unit (private copies) compile
# warning-free as C99/C11/C17 and C++11/17/20 under gcc and clang on every backend; an
# implementation unit and a user unit link (gcc, clang, C with C++, and beside a
# TRAINOPT_STATIC unit), TRAINOPT_SYMBOL_PREFIX renames the link names, a caller of every
# public function with constant arguments compiles warning-free at -O2 and -O3, each
# TRAINOPT_NO_* override builds, -ffast-math gives the documented warning, and the headers
# include only C standard headers. Ends with "N passed, N failed".
#
# Nearly all of it is compiling, each check independent of the others: the checks run as
# jobs, HYGIENE_JOBS (default 2) at a time, each with its own scratch directory $w (so
# command strings name "$w/a.o", never a shared file). Results are printed in the order
# of the checks once all have ended. A check that needs another's output awaits it.
out=${1:-build/hygiene}
jobs=${HYGIENE_JOBS:-2}
rm -rf "$out/results" "$out/cpu" "$out"/job* "$out"/*.done "$out"/impl-*.o
mkdir -p "$out/results" "$out/cpu"
strict="-Wall -Wextra -Wpedantic -Wshadow -Wconversion -Werror -I."
impl=-DTRAINOPT_IMPLEMENTATION

# Job slots: a FIFO holding one line per free slot; a job takes one to start, gives it back at its end.
slots=$out/slots
rm -f "$slots"; mkfifo "$slots"; exec 3<> "$slots"; rm -f "$slots"
i=0; while [ $i -lt "$jobs" ]; do echo >&3; i=$((i + 1)); done
n=1000 w=$out/job1000
mkdir -p "$w"

run_check() { # run_check NAME COMMAND...: one test, in this shell; its result goes to $res
    name=$1; shift
    if "$@" > "$w/last.log" 2>&1; then echo "PASS hygiene/$name" >> "$res"; else
        { echo "FAIL hygiene/$name"; head -n 5 "$w/last.log" | sed 's/^/  /'; } >> "$res"; fi
}
job() { # job COMMAND...: runs COMMAND (run_check calls) in the background once a slot is free
    read -r _ <&3
    res=$out/results/$n
    ( "$@"; times > "$out/cpu/$n"; echo >&3 ) &
    n=$((n + 1)) w=$out/job$n
    mkdir -p "$w"
}
check() { job run_check "$@"; } # check NAME COMMAND...: one test, as a job
await() { # await NAME: until the job that ends with `touch "$out/NAME.done"` has ended
    while [ ! -e "$out/$1.done" ]; do sleep 1; done
}
kept_unit() { # kept_unit UNIT COMMAND...: COMMAND -o $out/UNIT.o, then $out/UNIT.done for the checks that await it
    unit=$1; shift
    "$@" -o "$out/$unit.o"; rc=$?; touch "$out/$unit.done"; return $rc
}

# Every standard: the declarations alone, and TRAINOPT_STATIC on every backend (the front
# end checks every kernel's body, which is all a unit of unused private copies gets, so
# -fsyntax-only). The implementation unit, every kernel compiled at -O2, twice per
# compiler and language: the scalar backend, and runtime dispatch (the scalar, avx2 and
# avx512 variants) under the newest standard. Each implementation unit is kept as
# $out/impl-CC-STD.o: unit 1 of the link and dispatch checks below (built for baseline
# x86-64, as the dispatch checks want; the compilers' default -march here anyway).
for cc in gcc clang; do
    for std in c99 c11 c17; do
        check "declarations-$cc-$std" $cc -std=$std $strict -DHYGIENE_TU=1 -fsyntax-only -x c tests/hygiene_tu.c
        for isa in "" "-mavx2 -mfma" "-mavx512f -mavx2 -mfma" "-DTRAINOPT_DISPATCH"; do
            check "static-$cc-$std-[$isa]" $cc -std=$std $strict $isa -DTRAINOPT_STATIC -DHYGIENE_TU=1 -fsyntax-only -x c tests/hygiene_tu.c
        done
    done
    for std_isa in "c99:" "c17:-DTRAINOPT_DISPATCH"; do
        std=${std_isa%%:*} isa=${std_isa#*:}
        check "implementation-$cc-$std-[$isa]" kept_unit "impl-$cc-$std" \
            $cc -std=$std $strict -O2 -march=x86-64 $isa $impl -DHYGIENE_TU=1 -c -x c tests/hygiene_tu.c
    done
done
for cxx in g++ clang++; do
    for std in c++11 c++17 c++20; do
        check "declarations-$cxx-$std" $cxx -std=$std $strict -DHYGIENE_TU=1 -fsyntax-only -x c++ tests/hygiene_tu.c
        for isa in "" "-mavx512f -mavx2 -mfma" "-DTRAINOPT_DISPATCH"; do
            check "static-$cxx-$std-[$isa]" $cxx -std=$std $strict $isa -DTRAINOPT_STATIC -DHYGIENE_TU=1 -fsyntax-only -x c++ tests/hygiene_tu.c
        done
    done
    for std_isa in "c++11:" "c++20:-DTRAINOPT_DISPATCH"; do
        std=${std_isa%%:*} isa=${std_isa#*:}
        check "implementation-$cxx-$std-[$isa]" kept_unit "impl-$cxx-$std" \
            $cxx -std=$std $strict -O2 -march=x86-64 $isa $impl -DHYGIENE_TU=1 -c -x c++ tests/hygiene_tu.c
    done
done

# Two units: unit 1 the implementation, unit 2 (main) a user with the declarations only.
# Unit 1 at plain -O2 is an implementation unit above (gcc C99, g++ C++11): awaited, not compiled again.
with_unit() { # with_unit UNIT COMMAND: COMMAND with unit 1 as $w/a.o, the kept $out/UNIT.o
    await "$1"
    [ -f "$out/$1.o" ] || { echo "unit 1 did not compile (see the implementation check that makes $1.o)"; return 1; }
    ln -sf "$(cd "$out" && pwd)/$1.o" "$w/a.o" && sh -c "$2"
}
with_impl_gcc_c99() { with_unit impl-gcc-c99 "$1"; }
check "implementation-and-user-link-[-O2]" with_impl_gcc_c99 "gcc -std=c99 $strict -O2 -DHYGIENE_TU=2 -c tests/hygiene_tu.c -o $w/b.o &&
    gcc $w/a.o $w/b.o -o $w/two -lm && $w/two"
for flags in "-O2 -march=native" "-O2 -march=native -DTRAINOPT_NO_AVX512" "-O2 -march=native -DTRAINOPT_NO_SIMD"; do
    check "implementation-and-user-link-[$flags]" sh -c "gcc -std=c99 $strict $flags $impl -DHYGIENE_TU=1 -c tests/hygiene_tu.c -o $w/a.o &&
        gcc -std=c99 $strict $flags -DHYGIENE_TU=2 -c tests/hygiene_tu.c -o $w/b.o && gcc $w/a.o $w/b.o -o $w/two -lm && $w/two"
done
# The same under clang, and C with C++ both ways (extern "C" linkage).
for flags in "-O2 -march=native" "-O2 -march=native -DTRAINOPT_NO_AVX512" "-O2 -march=native -DTRAINOPT_NO_SIMD"; do
    check "implementation-and-user-link-clang-[$flags]" sh -c "clang -std=c11 $strict $flags $impl -DHYGIENE_TU=1 -c tests/hygiene_tu.c -o $w/a.o &&
        clang -std=c11 $strict $flags -DHYGIENE_TU=2 -c tests/hygiene_tu.c -o $w/b.o && clang $w/a.o $w/b.o -o $w/two -lm && $w/two"
done
check "c-implementation-and-c++-user-link" with_impl_gcc_c99 "g++ -std=c++17 $strict -O2 -DHYGIENE_TU=2 -x c++ -c tests/hygiene_tu.c -o $w/b.o &&
    g++ $w/a.o $w/b.o -o $w/two -lm && $w/two"
check "c++-implementation-and-c-user-link" with_unit impl-g++-c++11 "gcc -std=c99 $strict -O2 -DHYGIENE_TU=2 -c tests/hygiene_tu.c -o $w/b.o &&
    g++ $w/a.o $w/b.o -o $w/two -lm && $w/two"
# A TRAINOPT_STATIC unit (a library's private copies) beside the implementation: no clash.
check "static-unit-beside-the-implementation-link" with_impl_gcc_c99 "gcc -std=c99 $strict -O2 -DTRAINOPT_STATIC -DHYGIENE_TU=2 -c tests/hygiene_tu.c -o $w/b.o &&
    gcc $w/a.o $w/b.o -o $w/two -lm && $w/two"
# TRAINOPT_SYMBOL_PREFIX, in both units: the link names change, the C names do not.
prefixed() {
    gcc -std=c99 $strict -O2 -DTRAINOPT_SYMBOL_PREFIX=p_ $impl -DHYGIENE_TU=1 -c tests/hygiene_tu.c -o "$w/a.o" &&
        gcc -std=c99 $strict -O2 -DTRAINOPT_SYMBOL_PREFIX=p_ -DHYGIENE_TU=2 -c tests/hygiene_tu.c -o "$w/b.o" &&
        gcc "$w/a.o" "$w/b.o" -o "$w/two" -lm && "$w/two" || return 1
    nm -g --defined-only -P "$w/a.o" | cut -d' ' -f1 | grep -x p_backend || { echo "no p_backend in the implementation unit"; return 1; }
    ! nm -g -P "$w/a.o" "$w/b.o" | cut -d' ' -f1 | grep '^trainopt_'
}
check "TRAINOPT_SYMBOL_PREFIX-renames-the-link-names" prefixed

# A caller of every public function with constant arguments (TRAINOPT_STATIC, so the kernels
# are compiled in it): warning-free too once the compiler clones the kernels for them
# (tests/hygiene_consts.c says what this caught). With TRAINOPT_API=static a function it
# does not call is an unused-function error: every public function is covered. A program
# with a single call site of a kernel is another case (tests/hygiene_one_call.c).
# Every backend: scalar, sse2 (baseline x86-64), avx2, avx512. Not TRAINOPT_DISPATCH, which
# compiles the scalar, avx2 and avx512 variants again in one unit (three times the compile,
# no kernel code of its own); its implementation units are compiled at -O2 above.
for cc in gcc clang; do
    for opt in -O2 -O3; do
        for isa in "-DTRAINOPT_NO_SIMD" "" "-mavx2 -mfma" "-mavx512f -mavx2 -mfma"; do
            check "constant-arguments-$cc$opt-[$isa]" $cc -std=c99 $strict $opt $isa -c tests/hygiene_consts.c -o "$w/consts.o"
            check "one-call-site-$cc$opt-[$isa]" $cc -std=c99 $strict $opt $isa -c tests/hygiene_one_call.c -o "$w/one_call.o"
        done
    done
done
# clang reports an unused static function from its front end, so -fsyntax-only suffices
# (gcc only from its optimizer: a whole-library -O0 compile, 166 CPU-s and 7 GB).
check "constant-arguments-call-every-function" clang -std=c99 $strict -fsyntax-only -DTRAINOPT_API=static tests/hygiene_consts.c

# Runtime dispatch: an implementation unit with TRAINOPT_DISPATCH and a user unit, built for
# baseline x86-64, link, and trainopt_backend() reports the best variant the CPU has, or the
# one TRAINOPT_MAX_BACKEND caps it at. For gcc, clang and g++ unit 1 is the dispatch
# implementation unit above (newest standard), awaited; unit 2 is C99 (C++17).
best=scalar
grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo && best=avx2
[ $best = avx2 ] && grep -qw avx512f /proc/cpuinfo && best=avx512
dispatch_build() { # dispatch_build CC FLAGS PROGRAM
    $1 $strict -march=x86-64 $2 $impl -DHYGIENE_TU=1 -c tests/hygiene_tu.c -o "$w/da.o" &&
        $1 $strict -march=x86-64 $2 -DHYGIENE_TU=2 -c tests/hygiene_tu.c -o "$w/db.o" &&
        $1 "$w/da.o" "$w/db.o" -o "$3" -lm
}
dispatch_link() { # dispatch_link CC FLAGS PROGRAM UNIT: unit 1 the kept $out/UNIT.o, unit 2 built with FLAGS
    await "$4"
    [ -f "$out/$4.o" ] || { echo "unit 1 did not compile (see the implementation check that makes $4.o)"; return 1; }
    $1 $strict -march=x86-64 $2 -DHYGIENE_TU=2 -c tests/hygiene_tu.c -o "$w/db.o" &&
        $1 "$out/$4.o" "$w/db.o" -o "$3" -lm
}
dispatch_reports() { # dispatch_reports PROGRAM CAP EXPECTED
    [ -x "$1" ] || { echo "$1 did not build"; return 1; }
    got=$(TRAINOPT_MAX_BACKEND=$2 "$1" | cut -d' ' -f1)
    [ "$got" = "$3" ] || { echo "trainopt_backend() = $got, expected $3"; return 1; }
}
capped() { # the variant a cap gives on this CPU
    case "$1/$best" in scalar/*|avx2/scalar) echo scalar ;; avx2/*|avx512/avx2) echo avx2 ;; *) echo "$best" ;; esac
}
dispatch_checks() { # dispatch_checks CC: one job, as the program the build makes is what the others run
    rm -f "$out/dispatch-$1"
    run_check "dispatch-$1-builds" dispatch_link $1 "-std=c99 -O2 -DTRAINOPT_DISPATCH" "$out/dispatch-$1" "impl-$1-c17"
    run_check "dispatch-$1-best-variant" dispatch_reports "$out/dispatch-$1" "" $best
    for cap in scalar avx2 avx512; do
        run_check "dispatch-$1-TRAINOPT_MAX_BACKEND=$cap" dispatch_reports "$out/dispatch-$1" $cap "$(capped $cap)"
    done
}
for cc in gcc clang; do
    job dispatch_checks $cc
done
built_reports() { # built_reports CC FLAGS PROGRAM EXPECTED
    dispatch_build "$1" "$2" "$3" && dispatch_reports "$3" "" "$4"
}
linked_reports() { # linked_reports CC FLAGS PROGRAM UNIT EXPECTED
    dispatch_link "$1" "$2" "$3" "$4" && dispatch_reports "$3" "" "$5"
}
check "dispatch-c++-best-variant" linked_reports g++ "-std=c++17 -x c++ -O2 -DTRAINOPT_DISPATCH" "$out/dispatch-c++" impl-g++-c++20 $best
check "dispatch-TRAINOPT_NO_AVX512" built_reports gcc "-std=c99 -O2 -DTRAINOPT_DISPATCH -DTRAINOPT_NO_AVX512" "$out/dispatch-no-avx512" "$(capped avx2)"
check "dispatch-TRAINOPT_NO_SIMD-turns-it-off" built_reports gcc "-std=c99 -O2 -DTRAINOPT_DISPATCH -DTRAINOPT_NO_SIMD" "$out/dispatch-no-simd" scalar
# The dispatch names (and the rest of both headers) are what tools/pack.sh makes from src/.
check "packed-headers-up-to-date" sh tools/pack.sh --check

# Only C standard headers (and the compiler's own intrinsics header of the backend):
# every #include of both headers is on this list. stdio.h and stdarg.h serve the error
# text (snprintf) and are included by the implementation unit only: a file with the
# declarations alone does not see FILE unless it includes stdio.h itself.
only_standard_includes() {
    allowed=" stddef.h stdint.h stdlib.h string.h math.h stdarg.h stdio.h trainopt.h trainopt_simd.h immintrin.h emmintrin.h arm_neon.h simde/arm/neon.h "
    # pthread.h: trainopt_pool's, in a unit that opts in with TRAINOPT_POOL (libtrainopt's src/lib.c)
    allowed="$allowed pthread.h "
    for h in $(sed -n 's/^# *include *[<"]\([^>"]*\)[>"].*/\1/p' trainopt.h trainopt_simd.h); do
        case "$allowed" in *" $h "*) ;; *) echo "trainopt includes <$h>, not on the list"; return 1 ;; esac
    done
}
check "includes-only-standard-headers" only_standard_includes
stdio_not_pulled_in() {
    printf '#include "trainopt.h"\nint uses_file(FILE *f);\n' > "$w/leak.c"
    printf '#include <stdio.h>\n#include "trainopt.h"\nint uses_file(FILE *f);\n' > "$w/noleak.c"
    gcc -std=c99 -I. -march=native -fsyntax-only "$w/noleak.c" || return 1
    ! gcc -std=c99 -I. -march=native -fsyntax-only "$w/leak.c" 2> "$w/leak.err" && grep -q FILE "$w/leak.err"
}
check "stdio-not-pulled-in" stdio_not_pulled_in
# -ffast-math: the unit that compiles the kernels warns; a unit with the declarations alone
# (its kernels are compiled elsewhere, or in libtrainopt) has nothing to warn about.
check "fast-math-warns" sh -c "gcc -std=c99 -I. -ffast-math $impl -DHYGIENE_TU=1 -fsyntax-only tests/hygiene_tu.c 2>&1 | grep -q 'trainopt: -ffast-math'"
check "fast-math-warning-can-be-silenced" sh -c "gcc -std=c99 -I. -Werror -ffast-math -DTRAINOPT_ALLOW_FAST_MATH $impl -DHYGIENE_TU=1 -fsyntax-only tests/hygiene_tu.c"
check "fast-math-declarations-only-is-silent" sh -c "gcc -std=c99 -I. -Werror -ffast-math -DHYGIENE_TU=1 -c tests/hygiene_tu.c -o $w/fm.o"
wait
exec 3>&-
cat "$out"/results/* | grep -v '^PASS'
# Each job's CPU seconds (user + system of its compilers and programs, from the shell's
# `times`), in $out/cpu.txt with its first check's name; the total and the costliest here.
for f in "$out"/cpu/*; do
    j=${f##*/}
    printf '%s %s\n' "$(sed -n 2p "$f" | tr 'ms' '  ' | awk '{ printf "%.1f", $1 * 60 + $2 + $3 * 60 + $4 }')" \
        "$(sed -n '1s/^[A-Z]* hygiene\///p' "$out/results/$j")"
done | sort -rn > "$out/cpu.txt"
echo "hygiene CPU: $(awk '{ s += $1 } END { printf "%.0f", s }' "$out/cpu.txt") s (user + system; per check: $out/cpu.txt), the costliest: $(head -n 3 "$out/cpu.txt" | awk '{ t = $1; sub(/^[^ ]* /, ""); printf "%s%s %s s", (NR > 1 ? ", " : ""), $0, t }')"
passed=$(cat "$out"/results/* | grep -c '^PASS') failed=$(cat "$out"/results/* | grep -c '^FAIL')
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
