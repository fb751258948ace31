/* >>implementation: the rest of this file compiles only in the translation unit that
   defines TRAINOPT_IMPLEMENTATION (or TRAINOPT_STATIC) before including it. With
   TRAINOPT_DISPATCH the kernels from >>status to >>batchnorm are compiled once per
   variant (>>dispatch at the end of this file); the rest once. */
#if defined(TRAINOPT_IMPLEMENTATION) && !defined(TRAINOPT__IMPLEMENTED)
#define TRAINOPT__IMPLEMENTED 1
#define TRAINOPT__KERNEL_PASS 1

#include <stdarg.h> /* va_list, for trainopt_last_error's text */
#include <stdio.h>  /* snprintf, for trainopt_last_error's text (formatted only on the error path) */
#include <stdlib.h> /* strtod, for trainopt_schedule_parse; getenv, for TRAINOPT_MAX_BACKEND */
#include <string.h>

/* The storage class of trainopt_last_error's buffer: one per thread where the compiler
   has thread-local storage (C11 _Thread_local, C++11 thread_local, gcc and clang's
   __thread, MSVC's __declspec(thread)). Define it empty before including trainopt.h
   for one buffer shared by every thread (a compiler with none of these gets that). */
#ifndef TRAINOPT_THREAD_LOCAL
#if defined(__cplusplus) && __cplusplus >= 201103L
#define TRAINOPT_THREAD_LOCAL thread_local
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L && !defined(__STDC_NO_THREADS__)
#define TRAINOPT_THREAD_LOCAL _Thread_local
#elif defined(__GNUC__) || defined(__clang__)
#define TRAINOPT_THREAD_LOCAL __thread
#elif defined(_MSC_VER)
#define TRAINOPT_THREAD_LOCAL __declspec(thread)
#else
#define TRAINOPT_THREAD_LOCAL
#endif
#endif

/* Outputs (batch norm's y and dx, dropout's y) of at least this many bytes are
   written with streaming stores: they do not fit in cache with their inputs, so
   caching them only evicts data. Define it before including trainopt.h to change
   it (SIZE_MAX: never). */
#ifndef TRAINOPT_STREAM_BYTES
#define TRAINOPT_STREAM_BYTES ((size_t)16 << 20)
#endif

/* >>dispatch-setup: with TRAINOPT_DISPATCH (x86-64, gcc or clang) this first pass is
   the scalar variant, built with the unit's own flags; private names keep their
   spelling in it, public functions get the prefix trainopt__scalar_. */
#if defined(TRAINOPT_DISPATCH) && defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && \
    !defined(TRAINOPT_NO_SIMD) && !defined(TRAINOPT_SIMDE_NEON)
#define TRAINOPT__DISPATCHING 1
#define TRAINOPT__VARIANT_SCALAR 1
#define TRAINOPT__CAT_(a, b) a##b
#define TRAINOPT__CAT(a, b) TRAINOPT__CAT_(a, b)
#define TRAINOPT__PRIVATE(name) TRAINOPT__CAT(TRAINOPT__PRIVATE_PREFIX, name)
#define TRAINOPT__PUBLIC(name) TRAINOPT__CAT(TRAINOPT__PUBLIC_PREFIX, name)
#define TRAINOPT__PRIVATE_PREFIX
#define TRAINOPT__PUBLIC_PREFIX trainopt__scalar_
/* The intrinsics once, outside any target pragma and outside extern "C". */
#if defined(__GNUC__) && !defined(__clang__) && defined(__cplusplus)
#pragma GCC diagnostic push /* as in trainopt_simd.h: GCC bug 105593 */
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#else
#include <immintrin.h>
#endif
/* The variants' public functions are private to this unit; the wrappers are public. */
#define TRAINOPT__KERNEL_API static __attribute__((unused))
#else
#define TRAINOPT__KERNEL_API TRAINOPT_API
#endif

/* >>dispatch-names: tools/pack.sh writes the per-variant names here. */

#include "trainopt_simd.h"

#ifdef __cplusplus
extern "C" {
#endif
#endif /* TRAINOPT_IMPLEMENTATION: the setup above is read once */

/* The kernels: read once, or (TRAINOPT_DISPATCH) once more per vector variant. */
#if defined(TRAINOPT__KERNEL_PASS)
