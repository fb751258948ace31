/* bench/dnnl_peer.c - oneDNN's batch normalization on the shapes of
   bench_batchnorm.c and its layer normalization on bench_norms.c's, through
   its C API (Debian libdnnl-dev, oneDNN 2.6).

   For each size (N = 32, C = 64, H*W = n / (N*C)) and each memory format
   oneDNN offers for it - nchw, nhwc, and its blocked nChw16c (AVX-512's block)
   and nChw8c (AVX2's); each row names the implementation oneDNN picked,
   "bnorm_ref:any" where a format has no jit kernel on this CPU - it times
   forward training (statistics + normalization, scale and shift), forward
   inference (global statistics) and backward (diff_src, diff_scale,
   diff_shift; oneDNN 2.6 wants the shift among its backward inputs too).
   oneDNN does not update running statistics; trainopt does
   (C values, negligible). Run with OMP_NUM_THREADS=1 (the Makefile does): one
   thread, like every other row. Prints JSON on stdout in torch_peer.py's
   format; times are process CPU time, the median of the calls after the
   first, which is timed alone.

   Layer normalization (issue 17) on bench_norms.c's layer-norm shapes ([rows][cols],
   cols = TOB_NORM_COLS(n), and [16384][4096]): forward training (mean and variance
   out, scale and shift) and backward (diff_src, diff_scale, diff_shift), f32, the
   plain row-major format (ab). Argument "layernorm": these rows alone. */
#define _POSIX_C_SOURCE 200112L
#include <oneapi/dnnl/dnnl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BN_N 32
#define BN_C 64
#define EPS 1e-5f
#define MAX_CALLS 2000
#define MIN_CALLS 5
#define TARGET_SECONDS 0.25

#define CHECK(call)                                                                   \
    do {                                                                              \
        dnnl_status_t st_ = (call);                                                   \
        if (st_ != dnnl_success) {                                                    \
            fprintf(stderr, "dnnl_peer: %s failed (status %d)\n", #call, (int)st_);   \
            exit(1);                                                                  \
        }                                                                             \
    } while (0)

static dnnl_engine_t engine;
static dnnl_stream_t stream;
static int first_row = 1;

static double cpu_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* A memory object for descriptor md, filled: sign != 0 gives +-[0.01, 1), else [1e-3, 1). */
static dnnl_memory_t make_mem(const dnnl_memory_desc_t *md, int sign, unsigned seed) {
    dnnl_memory_t m;
    float *p;
    size_t i, count = dnnl_memory_desc_get_size(md) / sizeof(float);
    uint32_t x = seed * 2654435761u + 1u;
    CHECK(dnnl_memory_create(&m, md, engine, DNNL_MEMORY_ALLOCATE));
    CHECK(dnnl_memory_get_data_handle(m, (void **)&p));
    for (i = 0; i < count; i++) {
        float u;
        x = x * 1664525u + 1013904223u;
        u = (float)(x >> 8) * (1.0f / 16777216.0f);
        p[i] = sign ? ((x & 1u) ? -(0.01f + 0.99f * u) : 0.01f + 0.99f * u) : 1e-3f + (1.0f - 1e-3f) * u;
    }
    return m;
}

static void run(dnnl_primitive_t prim, int nargs, const dnnl_exec_arg_t *args) {
    CHECK(dnnl_primitive_execute(prim, stream, nargs, args));
    CHECK(dnnl_stream_wait(stream));
}

/* The implementation oneDNN picked for prim ("bnorm_jit:avx2", "bnorm_ref:any",
   ...): a format its jit kernels do not take on this CPU falls to the reference code. */
static const char *impl_info(dnnl_primitive_t prim) {
    const_dnnl_primitive_desc_t pd;
    const char *info;
    if (dnnl_primitive_get_primitive_desc(prim, &pd) != dnnl_success ||
        dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, (void *)&info) != dnnl_success)
        return "?";
    return info;
}

/* Times prim: the first call alone, then the median of repeated calls; prints
   a row for kernel, and another for kernel_nhwc when also_nhwc (the blocked
   format is a candidate for both layouts' tables). */
