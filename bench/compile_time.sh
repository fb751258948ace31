#!/bin/sh
# bench/compile_time.sh [TREE] - what the library costs to compile (FINDINGS.md, "Light
# drivers"): gcc -O2 -c of three files against TREE's trainopt.h (default: this checkout),
# median of 3, in CPU seconds (user+sys of gcc and cc1, steadier than wall time on a shared
# machine) and wall seconds, with the object's size (size(1)'s total) and the load average.
#   empty   TRAINOPT_STATIC, calls nothing        bncall  TRAINOPT_STATIC, calls
#   whole   TRAINOPT_IMPLEMENTATION (the library)          batchnorm_forward_train + _backward
# Flags: scalar (-DTRAINOPT_NO_SIMD, or none for whole), native (-march=native), avx2,
# avx512, dispatch (-DTRAINOPT_DISPATCH). One compile at a time.
set -eu
TREE=$(cd "${1:-$(dirname "$0")/..}" && pwd)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
printf '#define TRAINOPT_IMPLEMENTATION\n#include "trainopt.h"\n' > "$dir/whole.c"
printf '#define TRAINOPT_STATIC\n#include "trainopt.h"\nint nothing(void) { return 0; }\n' > "$dir/empty.c"
cat > "$dir/bncall.c" <<'C'
#define TRAINOPT_STATIC
#include "trainopt.h"
int bn_call(const float *x, float *y, float *dx, const float *dy, float *sm, float *si, float *rm, float *rv,
            float *dg, float *db) {
    trainopt_bn_config c = TRAINOPT_BN_DEFAULTS;
    trainopt_bn_shape s = {8, 16, 49, TRAINOPT_NCHW};
    int st = (int)trainopt_batchnorm_forward_train(&c, s, x, NULL, NULL, rm, rv, y, sm, si);
    return st + (int)trainopt_batchnorm_backward(&c, s, x, dy, NULL, sm, si, y, dx, dg, db);
}
C
t() { # label file flags...
    label=$1 file=$2
    shift 2
    cpus="" walls=""
    for i in 1 2 3; do
        /usr/bin/time -f "%U %S %e" -o "$dir/time" gcc -O2 -c -I"$TREE" "$@" "$dir/$file" -o "$dir/out.o"
        cpus="$cpus $(awk '{print $1 + $2}' "$dir/time")"
        walls="$walls $(awk '{print $3}' "$dir/time")"
    done
    printf '%-16s cpu %6s s  wall %6s s  size %7s  load %s\n' "$label" \
        "$(echo $cpus | tr ' ' '\n' | sort -n | sed -n 2p)" "$(echo $walls | tr ' ' '\n' | sort -n | sed -n 2p)" \
        "$(size "$dir/out.o" | awk 'NR == 2 {print $4}')" "$(cut -d' ' -f1-3 /proc/loadavg)"
}
t empty-scalar empty.c -DTRAINOPT_NO_SIMD
t empty-native empty.c -march=native
t empty-dispatch empty.c -DTRAINOPT_DISPATCH
t bncall-scalar bncall.c -DTRAINOPT_NO_SIMD
t bncall-native bncall.c -march=native
t bncall-dispatch bncall.c -DTRAINOPT_DISPATCH
t whole-scalar whole.c
t whole-avx2 whole.c -mavx2 -mfma
t whole-avx512 whole.c -mavx512f -mavx2 -mfma
t whole-dispatch whole.c -DTRAINOPT_DISPATCH
