/* tests/harness.h - the small test harness shared by every suite.

   A suite file is compiled once per backend with -DTO_BACKEND_ID=<backend>
   (scalar, avx2, avx512, neon); TO_NAME(x) gives each copy its own symbols, and
   -DTRAINOPT_SYMBOL_PREFIX=to_<backend>_ links its calls of trainopt_* to that
   backend's copy of the library, compiled once per build (tests/lib.c; internals
   the suites test directly: tests/whitebox.h). A suite
   file defines two entry points:
     void TO_NAME(<suite>_tests)(to_ctx *t);    runs its tests with to_run()
     void TO_NAME(<suite>_battery)(to_sink *s); emits outputs whose bits must be
                                                the same on every backend
   and is listed once in tests/suites.h. Backend-independent suites (pure double
   code such as the schedules) define only <suite>_tests and are compiled once. */
#ifndef TO_HARNESS_H
#define TO_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define TO_CAT2(a, b) a##_##b
#define TO_CAT(a, b) TO_CAT2(a, b)
#ifdef TO_BACKEND_ID
#define TO_NAME(x) TO_CAT(x, TO_BACKEND_ID)
#endif

typedef struct to_ctx {
    const char *backend;    /* name of the backend under test ("once" for backend-independent suites) */
    const char *suite;
    const char *test;       /* the test now running */
    const char *golden_dir; /* directory holding the committed golden data */
    int failures;           /* failures reported in the current test */
    int passed, failed, skipped;
    int small;              /* the runner's --sample small: the slow legs' smaller sample of
                               repetitions (tests/run.sh); a suite's tests may run fewer
                               sizes or hooks per case, never fewer kinds of case, and its
                               battery never reads it (the hashes are every leg's) */
} to_ctx;

/* Runs one test and counts it as passed or failed. */
void to_run(to_ctx *t, const char *name, void (*fn)(to_ctx *));
/* Counts a test that could not run, printing why on its own line. */
void to_skip(to_ctx *t, const char *name, const char *why);
/* Marks the current test failed; prints the message (the first 8 per test). */
void to_fail(to_ctx *t, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
#define TO_CHECK(t, cond, ...) \
    do {                       \
        if (!(cond)) to_fail((t), __VA_ARGS__); \
    } while (0)
/* Checks a status code; `what` names the call. Returns 1 when equal. */
int to_expect_status(to_ctx *t, int got, int want, const char *what);

/* Bitwise equality (so -0 counts), except that any NaN equals any NaN: NaN sign and
   payload differ between x86 and ARM (see to_emit_floats). Reports index, n and both
   values in hex. */
int to_bits_equal(to_ctx *t, const char *what, const float *got, const float *want, size_t n);
/* |got - want| <= tol for finite values; NaN must match NaN and Inf the same Inf. */
int to_close(to_ctx *t, const char *what, const float *got, const float *want, size_t n, double tol);
/* Largest |x| over finite entries (at least tiny), for tolerances relative to an array's scale. */
double to_max_abs(const float *x, size_t n);

/* A test buffer: n floats starting `misalign` floats past a 64-byte boundary,
   followed by canaries. Contents start as NaN, so a kernel that forgets to write
   an element is caught. */
typedef struct {
    float *p;
    size_t n;
    void *block;
} to_buf;
to_buf to_buf_new(size_t n, size_t misalign);
void to_buf_free(to_buf *b);
/* Checks the canaries after p[n-1] are untouched. */
int to_buf_canaries_ok(to_ctx *t, const to_buf *b, const char *what);
void to_fill_nan(float *x, size_t n);
void to_copy(float *dst, const float *src, size_t n);

/* An array of n floats flush against an inaccessible (PROT_NONE) page: after its
   last element when at_end, else before its first. A kernel that touches one byte
   outside [0, n) crashes the runner, which run.sh counts as a failure. */
typedef struct {
    float *p;
    size_t n;
    void *map;
    size_t map_bytes;
} to_guard;
to_guard to_guard_new(size_t n, int at_end);
void to_guard_free(to_guard *g);

/* Deterministic generator for test data (splitmix64). */
uint64_t to_rand_u64(uint64_t *state);
float to_rand_uniform(uint64_t *state, float lo, float hi);
float to_rand_normal(uint64_t *state); /* libm log/cos: not bit-stable across platforms, keep out of batteries */
void to_rand_fill(uint64_t *state, float *x, size_t n, float lo, float hi);

/* Whole file into memory (malloc'd, caller frees), path relative to golden_dir.
   Returns NULL and fails the test when missing. */
void *to_read_golden(to_ctx *t, const char *name, size_t *len);

/* The battery sink: every emitted byte string is hashed (FNV-1a 64) and kept,
   so the runner can compare backends and point at the first differing element. */
typedef struct to_sink to_sink;
void to_emit(to_sink *s, const char *name, const void *data, size_t bytes);
void to_emit_status(to_sink *s, const char *name, int status);
/* Float arrays: every NaN is emitted as the one quiet NaN 0x7fc00000, all other
   bits exactly. x86 and ARM generate NaNs of different sign (0xffc00000 versus
   0x7fc00000), and which NaN operand propagates differs, so NaN payloads are
   not part of the bit-identity promise; NaN-ness, -0 and every other bit are. */
void to_emit_floats(to_sink *s, const char *name, const float *x, size_t n);

/* Float bit helpers. */
uint32_t to_bits(float x);
float to_from_bits(uint32_t u);

#endif