static void measure(const char *kernel, int also_nhwc, const char *impl, size_t n, dnnl_primitive_t prim, int nargs,
                    const dnnl_exec_arg_t *args) {
    static double t[MAX_CALLS];
    double t0 = cpu_now(), first, start;
    int k = 0;
    run(prim, nargs, args);
    first = cpu_now() - t0;
    run(prim, nargs, args);
    start = cpu_now();
    while (k < MAX_CALLS && (k < MIN_CALLS || cpu_now() - start < TARGET_SECONDS)) {
        t0 = cpu_now();
        run(prim, nargs, args);
        t[k++] = cpu_now() - t0;
    }
    qsort(t, (size_t)k, sizeof t[0], cmp_double);
    do {
        printf("%s  {\"kernel\": \"%s%s\", \"impl\": \"%s\", \"n\": %zu, \"ns_per_elem\": %.6g, "
               "\"first_ns_per_elem\": %.6g, \"calls\": %d, \"onednn_impl\": \"%s\"}",
               first_row ? "" : ",\n", kernel, also_nhwc == 2 ? "_nhwc" : "", impl, n, 1e9 * t[k / 2] / (double)n,
               1e9 * first / (double)n, k, impl_info(prim));
        first_row = 0;
    } while (also_nhwc && also_nhwc++ < 2);
    fflush(stdout);
}

/* One peer's teardown: its primitives with their descriptors, and its memories (NULL: none). */
static void destroy_all(int np, dnnl_primitive_t *p, dnnl_primitive_desc_t *pd, int nm, dnnl_memory_t *m) {
    int i;
    for (i = 0; i < np; i++) dnnl_primitive_destroy(p[i]), dnnl_primitive_desc_destroy(pd[i]);
    for (i = 0; i < nm; i++)
        if (m[i]) dnnl_memory_destroy(m[i]);
}

/* suffix: "" for the NCHW tables, "_nhwc" for the NHWC ones, NULL for both. */
static void bench_format(size_t n, dnnl_format_tag_t tag, const char *fmt, const char *suffix) {
    const size_t spatial = n / (BN_N * BN_C);
    size_t h = 1;
    dnnl_dims_t dims;
    dnnl_memory_desc_t data_md;
    dnnl_batch_normalization_desc_t fwd_d, inf_d, bwd_d;
    dnnl_primitive_desc_t fwd_pd, inf_pd, bwd_pd;
    dnnl_primitive_t fwd, inf, bwd;
    dnnl_memory_t src, dst, mean, var, scale, shift, ddst, dsrc, dscale, dshift, ws = NULL;
    const dnnl_memory_desc_t *ws_md;
    const unsigned flags = dnnl_use_scale | dnnl_use_shift;
    char kernel[64], impl[64];
    const int both = suffix == NULL;
    if (both) suffix = "";

    while ((h * 2) * (h * 2) <= spatial) h *= 2; /* H x W = 4x8, 16x32, 64x128 */
    dims[0] = BN_N;
    dims[1] = BN_C;
    dims[2] = (dnnl_dim_t)h;
    dims[3] = (dnnl_dim_t)(spatial / h);
    CHECK(dnnl_memory_desc_init_by_tag(&data_md, 4, dims, dnnl_f32, tag));
    snprintf(impl, sizeof impl, "onednn-%s", fmt);

    CHECK(dnnl_batch_normalization_forward_desc_init(&fwd_d, dnnl_forward_training, &data_md, EPS, flags));
    CHECK(dnnl_primitive_desc_create(&fwd_pd, &fwd_d, NULL, engine, NULL));
    CHECK(dnnl_primitive_create(&fwd, fwd_pd));
    src = make_mem(&data_md, 0, 1);
    dst = make_mem(&data_md, 0, 2);
    mean = make_mem(dnnl_primitive_desc_query_md(fwd_pd, dnnl_query_exec_arg_md, DNNL_ARG_MEAN), 0, 3);
    var = make_mem(dnnl_primitive_desc_query_md(fwd_pd, dnnl_query_exec_arg_md, DNNL_ARG_VARIANCE), 0, 4);
    scale = make_mem(dnnl_primitive_desc_query_md(fwd_pd, dnnl_query_exec_arg_md, DNNL_ARG_SCALE), 0, 5);
    shift = make_mem(dnnl_primitive_desc_query_md(fwd_pd, dnnl_query_exec_arg_md, DNNL_ARG_SHIFT), 0, 6);
    ws_md = dnnl_primitive_desc_query_md(fwd_pd, dnnl_query_workspace_md, 0);
    if (ws_md && dnnl_memory_desc_get_size(ws_md) > 0) ws = make_mem(ws_md, 0, 7);
    {
        dnnl_exec_arg_t a[7] = {{DNNL_ARG_SRC, src},   {DNNL_ARG_DST, dst},     {DNNL_ARG_MEAN, mean},
                                {DNNL_ARG_VARIANCE, var}, {DNNL_ARG_SCALE, scale}, {DNNL_ARG_SHIFT, shift},
                                {DNNL_ARG_WORKSPACE, ws}};
        snprintf(kernel, sizeof kernel, "batchnorm_fwd%s", suffix);
        measure(kernel, both, impl, n, fwd, ws ? 7 : 6, a);
    }

    CHECK(dnnl_batch_normalization_forward_desc_init(&inf_d, dnnl_forward_inference, &data_md, EPS,
                                                     flags | dnnl_use_global_stats));
    CHECK(dnnl_primitive_desc_create(&inf_pd, &inf_d, NULL, engine, NULL));
    CHECK(dnnl_primitive_create(&inf, inf_pd));
    {
        dnnl_exec_arg_t a[6] = {{DNNL_ARG_SRC, src},      {DNNL_ARG_DST, dst},     {DNNL_ARG_MEAN, mean},
                                {DNNL_ARG_VARIANCE, var}, {DNNL_ARG_SCALE, scale}, {DNNL_ARG_SHIFT, shift}};
        snprintf(kernel, sizeof kernel, "batchnorm_infer%s", suffix);
        measure(kernel, both, impl, n, inf, 6, a);
    }

    CHECK(dnnl_batch_normalization_backward_desc_init(&bwd_d, dnnl_backward, &data_md, &data_md, EPS, flags));
    CHECK(dnnl_primitive_desc_create(&bwd_pd, &bwd_d, NULL, engine, fwd_pd));
    CHECK(dnnl_primitive_create(&bwd, bwd_pd));
    ddst = make_mem(&data_md, 1, 8);
    dsrc = make_mem(&data_md, 0, 9);
    dscale = make_mem(dnnl_primitive_desc_query_md(bwd_pd, dnnl_query_exec_arg_md, DNNL_ARG_DIFF_SCALE), 0, 10);
    dshift = make_mem(dnnl_primitive_desc_query_md(bwd_pd, dnnl_query_exec_arg_md, DNNL_ARG_DIFF_SHIFT), 0, 11);
    {
        dnnl_exec_arg_t a[10] = {{DNNL_ARG_SRC, src},          {DNNL_ARG_MEAN, mean},
                                 {DNNL_ARG_VARIANCE, var},     {DNNL_ARG_DIFF_DST, ddst},
                                 {DNNL_ARG_SCALE, scale},      {DNNL_ARG_SHIFT, shift},
                                 {DNNL_ARG_DIFF_SRC, dsrc},    {DNNL_ARG_DIFF_SCALE, dscale},
                                 {DNNL_ARG_DIFF_SHIFT, dshift}, {DNNL_ARG_WORKSPACE, ws}};
        snprintf(kernel, sizeof kernel, "batchnorm_bwd%s", suffix);
        measure(kernel, both, impl, n, bwd, ws ? 10 : 9, a);
    }

    {
        dnnl_primitive_t p[] = {fwd, inf, bwd};
        dnnl_primitive_desc_t pd[] = {fwd_pd, inf_pd, bwd_pd};
        dnnl_memory_t m[] = {src, dst, mean, var, scale, shift, ddst, dsrc, dscale, dshift, ws};
        destroy_all(3, p, pd, 11, m);
    }
}

