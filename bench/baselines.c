/* bench/baselines.c - the benchmark bodies of everything that is not
   trainopt: the naive loops (one table per compiler-flag variant), the
   same-traffic kernels, STREAM, and their OpenMP versions for the thread
   scaling figure. The bodies call into other translation units, so what is
   measured is the code those were compiled to. */
#include <stddef.h>

#include "bench.h"
#include "bench_config.h"

extern const tob_naive_optim tob_naive_optim_O2, tob_naive_optim_O3_native, tob_naive_optim_O3_native_nomerrno,
    tob_naive_optim_Ofast_native, tob_naive_optim_O3_haswell, tob_naive_optim_O3_haswell_nomerrno,
    tob_naive_optim_Ofast_haswell;

/* ---- naive optimizer loops ---------------------------------------------------- */
#define TOB_NAIVE_BODY(kernel, kind, k, bytes, call)        \
    static void bm_naive_##kernel(tob_state *s, const void *arg) { \
        const tob_naive_optim *f = (const tob_naive_optim *)arg;   \
        size_t n = (size_t)tob_arg(s);                        \
        float **a = tob_arrays(s, kind, k, n);                \
        if (!a) return;                                       \
        while (tob_loop(s)) {                                 \
            call;                                             \
            tob_clobber();                                    \
        }                                                     \
        tob_rates(s, (double)n, (bytes) * (double)n);         \
    }

TOB_NAIVE_BODY(sgd, "sgd", 3, TOB_BYTES_SGD, f->sgd(n, a[0], a[1], a[2], (float)TOB_SGD_LR, (float)TOB_SGD_MOMENTUM))
TOB_NAIVE_BODY(adagrad, "adagrad", 3, TOB_BYTES_ADAGRAD,
               f->adagrad(n, a[0], a[1], a[2], (float)TOB_ADAGRAD_LR, (float)TOB_ADAGRAD_EPS))
TOB_NAIVE_BODY(rmsprop, "rmsprop", 3, TOB_BYTES_RMSPROP,
               f->rmsprop(n, a[0], a[1], a[2], (float)TOB_RMSPROP_LR, (float)TOB_RMSPROP_ALPHA,
                          (float)TOB_RMSPROP_EPS))
TOB_NAIVE_BODY(adam, "adam", 4, TOB_BYTES_ADAM,
               f->adam(n, a[0], a[1], a[2], a[3], (float)TOB_ADAM_LR, (float)TOB_ADAM_BETA1, (float)TOB_ADAM_BETA2,
                       (float)TOB_ADAM_EPS, TOB_STEP))
TOB_NAIVE_BODY(adamw, "adam", 4, TOB_BYTES_ADAM,
               f->adamw(n, a[0], a[1], a[2], a[3], (float)TOB_ADAM_LR, (float)TOB_ADAM_BETA1, (float)TOB_ADAM_BETA2,
                        (float)TOB_ADAM_EPS, (float)TOB_ADAMW_WD, TOB_STEP))
TOB_NAIVE_BODY(amsgrad, "amsgrad", 5, TOB_BYTES_AMSGRAD,
               f->amsgrad(n, a[0], a[1], a[2], a[3], a[4], (float)TOB_ADAM_LR, (float)TOB_ADAM_BETA1,
                          (float)TOB_ADAM_BETA2, (float)TOB_ADAM_EPS, TOB_STEP))

/* Issue 16 (NAdam's mu product: the caller's, any value in [0, 1) costs the same). */
TOB_NAIVE_BODY(nadam, "nadam", 4, TOB_BYTES_ADAM,
               f->nadam(n, a[0], a[1], a[2], a[3], (float)TOB_NADAM_LR, (float)TOB_ADAM_BETA1, (float)TOB_ADAM_BETA2,
                        (float)TOB_ADAM_EPS, (float)TOB_NADAM_MOMENTUM_DECAY, 0.5, TOB_STEP))
TOB_NAIVE_BODY(radam, "radam", 4, TOB_BYTES_ADAM,
               f->radam(n, a[0], a[1], a[2], a[3], (float)TOB_RADAM_LR, (float)TOB_ADAM_BETA1, (float)TOB_ADAM_BETA2,
                        (float)TOB_ADAM_EPS, TOB_STEP))
TOB_NAIVE_BODY(adamax, "adamax", 4, TOB_BYTES_ADAM,
               f->adamax(n, a[0], a[1], a[2], a[3], (float)TOB_ADAMAX_LR, (float)TOB_ADAM_BETA1, (float)TOB_ADAM_BETA2,
                         (float)TOB_ADAM_EPS, TOB_STEP))
