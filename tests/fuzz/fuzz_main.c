/* tests/fuzz/fuzz_main.c - the libFuzzer entry point of one family (-DFZ_FAMILY=optim,
   ...): runs the family's decoder-and-kernels on every backend this CPU can run and
   aborts, naming the first differing output, when a backend's statuses or output
   bits differ from the scalar backend's. See tests/fuzz/fuzz.h. */
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>

#define FZ_FN(backend) FZ_CAT(FZ_CAT(fz, FZ_FAMILY), backend)
#define FZ_STR2(x) #x
#define FZ_STR(x) FZ_STR2(x)

typedef void (*fz_fn)(const uint8_t *data, size_t size, fz_out *out);
void FZ_FN(scalar)(const uint8_t *data, size_t size, fz_out *out);
void FZ_FN(avx2)(const uint8_t *data, size_t size, fz_out *out);
void FZ_FN(avx512)(const uint8_t *data, size_t size, fz_out *out);
void FZ_FN(neon)(const uint8_t *data, size_t size, fz_out *out);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- fz_out ---- */
void fz_tag(fz_out *o, const char *label) {
    if (o->ntags < (int)(sizeof o->tag / sizeof o->tag[0])) {
        o->tag[o->ntags] = label;
        o->tag_at[o->ntags++] = o->len;
    }
}

void fz_put(fz_out *o, const void *data, size_t bytes) {
    if (o->len + bytes > o->cap) {
        size_t cap = o->cap ? o->cap : 4096;
        while (cap < o->len + bytes) cap *= 2;
        o->p = (unsigned char *)realloc(o->p, cap);
        if (!o->p) abort();
        o->cap = cap;
    }
    if (bytes) memcpy(o->p + o->len, data, bytes);
    o->len += bytes;
}

void fz_put_status(fz_out *o, int status) { fz_put(o, &status, sizeof status); }

void fz_put_floats(fz_out *o, const float *x, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &x[i], 4);
        if ((u & 0x7fffffffu) > 0x7f800000u) u = 0x7fc00000u;
        fz_put(o, &u, 4);
    }
}

void fz_put_double(fz_out *o, double x) {
    uint64_t u;
    memcpy(&u, &x, 8);
    if ((u & 0x7fffffffffffffffull) > 0x7ff0000000000000ull) u = 0x7ff8000000000000ull;
    fz_put(o, &u, 8);
}

float *fz_alloc(size_t n) {
    float *p = (float *)malloc(n ? n * sizeof(float) : 1);
    if (!p) abort();
    return p;
}

/* ---- the differential driver ---- */
static const char *fz_cpu_lacks(const char *backend) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (strcmp(backend, "avx512") == 0 && !__builtin_cpu_supports("avx512f")) return "AVX-512F";
    if (strcmp(backend, "scalar") != 0 && !(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")))
        return "AVX2+FMA";
#else
    (void)backend;
#endif
    return NULL;
}

static const char *fz_label(const fz_out *o, size_t at) {
    const char *label = "(start)";
    int i;
    for (i = 0; i < o->ntags && o->tag_at[i] <= at; i++) label = o->tag[i];
    return label;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const struct {
        const char *name;
        fz_fn fn;
    } backends[] = {{"avx2", FZ_FN(avx2)}, {"avx512", FZ_FN(avx512)}, {"neon", FZ_FN(neon)}};
    static int warned;
    fz_out want, got;
    size_t b;
    memset(&want, 0, sizeof want);
    FZ_FN(scalar)(data, size, &want);
    for (b = 0; b < sizeof backends / sizeof backends[0]; b++) {
        const char *lacks = fz_cpu_lacks(backends[b].name);
        size_t i;
        if (lacks) {
            if (!warned) fprintf(stderr, "fuzz_%s: skipping %s: this CPU lacks %s\n", FZ_STR(FZ_FAMILY), backends[b].name, lacks);
            continue;
        }
        memset(&got, 0, sizeof got);
        backends[b].fn(data, size, &got);
        for (i = 0; i < got.len && i < want.len && got.p[i] == want.p[i]; i++) {}
        if (i < got.len || i < want.len) {
            fprintf(stderr, "FUZZ DIFF fuzz_%s: %s differs from scalar at byte %zu (of %zu / %zu), in \"%s\"",
                    FZ_STR(FZ_FAMILY), backends[b].name, i, got.len, want.len, fz_label(&want, i));
            if (i + 4 <= got.len && i + 4 <= want.len) {
                size_t w = i & ~(size_t)3;
                uint32_t g, s;
                memcpy(&g, got.p + w, 4);
                memcpy(&s, want.p + w, 4);
                fprintf(stderr, ": word 0x%08x vs scalar 0x%08x", (unsigned)g, (unsigned)s);
            }
            fprintf(stderr, "\n");
            abort();
        }
        free(got.p);
    }
    warned = 1;
    free(want.p);
    return 0;
}
