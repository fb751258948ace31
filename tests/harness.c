/* tests/harness.c - implementation of the shared test harness (compiled once). */
#define _DEFAULT_SOURCE /* mmap's MAP_ANONYMOUS under -std=c99 */
#include "harness.h"

#include <sys/mman.h>
#include <unistd.h>

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define TO_CANARIES 16
#define TO_CANARY_BITS 0x7fc0dead /* a NaN payload no kernel produces */

struct to_record {
    char name[128];
    uint64_t hash;
    unsigned char *data;
    size_t bytes;
};

void to_run(to_ctx *t, const char *name, void (*fn)(to_ctx *)) {
    t->test = name;
    t->failures = 0;
    fn(t);
    if (t->failures) {
        t->failed++;
        printf("FAIL %s/%s [%s]\n", t->suite, name, t->backend);
    } else {
        t->passed++;
    }
    fflush(stdout);
}

void to_skip(to_ctx *t, const char *name, const char *why) {
    t->skipped++;
    printf("SKIP %s/%s [%s]\n  why: %s\n", t->suite, name, t->backend, why);
}

void to_fail(to_ctx *t, const char *fmt, ...) {
    va_list ap;
    t->failures++;
    if (t->failures > 8) return;
    printf("  %s/%s [%s]: ", t->suite, t->test, t->backend);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

int to_expect_status(to_ctx *t, int got, int want, const char *what) {
    if (got == want) return 1;
    to_fail(t, "%s returned status %d, expected %d", what, got, want);
    return 0;
}

uint32_t to_bits(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    return u;
}

float to_from_bits(uint32_t u) {
    float x;
    memcpy(&x, &u, 4);
    return x;
}

int to_bits_equal(to_ctx *t, const char *what, const float *got, const float *want, size_t n) {
    size_t i;
    for (i = 0; i < n; i++)
        if (to_bits(got[i]) != to_bits(want[i]) && !(isnan(got[i]) && isnan(want[i]))) {
            to_fail(t, "%s: element %zu / %zu differs: got %a (0x%08x), want %a (0x%08x)", what, i, n, (double)got[i],
                    (unsigned)to_bits(got[i]), (double)want[i], (unsigned)to_bits(want[i]));
            return 0;
        }
    return 1;
}

int to_close(to_ctx *t, const char *what, const float *got, const float *want, size_t n, double tol) {
    size_t i;
    for (i = 0; i < n; i++) {
        double g = got[i], w = want[i];
        int ok;
        if (isnan(w)) ok = isnan(g);
        else if (isinf(w)) ok = g == w;
        else ok = isfinite(g) && fabs(g - w) <= tol;
        if (!ok) {
            to_fail(t, "%s: element %zu / %zu: got %.9g (0x%08x), want %.9g (0x%08x), |diff| %.3g > tol %.3g", what, i, n,
                    g, (unsigned)to_bits(got[i]), w, (unsigned)to_bits(want[i]), fabs(g - w), tol);
            return 0;
        }
    }
    return 1;
}

double to_max_abs(const float *x, size_t n) {
    double m = 1e-30;
    size_t i;
    for (i = 0; i < n; i++)
        if (isfinite(x[i]) && fabs(x[i]) > m) m = fabs(x[i]);
    return m;
}

to_buf to_buf_new(size_t n, size_t misalign) {
    to_buf b;
    size_t total = 16 + misalign + n + TO_CANARIES, i;
    float *base;
    b.block = malloc(total * sizeof(float) + 64);
    if (!b.block) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    base = (float *)(((uintptr_t)b.block + 63) & ~(uintptr_t)63);
    b.p = base + 16 + misalign;
    b.n = n;
    for (i = 0; i < n; i++) b.p[i] = NAN;
    for (i = 0; i < TO_CANARIES; i++) b.p[n + i] = to_from_bits(TO_CANARY_BITS);
    for (i = 1; i <= 16 + misalign; i++) b.p[-(ptrdiff_t)i] = to_from_bits(TO_CANARY_BITS);
    return b;
}

void to_buf_free(to_buf *b) {
    free(b->block);
    b->block = NULL;
    b->p = NULL;
}

int to_buf_canaries_ok(to_ctx *t, const to_buf *b, const char *what) {
    size_t i;
    for (i = 0; i < TO_CANARIES; i++)
        if (to_bits(b->p[b->n + i]) != TO_CANARY_BITS) {
            to_fail(t, "%s: canary %zu after n = %zu overwritten (0x%08x)", what, i, b->n, (unsigned)to_bits(b->p[b->n + i]));
            return 0;
        }
    for (i = 1; i <= 16; i++)
        if (to_bits(b->p[-(ptrdiff_t)i]) != TO_CANARY_BITS) {
            to_fail(t, "%s: canary %zu before the array overwritten", what, i);
            return 0;
        }
    return 1;
}

to_guard to_guard_new(size_t n, int at_end) {
    to_guard g;
    size_t page = (size_t)sysconf(_SC_PAGESIZE), bytes = n * sizeof(float);
    size_t data_pages = (bytes + page - 1) / page, i;
    unsigned char *base;
    g.map_bytes = (data_pages + 2) * page;
    g.map = mmap(NULL, g.map_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (g.map == MAP_FAILED) {
        fprintf(stderr, "mmap failed\n");
        exit(2);
    }
    base = (unsigned char *)g.map;
    if (mprotect(base, page, PROT_NONE) != 0 || mprotect(base + (data_pages + 1) * page, page, PROT_NONE) != 0) {
        fprintf(stderr, "mprotect failed\n");
        exit(2);
    }
    g.p = (float *)(at_end ? base + (data_pages + 1) * page - bytes : base + page);
    g.n = n;
    for (i = 0; i < n; i++) g.p[i] = 0.5f;
    return g;
}

void to_guard_free(to_guard *g) {
    munmap(g->map, g->map_bytes);
    g->map = NULL;
    g->p = NULL;
}

void to_fill_nan(float *x, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) x[i] = NAN;
}

void to_copy(float *dst, const float *src, size_t n) {
    if (n) memcpy(dst, src, n * sizeof(float));
}

uint64_t to_rand_u64(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

float to_rand_uniform(uint64_t *state, float lo, float hi) {
    double u = (double)(to_rand_u64(state) >> 11) * (1.0 / 9007199254740992.0);
    return (float)fma((double)hi - lo, u, lo); /* explicit fma: test data must not depend on -ffp-contract */
}

float to_rand_normal(uint64_t *state) {
    double u1 = ((double)(to_rand_u64(state) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
    double u2 = (double)(to_rand_u64(state) >> 11) * (1.0 / 9007199254740992.0);
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

void to_rand_fill(uint64_t *state, float *x, size_t n, float lo, float hi) {
    size_t i;
    for (i = 0; i < n; i++) x[i] = to_rand_uniform(state, lo, hi);
}

void *to_read_golden(to_ctx *t, const char *name, size_t *len) {
    char path[1024];
    FILE *f;
    long size;
    void *data;
    snprintf(path, sizeof path, "%s/%s", t->golden_dir, name);
    f = fopen(path, "rb");
    if (!f) {
        to_fail(t, "cannot open golden file %s", path);
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fseek(f, 0, SEEK_SET);
    data = malloc(size > 0 ? (size_t)size : 1);
    if (!data || fread(data, 1, (size_t)size, f) != (size_t)size) {
        to_fail(t, "cannot read golden file %s", path);
        free(data);
        fclose(f);
        return NULL;
    }
    fclose(f);
    *len = (size_t)size;
    return data;
}

/* ---- battery sink ---- */
struct to_sink {
    struct to_record *rec;
    size_t count, cap;
};

static uint64_t to_fnv1a(const unsigned char *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    size_t i;
    for (i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

void to_emit(to_sink *s, const char *name, const void *data, size_t bytes) {
    struct to_record *r;
    if (s->count == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 64;
        s->rec = (struct to_record *)realloc(s->rec, s->cap * sizeof *s->rec);
        if (!s->rec) exit(2);
    }
    r = &s->rec[s->count++];
    snprintf(r->name, sizeof r->name, "%s", name);
    r->bytes = bytes;
    r->data = (unsigned char *)malloc(bytes ? bytes : 1);
    if (!r->data) exit(2);
    if (bytes) memcpy(r->data, data, bytes);
    r->hash = to_fnv1a(r->data, bytes);
}

void to_emit_status(to_sink *s, const char *name, int status) { to_emit(s, name, &status, sizeof status); }

void to_emit_floats(to_sink *s, const char *name, const float *x, size_t n) {
    float *canon = (float *)malloc(n ? n * sizeof(float) : 1);
    size_t i;
    if (!canon) exit(2);
    for (i = 0; i < n; i++) canon[i] = isnan(x[i]) ? to_from_bits(0x7fc00000u) : x[i];
    to_emit(s, name, canon, n * sizeof(float));
    free(canon);
}

/* Used by the runner only. */
to_sink *to_sink_new(void) {
    to_sink *s = (to_sink *)calloc(1, sizeof *s);
    if (!s) exit(2);
    return s;
}

void to_sink_free(to_sink *s) {
    size_t i;
    for (i = 0; i < s->count; i++) free(s->rec[i].data);
    free(s->rec);
    free(s);
}

size_t to_sink_count(const to_sink *s) { return s->count; }
const char *to_sink_name(const to_sink *s, size_t i) { return s->rec[i].name; }
uint64_t to_sink_hash(const to_sink *s, size_t i) { return s->rec[i].hash; }

/* Compares `got` with the reference sink; reports the first difference of each record. */
int to_sink_compare(to_ctx *t, const to_sink *got, const to_sink *want) {
    size_t i, j;
    int ok = 1;
    if (got->count != want->count) {
        to_fail(t, "battery emitted %zu records, scalar emitted %zu", got->count, want->count);
        return 0;
    }
    for (i = 0; i < got->count; i++) {
        const struct to_record *g = &got->rec[i], *w = &want->rec[i];
        if (strcmp(g->name, w->name) != 0 || g->bytes != w->bytes) {
            to_fail(t, "record %zu: %s (%zu bytes) vs scalar %s (%zu bytes)", i, g->name, g->bytes, w->name, w->bytes);
            ok = 0;
            continue;
        }
        if (g->hash == w->hash && memcmp(g->data, w->data, g->bytes) == 0) continue;
        ok = 0;
        for (j = 0; j + 4 <= g->bytes; j += 4)
            if (memcmp(g->data + j, w->data + j, 4) != 0) break;
        if (j + 4 <= g->bytes) {
            uint32_t a, b;
            memcpy(&a, g->data + j, 4);
            memcpy(&b, w->data + j, 4);
            to_fail(t, "%s: word %zu / %zu differs from scalar: 0x%08x (%a) vs 0x%08x (%a)", g->name, j / 4, g->bytes / 4,
                    (unsigned)a, (double)to_from_bits(a), (unsigned)b, (double)to_from_bits(b));
        } else {
            to_fail(t, "%s: differs from scalar in its last bytes", g->name);
        }
    }
    return ok;
}
