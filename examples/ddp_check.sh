#!/bin/sh
# examples/ddp_check.sh PROGRAM "MPIRUN [FLAGS]" [SCALAR_PROGRAM] - the data-parallel example's test leg (make
# ddp-check), two counted tests on a subset (2 epochs of 8 steps):
#   ddp-invariance  mpirun -np 1, 2 and 4, and np 4 with the other canonical reduction
#                   (--reduce halving), and np 2 built on the scalar backend (SCALAR_PROGRAM):
#                   the np 2 and np 4 runs print the same loss at every step and end with the
#                   same weights as the np 1 run, bit for bit (the program compares itself with
#                   the np 1 run's --trace file);
#   ddp-resume      an np 2 run killed with SIGKILL mid-epoch 2, resumed at np 4 from its
#                   epoch-1 checkpoint, ends with the np 1 run's bits; a truncated copy of the
#                   checkpoint is refused with its reason.
# Skipped, with the reason, where MPI or the dataset is missing or mpirun cannot start.
# Ends with "N passed, N failed[, N skipped]".
prog=$1
mpirun=$2
scalar=$3
out=$(dirname "$prog")/ddp-check
args="--train 1024 --test 500 --epochs 2 --print-steps"
mkdir -p "$out"

skip() {
    echo "SKIP ddp-invariance: $1"
    echo "SKIP ddp-resume: $1"
    echo "0 passed, 0 failed, 2 skipped"
    exit 0
}
command -v ${mpirun%% *} >/dev/null 2>&1 || skip "needs Open MPI's mpirun (Debian: apt-get install openmpi-bin libopenmpi-dev)"
[ -x "$prog" ] || skip "needs Open MPI's mpicc to build $prog (Debian: apt-get install libopenmpi-dev)"
[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] ||
    skip "needs the Fashion-MNIST files (apt-get install dataset-fashion-mnist)"
if ! $mpirun -np 1 true > "$out/probe.txt" 2>&1; then
    skip "mpirun cannot start a process here: $(grep -v '^-*$' "$out/probe.txt" | head -n 1)"
fi

passed=0 failed=0
ok=1
runs="1 2 4 4-halving"
[ -x "$scalar" ] && runs="$runs 2-scalar"
for run in $runs; do
    np=${run%%-*} how= p=$prog
    [ "$run" = 4-halving ] && how="--reduce halving"
    [ "$run" = 2-scalar ] && p=$scalar
    if [ $np = 1 ]; then check="--trace $out/np1.trace"; else check="--expect $out/np1.trace"; fi
    if ! $mpirun -np $np "$p" $args $how $check > "$out/np$run.txt" 2>&1; then
        ok=0
        echo "FAIL ddp-invariance: mpirun -np $np $p $args $how $check (output in $out/np$run.txt)"
        grep -E 'invariance|rank|error' "$out/np$run.txt" | head -n 5
    fi
done
if [ $ok = 1 ]; then
    passed=$((passed + 1))
    echo "PASS ddp-invariance: mpirun -np 1, 2, 4 (and 4 by recursive halving$([ -x "$scalar" ] && echo ', 2 on the scalar backend')): $(grep 'invariance' "$out/np4.txt")"
else
    failed=$((failed + 1))
fi

# The crash exits non-zero (mpirun reports the killed rank); the resumed run must succeed.
rm -f "$out/ck.bin"
$mpirun -np 2 "$prog" $args --checkpoint "$out/ck.bin" --crash-at-step 12 > "$out/crash.txt" 2>&1
crash=$?
head -c 100000 "$out/ck.bin" > "$out/ck-truncated.bin" 2>/dev/null
if [ $crash = 0 ] || [ ! -f "$out/ck.bin" ]; then
    failed=$((failed + 1))
    echo "FAIL ddp-resume: the run with --crash-at-step 12 exited $crash, checkpoint $( [ -f "$out/ck.bin" ] && echo written || echo missing) (output in $out/crash.txt)"
elif ! $mpirun -np 4 "$prog" $args --resume "$out/ck.bin" --expect "$out/np1.trace" > "$out/resume.txt" 2>&1; then
    failed=$((failed + 1))
    echo "FAIL ddp-resume: resuming at np 4 (output in $out/resume.txt)"
    grep -E 'invariance|resume|rank' "$out/resume.txt" | head -n 5
elif $mpirun -np 2 "$prog" $args --resume "$out/ck-truncated.bin" > "$out/truncated.txt" 2>&1 ||
    ! grep -q 'cannot resume.*truncated' "$out/truncated.txt"; then
    failed=$((failed + 1))
    echo "FAIL ddp-resume: a truncated checkpoint was not refused (output in $out/truncated.txt)"
else
    passed=$((passed + 1))
    echo "PASS ddp-resume: killed at step 12 at np 2, resumed at np 4: $(grep 'invariance' "$out/resume.txt"); truncated checkpoint refused"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
