/* tests/runner.c - runs every suite on every backend this build holds and this
   CPU can run, compares each backend's battery with the scalar backend's bits,
   and ends with "N passed, N failed[, N skipped]".

   Options:
     --golden DIR         where the committed golden data lives (default tests/golden)
     --battery-only       skip the unit tests; run and compare the batteries only
     --write-hashes FILE  write the scalar battery's per-record hashes
     --expect FILE        also compare every backend's battery with those hashes
                          (how builds with other compilers, flags or CPUs are
                          checked against the reference build)
     --only A,B,...       run only these suites (the valgrind leg's subset); their
                          battery records are the ones compared with --expect;
                          naming a suite this runner does not hold is a failure
     --sample small|full  small: the smaller sample of the slow legs (-O0, TSan,
                          valgrind, qemu; tests/run.sh): test_parallel runs each
                          case under fewer hooks and thread counts, the mixed-precision
                          lists with a shorter long tensor (to_ctx.small); the batteries
                          are the same. full (the default): every repetition.

   The suites are tests/suites.h's, or TO_SUITE_LIST's: a leg that runs only some
   suites (the TSan leg) compiles and links only those, and this file includes the
   list of just their lines that the Makefile writes (build/<leg>/suites.h). */
#include "harness.h"

#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#ifndef TO_SUITE_LIST
#define TO_SUITE_LIST "suites.h"
#endif

to_sink *to_sink_new(void);
void to_sink_free(to_sink *s);
size_t to_sink_count(const to_sink *s);
const char *to_sink_name(const to_sink *s, size_t i);
uint64_t to_sink_hash(const to_sink *s, size_t i);
int to_sink_compare(to_ctx *t, const to_sink *got, const to_sink *want);

/* Declarations of every suite's entry points, per backend. */
#define TO_BACKEND_SUITE(name)                                          \
    void name##_tests_scalar(to_ctx *); void name##_battery_scalar(to_sink *); \
    TO_DECL_AVX2(name) TO_DECL_AVX512(name) TO_DECL_NEON(name) TO_DECL_SSE2(name)
#define TO_ONCE_SUITE(name) void name##_tests_once(to_ctx *);
#if defined(TO_WITH_AVX2)
#define TO_DECL_AVX2(name) void name##_tests_avx2(to_ctx *); void name##_battery_avx2(to_sink *);
#else
#define TO_DECL_AVX2(name)
#endif
#if defined(TO_WITH_AVX512)
#define TO_DECL_AVX512(name) void name##_tests_avx512(to_ctx *); void name##_battery_avx512(to_sink *);
#else
#define TO_DECL_AVX512(name)
#endif
#if defined(TO_WITH_NEON)
#define TO_DECL_NEON(name) void name##_tests_neon(to_ctx *); void name##_battery_neon(to_sink *);
#else
#define TO_DECL_NEON(name)
#endif
#if defined(TO_WITH_SSE2)
#define TO_DECL_SSE2(name) void name##_tests_sse2(to_ctx *); void name##_battery_sse2(to_sink *);
#else
#define TO_DECL_SSE2(name)
#endif
#include TO_SUITE_LIST
#undef TO_BACKEND_SUITE
#undef TO_ONCE_SUITE

typedef struct {
    const char *name;
    void (*tests)(to_ctx *);
    void (*battery)(to_sink *);
} to_suite;

typedef struct {
    const char *name;
    const char *why_not; /* NULL when this CPU can run it */
    to_suite suites[32];
    int count;
} to_backend;

#define TO_ONCE_SUITE(name)

static void to_add(to_backend *b, const char *name, void (*tests)(to_ctx *), void (*battery)(to_sink *)) {
    b->suites[b->count].name = name;
    b->suites[b->count].tests = tests;
    b->suites[b->count].battery = battery;
    b->count++;
}