/* bench.h's TOB_NORM_COLS, and the layer-norm sizes of bench_norms.c. */
#define LN_COLS(n) ((n) >= ((size_t)1 << 24) ? (size_t)4096 : (size_t)1024)

static void bench_layernorm(size_t n) {
    dnnl_dims_t dims;
    dnnl_memory_desc_t data_md;
    dnnl_layer_normalization_desc_t fwd_d, bwd_d;
    dnnl_primitive_desc_t fwd_pd, bwd_pd;
    dnnl_primitive_t fwd, bwd;
    dnnl_memory_t src, dst, mean, var, scale, shift, ddst, dsrc, dscale, dshift;
    const unsigned flags = dnnl_use_scale | dnnl_use_shift;
    dims[0] = (dnnl_dim_t)(n / LN_COLS(n));
    dims[1] = (dnnl_dim_t)LN_COLS(n);
    CHECK(dnnl_memory_desc_init_by_tag(&data_md, 2, dims, dnnl_f32, dnnl_ab));
    CHECK(dnnl_layer_normalization_forward_desc_init(&fwd_d, dnnl_forward_training, &data_md, NULL, EPS, flags));
    CHECK(dnnl_primitive_desc_create(&fwd_pd, &fwd_d, NULL, engine, NULL));
    CHECK(dnnl_primitive_create(&fwd, fwd_pd));
    src = make_mem(&data_md, 0, 1);
    dst = make_mem(&data_md, 0, 2);
    mean = make_mem(dnnl_primitive_desc_query_md(fwd_pd, dnnl_query_exec_arg_md, DNNL_ARG_MEAN), 0, 3);
    var = make_mem(dnnl_primitive_desc_query_md(fwd_pd, dnnl_query_exec_arg_md, DNNL_ARG_VARIANCE), 0, 4);
    scale = make_mem(dnnl_primitive_desc_query_md(fwd_pd, dnnl_query_exec_arg_md, DNNL_ARG_SCALE), 0, 5);
    shift = make_mem(dnnl_primitive_desc_query_md(fwd_pd, dnnl_query_exec_arg_md, DNNL_ARG_SHIFT), 0, 6);
    {
        dnnl_exec_arg_t a[6] = {{DNNL_ARG_SRC, src},      {DNNL_ARG_DST, dst},     {DNNL_ARG_MEAN, mean},
                                {DNNL_ARG_VARIANCE, var}, {DNNL_ARG_SCALE, scale}, {DNNL_ARG_SHIFT, shift}};
        measure("layernorm_fwd", 0, "onednn", n, fwd, 6, a);
    }
    CHECK(dnnl_layer_normalization_backward_desc_init(&bwd_d, dnnl_backward, &data_md, &data_md, NULL, EPS, flags));
    CHECK(dnnl_primitive_desc_create(&bwd_pd, &bwd_d, NULL, engine, fwd_pd));
    CHECK(dnnl_primitive_create(&bwd, bwd_pd));
    ddst = make_mem(&data_md, 1, 8);
    dsrc = make_mem(&data_md, 0, 9);
    dscale = make_mem(dnnl_primitive_desc_query_md(bwd_pd, dnnl_query_exec_arg_md, DNNL_ARG_DIFF_SCALE), 0, 10);
    dshift = make_mem(dnnl_primitive_desc_query_md(bwd_pd, dnnl_query_exec_arg_md, DNNL_ARG_DIFF_SHIFT), 0, 11);
    {
        dnnl_exec_arg_t a[9] = {{DNNL_ARG_SRC, src},        {DNNL_ARG_MEAN, mean},          {DNNL_ARG_VARIANCE, var},
                                {DNNL_ARG_DIFF_DST, ddst},  {DNNL_ARG_SCALE, scale},        {DNNL_ARG_SHIFT, shift},
                                {DNNL_ARG_DIFF_SRC, dsrc},  {DNNL_ARG_DIFF_SCALE, dscale}, {DNNL_ARG_DIFF_SHIFT, dshift}};
        measure("layernorm_bwd", 0, "onednn", n, bwd, 9, a);
    }
    {
        dnnl_primitive_t p[] = {fwd, bwd};
        dnnl_primitive_desc_t pd[] = {fwd_pd, bwd_pd};
        dnnl_memory_t m[] = {src, dst, mean, var, scale, shift, ddst, dsrc, dscale, dshift};
        destroy_all(2, p, pd, 10, m);
    }
}

