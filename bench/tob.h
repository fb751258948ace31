/* bench/tob.h - the C face of the benchmark harness.

   Google Benchmark is C++; trainopt is C. shim.cc wraps the few parts of
   benchmark::State a benchmark needs behind this C API, so that every
   benchmark body (bench_*.c, naive_*.c, roofline.c) is plain C, compiled by
   the C compiler with exactly the flags under study. pool.c keeps the large
   arrays every benchmark shares, so a 16M-element benchmark does not pay
   for fresh pages (about 10 us per 4 KiB page on a VM) inside its timing.

   A benchmark body:
       static void bm(tob_state *s, const void *arg) {
           size_t n = (size_t)tob_arg(s);
           float **a = tob_arrays(s, "adam", 4, n);
           while (tob_loop(s)) { kernel(n, a[0], a[1], a[2], a[3]); tob_clobber(); }
           tob_rates(s, n, 28.0 * n);
       }
       tob_register("adam/avx512", bm, NULL, tob_sizes_optim, TOB_OPTS_NONE); */
#ifndef TOB_H
#define TOB_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tob_state tob_state; /* a benchmark::State */
typedef void (*tob_fn)(tob_state *s, const void *arg);

/* ---- inside a benchmark ----------------------------------------------------- */
int tob_loop(tob_state *s);             /* while (tob_loop(s)) { ...one iteration... } */
int64_t tob_arg(const tob_state *s);    /* the size argument (elements) */
int tob_threads(const tob_state *s);    /* second argument when registered with threads, else 1 */
void tob_pause(tob_state *s);           /* stop / restart the timer around setup work */
void tob_resume(tob_state *s);
/* After the loop: elements/s (items_per_second) and bytes/s, given the
   elements and bytes one iteration processes (and bytes_per_elem). */
void tob_rates(tob_state *s, double elements, double bytes);
void tob_counter(tob_state *s, const char *name, double value); /* a plain reported value */
void tob_error(tob_state *s, const char *msg);                  /* marks the run failed */

/* Keep the compiler from dropping or reordering work around the timed loop. */
#if defined(__GNUC__) || defined(__clang__)
static inline void tob_escape(const void *p) { __asm__ volatile("" : : "g"(p) : "memory"); }
static inline void tob_clobber(void) { __asm__ volatile("" : : : "memory"); }
#else
void tob_escape(const void *p);
void tob_clobber(void);
#endif

/* ---- registration ------------------------------------------------------------- */
enum { TOB_OPTS_NONE = 0, TOB_REAL_TIME = 1 /* wall time: threaded benchmarks */ };
/* Registers name/<size> for every size in the zero-terminated list `sizes`. */
void tob_register(const char *name, tob_fn fn, const void *arg, const int64_t *sizes, unsigned opts);
/* The same for each size crossed with each thread count in the zero-terminated
   `threads` (name/<size>/<threads>/real_time); the body reads tob_threads(). */
void tob_register_threads(const char *name, tob_fn fn, const void *arg, const int64_t *sizes, const int64_t *threads);
void tob_context(const char *key, const char *value); /* goes into the JSON context */
int tob_main(int argc, char **argv);                   /* initializes and runs what was asked */

/* The size sets (zero-terminated), from cache-resident to DRAM. */
extern const int64_t tob_sizes_elementwise[]; /* 4K .. 16M elements */

/* ---- shared arrays (pool.c) ----------------------------------------------------- */
/* k arrays of at least n floats, 64-byte aligned and staggered so that equal
   indices do not alias in the low 12 address bits. The contents are refilled
   (tob_fill) whenever `kind` differs from the last caller's, so a benchmark
   starts from sane values (no NaN, no denormals) but repeated runs of the same
   kind skip the refill. Returns NULL (after tob_error) when memory runs out. */
float **tob_arrays(tob_state *s, const char *kind, int k, size_t n);
/* Deterministic values: array j, element i. Gradient-like arrays (j == 1) are
   +-[0.01, 1), the others positive in [1e-3, 1). */
void tob_fill(float *a, int j, size_t n);
/* Raw bytes (for masks and labels) kept beside the float arrays. */
void *tob_bytes(tob_state *s, int slot, size_t bytes);

#ifdef __cplusplus
}
#endif

#endif /* TOB_H */