TOB_NAIVE_BODY(adadelta, "adadelta", 4, TOB_BYTES_ADAM,
               f->adadelta(n, a[0], a[1], a[2], a[3], (float)TOB_ADADELTA_LR, (float)TOB_ADADELTA_RHO,
                           (float)TOB_ADADELTA_EPS))
TOB_NAIVE_BODY(lion, "lion", 3, TOB_BYTES_LION,
               f->lion(n, a[0], a[1], a[2], (float)TOB_LION_LR, (float)TOB_LION_BETA1, (float)TOB_LION_BETA2,
                       (float)TOB_LION_WD))

/* ---- same-traffic kernels ----------------------------------------------------------- */
static void bm_rw3_2(tob_state *s, const void *arg) {
    size_t n = (size_t)tob_arg(s);
    float **a = tob_arrays(s, "roofline", 3, n);
    (void)arg;
    if (!a) return;
    while (tob_loop(s)) {
        tob_rw3_2(n, a[0], a[1], a[2]);
        tob_clobber();
    }
    tob_rates(s, (double)n, 20.0 * (double)n);
}

static void bm_rw4_3(tob_state *s, const void *arg) {
    size_t n = (size_t)tob_arg(s);
    float **a = tob_arrays(s, "roofline", 4, n);
    (void)arg;
    if (!a) return;
    while (tob_loop(s)) {
        tob_rw4_3(n, a[0], a[1], a[2], a[3]);
        tob_clobber();
    }
    tob_rates(s, (double)n, 28.0 * (double)n);
}

static void bm_rw5_4(tob_state *s, const void *arg) {
    size_t n = (size_t)tob_arg(s);
    float **a = tob_arrays(s, "roofline", 5, n);
    (void)arg;
    if (!a) return;
    while (tob_loop(s)) {
        tob_rw5_4(n, a[0], a[1], a[2], a[3], a[4]);
        tob_clobber();
    }
    tob_rates(s, (double)n, 36.0 * (double)n);
}

/* ---- STREAM ------------------------------------------------------------------------- */
static void bm_copy(tob_state *s, const void *arg) {
    size_t n = (size_t)tob_arg(s);
    float **a = tob_arrays(s, "stream", 3, n);
    (void)arg;
    if (!a) return;
    while (tob_loop(s)) {
        tob_stream_copy(n, a[0], a[2]);
        tob_clobber();
    }
    tob_rates(s, (double)n, 8.0 * (double)n);
}

static void bm_triad(tob_state *s, const void *arg) {
    size_t n = (size_t)tob_arg(s);
    float **a = tob_arrays(s, "stream", 3, n);
    (void)arg;
    if (!a) return;
    while (tob_loop(s)) {
        tob_stream_triad(n, a[0], a[2], a[1], 0.5f);
        tob_clobber();
    }
    tob_rates(s, (double)n, 12.0 * (double)n);
}

/* ---- the same, split over OpenMP threads (thread scaling) ------------------------------ */
#ifdef _OPENMP
#include <omp.h>
#define TOB_SPLIT(t, n, body)                                                    \
    _Pragma("omp parallel num_threads(t)") {                                     \
        size_t id_ = (size_t)omp_get_thread_num(), nt_ = (size_t)omp_get_num_threads(); \
        size_t lo = (n) * id_ / nt_, len = (n) * (id_ + 1) / nt_ - lo;           \
        body;                                                                    \
    }

static void bm_mt_triad(tob_state *s, const void *arg) {
    size_t n = (size_t)tob_arg(s);
    int t = tob_threads(s);
    float **a = tob_arrays(s, "stream", 3, n);
    (void)arg;
    if (!a) return;
    while (tob_loop(s)) {
        TOB_SPLIT(t, n, tob_stream_triad(len, a[0] + lo, a[2] + lo, a[1] + lo, 0.5f))
        tob_clobber();
    }
    tob_rates(s, (double)n, 12.0 * (double)n);
}

static void bm_mt_copy(tob_state *s, const void *arg) {
    size_t n = (size_t)tob_arg(s);
    int t = tob_threads(s);
    float **a = tob_arrays(s, "stream", 3, n);
    (void)arg;
    if (!a) return;
    while (tob_loop(s)) {
        TOB_SPLIT(t, n, tob_stream_copy(len, a[0] + lo, a[2] + lo))
        tob_clobber();
    }
    tob_rates(s, (double)n, 8.0 * (double)n);
}