int main(int argc, char **argv) {
    static const size_t sizes[] = {1u << 16, 1u << 20, 1u << 24};
    const dnnl_version_t *v = dnnl_version();
    const char *threads = getenv("OMP_NUM_THREADS");
    static const size_t ln_sizes[] = {1u << 16, 1u << 20, 1u << 22, 1u << 24, 1u << 26};
    /* "layernorm": the layer-norm rows alone (the batch-norm ones take minutes). */
    const int ln_only = argc > 1 && strcmp(argv[1], "layernorm") == 0;
    size_t i;
    CHECK(dnnl_engine_create(&engine, dnnl_cpu, 0));
    CHECK(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags));
    printf("{\"context\": {\"version\": \"%d.%d.%d\", \"cpu_runtime\": %u, \"omp_num_threads\": \"%s\"},\n"
           "\"results\": [\n",
           v->major, v->minor, v->patch, v->cpu_runtime, threads ? threads : "unset");
    for (i = 0; i < sizeof ln_sizes / sizeof ln_sizes[0]; i++) bench_layernorm(ln_sizes[i]);
    for (i = 0; i < sizeof sizes / sizeof sizes[0] && !ln_only; i++) {
        /* NCHW tables get nchw and the blocked format, NHWC tables nhwc and the blocked format. */
        bench_format(sizes[i], dnnl_nchw, "nchw", "");
        bench_format(sizes[i], dnnl_nhwc, "nhwc", "_nhwc");
        bench_format(sizes[i], dnnl_nChw16c, "nChw16c", NULL);
        bench_format(sizes[i], dnnl_nChw8c, "nChw8c", NULL); /* the AVX2 kernels' blocking */
    }
    printf("\n]}\n");
    dnnl_stream_destroy(stream);
    dnnl_engine_destroy(engine);
    return 0;
}
