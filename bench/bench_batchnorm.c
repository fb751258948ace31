/* bench/bench_batchnorm.c - placeholder */
#include "bench_config.h"
typedef int tob_placeholder_bench_batchnorm;
