#!/bin/sh
# bench/ddp.sh PROGRAM ["MPIRUN FLAGS"] - what the canonical gradient sum of
# examples/ddp_fashion_mnist.c costs: time per step at np 1, 2 and 4 with each --reduce
# (tree and halving: the fixed tree by an all-to-all or by recursive halving, the same bits at
# any np; allreduce and reduce-scatter: Open MPI's own order), the medians of REPEATS runs (default 3), the modes interleaved; and whether each
# run kept the np 1 run's bits. Run it under the benchmark lock:
#   flock /work/bench.lock sh bench/ddp.sh build/examples/ddp_fashion_mnist
# np 1 runs pinned to core 1 (taskset); np 2 and 4 share both cores (--bind-to none). Waiting
# ranks yield the core (mpi_yield_when_idle): Open MPI's default busy-polling made np 2 steps
# 3 to 10 times slower on this shared 2-core machine.
prog=$1
mpirun=${2:-mpirun --oversubscribe --mca mpi_yield_when_idle 1 --allow-run-as-root}
repeats=${REPEATS:-3}
args="--train 8192 --test 500 --epochs 1"
out=$(dirname "$prog")/ddp-bench
mkdir -p "$out"
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "load before: $(uptime)"
$mpirun --bind-to none -np 1 "$prog" $args --trace "$out/np1.trace" > /dev/null 2>&1 || { echo "the np 1 reference run failed"; exit 1; }
for i in $(seq "$repeats"); do
    for np in 1 2 4; do
        for mode in tree halving allreduce reduce-scatter; do
            pin=; [ $np = 1 ] && pin="taskset -c 1"
            $pin $mpirun --bind-to none -np $np "$prog" $args --reduce $mode --expect "$out/np1.trace" \
                > "$out/np$np-$mode-$i.txt" 2>&1
        done
    done
done
echo "load after: $(uptime)"
printf '%-4s %-15s %10s %10s %10s %10s %s\n' np reduce "ms/step" "fwd-bwd" "reduce" "in MPI" "bits of np 1"
for np in 1 2 4; do
    for mode in tree halving allreduce reduce-scatter; do
        files=$(ls "$out"/np$np-$mode-*.txt)
        step=$(cat $files | sed -n 's/.* steps, \([0-9.]*\) ms per step, of which \([0-9.]*\) ms in MPI.*/\1/p' | median)
        mpi=$(cat $files | sed -n 's/.* steps, \([0-9.]*\) ms per step, of which \([0-9.]*\) ms in MPI.*/\2/p' | median)
        fb=$(cat $files | sed -n 's/.*forward-backward \([0-9.]*\),.*/\1/p' | median)
        red=$(cat $files | sed -n 's/.*gradient reduce \([0-9.]*\),.*/\1/p' | median)
        same=$(cat $files | grep -c 'the same bits as')
        printf '%-4s %-15s %10s %10s %10s %10s %s\n' $np $mode "$step" "$fb" "$red" "$mpi" "$same of $repeats runs"
    done
done

# The reduction alone, many times (--bench-reduce: no training; the methods interleaved, each
# sample the slowest rank's time), which separates its cost from the load's noise.
for np in 2 4; do
    for how in tree halving; do
        $mpirun --bind-to none -np $np "$prog" --train 128 --test 10 --reduce $how --bench-reduce ${REDUCE_REPEATS:-200}
    done
done
echo "load at the end: $(uptime)"
