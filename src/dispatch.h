#endif /* TRAINOPT__KERNEL_PASS: the kernels */


/* >>dispatch: runtime dispatch, opt-in with #define TRAINOPT_DISPATCH (see the manual).
   The kernels above were compiled as the scalar variant; here they are compiled again
   under a target pragma (not global -m flags) as the avx2 and avx512 variants, each pass
   renaming every name it defines with the variant's prefix (>>dispatch-names:
   trainopt__x becomes trainopt__avx2_trainopt__x, trainopt_x trainopt__avx2_trainopt_x).
   Each public function then becomes a wrapper calling, through a pointer, the variant
   chosen at the first call. Public types and the double-precision code are compiled once. */
#if defined(TRAINOPT__KERNEL_PASS) && !defined(TRAINOPT__VARIANT_PASS)
#undef TRAINOPT__KERNEL_PASS
#if defined(TRAINOPT__DISPATCHING)
#define TRAINOPT__TYPES_DEFINED 1
#define TRAINOPT__VARIANT_PASS 1
#define TRAINOPT__KERNEL_PASS 1

/* The avx2 variant. */
#undef TRAINOPT_SIMD_H
#undef TRAINOPT_SIMD_NAME
#undef TRAINOPT_SIMD_LANES
#undef TRAINOPT__BACKEND_SCALAR
#undef TRAINOPT__VARIANT_SCALAR
#undef TRAINOPT__PRIVATE_PREFIX
#undef TRAINOPT__PUBLIC_PREFIX
#define TRAINOPT__VARIANT_AVX2 1
#define TRAINOPT__PRIVATE_PREFIX trainopt__avx2_
#define TRAINOPT__PUBLIC_PREFIX trainopt__avx2_
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif
#include "trainopt_simd.h"
#include "trainopt.h"
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#undef TRAINOPT_SIMD_H
#undef TRAINOPT_SIMD_NAME
#undef TRAINOPT_SIMD_LANES
#undef TRAINOPT__BACKEND_AVX2
#undef TRAINOPT__VARIANT_AVX2
#undef TRAINOPT__PRIVATE_PREFIX
#undef TRAINOPT__PUBLIC_PREFIX

/* The avx512 variant (TRAINOPT_NO_AVX512 leaves it out). */
#if !defined(TRAINOPT_NO_AVX512)
#define TRAINOPT__VARIANT_AVX512 1
#define TRAINOPT__PRIVATE_PREFIX trainopt__avx512_
#define TRAINOPT__PUBLIC_PREFIX trainopt__avx512_
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx2,fma")
#endif
#include "trainopt_simd.h"
#include "trainopt.h"
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#undef TRAINOPT_SIMD_H
#undef TRAINOPT_SIMD_NAME
#undef TRAINOPT_SIMD_LANES
#undef TRAINOPT__BACKEND_AVX512
#undef TRAINOPT__VARIANT_AVX512
#undef TRAINOPT__PRIVATE_PREFIX
#undef TRAINOPT__PUBLIC_PREFIX
#endif

/* From here on, and in the user's code, the names mean what they say: trainopt__x and
   TRAINOPT_SIMD_NAME/LANES are the scalar layer, trainopt_x the dispatching wrapper. */
#undef TRAINOPT__VARIANT_PASS
#undef TRAINOPT__KERNEL_PASS
#define TRAINOPT_SIMD_H
#define TRAINOPT_SIMD_NAME "scalar"
#define TRAINOPT_SIMD_LANES 1
#define TRAINOPT__BACKEND_SCALAR 1
#define TRAINOPT__PRIVATE_PREFIX
#define TRAINOPT__PUBLIC_PREFIX

/* The best variant this CPU runs (cpuid, including the OS's support for the registers),
   capped by the environment variable TRAINOPT_MAX_BACKEND=scalar|avx2|avx512:
   0 scalar, 1 avx2, 2 avx512. */
