/* bench/base_families.c - placeholder */
#include "bench_config.h"
typedef int tob_placeholder_base_families;
