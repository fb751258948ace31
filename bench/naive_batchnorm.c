/* bench/naive_batchnorm.c - placeholder */
#include "bench_config.h"
typedef int tob_placeholder_naive_batchnorm;
