/* bench/roofline.c - kernels that move exactly a kernel's bytes with trivial
   math: the memory roofline a kernel is measured against (STREAM itself is
   in stream.c).

   tob_rwR_W reads R arrays and writes W of them back (every written array is
   also read, as an optimizer's state is): the traffic of an in-place kernel
   with R inputs and W in-place outputs; a1 plays the gradient (read only).
   They are written with trainopt's vector layer and compiled -march=native,
   so they use the widest vectors the machine has and load each array exactly
   once per element (gcc -O3 turns the plain C loop into one that re-reads a1
   for every output, which in cache makes the "roofline" slower than the
   kernels it bounds). Tails use the same partial vectors as the kernels. */
#include <stddef.h>

#include "bench.h"
#include "trainopt_simd.h"

#define LANES TRAINOPT_SIMD_LANES

/* The library's loop shape: whole vectors, then one partial vector. */
#define TOB_ROOF_LOOP(body)                          \
    size_t i = 0;                                    \
    for (; i + LANES <= n; i += LANES) body(i, LANES) \
    if (i < n) body(i, n - i)
#define TOB_ADD_X(a, i, k) trainopt__v_store_n(a + i, trainopt__v_add(trainopt__v_load_n(a + i, k), x), k)

#define TOB_BODY3_2(i, k)                                   \
    {                                                       \
        trainopt__vf x = trainopt__v_load_n(a1 + (i), (k)); \
        TOB_ADD_X(a0, i, k);                                \
        TOB_ADD_X(a2, i, k);                                \
    }
#define TOB_BODY4_3(i, k)                                   \
    {                                                       \
        trainopt__vf x = trainopt__v_load_n(a1 + (i), (k)); \
        TOB_ADD_X(a0, i, k);                                \
        TOB_ADD_X(a2, i, k);                                \
        TOB_ADD_X(a3, i, k);                                \
    }
#define TOB_BODY5_4(i, k)                                   \
    {                                                       \
        trainopt__vf x = trainopt__v_load_n(a1 + (i), (k)); \
        TOB_ADD_X(a0, i, k);                                \
        TOB_ADD_X(a2, i, k);                                \
        TOB_ADD_X(a3, i, k);                                \
        TOB_ADD_X(a4, i, k);                                \
    }

void tob_rw3_2(size_t n, float *a0, const float *a1, float *a2) { TOB_ROOF_LOOP(TOB_BODY3_2); }
void tob_rw4_3(size_t n, float *a0, const float *a1, float *a2, float *a3) { TOB_ROOF_LOOP(TOB_BODY4_3); }
void tob_rw5_4(size_t n, float *a0, const float *a1, float *a2, float *a3, float *a4) { TOB_ROOF_LOOP(TOB_BODY5_4); }