static void bm_mt_rw4_3(tob_state *s, const void *arg) {
    size_t n = (size_t)tob_arg(s);
    int t = tob_threads(s);
    float **a = tob_arrays(s, "roofline", 4, n);
    (void)arg;
    if (!a) return;
    while (tob_loop(s)) {
        TOB_SPLIT(t, n, tob_rw4_3(len, a[0] + lo, a[1] + lo, a[2] + lo, a[3] + lo))
        tob_clobber();
    }
    tob_rates(s, (double)n, 28.0 * (double)n);
}
#endif

/* ---- the table ------------------------------------------------------------------------- */
#define TOB_NAIVE_ENTRIES(kernel)                                                                                 \
    {#kernel, "naive-O2", bm_naive_##kernel, &tob_naive_optim_O2, tob_sizes_elementwise, 0},                      \
    {#kernel, "naive-O3-native", bm_naive_##kernel, &tob_naive_optim_O3_native, tob_sizes_elementwise, 0},        \
    {#kernel, "naive-O3-native-nomerrno", bm_naive_##kernel, &tob_naive_optim_O3_native_nomerrno,                 \
     tob_sizes_elementwise, 0},                                                                                   \
    {#kernel, "naive-Ofast-native", bm_naive_##kernel, &tob_naive_optim_Ofast_native, tob_sizes_elementwise, 0},  \
    {#kernel, "naive-O3-haswell", bm_naive_##kernel, &tob_naive_optim_O3_haswell, tob_sizes_elementwise,          \
     TOB_NEEDS_AVX2},                                                                                             \
    {#kernel, "naive-O3-haswell-nomerrno", bm_naive_##kernel, &tob_naive_optim_O3_haswell_nomerrno,               \
     tob_sizes_elementwise, TOB_NEEDS_AVX2},                                                                      \
    {#kernel, "naive-Ofast-haswell", bm_naive_##kernel, &tob_naive_optim_Ofast_haswell, tob_sizes_elementwise,    \
     TOB_NEEDS_AVX2}

const tob_entry tob_baselines[] = {
    TOB_NAIVE_ENTRIES(sgd),
    {"sgd", "roofline", bm_rw3_2, NULL, tob_sizes_elementwise, 0},
    TOB_NAIVE_ENTRIES(adagrad),
    {"adagrad", "roofline", bm_rw3_2, NULL, tob_sizes_elementwise, 0},
    TOB_NAIVE_ENTRIES(rmsprop),
    {"rmsprop", "roofline", bm_rw3_2, NULL, tob_sizes_elementwise, 0},
    TOB_NAIVE_ENTRIES(adam),
    {"adam", "roofline", bm_rw4_3, NULL, tob_sizes_elementwise, 0},
    TOB_NAIVE_ENTRIES(adamw),
    {"adamw", "roofline", bm_rw4_3, NULL, tob_sizes_elementwise, 0},
    {"adamw_ex", "roofline", bm_rw4_3, NULL, tob_sizes_elementwise, 0},
    TOB_NAIVE_ENTRIES(amsgrad),
    {"amsgrad", "roofline", bm_rw5_4, NULL, tob_sizes_elementwise, 0},
    TOB_NAIVE_ENTRIES(nadam),
    {"nadam", "roofline", bm_rw4_3, NULL, tob_sizes_elementwise, 0},
    TOB_NAIVE_ENTRIES(radam),
    {"radam", "roofline", bm_rw4_3, NULL, tob_sizes_elementwise, 0},
    TOB_NAIVE_ENTRIES(adamax),
    {"adamax", "roofline", bm_rw4_3, NULL, tob_sizes_elementwise, 0},
    TOB_NAIVE_ENTRIES(adadelta),
    {"adadelta", "roofline", bm_rw4_3, NULL, tob_sizes_elementwise, 0},
    TOB_NAIVE_ENTRIES(lion),
    {"lion", "roofline", bm_rw3_2, NULL, tob_sizes_elementwise, 0},
    {"stream", "copy", bm_copy, NULL, tob_sizes_elementwise, 0},
    {"stream", "triad", bm_triad, NULL, tob_sizes_elementwise, 0},
#ifdef _OPENMP
    {"adamw_mt", "roofline", bm_mt_rw4_3, NULL, tob_sizes_mt, TOB_THREADS},
    {"stream_mt", "copy", bm_mt_copy, NULL, tob_sizes_mt, TOB_THREADS},
    {"stream_mt", "triad", bm_mt_triad, NULL, tob_sizes_mt, TOB_THREADS},
#endif
    {NULL, NULL, NULL, NULL, NULL, 0},
};