static void to_fill_scalar(to_backend *b) {
#define TO_BACKEND_SUITE(sname) to_add(b, #sname, sname##_tests_scalar, sname##_battery_scalar);
#include TO_SUITE_LIST
#undef TO_BACKEND_SUITE
}
#if defined(TO_WITH_AVX2)
static void to_fill_avx2(to_backend *b) {
#define TO_BACKEND_SUITE(sname) to_add(b, #sname, sname##_tests_avx2, sname##_battery_avx2);
#include TO_SUITE_LIST
#undef TO_BACKEND_SUITE
}
#endif
#if defined(TO_WITH_AVX512)
static void to_fill_avx512(to_backend *b) {
#define TO_BACKEND_SUITE(sname) to_add(b, #sname, sname##_tests_avx512, sname##_battery_avx512);
#include TO_SUITE_LIST
#undef TO_BACKEND_SUITE
}
#endif
#if defined(TO_WITH_NEON)
static void to_fill_neon(to_backend *b) {
#define TO_BACKEND_SUITE(sname) to_add(b, #sname, sname##_tests_neon, sname##_battery_neon);
#include TO_SUITE_LIST
#undef TO_BACKEND_SUITE
}
#endif
#if defined(TO_WITH_SSE2)
static void to_fill_sse2(to_backend *b) {
#define TO_BACKEND_SUITE(sname) to_add(b, #sname, sname##_tests_sse2, sname##_battery_sse2);
#include TO_SUITE_LIST
#undef TO_BACKEND_SUITE
}
#endif

/* Whether `name` is one of the comma-separated suites in `list` (NULL: every suite). */
static int to_selected(const char *list, const char *name) {
    size_t len = strlen(name);
    const char *p = list;
    if (!list) return 1;
    while ((p = strstr(p, name)) != NULL) {
        if ((p == list || p[-1] == ',') && (p[len] == ',' || p[len] == '\0')) return 1;
        p += len;
    }
    return 0;
}

/* The first suite `list` names that this runner does not hold, or NULL (a misspelt suite,
   or one a leg did not link, would otherwise run nothing and pass). Writes it to `bad`. */
static const char *to_unknown_suite(const char *list, char *bad, size_t size) {
#undef TO_ONCE_SUITE
#define TO_BACKEND_SUITE(name) #name,
#define TO_ONCE_SUITE(name) #name,
    static const char *const held[] = {
#include TO_SUITE_LIST
        NULL};
#undef TO_BACKEND_SUITE
#undef TO_ONCE_SUITE
    const char *p = list;
    while (list && *p) {
        size_t len = strcspn(p, ","), k;
        for (k = 0; held[k]; k++)
            if (strlen(held[k]) == len && strncmp(held[k], p, len) == 0) break;
        if (!held[k]) {
            snprintf(bad, size, "%.*s", (int)len, p);
            return bad;
        }
        p += len + (p[len] == ',');
    }
    return NULL;
}

