/* tests/lib.c - the library itself, compiled once per backend per test leg
   (build/<leg>/lib.<backend>.o) with -DTRAINOPT_SYMBOL_PREFIX=to_<backend>_, so
   several backends' kernels live in one runner. The suites are compiled for each
   backend with the same prefix and declarations only, and link to this copy. */
#define TRAINOPT_IMPLEMENTATION
#define TRAINOPT_POOL /* trainopt_pool, as libtrainopt has it (src/lib.c) */
#include "trainopt.h"
