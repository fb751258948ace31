#!/bin/sh
# examples/ddp_check.sh PROGRAM "MPIRUN [FLAGS]" - the data-parallel example's test leg (make
# ddp-check): a few steps on a subset at mpirun -np 1, 2 and 4; the np 2 and np 4 runs must
# print the same loss at every step and end with the same weights as the np 1 run, bit for
# bit (the program compares itself with the np 1 run's --trace file). One counted test;
# skipped, with the reason, where MPI or the dataset is missing or mpirun cannot start.
# Ends with "N passed, N failed[, N skipped]".
prog=$1
mpirun=$2
out=$(dirname "$prog")/ddp-check
args="--train 1024 --test 500 --epochs 1 --print-steps"
mkdir -p "$out"

skip() {
    echo "SKIP ddp-invariance: $1"
    echo "0 passed, 0 failed, 1 skipped"
    exit 0
}
command -v ${mpirun%% *} >/dev/null 2>&1 || skip "needs Open MPI's mpirun (Debian: apt-get install openmpi-bin libopenmpi-dev)"
[ -x "$prog" ] || skip "needs Open MPI's mpicc to build $prog (Debian: apt-get install libopenmpi-dev)"
[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] ||
    skip "needs the Fashion-MNIST files (apt-get install dataset-fashion-mnist)"
if ! $mpirun -np 1 true > "$out/probe.txt" 2>&1; then
    skip "mpirun cannot start a process here: $(grep -v '^-*$' "$out/probe.txt" | head -n 1)"
fi

ok=1
for np in 1 2 4; do
    if [ $np = 1 ]; then check="--trace $out/np1.trace"; else check="--expect $out/np1.trace"; fi
    if ! $mpirun -np $np "$prog" $args $check > "$out/np$np.txt" 2>&1; then
        ok=0
        echo "FAIL ddp-invariance: mpirun -np $np $prog $args $check (output in $out/np$np.txt)"
        grep -E 'invariance|rank|error' "$out/np$np.txt" | head -n 5
    fi
done
if [ $ok = 1 ]; then
    echo "PASS ddp-invariance: mpirun -np 1, 2, 4: $(grep 'invariance' "$out/np4.txt")"
    echo "1 passed, 0 failed"
else
    echo "0 passed, 1 failed"
    exit 1
fi
