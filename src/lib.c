/* src/lib.c - libtrainopt's one implementation unit (make lib; not part of the packed
   header). The library is built with -fvisibility=hidden, and every public function
   gets the default visibility through TRAINOPT_API, so the shared library exports
   exactly the functions of the kernel list (tests/install.sh compares them) and
   nothing private. On x86-64 the Makefile adds TRAINOPT_DISPATCH (baseline x86-64,
   scalar, AVX2 and AVX-512 variants chosen at the first call); on AArch64 the
   kernels use NEON. Other macros (TRAINOPT_NO_AVX512, TRAINOPT_SYMBOL_PREFIX, ...)
   come from the command line: make lib LIB_CPPFLAGS=... */
#if !defined(TRAINOPT_API) && (defined(__GNUC__) || defined(__clang__))
#define TRAINOPT_API extern __attribute__((visibility("default")))
#endif
#define TRAINOPT_IMPLEMENTATION
#define TRAINOPT_POOL /* trainopt_pool: a parallel-for for callers without one (src/pool.h) */
#include "trainopt.h"
