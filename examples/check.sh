#!/bin/sh
# examples/check.sh NATIVE_DIR SCALAR_DIR "EXAMPLES" - the examples' test leg (make examples-check).
# Runs every example at its small size from two builds, the CPU's own vector ISA (NATIVE_DIR) and
# the scalar backend (SCALAR_DIR); each run must exit 0 (each example checks its own result),
# and the two builds must print the same numbers: trainopt is bit-identical across backends.
# Ends with "N passed, N failed" (", N skipped" when something could not run, with the reason).
native=$1
scalar=$2
examples=$3
out=$native/check
mkdir -p "$out"
passed=0 failed=0 skipped=0
pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1"; failed=$((failed + 1)); }
skip() { echo "SKIP $1"; skipped=$((skipped + 1)); }

# run NAME BUILD_DIR ARGS...: runs one example, keeps its output in $out/NAME.BUILD.txt
run() {
    name=$1 dir=$2 tag=$(basename "$2")
    shift 2
    if "$dir/$name" "$@" > "$out/$name.$tag.txt" 2>&1; then
        pass "$name $* ($tag)"
        return 0
    fi
    fail "$name $* ($tag): exit status $? (output in $out/$name.$tag.txt)"
    return 1
}

# same NAME A B: the two builds' outputs (files) must be identical
same() {
    if cmp -s "$2" "$3"; then pass "$1: scalar and native builds print the same numbers"
    else fail "$1: scalar and native builds differ:"; diff "$2" "$3" | head -n 6; fi
}

for e in $examples; do
    case $e in
    fashion_mnist)
        if [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
            skip "fashion_mnist: needs the Fashion-MNIST files (apt-get install dataset-fashion-mnist)"
            continue
        fi
        # One OpenBLAS thread: its results also depend on the thread count. Each variant of the
        # optimizer step: fp32, bf16 parameters rounded stochastically, AdamW's states in 8 bits.
        for variant in "" "--bf16 stochastic" "--adamw8bit"; do
            tag=$(echo "$variant" | tr -dc 'a-z0-9')
            ok=1
            for d in "$native" "$scalar"; do
                # shellcheck disable=SC2086 # the variant is two words or none
                OPENBLAS_NUM_THREADS=1 run fashion_mnist "$d" --small --min-acc 0.75 $variant \
                    --csv "$out/fashion_mnist$tag.$(basename "$d").csv" || ok=0
            done
            # Compare the curves without the timing columns.
            if [ $ok = 1 ]; then
                cut -d, -f1-5 "$out/fashion_mnist$tag.$(basename "$native").csv" > "$out/fm.native.cmp"
                cut -d, -f1-5 "$out/fashion_mnist$tag.$(basename "$scalar").csv" > "$out/fm.scalar.cmp"
                same "fashion_mnist $variant" "$out/fm.native.cmp" "$out/fm.scalar.cmp"
            fi
            [ -z "$variant" ] && [ $ok = 1 ] || continue
            # trainopt on 3 threads (its --threads pool): the 1-thread run's final parameters, bit for bit.
            if OPENBLAS_NUM_THREADS=1 "$native/fashion_mnist" --small --threads 3 --csv "$out/fashion_mnist.threads3.csv" \
                > "$out/fashion_mnist.threads3.txt" 2>&1; then
                grep '^final parameters' "$out/fashion_mnist.$(basename "$native").txt" | cut -d'(' -f1 > "$out/fm.t1.cmp"
                grep '^final parameters' "$out/fashion_mnist.threads3.txt" | cut -d'(' -f1 > "$out/fm.t3.cmp"
                if [ -s "$out/fm.t1.cmp" ] && cmp -s "$out/fm.t1.cmp" "$out/fm.t3.cmp"; then
                    pass "fashion_mnist: 1 and 3 trainopt threads give the same final parameters"
                else
                    fail "fashion_mnist: 1 and 3 trainopt threads differ:"; cat "$out/fm.t1.cmp" "$out/fm.t3.cmp"
                fi
            else
                fail "fashion_mnist --small --threads 3: exit status $? (output in $out/fashion_mnist.threads3.txt)"
            fi
        done
        ;;
    compare_optimizers) # Fashion-MNIST as well: the same files, one OpenBLAS thread
        if [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
            skip "compare_optimizers: needs the Fashion-MNIST files (apt-get install dataset-fashion-mnist)"
            continue
        fi
        ok=1
        for d in "$native" "$scalar"; do
            OPENBLAS_NUM_THREADS=1 run compare_optimizers "$d" --small \
                --csv "$out/compare_optimizers.$(basename "$d").csv" || ok=0
        done
        # Both the printed summary and the whole CSV (every loss of every optimizer).
        if [ $ok = 1 ]; then
            cat "$out/compare_optimizers.$(basename "$native").txt" "$out/compare_optimizers.$(basename "$native").csv" \
                > "$out/co.native.cmp"
            cat "$out/compare_optimizers.$(basename "$scalar").txt" "$out/compare_optimizers.$(basename "$scalar").csv" \
                > "$out/co.scalar.cmp"
            same compare_optimizers "$out/co.native.cmp" "$out/co.scalar.cmp"
        fi
        ;;
    char_lm) # the word list (wamerican), one OpenBLAS thread; it fails itself unless the validation loss falls by 0.5
        if [ ! -f /usr/share/dict/words ]; then
            skip "char_lm: needs the word list /usr/share/dict/words (apt-get install wamerican)"
            continue
        fi
        for variant in "" "--rmsnorm"; do # layer norm, then RMS norm
            # shellcheck disable=SC2086 # the variant is one word or none
            if ! OPENBLAS_NUM_THREADS=1 run char_lm "$native" --small $variant ||
                ! OPENBLAS_NUM_THREADS=1 run char_lm "$scalar" --small $variant; then
                continue
            fi
            # every loss and sampled word, without the backend's name and the timings
            grep -v '^trainopt' "$out/char_lm.$(basename "$native").txt" | sed 's/ *[0-9.]* s$//' > "$out/lm.native.cmp"
            grep -v '^trainopt' "$out/char_lm.$(basename "$scalar").txt" | sed 's/ *[0-9.]* s$//' > "$out/lm.scalar.cmp"
            same "char_lm${variant:+ $variant}" "$out/lm.native.cmp" "$out/lm.scalar.cmp"
        done
        ;;
    lr_schedules) # the schedules example's size is its number of steps
        run lr_schedules "$native" 100 && run lr_schedules "$scalar" 100 &&
            same lr_schedules "$out/lr_schedules.$(basename "$native").txt" "$out/lr_schedules.$(basename "$scalar").txt"
        ;;
    *)
        run "$e" "$native" --small && run "$e" "$scalar" --small &&
            same "$e" "$out/$e.$(basename "$native").txt" "$out/$e.$(basename "$scalar").txt"
        ;;
    esac
done

if [ "$skipped" -gt 0 ]; then
    echo "$passed passed, $failed failed, $skipped skipped"
else
    echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