static int trainopt__dispatch_detect(void) {
    const char *cap = getenv("TRAINOPT_MAX_BACKEND");
    int level = 2;
    if (cap != NULL && strcmp(cap, "scalar") == 0) level = 0;
    if (cap != NULL && strcmp(cap, "avx2") == 0) level = 1;
#if defined(TRAINOPT_NO_AVX512)
    if (level > 1) level = 1;
#endif
    __builtin_cpu_init();
    if (!(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))) return 0;
    if (level == 2 && !__builtin_cpu_supports("avx512f")) return 1;
    return level;
}

/* Decided at the first call of any kernel, then kept (per translation unit; threads racing
   on the first call store the same value). */
static inline int trainopt__dispatch_level(void) {
    static int level_plus_one;
    int v = __atomic_load_n(&level_plus_one, __ATOMIC_RELAXED);
    if (v == 0) {
        v = trainopt__dispatch_detect() + 1;
        __atomic_store_n(&level_plus_one, v, __ATOMIC_RELAXED);
    }
    return v - 1;
}

#if defined(TRAINOPT_NO_AVX512)
#define TRAINOPT__AVX512_VARIANT(name) trainopt__avx2_trainopt_##name
#else
#define TRAINOPT__AVX512_VARIANT(name) trainopt__avx512_trainopt_##name
#endif
/* Each wrapper keeps its own pointer to the chosen variant: no table to fill, and no
   lock (threads racing on the first call store the same pointer). */
#define TRAINOPT__WRAPPER(ret, name, params, args)                                               \
    TRAINOPT_API ret trainopt_##name params {                                                    \
        typedef ret(*variant_fn) params;                                                          \
        static variant_fn chosen;                                                                 \
        variant_fn fn = __atomic_load_n(&chosen, __ATOMIC_RELAXED);                               \
        if (fn == NULL) {                                                                         \
            const int level = trainopt__dispatch_level();                                         \
            fn = level == 2 ? TRAINOPT__AVX512_VARIANT(name)                                      \
                 : level == 1 ? trainopt__avx2_trainopt_##name : trainopt__scalar_trainopt_##name; \
            __atomic_store_n(&chosen, fn, __ATOMIC_RELAXED);                                      \
        }                                                                                         \
        return fn args;                                                                           \
    }
/* Which families have vector code (a wrapper over three variants) and which were
   compiled once, as themselves. A family missing here is a compile error. */
#define TRAINOPT__DISPATCH_text(ret, name, params, args)
#define TRAINOPT__DISPATCH_schedule(ret, name, params, args)
#define TRAINOPT__DISPATCH_backend TRAINOPT__WRAPPER
#define TRAINOPT__DISPATCH_optim TRAINOPT__WRAPPER
#define TRAINOPT__DISPATCH_regularize TRAINOPT__WRAPPER
#define TRAINOPT__DISPATCH_gradutil TRAINOPT__WRAPPER
#define TRAINOPT__DISPATCH_loss TRAINOPT__WRAPPER
#define TRAINOPT__DISPATCH_random TRAINOPT__WRAPPER
#define TRAINOPT__DISPATCH_convert TRAINOPT__WRAPPER
#define TRAINOPT__DISPATCH_init TRAINOPT__WRAPPER
#define TRAINOPT__DISPATCH_batchnorm TRAINOPT__WRAPPER
#define TRAINOPT__DISPATCH_norms TRAINOPT__WRAPPER
#define TRAINOPT__DISPATCH(family, ret, name, params, args) TRAINOPT__DISPATCH_##family(ret, name, params, args)
TRAINOPT_KERNELS(TRAINOPT__DISPATCH)
#undef TRAINOPT__DISPATCH
#undef TRAINOPT__WRAPPER
#undef TRAINOPT__AVX512_VARIANT

#endif /* TRAINOPT__DISPATCHING */

#ifdef __cplusplus
}
#endif
#endif /* TRAINOPT__KERNEL_PASS, first time */
