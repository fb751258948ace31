#!/bin/sh
# probe.sh CC TOPDIR - prints the TOB_HAVE_<FAMILY> defines for bench_config.h:
# a family's benchmarks are built once every function they call compiles
# against trainopt.h (its fragment wip/<family>.h may still be a placeholder).
cc=$1
top=$2
have() { # have FAMILY FUNCTION...
    fam=$1
    shift
    src='#include "trainopt.h"
int tob_probe(void);
int tob_probe(void) { int k = 0;'
    for f in "$@"; do src="$src k += (int)sizeof(&$f);"; done
    src="$src return k; }"
    if printf '%s\n' "$src" | $cc -x c -std=c99 -fsyntax-only -I"$top" - >/dev/null 2>&1; then
        echo "#define TOB_HAVE_$fam 1"
        families="$families $(echo "$fam" | tr 'A-Z' 'a-z')"
    fi
}
families="optim"
have STEP_EX trainopt_adamw_step_ex
have BATCHNORM trainopt_batchnorm_forward_train trainopt_batchnorm_forward_infer trainopt_batchnorm_backward
have DROPOUT trainopt_dropout_forward trainopt_dropout_backward
have LOSSES trainopt_softmax_cross_entropy trainopt_mse_loss trainopt_clip_grad_norm trainopt_clip_grad_value \
    trainopt_grad_unscale
echo "#define TOB_FAMILIES \"$families\""