static void to_run_once_suites(to_ctx *t, const char *only) {
    (void)t; /* a leg's list may hold no such suite */
    (void)only;
#define TO_BACKEND_SUITE(name)
#undef TO_ONCE_SUITE
#define TO_ONCE_SUITE(name) \
    if (to_selected(only, #name)) t->suite = #name, name##_tests_once(t);
#include TO_SUITE_LIST
#undef TO_BACKEND_SUITE
#undef TO_ONCE_SUITE
}

/* Reference hashes from another build: "record-name hash" per line. */
typedef struct {
    char (*names)[128];
    uint64_t *hashes;
    size_t count;
} to_expect;

static int to_load_expect(const char *path, to_expect *e) {
    FILE *f = fopen(path, "r");
    char name[128];
    unsigned long long h;
    size_t cap = 0;
    memset(e, 0, sizeof *e);
    if (!f) return 0;
    while (fscanf(f, "%127s %llx", name, &h) == 2) {
        if (e->count == cap) {
            cap = cap ? 2 * cap : 256;
            e->names = (char (*)[128])realloc(e->names, cap * sizeof *e->names);
            e->hashes = (uint64_t *)realloc(e->hashes, cap * sizeof *e->hashes);
            if (!e->names || !e->hashes) exit(2);
        }
        strcpy(e->names[e->count], name);
        e->hashes[e->count++] = (uint64_t)h;
    }
    fclose(f);
    return 1;
}

/* A kernel that touches a guard page kills the process: say where, and close with a count. */
static to_ctx *to_crash_ctx;
static void to_on_crash(int sig) {
    to_ctx *t = to_crash_ctx;
    printf("CRASH %s/%s [%s]: signal %d (an access outside the arrays?)\n", t->suite ? t->suite : "?",
           t->test ? t->test : "?", t->backend ? t->backend : "?", sig);
    printf("%d passed, %d failed\n", t->passed, t->failed + 1);
    fflush(stdout);
    _Exit(1);
}

static const char *to_cpu_lacks(const char *backend) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (strcmp(backend, "avx2") == 0 && !(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")))
        return "this CPU lacks AVX2+FMA";
#if defined(TO_SIMDE_AVX512) /* the simde-avx512 leg: emulated on AVX2+FMA+F16C */
    if (strcmp(backend, "avx512") == 0 &&
        !(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c")))
        return "the SIMDe AVX-512 build here uses AVX2+FMA+F16C, which this CPU lacks";
#else
    if (strcmp(backend, "avx512") == 0 && !__builtin_cpu_supports("avx512f")) return "this CPU lacks AVX-512F";
#endif
    if (strcmp(backend, "neon") == 0 && !(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")))
        return "the SIMDe NEON build here uses AVX2+FMA, which this CPU lacks";
#else
    (void)backend;
#endif
    return NULL;
}

int main(int argc, char **argv) {
    const char *golden = "tests/golden", *write_hashes = NULL, *expect_path = NULL, *only = NULL;
    int battery_only = 0, small = 0, i, s;
    to_backend backends[5];
    int nb = 0;
    to_ctx t;
    to_sink *reference[32] = {0};
    to_expect expect;
    int have_expect = 0;
    char bad_suite[64];

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--golden") == 0 && i + 1 < argc) golden = argv[++i];
        else if (strcmp(argv[i], "--battery-only") == 0) battery_only = 1;
        else if (strcmp(argv[i], "--write-hashes") == 0 && i + 1 < argc) write_hashes = argv[++i];
        else if (strcmp(argv[i], "--expect") == 0 && i + 1 < argc) expect_path = argv[++i];
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) only = argv[++i];
        else if (strcmp(argv[i], "--sample") == 0 && i + 1 < argc && strcmp(argv[i + 1], "small") == 0) small = 1, i++;
        else if (strcmp(argv[i], "--sample") == 0 && i + 1 < argc && strcmp(argv[i + 1], "full") == 0) small = 0, i++;
        else {
            fprintf(stderr,
                    "usage: %s [--golden DIR] [--battery-only] [--write-hashes FILE] [--expect FILE] [--only A,B]"
                    " [--sample small|full]\n",
                    argv[0]);
            return 2;
        }
    }
    if (to_unknown_suite(only, bad_suite, sizeof bad_suite)) {
        printf("FAIL runner/--only: this runner holds no suite \"%s\"\n0 passed, 1 failed\n", bad_suite);
        return 1;
    }
    if (expect_path) {
        if (!to_load_expect(expect_path, &expect)) {
            fprintf(stderr, "cannot read %s\n", expect_path);
            return 2;
        }
        have_expect = 1;
    }

    memset(backends, 0, sizeof backends);
    backends[nb].name = "scalar"; to_fill_scalar(&backends[nb++]);
#if defined(TO_WITH_AVX2)
    backends[nb].name = "avx2"; to_fill_avx2(&backends[nb++]);
#endif
#if defined(TO_WITH_AVX512)
    backends[nb].name = "avx512"; to_fill_avx512(&backends[nb++]);
#endif
#if defined(TO_WITH_NEON)
    backends[nb].name = "neon"; to_fill_neon(&backends[nb++]);
#endif
#if defined(TO_WITH_SSE2)
    backends[nb].name = "sse2"; to_fill_sse2(&backends[nb++]);
#endif
    for (i = 0; i < nb; i++) {
        int kept = 0;
        backends[i].why_not = to_cpu_lacks(backends[i].name);
        for (s = 0; s < backends[i].count; s++)
            if (to_selected(only, backends[i].suites[s].name)) backends[i].suites[kept++] = backends[i].suites[s];
        backends[i].count = kept;
    }

    memset(&t, 0, sizeof t);
    t.golden_dir = golden;
    t.small = small;
    if (small) printf("NOTE --sample small: fewer repetitions of each case (tests/harness.h, to_ctx.small)\n");
    to_crash_ctx = &t;
    signal(SIGSEGV, to_on_crash);
    signal(SIGBUS, to_on_crash);
    if (!battery_only) {
        t.backend = "once";
        to_run_once_suites(&t, only);
    }
    for (i = 0; i < nb; i++) {
        to_backend *b = &backends[i];
        t.backend = b->name;
        for (s = 0; s < b->count; s++) {
            to_sink *sink;
            t.suite = b->suites[s].name;
            if (b->why_not) {
                to_skip(&t, "all", b->why_not);
                continue;
            }
            if (!battery_only) b->suites[s].tests(&t);
            sink = to_sink_new();
            b->suites[s].battery(sink);
            if (i == 0) {
                reference[s] = sink;
            } else {
                t.test = "identity-with-scalar";
                t.failures = 0;
                to_sink_compare(&t, sink, reference[s]);
                if (t.failures) { t.failed++; printf("FAIL %s/identity-with-scalar [%s]\n", t.suite, t.backend); }
                else t.passed++;
                to_sink_free(sink);
            }
        }
    }
    if (write_hashes) {
        FILE *f = fopen(write_hashes, "w");
        size_t r;
        if (!f) { fprintf(stderr, "cannot write %s\n", write_hashes); return 2; }
        for (s = 0; s < backends[0].count; s++)
            for (r = 0; r < to_sink_count(reference[s]); r++)
                fprintf(f, "%s/%s %016" PRIx64 "\n", backends[0].suites[s].name, to_sink_name(reference[s], r),
                        to_sink_hash(reference[s], r));
        fclose(f);
    }
    if (have_expect) {
        /* Every backend of this build against the reference build's scalar hashes. */
        for (i = 0; i < nb; i++) {
            to_backend *b = &backends[i];
            size_t r;
            if (b->why_not) continue;
            t.backend = b->name;
            t.suite = "build";
            t.test = "identity-with-reference-build";
            t.failures = 0;
            for (s = 0; s < b->count; s++) {
                to_sink *sink = to_sink_new();
                b->suites[s].battery(sink);
                for (r = 0; r < to_sink_count(sink); r++) {
                    size_t k;
                    char name[200];
                    snprintf(name, sizeof name, "%s/%s", b->suites[s].name, to_sink_name(sink, r));
                    for (k = 0; k < expect.count; k++)
                        if (strcmp(expect.names[k], name) == 0) break;
                    if (k == expect.count) to_fail(&t, "%s: not in the reference build", name);
                    else if (expect.hashes[k] != to_sink_hash(sink, r))
                        to_fail(&t, "%s: hash %016" PRIx64 " differs from the reference build's %016" PRIx64, name,
                                to_sink_hash(sink, r), expect.hashes[k]);
                }
                to_sink_free(sink);
            }
            if (t.failures) { t.failed++; printf("FAIL build/identity-with-reference-build [%s]\n", b->name); }
            else t.passed++;
        }
    }
    for (s = 0; s < 32; s++)
        if (reference[s]) to_sink_free(reference[s]);
    if (have_expect) {
        free(expect.names);
        free(expect.hashes);
    }
    printf("%d passed, %d failed", t.passed, t.failed);
    if (t.skipped) printf(", %d skipped", t.skipped);
    printf("\n");
    return t.failed ? 1 : 0;
}
