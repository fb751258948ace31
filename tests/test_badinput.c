/* tests/test_badinput.c - the bad-input matrix (issue 10): every public function of
   trainopt.h, called with a NULL for each pointer, n = 0, lengths whose byte size
   overflows size_t, NaN/Inf/negative/out-of-range values for each hyperparameter,
   step 0 and negative, and overlapping buffers. Each call must return its documented
   status (trainopt.h's ERRORS sections; schedules document NaN as their error) and,
   when it refuses, leave every byte of every buffer as it was (a checksum of all
   memory the call could reach, before and after).

   The matrix is generated from one table row per function (bi_kernels below): the
   letters of `slots` say what each pointer argument is, those of `hkinds` and
   `ikinds` the valid range of each real and integer parameter, and the generic rows
   follow from them. Rows no letter can express are written out in each function's
   `extra`. Compiled once per backend (see tests/harness.h): validation runs before
   any vector code, and this checks that no backend writes before it refuses.

   Every refusal must also leave a text in trainopt_last_error() that starts with the
   function's name and ": ", and an accepted call must leave the text alone; a few
   texts are checked word for word (badinput_messages). The table must have a row
   for every function of the kernel list that takes arguments (badinput_complete). */
#include "harness.h"
#include "trainopt.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Pseudo-statuses of the functions that return a double or a string. */
#define BI_NAN (-1)    /* returned NaN (or "unknown"): their documented answer to bad input */
#define BI_NUMBER (-2) /* returned a number (a name): accepted */
#define BI_ANY (-3)    /* either is documented; the row checks only that nothing crashes */

enum { BI_SLOTS = 11, BI_SLOT_FLOATS = 512, BI_PAD = 16, BI_STRIDE = BI_SLOT_FLOATS + 2 * BI_PAD };
#define BI_N 37 /* a valid length: two AVX-512 vectors and a tail of 5 */
#define BI_BIG_N (SIZE_MAX / sizeof(float) + 1)

/* All memory a call can reach: one region per pointer slot, with padding so that a
   slot moved one float into another stays inside the arena. Doubles keep it aligned
   for the structs some slots hold. */
static union {
    double align;
    float f[BI_SLOTS * BI_STRIDE];
} bi_arena;

typedef struct {
    void *p[BI_SLOTS]; /* the pointer arguments, in signature order (config pointers included) */
    double h[8];       /* real parameters, in the order the row's hkinds names them */
    int64_t i[6];      /* integer parameters, in the order the row's ikinds names them */
    int64_t step;      /* step, or t for the schedules */
    size_t n;          /* the length (batch, channels, k or ndim: see the row) */
    float *list[2];    /* the tensors of the list kernels (clip_grad_norm, ...) */
    size_t lens[2];
} bi_args;

typedef struct bi_kernel bi_kernel;
struct bi_kernel {
    const char *name;
    int (*call)(bi_args *a);
    /* Pointer slots, one letter each:
         c  a config or other required pointer that is not an array: NULL -> bad_null
         R/W  a required float array the call reads / writes:           NULL -> bad_null
         r/w  an optional float array (NULL allowed) it reads / writes: NULL -> ok
         S/s  a required / optional scalar output (written)
         x  a required pointer to something else (labels, lens, text...): NULL -> bad_null
         y  an optional pointer to something else:                        NULL -> ok
       Every pair of arrays and scalars with at least one written member is also made
       to overlap (ERR_ALIAS), and arrays to coincide exactly (ERR_ALIAS unless the pair
       is in exact_ok, a list of slot-digit pairs). */
    const char *slots;
    const char *exact_ok;
    /* Real parameters: n >= 0 finite, f finite, p > 0 finite, b in [0, 1), u in [0, 1],
       m >= 0 or +Inf (max_norm), F finite within float range, g as F and >= 0,
       q as F and > 0, - not checked here. */
    const char *hkinds;
    /* Integer parameters: P >= 1, N >= 0, E an enum (-1 and 99 refused),
       L the batch-norm layout enum (refused with ERR_SHAPE), - not checked here. */
    const char *ikinds;
    double h0[8];
    int64_t i0[6];
    int64_t step_min; /* the smallest valid step/t; INT64_MIN: the function takes none */
    size_t n_valid;   /* 0: the function takes no length */
    size_t n_big;     /* a length whose byte size overflows (ERR_SHAPE); 0: none */
    int ok, bad_null, bad_h, bad_step; /* expected results */
    int empty_writes; /* n = 0 writes the empty result to a scalar output (loss NaN, penalty 0) */
    int scratch;      /* a slot excluded from the checksum, or -1: a message buffer, a schedule the call
                         fills, schedules copied in whole (their padding bytes are undefined) */
    void (*setup)(bi_args *a);
    void (*extra)(to_ctx *t, const bi_kernel *k);
};

/* ---- the arena, checksums and the row runner ------------------------------------------ */

static float *bi_slot(int s) { return bi_arena.f + s * BI_STRIDE + BI_PAD; }

static uint64_t bi_checksum(int exclude) {
    const unsigned char *b = (const unsigned char *)bi_arena.f;
    uint64_t h = 0xcbf29ce484222325ull;
    size_t i, skip_lo = (size_t)-1, skip_hi = 0;
    if (exclude >= 0) {
        skip_lo = (size_t)exclude * BI_STRIDE * sizeof(float);
        skip_hi = skip_lo + BI_STRIDE * sizeof(float);
    }
    for (i = 0; i < sizeof bi_arena.f; i++) {
        if (i >= skip_lo && i < skip_hi) continue;
        h = (h ^ b[i]) * 0x100000001b3ull;
    }
    return h;
}

/* A valid call: every slot points at its own region of finite data in [0.25, 1). */
static void bi_setup(const bi_kernel *k, bi_args *a) {
    uint64_t seed = 0x5eedu;
    size_t i;
    memset(a, 0, sizeof *a);
    to_rand_fill(&seed, bi_arena.f, sizeof bi_arena.f / sizeof(float), 0.25f, 1.0f);
    for (i = 0; i < BI_SLOTS; i++) a->p[i] = i < strlen(k->slots) ? (void *)bi_slot((int)i) : NULL;
    memcpy(a->h, k->h0, sizeof a->h);
    memcpy(a->i, k->i0, sizeof a->i);
    a->step = k->step_min == INT64_MIN ? 0 : k->step_min + 2;
    a->n = k->n_valid;
    if (k->setup) k->setup(a);
}

static int bi_is_error(int want) { return want != TRAINOPT_OK && want != BI_NUMBER && want != BI_ANY; }

/* After a call that returned `got`: a refusal (a status other than OK) leaves a text that
   starts with "trainopt_<name>: " and says more; anything else leaves the text empty
   (bi_row clears it before the call). */
static void bi_check_text(to_ctx *t, const bi_kernel *k, int got, const char *what) {
    const char *text = trainopt_last_error();
    char prefix[96];
    size_t len;
    if (text == NULL) {
        to_fail(t, "%s: %s: trainopt_last_error() returned NULL", k->name, what);
        return;
    }
    len = (size_t)snprintf(prefix, sizeof prefix, "trainopt_%s: ", k->name);
    if (got > TRAINOPT_OK) {
        TO_CHECK(t, strncmp(text, prefix, len) == 0 && strlen(text) > len + 3,
                 "%s: %s returned %d, but trainopt_last_error() is \"%s\" (should start \"%s\" and say why)", k->name,
                 what, got, text, prefix);
    } else {
        TO_CHECK(t, text[0] == '\0', "%s: %s returned %d, yet set trainopt_last_error() to \"%s\"", k->name, what, got,
                 text);
    }
}

/* Runs one row: the status must be `want`; a refused call must leave the arena as it was
   (also an accepted one when `unchanged`). Returns what the call returned. */
static int bi_row(to_ctx *t, const bi_kernel *k, bi_args *a, int want, int unchanged, const char *what) {
    uint64_t before = bi_checksum(k->scratch), after;
    int got;
    trainopt_clear_error();
    got = k->call(a);
    after = bi_checksum(k->scratch);
    if (!t) return got;
    if (want != BI_ANY && got != want)
        to_fail(t, "%s: %s returned %d, documented %d", k->name, what, got, want);
    else if ((bi_is_error(want) || unchanged) && after != before)
        to_fail(t, "%s: %s returned %d but changed memory it was given", k->name, what, got);
    bi_check_text(t, k, got, what);
    return got;
}

/* Statuses of every row, for the battery (the same on every backend). */
static int bi_log[4096];
static size_t bi_log_n;
static int bi_logged(int s) {
    if (bi_log_n < sizeof bi_log / sizeof bi_log[0]) bi_log[bi_log_n++] = s;
    return s;
}

static int bi_is_array(char c) { return c == 'R' || c == 'W' || c == 'r' || c == 'w'; }
static int bi_is_scalar(char c) { return c == 'S' || c == 's'; }
static int bi_writes(char c) { return c == 'W' || c == 'w' || c == 'S' || c == 's'; }
static int bi_exact_ok(const bi_kernel *k, int i, int j) {
    const char *e = k->exact_ok;
    for (; e && e[0] && e[1]; e += e[2] ? 3 : 2)
        if ((e[0] - '0' == i && e[1] - '0' == j) || (e[0] - '0' == j && e[1] - '0' == i)) return 1;
    return 0;
}

/* The rows every function gets from its table entry. */
static void bi_generic(to_ctx *t, const bi_kernel *k) {
    static const double nan_inf[] = {NAN, INFINITY, -INFINITY};
    const int nslots = (int)strlen(k->slots);
    bi_args a;
    char what[128];
    int s, j, v;
    size_t q;

    bi_setup(k, &a);
    bi_logged(bi_row(t, k, &a, k->ok, 0, "the valid call"));

    for (s = 0; s < nslots; s++) { /* NULL for each pointer */
        const char c = k->slots[s];
        const int required = c == 'c' || c == 'R' || c == 'W' || c == 'S' || c == 'x';
        bi_setup(k, &a);
        a.p[s] = NULL;
        snprintf(what, sizeof what, "pointer argument %d NULL", s);
        bi_logged(bi_row(t, k, &a, required ? k->bad_null : k->ok, 0, what));
    }

    for (j = 0; k->hkinds[j]; j++) { /* each real parameter out of range, and at its edges */
        const char c = k->hkinds[j];
        double bad[8], good[4]; /* at most 3 + 2 + 2 bad values (kind b) */
        int nb = 0, ng = 0;
        if (c == '-') continue;
        for (v = 0; v < 3; v++) bad[nb++] = nan_inf[v];
        if (c == 'm') nb = 2, bad[1] = -INFINITY, good[ng++] = INFINITY, good[ng++] = 0.0;
        if (c == 'n' || c == 'b' || c == 'u' || c == 'g') bad[nb++] = -1.0, bad[nb++] = -DBL_MIN, good[ng++] = 0.0;
        if (c == 'm') bad[nb++] = -1.0;
        if (c == 'p' || c == 'q') bad[nb++] = 0.0, bad[nb++] = -1.0;
        if (c == 'b') bad[nb++] = 1.0, bad[nb++] = 1.5;
        if (c == 'u') bad[nb++] = 1.0 + DBL_EPSILON, good[ng++] = 1.0;
        if (c == 'F' || c == 'g' || c == 'q') bad[nb++] = 1e39;
        for (v = 0; v < nb; v++) {
            bi_setup(k, &a);
            a.h[j] = bad[v];
            snprintf(what, sizeof what, "real parameter %d = %g", j, bad[v]);
            bi_logged(bi_row(t, k, &a, k->bad_h, 0, what));
        }
        for (v = 0; v < ng; v++) {
            bi_setup(k, &a);
            a.h[j] = good[v];
            snprintf(what, sizeof what, "real parameter %d = %g", j, good[v]);
            bi_logged(bi_row(t, k, &a, k->ok, 0, what));
        }
    }

    for (j = 0; k->ikinds[j]; j++) { /* each integer parameter out of range, and at its edge */
        const char c = k->ikinds[j];
        /* enums: values an int holds (INT64_MIN would convert to 0, a valid enumerator) */
        const int64_t bad[] = {c == 'P' ? 0 : -1, c == 'E' || c == 'L' ? INT32_MIN : INT64_MIN, 99};
        const int nb = c == 'E' || c == 'L' ? 3 : 2;
        if (c == '-') continue;
        for (v = 0; v < nb; v++) {
            if (v == 0 && c == 'N') continue; /* -1 is tried as INT64_MIN's neighbour below */
            bi_setup(k, &a);
            a.i[j] = bad[v];
            snprintf(what, sizeof what, "integer parameter %d = %lld", j, (long long)bad[v]);
            bi_logged(bi_row(t, k, &a, c == 'L' ? TRAINOPT_ERR_SHAPE : k->bad_h, 0, what));
        }
        if (c == 'N' || c == 'P') {
            bi_setup(k, &a);
            a.i[j] = c == 'N' ? -1 : 0;
            bi_logged(bi_row(t, k, &a, k->bad_h, 0, "integer parameter one below its range"));
            bi_setup(k, &a);
            a.i[j] = c == 'N' ? 0 : 1;
            bi_logged(bi_row(t, k, &a, k->ok, 0, "integer parameter at the edge of its range"));
        }
    }

    if (k->step_min != INT64_MIN) { /* step 0, negative, and the extremes */
        const int64_t bad[] = {k->step_min - 1, -1, INT64_MIN};
        for (v = 0; v < 3; v++) {
            bi_setup(k, &a);
            a.step = bad[v];
            if (a.step >= k->step_min) continue;
            snprintf(what, sizeof what, "step %lld", (long long)bad[v]);
            bi_logged(bi_row(t, k, &a, k->bad_step, 0, what));
        }
        bi_setup(k, &a);
        a.step = k->step_min;
        bi_logged(bi_row(t, k, &a, k->ok, 0, "the first step"));
        bi_setup(k, &a);
        a.step = INT64_MAX;
        bi_logged(bi_row(t, k, &a, k->ok == TRAINOPT_OK ? TRAINOPT_OK : BI_ANY, 0, "step INT64_MAX"));
    }

    if (k->n_big) { /* lengths: zero, and byte sizes that overflow */
        const size_t big[] = {k->n_big, SIZE_MAX};
        bi_setup(k, &a);
        a.n = 0;
        bi_logged(bi_row(t, k, &a, k->ok, !k->empty_writes, "n = 0"));
        bi_setup(k, &a);
        a.n = 0;
        for (s = 0; s < nslots; s++)
            if (k->slots[s] != 'c') a.p[s] = NULL;
        bi_logged(bi_row(t, k, &a, k->ok, 1, "n = 0, every array NULL"));
        for (s = 0; s < nslots; s++) { /* a config is required even when there is nothing to do */
            if (k->slots[s] != 'c') continue;
            bi_setup(k, &a);
            a.n = 0;
            a.p[s] = NULL;
            bi_logged(bi_row(t, k, &a, k->bad_null, 1, "n = 0, the config NULL"));
        }
        for (q = 0; q < 2; q++) {
            bi_setup(k, &a);
            a.n = big[q];
            snprintf(what, sizeof what, "n = %zu (bytes overflow size_t)", big[q]);
            bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_SHAPE, 0, what));
        }
    }

    for (s = 0; s < nslots; s++) /* overlapping buffers */
        for (j = s + 1; j < nslots; j++) {
            const char cs = k->slots[s], cj = k->slots[j];
            const int arrays = bi_is_array(cs) && bi_is_array(cj);
            if (!(bi_is_array(cs) || bi_is_scalar(cs)) || !(bi_is_array(cj) || bi_is_scalar(cj))) continue;
            if (bi_is_scalar(cs) && bi_is_scalar(cj)) continue;
            if (!bi_writes(cs) && !bi_writes(cj)) continue;
            bi_setup(k, &a); /* one float into the other (a scalar always inside the array) */
            if (bi_is_scalar(cs)) a.p[s] = (float *)a.p[j] + 1;
            else a.p[j] = (float *)a.p[s] + 1;
            snprintf(what, sizeof what, "pointer arguments %d and %d overlapping", s, j);
            bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_ALIAS, 0, what));
            if (!arrays) continue;
            bi_setup(k, &a);
            a.p[j] = a.p[s];
            snprintf(what, sizeof what, "pointer arguments %d and %d the same array", s, j);
            bi_logged(bi_row(t, k, &a, bi_exact_ok(k, s, j) ? k->ok : TRAINOPT_ERR_ALIAS, 0, what));
        }

    if (k->extra) k->extra(t, k);
}

/* Shorthands for the call functions. */
#define F(s) ((float *)a->p[s])
#define C(s) (a->p[s] != NULL) /* a config slot: pass the stack config, or NULL */
#define SCHED(x) (isnan(x) ? BI_NAN : BI_NUMBER)

/* ---- optimizers ------------------------------------------------------------------------ */

static trainopt_sgd_config bi_sgd_cfg(const bi_args *a) {
    trainopt_sgd_config c;
    c.lr = a->h[0], c.momentum = a->h[1], c.dampening = a->h[2], c.weight_decay = a->h[3];
    c.nesterov = (int)a->i[0], c.maximize = (int)a->i[1];
    return c;
}
/* The fused-step options: grad_scale h[hi], found_inf i[ii], nonfinite in slot ns. */
static trainopt_step_opts bi_opts(const bi_args *a, int hi, int ii, int ns, int *found_inf) {
    trainopt_step_opts o;
    *found_inf = (int)a->i[ii];
    o.grad_scale = a->h[hi];
    o.found_inf = found_inf;
    o.nonfinite = (size_t *)a->p[ns];
    return o;
}
static int bi_sgd(bi_args *a) {
    trainopt_sgd_config c = bi_sgd_cfg(a);
    return trainopt_sgd_step(C(0) ? &c : NULL, a->step, a->n, F(1), F(2), F(3));
}
static int bi_sgd_ex(bi_args *a) {
    trainopt_sgd_config c = bi_sgd_cfg(a);
    int fi;
    trainopt_step_opts o = bi_opts(a, 4, 2, 5, &fi);
    return trainopt_sgd_step_ex(C(0) ? &c : NULL, a->step, a->n, F(1), F(2), F(3), a->p[4] ? &o : NULL);
}
static void bi_sgd_extra(to_ctx *t, const bi_kernel *k) {
    bi_args a;
    bi_setup(k, &a), a.h[1] = 0.0, a.p[3] = NULL;
    bi_logged(bi_row(t, k, &a, TRAINOPT_OK, 0, "no momentum, no buffer"));
    bi_setup(k, &a), a.h[1] = 0.0, a.i[0] = 1;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_HPARAM, 0, "nesterov without momentum"));
    bi_setup(k, &a), a.h[2] = 0.5, a.i[0] = 1;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_HPARAM, 0, "nesterov with dampening"));
    bi_setup(k, &a), a.i[0] = 1;
    bi_logged(bi_row(t, k, &a, TRAINOPT_OK, 0, "nesterov"));
}

/* What every _ex form shares: a skipped step writes nothing but *nonfinite = 0 and
   ignores the scale; *nonfinite overlapping an array is refused, skipped or not. */
static void bi_ex_extra(to_ctx *t, const bi_kernel *k, int hi, int ii, int ns) {
    bi_args a;
    size_t *nf;
    uint64_t before;
    int got;
    bi_setup(k, &a), a.i[ii] = 1, a.h[hi] = NAN;
    nf = (size_t *)a.p[ns];
    *nf = 12345;
    before = bi_checksum(ns);
    got = bi_logged(k->call(&a));
    if (t)
        TO_CHECK(t, got == TRAINOPT_OK && *nf == 0 && bi_checksum(ns) == before,
                 "%s: found_inf with a NaN scale: status %d, nonfinite %zu, arrays %s (documented: OK, 0, untouched)",
                 k->name, got, *nf, bi_checksum(ns) == before ? "untouched" : "changed");
    bi_setup(k, &a), a.p[ns] = (float *)a.p[1] + 2; /* 8-byte aligned, as a size_t needs */
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_ALIAS, 0, "opts->nonfinite inside param"));
    bi_setup(k, &a), a.i[ii] = 1, a.p[ns] = (float *)a.p[1] + 2; /* even a skipped step writes the count */
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_ALIAS, 0, "opts->nonfinite inside param, found_inf set"));
}
static void bi_sgd_ex_extra(to_ctx *t, const bi_kernel *k) {
    bi_sgd_extra(t, k);
    bi_ex_extra(t, k, 4, 2, 5);
}

static trainopt_adagrad_config bi_adagrad_cfg(const bi_args *a) {
    trainopt_adagrad_config c;
    c.lr = a->h[0], c.lr_decay = a->h[1], c.weight_decay = a->h[2], c.initial_accumulator_value = a->h[3];
    c.eps = a->h[4], c.maximize = (int)a->i[0];
    return c;
}
static int bi_adagrad_init(bi_args *a) {
    trainopt_adagrad_config c = bi_adagrad_cfg(a);
    return trainopt_adagrad_init(C(0) ? &c : NULL, a->n, F(1));
}
static int bi_adagrad(bi_args *a) {
    trainopt_adagrad_config c = bi_adagrad_cfg(a);
    return trainopt_adagrad_step(C(0) ? &c : NULL, a->step, a->n, F(1), F(2), F(3));
}
static int bi_adagrad_ex(bi_args *a) {
    trainopt_adagrad_config c = bi_adagrad_cfg(a);
    int fi;
    trainopt_step_opts o = bi_opts(a, 5, 1, 5, &fi);
    return trainopt_adagrad_step_ex(C(0) ? &c : NULL, a->step, a->n, F(1), F(2), F(3), a->p[4] ? &o : NULL);
}
static void bi_adagrad_ex_extra(to_ctx *t, const bi_kernel *k) { bi_ex_extra(t, k, 5, 1, 5); }

static trainopt_rmsprop_config bi_rmsprop_cfg(const bi_args *a) {
    trainopt_rmsprop_config c;
    c.lr = a->h[0], c.alpha = a->h[1], c.eps = a->h[2], c.weight_decay = a->h[3], c.momentum = a->h[4];
    c.centered = (int)a->i[0], c.maximize = (int)a->i[1];
    return c;
}
static int bi_rmsprop(bi_args *a) {
    trainopt_rmsprop_config c = bi_rmsprop_cfg(a);
    return trainopt_rmsprop_step(C(0) ? &c : NULL, a->step, a->n, F(1), F(2), F(3), F(4), F(5));
}
static int bi_rmsprop_ex(bi_args *a) {
    trainopt_rmsprop_config c = bi_rmsprop_cfg(a);
    int fi;
    trainopt_step_opts o = bi_opts(a, 5, 2, 7, &fi);
    return trainopt_rmsprop_step_ex(C(0) ? &c : NULL, a->step, a->n, F(1), F(2), F(3), F(4), F(5), a->p[6] ? &o : NULL);
}
static void bi_rmsprop_extra(to_ctx *t, const bi_kernel *k) {
    bi_args a;
    bi_setup(k, &a), a.h[4] = 0.0, a.p[4] = NULL;
    bi_logged(bi_row(t, k, &a, TRAINOPT_OK, 0, "no momentum, no momentum buffer"));
    bi_setup(k, &a), a.i[0] = 0, a.p[5] = NULL;
    bi_logged(bi_row(t, k, &a, TRAINOPT_OK, 0, "not centered, no grad_avg"));
}
static void bi_rmsprop_ex_extra(to_ctx *t, const bi_kernel *k) {
    bi_rmsprop_extra(t, k);
    bi_ex_extra(t, k, 5, 2, 7);
}

static trainopt_adam_config bi_adam_cfg(const bi_args *a) {
    trainopt_adam_config c;
    c.lr = a->h[0], c.beta1 = a->h[1], c.beta2 = a->h[2], c.eps = a->h[3], c.weight_decay = a->h[4];
    c.amsgrad = (int)a->i[0], c.maximize = (int)a->i[1];
    return c;
}
static int bi_adam(bi_args *a) {
    trainopt_adam_config c = bi_adam_cfg(a);
    return trainopt_adam_step(C(0) ? &c : NULL, a->step, a->n, F(1), F(2), F(3), F(4), F(5));
}
static int bi_adamw(bi_args *a) {
    trainopt_adam_config c = bi_adam_cfg(a);
    return trainopt_adamw_step(C(0) ? &c : NULL, a->step, a->n, F(1), F(2), F(3), F(4), F(5));
}
static int bi_adam_ex(bi_args *a) {
    trainopt_adam_config c = bi_adam_cfg(a);
    int fi;
    trainopt_step_opts o = bi_opts(a, 5, 2, 7, &fi);
    return trainopt_adam_step_ex(C(0) ? &c : NULL, a->step, a->n, F(1), F(2), F(3), F(4), F(5), a->p[6] ? &o : NULL);
}
static int bi_adamw_ex(bi_args *a) {
    trainopt_adam_config c = bi_adam_cfg(a);
    int fi;
    trainopt_step_opts o = bi_opts(a, 5, 2, 7, &fi);
    return trainopt_adamw_step_ex(C(0) ? &c : NULL, a->step, a->n, F(1), F(2), F(3), F(4), F(5), a->p[6] ? &o : NULL);
}
static void bi_adam_extra(to_ctx *t, const bi_kernel *k) {
    bi_args a;
    bi_setup(k, &a), a.i[0] = 0, a.p[5] = NULL;
    bi_logged(bi_row(t, k, &a, TRAINOPT_OK, 0, "no amsgrad, no max_exp_avg_sq"));
}
static void bi_adam_ex_extra(to_ctx *t, const bi_kernel *k) {
    bi_adam_extra(t, k);
    bi_ex_extra(t, k, 5, 2, 7);
}

/* Issue 16: NAdam (h[6] the mu product), RAdam, Adamax, Adadelta, Lion. */
static trainopt_nadam_config bi_nadam_cfg(const bi_args *a) {
    trainopt_nadam_config c;
    c.lr = a->h[0], c.beta1 = a->h[1], c.beta2 = a->h[2], c.eps = a->h[3], c.weight_decay = a->h[4];
    c.momentum_decay = a->h[5], c.decoupled_weight_decay = (int)a->i[0], c.maximize = (int)a->i[1];
    return c;
}
static int bi_nadam_mu_product(bi_args *a) {
    trainopt_nadam_config c = bi_nadam_cfg(a);
    return SCHED(trainopt_nadam_mu_product(C(0) ? &c : NULL, a->step, a->h[6]));
}
static int bi_nadam(bi_args *a) {
    trainopt_nadam_config c = bi_nadam_cfg(a);
    return trainopt_nadam_step(C(0) ? &c : NULL, a->step, a->h[6], a->n, F(1), F(2), F(3), F(4));
}
static int bi_nadam_ex(bi_args *a) {
    trainopt_nadam_config c = bi_nadam_cfg(a);
    int fi;
    trainopt_step_opts o = bi_opts(a, 7, 2, 6, &fi);
    return trainopt_nadam_step_ex(C(0) ? &c : NULL, a->step, a->h[6], a->n, F(1), F(2), F(3), F(4), a->p[5] ? &o : NULL);
}
static void bi_nadam_ex_extra(to_ctx *t, const bi_kernel *k) { bi_ex_extra(t, k, 7, 2, 6); }

static trainopt_radam_config bi_radam_cfg(const bi_args *a) {
    trainopt_radam_config c;
    c.lr = a->h[0], c.beta1 = a->h[1], c.beta2 = a->h[2], c.eps = a->h[3], c.weight_decay = a->h[4];
    c.decoupled_weight_decay = (int)a->i[0], c.maximize = (int)a->i[1];
    return c;
}
static int bi_radam(bi_args *a) {
    trainopt_radam_config c = bi_radam_cfg(a);
    return trainopt_radam_step(C(0) ? &c : NULL, a->step, a->n, F(1), F(2), F(3), F(4));
}
static int bi_radam_ex(bi_args *a) {
    trainopt_radam_config c = bi_radam_cfg(a);
    int fi;
    trainopt_step_opts o = bi_opts(a, 5, 2, 6, &fi);
    return trainopt_radam_step_ex(C(0) ? &c : NULL, a->step, a->n, F(1), F(2), F(3), F(4), a->p[5] ? &o : NULL);
}
static void bi_radam_ex_extra(to_ctx *t, const bi_kernel *k) { bi_ex_extra(t, k, 5, 2, 6); }

static trainopt_adamax_config bi_adamax_cfg(const bi_args *a) {
    trainopt_adamax_config c;
    c.lr = a->h[0], c.beta1 = a->h[1], c.beta2 = a->h[2], c.eps = a->h[3], c.weight_decay = a->h[4];
    c.maximize = (int)a->i[0];
    return c;
}
static int bi_adamax(bi_args *a) {
    trainopt_adamax_config c = bi_adamax_cfg(a);
    return trainopt_adamax_step(C(0) ? &c : NULL, a->step, a->n, F(1), F(2), F(3), F(4));
}
static int bi_adamax_ex(bi_args *a) {
    trainopt_adamax_config c = bi_adamax_cfg(a);
    int fi;
    trainopt_step_opts o = bi_opts(a, 5, 1, 6, &fi);
    return trainopt_adamax_step_ex(C(0) ? &c : NULL, a->step, a->n, F(1), F(2), F(3), F(4), a->p[5] ? &o : NULL);
}
static void bi_adamax_ex_extra(to_ctx *t, const bi_kernel *k) { bi_ex_extra(t, k, 5, 1, 6); }

static trainopt_adadelta_config bi_adadelta_cfg(const bi_args *a) {
    trainopt_adadelta_config c;
    c.lr = a->h[0], c.rho = a->h[1], c.eps = a->h[2], c.weight_decay = a->h[3], c.maximize = (int)a->i[0];
    return c;
}
static int bi_adadelta(bi_args *a) {
    trainopt_adadelta_config c = bi_adadelta_cfg(a);
    return trainopt_adadelta_step(C(0) ? &c : NULL, a->step, a->n, F(1), F(2), F(3), F(4));
}
static int bi_adadelta_ex(bi_args *a) {
    trainopt_adadelta_config c = bi_adadelta_cfg(a);
    int fi;
    trainopt_step_opts o = bi_opts(a, 4, 1, 6, &fi);
    return trainopt_adadelta_step_ex(C(0) ? &c : NULL, a->step, a->n, F(1), F(2), F(3), F(4), a->p[5] ? &o : NULL);
}
static void bi_adadelta_ex_extra(to_ctx *t, const bi_kernel *k) { bi_ex_extra(t, k, 4, 1, 6); }

static trainopt_lion_config bi_lion_cfg(const bi_args *a) {
    trainopt_lion_config c;
    c.lr = a->h[0], c.beta1 = a->h[1], c.beta2 = a->h[2], c.weight_decay = a->h[3], c.maximize = (int)a->i[0];
    return c;
}
static int bi_lion(bi_args *a) {
    trainopt_lion_config c = bi_lion_cfg(a);
    return trainopt_lion_step(C(0) ? &c : NULL, a->step, a->n, F(1), F(2), F(3));
}
static int bi_lion_ex(bi_args *a) {
    trainopt_lion_config c = bi_lion_cfg(a);
    int fi;
    trainopt_step_opts o = bi_opts(a, 4, 1, 5, &fi);
    return trainopt_lion_step_ex(C(0) ? &c : NULL, a->step, a->n, F(1), F(2), F(3), a->p[4] ? &o : NULL);
}
static void bi_lion_extra(to_ctx *t, const bi_kernel *k) {
    bi_args a;
    bi_setup(k, &a), a.h[0] = NAN;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_HPARAM, 0, "lr left at TRAINOPT_LION_DEFAULTS' NaN (no default)"));
}
static void bi_lion_ex_extra(to_ctx *t, const bi_kernel *k) {
    bi_lion_extra(t, k);
    bi_ex_extra(t, k, 4, 1, 5);
}

/* ---- 8-bit states (src/quant8.h): codes and absmax are 'x' slots (bytes, and one float per
   block), so their overlaps are written out in each extra ------------------------------ */

#define U8(s) ((uint8_t *)a->p[s])
static int bi_quantize(bi_args *a) {
    return trainopt_quantize_blockwise((trainopt_q8_map)a->i[0], (size_t)a->i[1], a->n, F(0), U8(1), F(2));
}
static int bi_dequantize(bi_args *a) {
    return trainopt_dequantize_blockwise((trainopt_q8_map)a->i[0], (size_t)a->i[1], a->n, U8(0), F(1), F(2));
}
/* A bad block size, then slot `inner` moved into slot `outer` (each pair: outer, inner). */
static void bi_q8_extra(to_ctx *t, const bi_kernel *k, int block_i, const int *pairs, int npairs) {
    static const int64_t bad_blocks[] = {0, 32, 96, 8192};
    bi_args a;
    char what[96];
    int q;
    for (q = 0; q < 4; q++) {
        bi_setup(k, &a), a.i[block_i] = bad_blocks[q];
        snprintf(what, sizeof what, "block %lld", (long long)bad_blocks[q]);
        bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_SHAPE, 0, what));
    }
    bi_setup(k, &a), a.i[block_i] = 64;
    bi_logged(bi_row(t, k, &a, TRAINOPT_OK, 0, "block 64"));
    bi_setup(k, &a), a.i[block_i] = 4096;
    bi_logged(bi_row(t, k, &a, TRAINOPT_OK, 0, "block 4096"));
    for (q = 0; q < npairs; q++) {
        bi_setup(k, &a), a.p[pairs[2 * q + 1]] = (unsigned char *)a.p[pairs[2 * q]] + 1;
        snprintf(what, sizeof what, "pointer argument %d inside %d", pairs[2 * q + 1], pairs[2 * q]);
        bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_ALIAS, 0, what));
        bi_setup(k, &a), a.p[pairs[2 * q]] = (unsigned char *)a.p[pairs[2 * q + 1]] + 1;
        snprintf(what, sizeof what, "pointer argument %d inside %d", pairs[2 * q], pairs[2 * q + 1]);
        bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_ALIAS, 0, what));
    }
}
static void bi_quantize_extra(to_ctx *t, const bi_kernel *k) {
    static const int pairs[] = {0, 1, 0, 2, 1, 2};
    bi_q8_extra(t, k, 1, pairs, 3);
}
static void bi_dequantize_extra(to_ctx *t, const bi_kernel *k) {
    static const int pairs[] = {2, 0, 2, 1};
    bi_q8_extra(t, k, 1, pairs, 2);
}
static int bi_sgd8(bi_args *a) {
    trainopt_sgd_config c = bi_sgd_cfg(a);
    return trainopt_sgd8bit_step(C(0) ? &c : NULL, a->step, (size_t)a->i[2], a->n, F(1), F(2), U8(3), F(4));
}
static int bi_sgd8_ex(bi_args *a) {
    trainopt_sgd_config c = bi_sgd_cfg(a);
    int fi;
    trainopt_step_opts o = bi_opts(a, 4, 3, 6, &fi);
    return trainopt_sgd8bit_step_ex(C(0) ? &c : NULL, a->step, (size_t)a->i[2], a->n, F(1), F(2), U8(3), F(4),
                                    a->p[5] ? &o : NULL);
}
static void bi_sgd8_extra(to_ctx *t, const bi_kernel *k) {
    static const int pairs[] = {1, 3, 2, 3, 1, 4, 3, 4};
    static const double bad_momentum[] = {0.0, -1.0, NAN, INFINITY};
    bi_args a;
    int q;
    bi_q8_extra(t, k, 2, pairs, 4);
    for (q = 0; q < 4; q++) {
        bi_setup(k, &a), a.h[1] = bad_momentum[q];
        bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_HPARAM, 0, "momentum not > 0 (no 8-bit form without a buffer)"));
    }
    bi_setup(k, &a), a.h[2] = 0.5, a.i[0] = 1;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_HPARAM, 0, "nesterov with dampening"));
    bi_setup(k, &a), a.i[0] = 1;
    bi_logged(bi_row(t, k, &a, TRAINOPT_OK, 0, "nesterov"));
    bi_setup(k, &a), a.step = 1;
    bi_logged(bi_row(t, k, &a, TRAINOPT_OK, 0, "the first step (the buffer is not read)"));
}
/* *nonfinite inside a state's codes or absmax (bytes 8-aligned in the arena). */
static void bi_q8_nonfinite_extra(to_ctx *t, const bi_kernel *k, int ns, int first_state, int states) {
    bi_args a;
    int s;
    for (s = first_state; s < first_state + 2 * states; s++) {
        bi_setup(k, &a), a.p[ns] = a.p[s];
        bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_ALIAS, 0, "opts->nonfinite inside a state's codes or absmax"));
    }
}
static void bi_sgd8_ex_extra(to_ctx *t, const bi_kernel *k) {
    bi_sgd8_extra(t, k);
    bi_ex_extra(t, k, 4, 3, 6);
    bi_q8_nonfinite_extra(t, k, 6, 3, 1);
}
static int bi_adam8(bi_args *a) {
    trainopt_adam_config c = bi_adam_cfg(a);
    return trainopt_adam8bit_step(C(0) ? &c : NULL, a->step, (size_t)a->i[2], a->n, F(1), F(2), U8(3), F(4), U8(5), F(6));
}
static int bi_adamw8(bi_args *a) {
    trainopt_adam_config c = bi_adam_cfg(a);
    return trainopt_adamw8bit_step(C(0) ? &c : NULL, a->step, (size_t)a->i[2], a->n, F(1), F(2), U8(3), F(4), U8(5), F(6));
}
static int bi_adam8_ex(bi_args *a) {
    trainopt_adam_config c = bi_adam_cfg(a);
    int fi;
    trainopt_step_opts o = bi_opts(a, 5, 3, 8, &fi);
    return trainopt_adam8bit_step_ex(C(0) ? &c : NULL, a->step, (size_t)a->i[2], a->n, F(1), F(2), U8(3), F(4), U8(5), F(6),
                                     a->p[7] ? &o : NULL);
}
static int bi_adamw8_ex(bi_args *a) {
    trainopt_adam_config c = bi_adam_cfg(a);
    int fi;
    trainopt_step_opts o = bi_opts(a, 5, 3, 8, &fi);
    return trainopt_adamw8bit_step_ex(C(0) ? &c : NULL, a->step, (size_t)a->i[2], a->n, F(1), F(2), U8(3), F(4), U8(5),
                                      F(6), a->p[7] ? &o : NULL);
}
static void bi_adam8_extra(to_ctx *t, const bi_kernel *k) {
    static const int pairs[] = {1, 3, 2, 5, 3, 5, 4, 6, 3, 4, 1, 6};
    bi_args a;
    bi_q8_extra(t, k, 2, pairs, 6);
    bi_setup(k, &a), a.i[0] = 1;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_HPARAM, 0, "amsgrad (no 8-bit form)"));
}
static void bi_adam8_ex_extra(to_ctx *t, const bi_kernel *k) {
    bi_adam8_extra(t, k);
    bi_ex_extra(t, k, 5, 3, 8);
    bi_q8_nonfinite_extra(t, k, 8, 3, 2);
}
static int bi_lion8(bi_args *a) {
    trainopt_lion_config c = bi_lion_cfg(a);
    return trainopt_lion8bit_step(C(0) ? &c : NULL, a->step, (size_t)a->i[1], a->n, F(1), F(2), U8(3), F(4));
}
static int bi_lion8_ex(bi_args *a) {
    trainopt_lion_config c = bi_lion_cfg(a);
    int fi;
    trainopt_step_opts o = bi_opts(a, 4, 2, 6, &fi);
    return trainopt_lion8bit_step_ex(C(0) ? &c : NULL, a->step, (size_t)a->i[1], a->n, F(1), F(2), U8(3), F(4),
                                     a->p[5] ? &o : NULL);
}
static void bi_lion8_extra(to_ctx *t, const bi_kernel *k) {
    static const int pairs[] = {1, 3, 2, 3, 1, 4, 3, 4};
    bi_q8_extra(t, k, 1, pairs, 4);
    bi_lion_extra(t, k);
}
static void bi_lion8_ex_extra(to_ctx *t, const bi_kernel *k) {
    bi_lion8_extra(t, k);
    bi_ex_extra(t, k, 4, 2, 6);
    bi_q8_nonfinite_extra(t, k, 6, 3, 1);
}

/* ---- LAMB, LARS, Adafactor, schedule-free AdamW (src/optim_layerwise.h) ------------------ */

/* The list kernels' lists: list L, tensor i at slot 7 + (2L + i) * 64 floats (lens 37 and 20),
   so all 8 tensors live in slot 7 and slot 6 stays free for the count output. The pointer
   arrays and lens are inputs outside the arena. */
static float *bi_lw_lists[4][2];
static size_t bi_lw_lens[2];
static void bi_lw_setup(bi_args *a) {
    int l, i;
    bi_lw_lens[0] = BI_N, bi_lw_lens[1] = 20;
    for (l = 0; l < 4; l++)
        for (i = 0; i < 2; i++) bi_lw_lists[l][i] = bi_slot(7) + (2 * l + i) * 64;
    a->p[1] = bi_lw_lens;
    for (l = 0; l < 4; l++) a->p[2 + l] = bi_lw_lists[l];
    a->n = 2;
}
#define LWL(s) ((float *const *)a->p[s])
static trainopt_lamb_config bi_lamb_cfg(const bi_args *a) {
    trainopt_lamb_config c;
    c.lr = a->h[0], c.beta1 = a->h[1], c.beta2 = a->h[2], c.eps = a->h[3], c.eps_root = a->h[4], c.weight_decay = a->h[5];
    return c;
}
static int bi_lamb(bi_args *a) {
    trainopt_lamb_config c = bi_lamb_cfg(a);
    return trainopt_lamb_step(C(0) ? &c : NULL, a->step, a->n, (const size_t *)a->p[1], LWL(2), (const float *const *)a->p[3],
                              LWL(4), LWL(5));
}
static int bi_lamb_ex(bi_args *a) {
    trainopt_lamb_config c = bi_lamb_cfg(a);
    int fi;
    trainopt_step_opts o = bi_opts(a, 6, 0, 6, &fi);
    return trainopt_lamb_step_ex(C(0) ? &c : NULL, a->step, a->n, (const size_t *)a->p[1], LWL(2),
                                 (const float *const *)a->p[3], LWL(4), LWL(5), a->p[6] ? &o : NULL);
}
static trainopt_lars_config bi_lars_cfg(const bi_args *a) {
    trainopt_lars_config c;
    c.lr = a->h[0], c.weight_decay = a->h[1], c.trust_coefficient = a->h[2], c.eps = a->h[3], c.momentum = a->h[4];
    c.nesterov = (int)a->i[1];
    return c;
}
static int bi_lars(bi_args *a) {
    trainopt_lars_config c = bi_lars_cfg(a);
    return trainopt_lars_step(C(0) ? &c : NULL, a->n, (const size_t *)a->p[1], LWL(2), (const float *const *)a->p[3], LWL(4));
}
static int bi_lars_ex(bi_args *a) {
    trainopt_lars_config c = bi_lars_cfg(a);
    int fi;
    trainopt_step_opts o = bi_opts(a, 5, 0, 6, &fi);
    return trainopt_lars_step_ex(C(0) ? &c : NULL, a->n, (const size_t *)a->p[1], LWL(2), (const float *const *)a->p[3],
                                 LWL(4), a->p[6] ? &o : NULL);
}
/* The threaded forms: the _ex arguments, then the threads in slot 8 (a serial hook that runs
   the pieces in reverse; NULL: none). */
static void bi_lw_reverse_for(void *ctx, size_t count, trainopt_task_fn task, void *arg) {
    (void)ctx;
    while (count-- > 0) task(arg, count);
}
static const trainopt_threads bi_lw_threads = {bi_lw_reverse_for, NULL};
static int bi_lamb_mt(bi_args *a) {
    trainopt_lamb_config c = bi_lamb_cfg(a);
    int fi;
    trainopt_step_opts o = bi_opts(a, 6, 0, 6, &fi);
    return trainopt_lamb_step_mt(C(0) ? &c : NULL, a->step, a->n, (const size_t *)a->p[1], LWL(2),
                                 (const float *const *)a->p[3], LWL(4), LWL(5), a->p[6] ? &o : NULL,
                                 a->p[8] ? &bi_lw_threads : NULL);
}
static int bi_lars_mt(bi_args *a) {
    trainopt_lars_config c = bi_lars_cfg(a);
    int fi;
    trainopt_step_opts o = bi_opts(a, 5, 0, 6, &fi);
    return trainopt_lars_step_mt(C(0) ? &c : NULL, a->n, (const size_t *)a->p[1], LWL(2), (const float *const *)a->p[3],
                                 LWL(4), a->p[6] ? &o : NULL, a->p[8] ? &bi_lw_threads : NULL);
}
/* Rows on the lists: none, an overflowing length, NULL tensors, written tensors overlapping
   each other or a read one (grads may overlap grads), and (ex) the count inside a tensor. */
static void bi_lw_extra(to_ctx *t, const bi_kernel *k, int nlists, int ex, int hi, int ii) {
    bi_args a;
    bi_setup(k, &a), a.n = 0, a.p[1] = NULL;
    bi_logged(bi_row(t, k, &a, TRAINOPT_OK, 0, "k = 0, lens NULL"));
    bi_setup(k, &a), bi_lw_lens[1] = BI_BIG_N;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_SHAPE, 0, "a length whose bytes overflow"));
    bi_setup(k, &a), bi_lw_lists[nlists - 1][1] = NULL;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_NULL, 0, "a NULL tensor"));
    bi_setup(k, &a), bi_lw_lists[0][1] = NULL, bi_lw_lens[1] = 0;
    bi_logged(bi_row(t, k, &a, TRAINOPT_OK, 0, "a NULL empty tensor"));
    bi_setup(k, &a), bi_lw_lists[0][1] = bi_lw_lists[0][0] + 30;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_ALIAS, 0, "params[1] inside params[0]"));
    bi_setup(k, &a), bi_lw_lists[nlists - 1][0] = bi_lw_lists[1][1] + 3;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_ALIAS, 0, "a state tensor over grads[1]"));
    bi_setup(k, &a), bi_lw_lists[1][1] = bi_lw_lists[1][0] + 3;
    bi_logged(bi_row(t, k, &a, TRAINOPT_OK, 0, "grads overlapping grads (read only)"));
    if (!ex) return;
    {
        size_t *nf;
        uint64_t before;
        int got;
        bi_setup(k, &a), a.i[ii] = 1, a.h[hi] = NAN;
        nf = (size_t *)a.p[6];
        *nf = 12345;
        before = bi_checksum(6);
        got = bi_logged(k->call(&a));
        if (t)
            TO_CHECK(t, got == TRAINOPT_OK && *nf == 0 && bi_checksum(6) == before,
                     "%s: found_inf with a NaN scale: status %d, nonfinite %zu (documented: OK, 0, untouched)", k->name, got,
                     *nf);
    }
    bi_setup(k, &a), a.p[6] = bi_lw_lists[0][0] + 2;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_ALIAS, 0, "opts->nonfinite inside params[0]"));
    bi_setup(k, &a), a.i[ii] = 1, a.p[6] = bi_lw_lists[2][1] + 2;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_ALIAS, 0, "opts->nonfinite inside a tensor, found_inf set"));
}
static void bi_lamb_extra(to_ctx *t, const bi_kernel *k) { bi_lw_extra(t, k, 4, 0, 0, 0); }
static void bi_lamb_ex_extra(to_ctx *t, const bi_kernel *k) { bi_lw_extra(t, k, 4, 1, 6, 0); }
static void bi_lars_more(to_ctx *t, const bi_kernel *k) {
    bi_args a;
    bi_setup(k, &a), a.h[4] = 0.0, a.p[4] = NULL;
    bi_logged(bi_row(t, k, &a, TRAINOPT_OK, 0, "no momentum, no buffers"));
    bi_setup(k, &a), a.i[1] = 1;
    bi_logged(bi_row(t, k, &a, TRAINOPT_OK, 0, "nesterov"));
}
static void bi_lars_extra(to_ctx *t, const bi_kernel *k) { bi_lw_extra(t, k, 3, 0, 0, 0), bi_lars_more(t, k); }
static void bi_lars_ex_extra(to_ctx *t, const bi_kernel *k) { bi_lw_extra(t, k, 3, 1, 5, 0), bi_lars_more(t, k); }

/* Adafactor: n is rows, i[1] cols; the valid call is factored (slot 5, variance, NULL). */
static void bi_af_setup(bi_args *a) { a->p[5] = NULL; }
static trainopt_adafactor_config bi_af_cfg(const bi_args *a) {
    trainopt_adafactor_config c;
    c.lr = a->h[0], c.beta2_decay = a->h[1], c.eps1 = a->h[2], c.eps2 = a->h[3], c.d = a->h[4], c.weight_decay = a->h[5];
    c.maximize = (int)a->i[0];
    return c;
}
static int bi_af(bi_args *a) {
    trainopt_adafactor_config c = bi_af_cfg(a);
    return trainopt_adafactor_step(C(0) ? &c : NULL, a->step, a->n, (size_t)a->i[1], F(1), F(2), F(3), F(4), F(5));
}
static int bi_af_ex(bi_args *a) {
    trainopt_adafactor_config c = bi_af_cfg(a);
    int fi;
    trainopt_step_opts o = bi_opts(a, 6, 2, 7, &fi);
    return trainopt_adafactor_step_ex(C(0) ? &c : NULL, a->step, a->n, (size_t)a->i[1], F(1), F(2), F(3), F(4), F(5),
                                      a->p[6] ? &o : NULL);
}
static void bi_af_extra(to_ctx *t, const bi_kernel *k) {
    static const double bad_decay[] = {0.5, NAN, -INFINITY}, bad_d[] = {0.999, NAN, INFINITY};
    bi_args a;
    int v;
    for (v = 0; v < 3; v++) {
        bi_setup(k, &a), a.h[1] = bad_decay[v];
        bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_HPARAM, 0, "beta2_decay > 0 or not finite"));
        bi_setup(k, &a), a.h[4] = bad_d[v];
        bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_HPARAM, 0, "d < 1 or not finite"));
    }
    bi_setup(k, &a), a.h[1] = 0.0, a.h[4] = 1.0;
    bi_logged(bi_row(t, k, &a, TRAINOPT_OK, 0, "beta2_decay 0, d 1"));
    bi_setup(k, &a), a.p[3] = a.p[4] = NULL, a.p[5] = bi_slot(5);
    bi_logged(bi_row(t, k, &a, TRAINOPT_OK, 0, "unfactored: variance alone"));
    bi_setup(k, &a), a.p[5] = bi_slot(5);
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_ALIAS, 0, "factors and variance both"));
    bi_setup(k, &a), a.i[1] = 0;
    bi_logged(bi_row(t, k, &a, TRAINOPT_OK, !k->empty_writes, "cols = 0"));
    bi_setup(k, &a), a.i[1] = (int64_t)(SIZE_MAX / 64);
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_SHAPE, 0, "rows * cols overflows"));
}
static void bi_af_ex_extra(to_ctx *t, const bi_kernel *k) {
    bi_af_extra(t, k);
    bi_ex_extra(t, k, 6, 2, 7);
}

/* Schedule-free AdamW: config h = lr beta1 beta2 eps wd r power, i[0] warmup_steps; the
   step reads a state advanced once (outside the arena), advance writes one in slot 1. */
static trainopt_sfadamw_state bi_sf_state;
static trainopt_sfadamw_config bi_sf_cfg(const bi_args *a) {
    trainopt_sfadamw_config c;
    c.lr = a->h[0], c.beta1 = a->h[1], c.beta2 = a->h[2], c.eps = a->h[3], c.weight_decay = a->h[4];
    c.r = a->h[5], c.weight_lr_power = a->h[6], c.warmup_steps = a->i[0];
    return c;
}
static void bi_sf_step_setup(bi_args *a) {
    trainopt_sfadamw_config c = TRAINOPT_SFADAMW_DEFAULTS;
    trainopt_sfadamw_state s = TRAINOPT_SFADAMW_STATE_INIT;
    trainopt_sfadamw_advance(&c, &s);
    bi_sf_state = s;
    a->p[1] = &bi_sf_state;
}
static void bi_sf_advance_setup(bi_args *a) {
    trainopt_sfadamw_state s = TRAINOPT_SFADAMW_STATE_INIT;
    memcpy(a->p[1], &s, sizeof s);
}
static int bi_sf_advance(bi_args *a) {
    trainopt_sfadamw_config c = bi_sf_cfg(a);
    return trainopt_sfadamw_advance(C(0) ? &c : NULL, (trainopt_sfadamw_state *)a->p[1]);
}
static int bi_sf_step(bi_args *a) {
    trainopt_sfadamw_config c = bi_sf_cfg(a);
    return trainopt_sfadamw_step(C(0) ? &c : NULL, (const trainopt_sfadamw_state *)a->p[1], a->n, F(2), F(3), F(4), F(5));
}
static int bi_sf_step_ex(bi_args *a) {
    trainopt_sfadamw_config c = bi_sf_cfg(a);
    int fi;
    trainopt_step_opts o = bi_opts(a, 7, 1, 7, &fi);
    return trainopt_sfadamw_step_ex(C(0) ? &c : NULL, (const trainopt_sfadamw_state *)a->p[1], a->n, F(2), F(3), F(4), F(5),
                                    a->p[6] ? &o : NULL);
}
static int bi_sf_to_eval(bi_args *a) {
    trainopt_sfadamw_config c = bi_sf_cfg(a);
    return trainopt_sfadamw_to_eval(C(0) ? &c : NULL, a->n, F(1), F(2), F(3));
}
static int bi_sf_to_train(bi_args *a) {
    trainopt_sfadamw_config c = bi_sf_cfg(a);
    return trainopt_sfadamw_to_train(C(0) ? &c : NULL, a->n, F(1), F(2), F(3));
}
static void bi_sf_advance_extra(to_ctx *t, const bi_kernel *k) {
    bi_args a;
    trainopt_sfadamw_state *s;
    bi_setup(k, &a), s = (trainopt_sfadamw_state *)a.p[1], s->step = -1;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_STEP, 0, "a negative step count"));
    bi_setup(k, &a), s = (trainopt_sfadamw_state *)a.p[1], s->step = INT64_MAX;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_STEP, 0, "step count INT64_MAX"));
    bi_setup(k, &a), s = (trainopt_sfadamw_state *)a.p[1], s->weight_sum = NAN;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_HPARAM, 0, "a NaN weight_sum"));
    bi_setup(k, &a), a.h[0] = 0.0;
    bi_logged(bi_row(t, k, &a, TRAINOPT_OK, 0, "lr 0 (ckp1 0)"));
}
static void bi_sf_step_more(to_ctx *t, const bi_kernel *k) {
    bi_args a;
    bi_setup(k, &a), bi_sf_state.step = 0;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_STEP, 0, "a state never advanced"));
    bi_setup(k, &a), bi_sf_state.ckp1 = 1.5;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_HPARAM, 0, "ckp1 > 1"));
    bi_setup(k, &a), bi_sf_state.lr = NAN;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_HPARAM, 0, "a NaN lr in the state"));
}
static void bi_sf_step_extra(to_ctx *t, const bi_kernel *k) { bi_sf_step_more(t, k); }
static void bi_sf_step_ex_extra(to_ctx *t, const bi_kernel *k) {
    bi_args a;
    size_t *nf;
    uint64_t before;
    int got;
    bi_sf_step_more(t, k);
    bi_setup(k, &a), a.i[1] = 1, a.h[7] = NAN; /* as bi_ex_extra, with param in slot 2 */
    nf = (size_t *)a.p[7];
    *nf = 12345;
    before = bi_checksum(7);
    got = bi_logged(k->call(&a));
    if (t)
        TO_CHECK(t, got == TRAINOPT_OK && *nf == 0 && bi_checksum(7) == before,
                 "%s: found_inf with a NaN scale: status %d, nonfinite %zu (documented: OK, 0, untouched)", k->name, got, *nf);
    bi_setup(k, &a), a.p[7] = (float *)a.p[2] + 2;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_ALIAS, 0, "opts->nonfinite inside param"));
    bi_setup(k, &a), a.i[1] = 1, a.p[7] = (float *)a.p[2] + 2;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_ALIAS, 0, "opts->nonfinite inside param, found_inf set"));
}
static void bi_sf_to_eval_extra(to_ctx *t, const bi_kernel *k) {
    static const double bad[] = {0.0, 1.0, NAN, -0.5};
    bi_args a;
    int v;
    for (v = 0; v < 4; v++) {
        bi_setup(k, &a), a.h[1] = bad[v];
        bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_HPARAM, 0, "beta1 outside (0, 1)"));
    }
}

/* ---- regularization, gradient utilities, losses --------------------------------------- */

static int bi_l1l2_penalty(bi_args *a) { return trainopt_l1l2_penalty(a->n, F(0), a->h[0], a->h[1], F(1)); }
static int bi_l1l2_grad(bi_args *a) { return trainopt_l1l2_grad(a->n, F(0), F(1), a->h[0], a->h[1]); }
static int bi_clip_value(bi_args *a) { return trainopt_clip_grad_value(a->n, F(0), a->h[0]); }
static int bi_unscale(bi_args *a) { return trainopt_grad_unscale(a->n, F(0), (float)a->h[0], (int *)a->p[1]); }

/* The list kernels: n is k, the number of tensors (list[0] in slot 5, list[1] in slot 6). */
static void bi_list_setup(bi_args *a) {
    a->list[0] = bi_slot(5), a->list[1] = bi_slot(6);
    a->lens[0] = BI_N, a->lens[1] = 20;
    a->p[0] = a->list, a->p[1] = a->lens;
}
static int bi_sum_squares(bi_args *a) {
    return trainopt_sum_squares(a->n, (const float *const *)a->p[0], (const size_t *)a->p[1], (double *)a->p[2],
                                (size_t *)a->p[3]);
}
static int bi_grad_norm(bi_args *a) {
    return trainopt_grad_norm(a->n, (float *const *)a->p[0], (const size_t *)a->p[1], (float)a->h[0], a->h[1],
                              (trainopt_grad_norm_info *)a->p[2]);
}
static int bi_clip_norm(bi_args *a) {
    return trainopt_clip_grad_norm(a->n, (float *const *)a->p[0], (const size_t *)a->p[1], a->h[0], F(2));
}
/* Rows on the tensor list: none, an overflowing length, a NULL tensor, tensors that overlap,
   the scalar output inside a tensor. `writes` says whether the kernel writes the tensors. */
static void bi_list_extra(to_ctx *t, const bi_kernel *k, int writes) {
    bi_args a;
    bi_setup(k, &a), a.n = 0, a.p[0] = a.p[1] = NULL;
    bi_logged(bi_row(t, k, &a, TRAINOPT_OK, 0, "k = 0, no lists"));
    bi_setup(k, &a), a.lens[1] = BI_BIG_N;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_SHAPE, 0, "a length whose bytes overflow"));
    bi_setup(k, &a), a.lens[1] = SIZE_MAX;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_SHAPE, 0, "length SIZE_MAX"));
    bi_setup(k, &a), a.list[1] = NULL;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_NULL, 0, "a NULL tensor"));
    bi_setup(k, &a), a.list[1] = NULL, a.lens[1] = 0;
    bi_logged(bi_row(t, k, &a, TRAINOPT_OK, 0, "a NULL empty tensor"));
    bi_setup(k, &a), a.list[1] = a.list[0] + 3;
    bi_logged(bi_row(t, k, &a, writes ? TRAINOPT_ERR_ALIAS : TRAINOPT_OK, 0, "overlapping tensors"));
    bi_setup(k, &a), a.p[2] = a.list[1] + 2;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_ALIAS, 0, "the scalar output inside a tensor"));
}
static void bi_sum_squares_extra(to_ctx *t, const bi_kernel *k) {
    bi_args a;
    bi_list_extra(t, k, 0);
    bi_setup(k, &a), a.p[3] = a.list[0] + 2;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_ALIAS, 0, "nonfinite inside a tensor"));
}
static void bi_grad_norm_extra(to_ctx *t, const bi_kernel *k) { bi_list_extra(t, k, 0); }
static void bi_clip_norm_extra(to_ctx *t, const bi_kernel *k) { bi_list_extra(t, k, 1); }

/* ---- mixed-precision steps (_step_mp) ---------------------------------------------------
   Every _mp row runs the low-precision path: bf16 Kahan parameters (compensation in the
   slot after the states), bf16 gradients and states, an fp16 copy (the next slot,
   optional); param_dtype, param_mode and grad_dtype are the row's last three integers,
   so the generic enum rows try unknown ones. The extras refuse the rest of the
   descriptor: state and copy dtypes, fp32 parameters with a compensation, split fp16. */
static trainopt_dtype bi_mp_state_dtype = TRAINOPT_BF16, bi_mp_copy_dtype = TRAINOPT_F16;
static int bi_mp_null_pr;
static trainopt_precision bi_mp_pr(const bi_args *a, int i0, int aux) {
    trainopt_precision pr = TRAINOPT_PRECISION_DEFAULTS;
    pr.param_dtype = (trainopt_dtype)a->i[i0];
    pr.param_mode = (trainopt_param_mode)a->i[i0 + 1];
    pr.grad_dtype = (trainopt_dtype)a->i[i0 + 2];
    pr.param_aux = a->p[aux];
    pr.copy = a->p[aux + 1];
    pr.state_dtype = bi_mp_state_dtype;
    pr.copy_dtype = bi_mp_copy_dtype;
    pr.seed = 7, pr.offset = 3;
    return pr;
}
#define BI_MP_CALL(name, cfgfn, hi, ii, i0, nstates, ...)                                                              \
    static int bi_##name##_mp(bi_args *a) {                                                                            \
        int fi;                                                                                                        \
        const trainopt_##cfgfn c = bi_##name##_cfg_for_mp(a);                                                          \
        const trainopt_step_opts o = bi_opts(a, hi, ii, 6 + nstates, &fi);                                             \
        const trainopt_precision pr = bi_mp_pr(a, i0, 3 + nstates);                                                    \
        return trainopt_##name##_step_mp(C(0) ? &c : NULL, a->step, a->n, a->p[1], a->p[2], __VA_ARGS__,              \
                                         bi_mp_null_pr ? NULL : &pr, a->p[5 + nstates] ? &o : NULL);                   \
    }
#define bi_sgd_cfg_for_mp bi_sgd_cfg
#define bi_adagrad_cfg_for_mp bi_adagrad_cfg
#define bi_rmsprop_cfg_for_mp bi_rmsprop_cfg
#define bi_adam_cfg_for_mp bi_adam_cfg
#define bi_adamw_cfg_for_mp bi_adam_cfg
#define bi_radam_cfg_for_mp bi_radam_cfg
#define bi_adamax_cfg_for_mp bi_adamax_cfg
#define bi_adadelta_cfg_for_mp bi_adadelta_cfg
#define bi_lion_cfg_for_mp bi_lion_cfg
BI_MP_CALL(sgd, sgd_config, 4, 2, 3, 1, a->p[3])
BI_MP_CALL(adagrad, adagrad_config, 5, 1, 2, 1, a->p[3])
BI_MP_CALL(rmsprop, rmsprop_config, 5, 2, 3, 3, a->p[3], a->p[4], a->p[5])
BI_MP_CALL(adam, adam_config, 5, 2, 3, 3, a->p[3], a->p[4], a->p[5])
BI_MP_CALL(adamw, adam_config, 5, 2, 3, 3, a->p[3], a->p[4], a->p[5])
BI_MP_CALL(radam, radam_config, 5, 2, 3, 2, a->p[3], a->p[4])
BI_MP_CALL(adamax, adamax_config, 5, 1, 2, 2, a->p[3], a->p[4])
BI_MP_CALL(adadelta, adadelta_config, 4, 1, 2, 2, a->p[3], a->p[4])
BI_MP_CALL(lion, lion_config, 4, 1, 2, 1, a->p[3])
#undef BI_MP_CALL
static int bi_nadam_mp(bi_args *a) { /* its mu product (h[6]) between the step and n */
    int fi;
    const trainopt_nadam_config c = bi_nadam_cfg(a);
    const trainopt_step_opts o = bi_opts(a, 7, 2, 8, &fi);
    const trainopt_precision pr = bi_mp_pr(a, 3, 5);
    return trainopt_nadam_step_mp(C(0) ? &c : NULL, a->step, a->h[6], a->n, a->p[1], a->p[2], a->p[3], a->p[4],
                                  bi_mp_null_pr ? NULL : &pr, a->p[7] ? &o : NULL);
}

/* The descriptor's refusals, for a row whose param_dtype is integer i0 and compensation slot aux. */
static void bi_mp_extra(to_ctx *t, const bi_kernel *k, int hi, int ii, int i0, int aux) {
    bi_args a;
    bi_ex_extra(t, k, hi, ii, aux + 3);
    bi_setup(k, &a), bi_mp_null_pr = 1;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_NULL, 0, "pr NULL"));
    bi_mp_null_pr = 0;
    bi_setup(k, &a), bi_mp_state_dtype = TRAINOPT_F16;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_HPARAM, 0, "fp16 states"));
    bi_setup(k, &a), bi_mp_state_dtype = (trainopt_dtype)5;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_HPARAM, 0, "state dtype 5"));
    bi_mp_state_dtype = TRAINOPT_BF16;
    bi_setup(k, &a), bi_mp_copy_dtype = TRAINOPT_F32;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_HPARAM, 0, "an fp32 copy"));
    bi_mp_copy_dtype = TRAINOPT_F16;
    bi_setup(k, &a), a.i[i0] = TRAINOPT_F32;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_HPARAM, 0, "fp32 parameters with a compensation array"));
    bi_setup(k, &a), a.i[i0] = TRAINOPT_F32, a.i[i0 + 1] = TRAINOPT_PARAM_NEAREST, a.p[aux] = NULL;
    bi_logged(bi_row(t, k, &a, TRAINOPT_OK, 0, "fp32 master parameters with an fp16 copy"));
    bi_setup(k, &a), a.i[i0] = TRAINOPT_F16, a.i[i0 + 1] = TRAINOPT_PARAM_SPLIT;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_HPARAM, 0, "split fp16 parameters"));
    bi_setup(k, &a), a.i[i0 + 1] = TRAINOPT_PARAM_SPLIT;
    bi_logged(bi_row(t, k, &a, TRAINOPT_OK, 0, "split bf16 parameters"));
    bi_setup(k, &a), a.i[i0 + 1] = TRAINOPT_PARAM_STOCHASTIC;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_HPARAM, 0, "stochastic rounding with a compensation array"));
    bi_setup(k, &a), a.i[i0 + 1] = TRAINOPT_PARAM_STOCHASTIC, a.p[aux] = NULL;
    bi_logged(bi_row(t, k, &a, TRAINOPT_OK, 0, "stochastic rounding"));
    bi_setup(k, &a), a.p[aux + 1] = (uint16_t *)a.p[2] + BI_N - 1; /* the copy's first element is grad's last */
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_ALIAS, 0, "copy over grad's last element"));
    bi_setup(k, &a), a.p[aux + 1] = (uint16_t *)a.p[2] + BI_N;
    bi_logged(bi_row(t, k, &a, TRAINOPT_OK, 0, "copy right after the bf16 grad"));
}
static void bi_sgd_mp_extra(to_ctx *t, const bi_kernel *k) { bi_mp_extra(t, k, 4, 2, 3, 4); }
static void bi_adagrad_mp_extra(to_ctx *t, const bi_kernel *k) { bi_mp_extra(t, k, 5, 1, 2, 4); }
static void bi_adam3_mp_extra(to_ctx *t, const bi_kernel *k) { bi_mp_extra(t, k, 5, 2, 3, 6); }
static void bi_radam_mp_extra(to_ctx *t, const bi_kernel *k) { bi_mp_extra(t, k, 5, 2, 3, 5); }
static void bi_adamax_mp_extra(to_ctx *t, const bi_kernel *k) { bi_mp_extra(t, k, 5, 1, 2, 5); }
static void bi_adadelta_mp_extra(to_ctx *t, const bi_kernel *k) { bi_mp_extra(t, k, 4, 1, 2, 5); }
static void bi_lion_mp_extra(to_ctx *t, const bi_kernel *k) { bi_mp_extra(t, k, 4, 1, 2, 4); }
static void bi_nadam_mp_extra(to_ctx *t, const bi_kernel *k) { bi_mp_extra(t, k, 7, 2, 3, 5); }

/* Adafactor's _mp: n rows, i[1] = 2 cols (the generic overlaps, one float into a slot,
   fall inside col_var); slots param, grad, row_var, col_var, the compensation, the copy,
   variance (NULL: factored; last of the arrays, so no generic overlap starts from its
   NULL), the options and the count. bi_mp_extra's copy rows assume n elements, these
   arrays have 2n: the descriptor's refusals are written out here. */
static void bi_af_mp_setup(bi_args *a) { a->p[7] = NULL; }
static int bi_af_mp(bi_args *a) {
    trainopt_adafactor_config c = bi_af_cfg(a);
    int fi;
    const trainopt_step_opts o = bi_opts(a, 6, 2, 9, &fi);
    const trainopt_precision pr = bi_mp_pr(a, 3, 5);
    return trainopt_adafactor_step_mp(C(0) ? &c : NULL, a->step, a->n, (size_t)a->i[1], a->p[1], a->p[2], F(3), F(4),
                                      a->p[7], bi_mp_null_pr ? NULL : &pr, a->p[8] ? &o : NULL);
}
static void bi_af_mp_extra(to_ctx *t, const bi_kernel *k) {
    bi_args a;
    bi_setup(k, &a), a.h[1] = 0.5;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_HPARAM, 0, "beta2_decay > 0"));
    bi_setup(k, &a), a.h[4] = 0.999;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_HPARAM, 0, "d < 1"));
    bi_setup(k, &a), a.p[3] = a.p[4] = NULL, a.p[7] = bi_slot(7);
    bi_logged(bi_row(t, k, &a, TRAINOPT_OK, 0, "unfactored: variance alone"));
    bi_setup(k, &a), a.p[7] = bi_slot(7);
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_ALIAS, 0, "factors and variance both"));
    bi_setup(k, &a), a.i[1] = 0;
    bi_logged(bi_row(t, k, &a, TRAINOPT_OK, !k->empty_writes, "cols = 0"));
    bi_setup(k, &a), a.i[1] = (int64_t)(SIZE_MAX / 64);
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_SHAPE, 0, "rows * cols overflows"));
    bi_ex_extra(t, k, 6, 2, 9);
    bi_setup(k, &a), bi_mp_null_pr = 1;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_NULL, 0, "pr NULL"));
    bi_mp_null_pr = 0;
    bi_setup(k, &a), bi_mp_state_dtype = TRAINOPT_F16;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_HPARAM, 0, "fp16 states"));
    bi_mp_state_dtype = TRAINOPT_BF16;
    bi_setup(k, &a), bi_mp_copy_dtype = TRAINOPT_F32;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_HPARAM, 0, "an fp32 copy"));
    bi_mp_copy_dtype = TRAINOPT_F16;
    bi_setup(k, &a), a.i[3] = TRAINOPT_F32;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_HPARAM, 0, "fp32 parameters with a compensation array"));
    bi_setup(k, &a), a.i[3] = TRAINOPT_F32, a.i[4] = TRAINOPT_PARAM_NEAREST, a.p[5] = NULL;
    bi_logged(bi_row(t, k, &a, TRAINOPT_OK, 0, "fp32 master parameters with an fp16 copy"));
    bi_setup(k, &a), a.i[3] = TRAINOPT_F16, a.i[4] = TRAINOPT_PARAM_SPLIT;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_HPARAM, 0, "split fp16 parameters"));
    bi_setup(k, &a), a.i[4] = TRAINOPT_PARAM_SPLIT;
    bi_logged(bi_row(t, k, &a, TRAINOPT_OK, 0, "split bf16 parameters"));
    bi_setup(k, &a), a.i[4] = TRAINOPT_PARAM_STOCHASTIC, a.p[5] = NULL;
    bi_logged(bi_row(t, k, &a, TRAINOPT_OK, 0, "stochastic rounding"));
    bi_setup(k, &a), a.p[6] = (uint16_t *)a.p[2] + 2 * BI_N - 1; /* the copy's first element is grad's last */
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_ALIAS, 0, "copy over grad's last element"));
    bi_setup(k, &a), a.p[6] = (uint16_t *)a.p[2] + 2 * BI_N;
    bi_logged(bi_row(t, k, &a, TRAINOPT_OK, 0, "copy right after the bf16 grad"));
    bi_setup(k, &a), a.p[3] = (uint16_t *)a.p[2] + 2 * BI_N - 1; /* row_var (floats) over grad's (bf16) last element */
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_ALIAS, 0, "row_var over the bf16 grad's last element"));
    bi_setup(k, &a), a.p[3] = (uint16_t *)a.p[2] + 2 * BI_N;
    bi_logged(bi_row(t, k, &a, TRAINOPT_OK, 0, "row_var right after the bf16 grad"));
    bi_setup(k, &a), a.p[4] = (uint16_t *)a.p[5] + 2 * BI_N - 1; /* col_var over the compensation's last element */
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_ALIAS, 0, "col_var over the compensation's last element"));
}

/* Schedule-free AdamW's _mp: its state in slot 1 (set up as for its step), so param, grad,
   z, exp_avg_sq, the compensation, the copy, the options and the count are slots 2-9;
   bi_mp_extra's slots are one lower, so its refusals are written out here. */
static int bi_sf_mp(bi_args *a) {
    int fi;
    const trainopt_sfadamw_config c = bi_sf_cfg(a);
    const trainopt_step_opts o = bi_opts(a, 7, 1, 9, &fi);
    const trainopt_precision pr = bi_mp_pr(a, 2, 6);
    return trainopt_sfadamw_step_mp(C(0) ? &c : NULL, (const trainopt_sfadamw_state *)a->p[1], a->n, a->p[2], a->p[3],
                                    a->p[4], a->p[5], bi_mp_null_pr ? NULL : &pr, a->p[8] ? &o : NULL);
}
static void bi_sf_mp_extra(to_ctx *t, const bi_kernel *k) {
    bi_args a;
    size_t *nf;
    uint64_t before;
    int got;
    bi_sf_step_more(t, k);
    bi_setup(k, &a), a.i[1] = 1, a.h[7] = NAN;
    nf = (size_t *)a.p[9];
    *nf = 12345;
    before = bi_checksum(9);
    got = bi_logged(k->call(&a));
    if (t)
        TO_CHECK(t, got == TRAINOPT_OK && *nf == 0 && bi_checksum(9) == before,
                 "%s: found_inf with a NaN scale: status %d, nonfinite %zu (documented: OK, 0, untouched)", k->name, got, *nf);
    bi_setup(k, &a), bi_mp_null_pr = 1;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_NULL, 0, "pr NULL"));
    bi_mp_null_pr = 0;
    bi_setup(k, &a), bi_mp_state_dtype = TRAINOPT_F16;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_HPARAM, 0, "fp16 states"));
    bi_mp_state_dtype = TRAINOPT_BF16;
    bi_setup(k, &a), a.i[2] = TRAINOPT_F32;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_HPARAM, 0, "fp32 parameters with a compensation array"));
    bi_setup(k, &a), a.i[2] = TRAINOPT_F16, a.i[3] = TRAINOPT_PARAM_SPLIT;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_HPARAM, 0, "split fp16 parameters"));
    bi_setup(k, &a), a.i[3] = TRAINOPT_PARAM_STOCHASTIC;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_HPARAM, 0, "stochastic rounding with a compensation array"));
    bi_setup(k, &a), a.i[3] = TRAINOPT_PARAM_STOCHASTIC, a.p[6] = NULL;
    bi_logged(bi_row(t, k, &a, TRAINOPT_OK, 0, "stochastic rounding"));
    bi_setup(k, &a), a.p[7] = (uint16_t *)a.p[3] + BI_N - 1; /* the copy's first element is grad's last */
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_ALIAS, 0, "copy over grad's last element"));
}

/* LAMB's and LARS's _mp: the fp32 rows' lists (bi_lw_setup; tensors 64 floats apart, so
   their 37 and 20 elements fit in 16 bits too) read as bf16 Kahan parameters, bf16 grads
   and states, with compensation lists and an fp16 copy list in slot 8. param_dtype,
   param_mode and grad_dtype are integers i0..i0+2 (the enum rows try unknown ones). */
static void *bi_lw_aux[2], *bi_lw_copy[2];
static int bi_lw_no_aux, bi_lw_no_copy;
static void bi_lw_mp_setup(bi_args *a) {
    int i;
    bi_lw_setup(a);
    for (i = 0; i < 2; i++) bi_lw_aux[i] = bi_slot(8) + i * 64, bi_lw_copy[i] = bi_slot(8) + (2 + i) * 64;
    bi_lw_no_aux = bi_lw_no_copy = 0;
}
static trainopt_precision bi_lw_mp_pr(const bi_args *a, int i0) {
    trainopt_precision pr = bi_mp_pr(a, i0, 0);
    pr.param_aux = bi_lw_no_aux ? NULL : (void *)bi_lw_aux;
    pr.copy = bi_lw_no_copy ? NULL : (void *)bi_lw_copy;
    return pr;
}
#define LWV(s) ((void *const *)a->p[s])
static int bi_lamb_mp(bi_args *a) {
    trainopt_lamb_config c = bi_lamb_cfg(a);
    int fi;
    trainopt_step_opts o = bi_opts(a, 6, 0, 6, &fi);
    const trainopt_precision pr = bi_lw_mp_pr(a, 1);
    return trainopt_lamb_step_mp(C(0) ? &c : NULL, a->step, a->n, (const size_t *)a->p[1], LWV(2),
                                 (const void *const *)a->p[3], LWV(4), LWV(5), bi_mp_null_pr ? NULL : &pr,
                                 a->p[6] ? &o : NULL);
}
static int bi_lars_mp(bi_args *a) {
    trainopt_lars_config c = bi_lars_cfg(a);
    int fi;
    trainopt_step_opts o = bi_opts(a, 5, 0, 6, &fi);
    const trainopt_precision pr = bi_lw_mp_pr(a, 2);
    return trainopt_lars_step_mp(C(0) ? &c : NULL, a->n, (const size_t *)a->p[1], LWV(2), (const void *const *)a->p[3],
                                 LWV(4), bi_mp_null_pr ? NULL : &pr, a->p[6] ? &o : NULL);
}
/* Their threaded forms: the same arguments, then the threads in slot 9 (NULL: none). */
static int bi_lamb_mp_mt(bi_args *a) {
    trainopt_lamb_config c = bi_lamb_cfg(a);
    int fi;
    trainopt_step_opts o = bi_opts(a, 6, 0, 6, &fi);
    const trainopt_precision pr = bi_lw_mp_pr(a, 1);
    return trainopt_lamb_step_mp_mt(C(0) ? &c : NULL, a->step, a->n, (const size_t *)a->p[1], LWV(2),
                                    (const void *const *)a->p[3], LWV(4), LWV(5), bi_mp_null_pr ? NULL : &pr,
                                    a->p[6] ? &o : NULL, a->p[9] ? &bi_lw_threads : NULL);
}
static int bi_lars_mp_mt(bi_args *a) {
    trainopt_lars_config c = bi_lars_cfg(a);
    int fi;
    trainopt_step_opts o = bi_opts(a, 5, 0, 6, &fi);
    const trainopt_precision pr = bi_lw_mp_pr(a, 2);
    return trainopt_lars_step_mp_mt(C(0) ? &c : NULL, a->n, (const size_t *)a->p[1], LWV(2), (const void *const *)a->p[3],
                                    LWV(4), bi_mp_null_pr ? NULL : &pr, a->p[6] ? &o : NULL,
                                    a->p[9] ? &bi_lw_threads : NULL);
}
#undef LWV
/* Rows on the lists in 16 bits (overlaps counted in each array's own element size), a bad
   tensor in the middle of the list, and the descriptor's refusals. */
static void bi_lw_mp_extra(to_ctx *t, const bi_kernel *k, int nlists, int hi, int i0) {
    bi_args a;
    uint16_t *x;
    bi_setup(k, &a), a.n = 0, a.p[1] = NULL;
    bi_logged(bi_row(t, k, &a, TRAINOPT_OK, 0, "k = 0, no lists"));
    bi_setup(k, &a), bi_lw_lens[1] = BI_BIG_N;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_SHAPE, 0, "a length whose bytes overflow"));
    bi_setup(k, &a), bi_lw_lists[0][1] = NULL;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_NULL, 0, "params[1] NULL"));
    bi_setup(k, &a), bi_lw_lists[0][1] = NULL, bi_lw_lens[1] = 0;
    bi_logged(bi_row(t, k, &a, TRAINOPT_OK, 0, "a NULL empty tensor"));
    bi_setup(k, &a), x = (uint16_t *)(void *)bi_lw_lists[0][0], bi_lw_lists[0][1] = (float *)(void *)(x + BI_N - 2);
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_ALIAS, 0, "params[1] over the last bf16 elements of params[0]"));
    bi_setup(k, &a), x = (uint16_t *)(void *)bi_lw_lists[0][0], bi_lw_lists[0][1] = (float *)(void *)(x + BI_N);
    bi_logged(bi_row(t, k, &a, TRAINOPT_OK, 0, "params[1] right after the bf16 params[0]"));
    bi_setup(k, &a), x = (uint16_t *)(void *)bi_lw_lists[1][1], bi_lw_lists[nlists - 1][0] = (float *)(void *)(x + 3);
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_ALIAS, 0, "a state tensor over grads[1]"));
    bi_setup(k, &a), bi_lw_aux[1] = NULL;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_NULL, 0, "pr->param_aux[1] NULL"));
    bi_setup(k, &a), bi_lw_no_aux = 1;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_NULL, 0, "no compensation list for Kahan parameters"));
    bi_setup(k, &a), bi_lw_aux[1] = (uint16_t *)(void *)bi_lw_lists[0][1] + 19;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_ALIAS, 0, "pr->param_aux[1] over params[1]'s last element"));
    bi_setup(k, &a), bi_lw_copy[1] = NULL;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_NULL, 0, "pr->copy[1] NULL"));
    bi_setup(k, &a), bi_lw_copy[0] = (uint16_t *)(void *)bi_lw_lists[1][0] + BI_N - 1;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_ALIAS, 0, "pr->copy[0] over grads[0]'s last element"));
    bi_setup(k, &a), bi_mp_null_pr = 1;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_NULL, 0, "pr NULL"));
    bi_mp_null_pr = 0;
    bi_setup(k, &a), bi_mp_state_dtype = TRAINOPT_F16;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_HPARAM, 0, "fp16 states"));
    bi_mp_state_dtype = TRAINOPT_BF16;
    bi_setup(k, &a), bi_mp_copy_dtype = TRAINOPT_F32;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_HPARAM, 0, "an fp32 copy"));
    bi_mp_copy_dtype = TRAINOPT_F16;
    bi_setup(k, &a), a.i[i0] = TRAINOPT_F32;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_HPARAM, 0, "fp32 parameters with a compensation list"));
    bi_setup(k, &a), a.i[i0] = TRAINOPT_F32, a.i[i0 + 1] = TRAINOPT_PARAM_NEAREST, bi_lw_no_aux = 1;
    bi_logged(bi_row(t, k, &a, TRAINOPT_OK, 0, "fp32 master parameters with an fp16 copy"));
    bi_setup(k, &a), a.i[i0] = TRAINOPT_F16, a.i[i0 + 1] = TRAINOPT_PARAM_SPLIT;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_HPARAM, 0, "split fp16 parameters"));
    bi_setup(k, &a), a.i[i0 + 1] = TRAINOPT_PARAM_SPLIT;
    bi_logged(bi_row(t, k, &a, TRAINOPT_OK, 0, "split bf16 parameters"));
    bi_setup(k, &a), a.i[i0 + 1] = TRAINOPT_PARAM_STOCHASTIC;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_HPARAM, 0, "stochastic rounding with a compensation list"));
    bi_setup(k, &a), a.i[i0 + 1] = TRAINOPT_PARAM_STOCHASTIC, bi_lw_no_aux = 1;
    bi_logged(bi_row(t, k, &a, TRAINOPT_OK, 0, "stochastic rounding"));
    {
        size_t *nf;
        uint64_t before;
        int got;
        bi_setup(k, &a), a.i[0] = 1, a.h[hi] = NAN;
        nf = (size_t *)a.p[6];
        *nf = 12345;
        before = bi_checksum(6);
        got = bi_logged(k->call(&a));
        if (t)
            TO_CHECK(t, got == TRAINOPT_OK && *nf == 0 && bi_checksum(6) == before,
                     "%s: found_inf with a NaN scale: status %d, nonfinite %zu (documented: OK, 0, untouched)", k->name, got,
                     *nf);
    }
    bi_setup(k, &a), a.p[6] = bi_lw_lists[0][0] + 2;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_ALIAS, 0, "opts->nonfinite inside params[0]"));
    bi_setup(k, &a), a.p[6] = bi_slot(8) + 2;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_ALIAS, 0, "opts->nonfinite inside pr->param_aux[0]"));
}
static void bi_lamb_mp_extra(to_ctx *t, const bi_kernel *k) { bi_lw_mp_extra(t, k, 4, 6, 1); }
static void bi_lars_mp_extra(to_ctx *t, const bi_kernel *k) {
    bi_args a;
    bi_lw_mp_extra(t, k, 3, 5, 2);
    bi_setup(k, &a), a.h[4] = 0.0, a.p[4] = NULL;
    bi_logged(bi_row(t, k, &a, TRAINOPT_OK, 0, "no momentum, no buffers"));
    bi_setup(k, &a), a.p[4] = NULL;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_NULL, 0, "momentum without buffers"));
    bi_setup(k, &a), a.i[1] = 1;
    bi_logged(bi_row(t, k, &a, TRAINOPT_OK, 0, "nesterov"));
}

/* ---- 8-bit steps with bf16/fp16 parameters (issue 18, _mp) -------------------------------
   The _mp rows' layout with each state's codes and absmax in place of a state: param,
   grad, the codes and absmax, then the compensation, the copy, the options and the count.
   The states are the 8-bit ones, so the descriptor's state_dtype is F32 (bi_mp_extra's
   "fp16 states" and "state dtype 5" rows pass through; BF16 has its own row). The block is
   the last real (no letter checks it; the extra's rows do). */
static int bi_q8_mp_bf16_states;
static trainopt_precision bi_q8_mp_pr(const bi_args *a, int i0, int aux) {
    trainopt_precision pr = bi_mp_pr(a, i0, aux);
    if (bi_mp_state_dtype == TRAINOPT_BF16) pr.state_dtype = bi_q8_mp_bf16_states ? TRAINOPT_BF16 : TRAINOPT_F32;
    return pr;
}
static int bi_sgd8_mp(bi_args *a) {
    int fi;
    const trainopt_sgd_config c = bi_sgd_cfg(a);
    const trainopt_step_opts o = bi_opts(a, 4, 2, 8, &fi);
    const trainopt_precision pr = bi_q8_mp_pr(a, 3, 5);
    return trainopt_sgd8bit_step_mp(C(0) ? &c : NULL, a->step, (size_t)a->h[5], a->n, a->p[1], a->p[2], U8(3), F(4),
                                    bi_mp_null_pr ? NULL : &pr, a->p[7] ? &o : NULL);
}
static int bi_adam8_mp_call(bi_args *a, int decoupled) {
    int fi;
    const trainopt_adam_config c = bi_adam_cfg(a);
    const trainopt_step_opts o = bi_opts(a, 5, 2, 10, &fi);
    const trainopt_precision pr = bi_q8_mp_pr(a, 3, 7);
    return (decoupled ? trainopt_adamw8bit_step_mp : trainopt_adam8bit_step_mp)(
        C(0) ? &c : NULL, a->step, (size_t)a->h[6], a->n, a->p[1], a->p[2], U8(3), F(4), U8(5), F(6),
        bi_mp_null_pr ? NULL : &pr, a->p[9] ? &o : NULL);
}
static int bi_adam8_mp(bi_args *a) { return bi_adam8_mp_call(a, 0); }
static int bi_adamw8_mp(bi_args *a) { return bi_adam8_mp_call(a, 1); }
static int bi_lion8_mp(bi_args *a) {
    int fi;
    const trainopt_lion_config c = bi_lion_cfg(a);
    const trainopt_step_opts o = bi_opts(a, 4, 1, 8, &fi);
    const trainopt_precision pr = bi_q8_mp_pr(a, 2, 5);
    return trainopt_lion8bit_step_mp(C(0) ? &c : NULL, a->step, (size_t)a->h[5], a->n, a->p[1], a->p[2], U8(3), F(4),
                                     bi_mp_null_pr ? NULL : &pr, a->p[7] ? &o : NULL);
}
/* The descriptor's rows (bi_mp_extra), bf16 states, blocks, each state's codes and absmax
   against param, grad and the compensation, codes right after the bf16 param, the count
   inside a state. hi, ii: grad_scale's real, found_inf's integer; i0: param_dtype's integer;
   bi: the block's real; states: 1 or 2 (slots from 3); aux: the compensation's slot. */
static void bi_q8_mp_extra(to_ctx *t, const bi_kernel *k, int hi, int ii, int i0, int bi, int states, int aux) {
    static const double bad_blocks[] = {0, 32, 96, 8192};
    bi_args a;
    char what[96];
    int q, s, other;
    bi_mp_extra(t, k, hi, ii, i0, aux);
    bi_setup(k, &a), bi_q8_mp_bf16_states = 1;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_HPARAM, 0, "bf16 states (the 8-bit states have no other format)"));
    bi_q8_mp_bf16_states = 0;
    for (q = 0; q < 4; q++) {
        bi_setup(k, &a), a.h[bi] = bad_blocks[q];
        snprintf(what, sizeof what, "block %g", bad_blocks[q]);
        bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_SHAPE, 0, what));
    }
    bi_setup(k, &a), a.h[bi] = 64;
    bi_logged(bi_row(t, k, &a, TRAINOPT_OK, 0, "block 64"));
    for (s = 3; s < 3 + 2 * states; s++) {
        const int others[] = {1, 2, aux};
        for (other = 0; other < 3; other++) {
            bi_setup(k, &a), a.p[s] = (unsigned char *)a.p[others[other]] + 1;
            snprintf(what, sizeof what, "pointer argument %d inside %d", s, others[other]);
            bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_ALIAS, 0, what));
        }
        bi_setup(k, &a), a.p[aux + 3] = a.p[s];
        bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_ALIAS, 0, "opts->nonfinite inside a state's codes or absmax"));
    }
    bi_setup(k, &a), a.p[3] = (uint16_t *)a.p[1] + BI_N; /* bf16 param: 2 bytes an element */
    bi_logged(bi_row(t, k, &a, TRAINOPT_OK, 0, "codes right after the bf16 param"));
    bi_setup(k, &a), a.p[3] = (uint16_t *)a.p[1] + BI_N - 1;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_ALIAS, 0, "codes over the bf16 param's last element"));
}
static void bi_sgd8_mp_extra(to_ctx *t, const bi_kernel *k) {
    bi_args a;
    bi_q8_mp_extra(t, k, 4, 2, 3, 5, 1, 5);
    bi_setup(k, &a), a.h[1] = 0.0;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_HPARAM, 0, "momentum 0 (no 8-bit form without a buffer)"));
    bi_setup(k, &a), a.step = 1;
    bi_logged(bi_row(t, k, &a, TRAINOPT_OK, 0, "the first step (the buffer is not read)"));
}
static void bi_adam8_mp_extra(to_ctx *t, const bi_kernel *k) {
    bi_args a;
    bi_q8_mp_extra(t, k, 5, 2, 3, 6, 2, 7);
    bi_setup(k, &a), a.i[0] = 1;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_HPARAM, 0, "amsgrad (no 8-bit form)"));
}
static void bi_lion8_mp_extra(to_ctx *t, const bi_kernel *k) {
    bi_q8_mp_extra(t, k, 4, 1, 2, 5, 1, 5);
    bi_lion_extra(t, k);
}

/* ---- multi-tensor steps and threaded reductions (tests/test_parallel.c has the rest) ---- */

/* A list of three tensors (n is k): tensor j's arrays at float 64*j of slots 4 (param),
   5 (grad) and 6, 7, 8 (states); the options in slot 2 (grad_scale h[hi], nonfinite in
   slot 9), the threads in slot 3: a serial hook that runs the pieces in reverse. */
static trainopt_tensor bi_tensors[3];
static const size_t bi_multi_lens[3] = {BI_N, 20, 5};
static void bi_reverse_for(void *ctx, size_t count, trainopt_task_fn task, void *arg) {
    (void)ctx;
    while (count-- > 0) task(arg, count);
}
static const trainopt_threads bi_threads = {bi_reverse_for, NULL};
static void bi_multi_setup(bi_args *a) {
    size_t j;
    int s;
    for (j = 0; j < 3; j++) {
        bi_tensors[j].param = bi_slot(4) + 64 * j;
        bi_tensors[j].grad = bi_slot(5) + 64 * j;
        for (s = 0; s < TRAINOPT_MAX_STATES; s++) bi_tensors[j].state[s] = s < 3 ? bi_slot(6 + s) + 64 * j : NULL;
        bi_tensors[j].n = bi_multi_lens[j];
    }
    a->p[1] = bi_tensors;
}
static trainopt_step_opts bi_multi_opts(const bi_args *a, int hi) {
    trainopt_step_opts o = TRAINOPT_STEP_OPTS_DEFAULTS;
    o.grad_scale = a->h[hi];
    o.nonfinite = (size_t *)a->p[9];
    return o;
}
#define BI_MULTI_ARGS a->step, a->n, (const trainopt_tensor *)a->p[1], a->p[2] ? &o : NULL, a->p[3] ? &bi_threads : NULL
static int bi_sgd_multi(bi_args *a) {
    trainopt_sgd_config c = bi_sgd_cfg(a);
    trainopt_step_opts o = bi_multi_opts(a, 4);
    return trainopt_sgd_step_multi(C(0) ? &c : NULL, BI_MULTI_ARGS);
}
static int bi_adagrad_multi(bi_args *a) {
    trainopt_adagrad_config c = bi_adagrad_cfg(a);
    trainopt_step_opts o = bi_multi_opts(a, 5);
    return trainopt_adagrad_step_multi(C(0) ? &c : NULL, BI_MULTI_ARGS);
}
static int bi_rmsprop_multi(bi_args *a) {
    trainopt_rmsprop_config c = bi_rmsprop_cfg(a);
    trainopt_step_opts o = bi_multi_opts(a, 5);
    return trainopt_rmsprop_step_multi(C(0) ? &c : NULL, BI_MULTI_ARGS);
}
static int bi_adam_multi(bi_args *a) {
    trainopt_adam_config c = bi_adam_cfg(a);
    trainopt_step_opts o = bi_multi_opts(a, 5);
    return trainopt_adam_step_multi(C(0) ? &c : NULL, BI_MULTI_ARGS);
}
static int bi_adamw_multi(bi_args *a) {
    trainopt_adam_config c = bi_adam_cfg(a);
    trainopt_step_opts o = bi_multi_opts(a, 5);
    return trainopt_adamw_step_multi(C(0) ? &c : NULL, BI_MULTI_ARGS);
}
static int bi_nadam_multi(bi_args *a) {
    trainopt_nadam_config c = bi_nadam_cfg(a);
    trainopt_step_opts o = bi_multi_opts(a, 7);
    return trainopt_nadam_step_multi(C(0) ? &c : NULL, a->step, a->h[6], a->n, (const trainopt_tensor *)a->p[1],
                                     a->p[2] ? &o : NULL, a->p[3] ? &bi_threads : NULL);
}
static int bi_radam_multi(bi_args *a) {
    trainopt_radam_config c = bi_radam_cfg(a);
    trainopt_step_opts o = bi_multi_opts(a, 5);
    return trainopt_radam_step_multi(C(0) ? &c : NULL, BI_MULTI_ARGS);
}
static int bi_adamax_multi(bi_args *a) {
    trainopt_adamax_config c = bi_adamax_cfg(a);
    trainopt_step_opts o = bi_multi_opts(a, 5);
    return trainopt_adamax_step_multi(C(0) ? &c : NULL, BI_MULTI_ARGS);
}
static int bi_adadelta_multi(bi_args *a) {
    trainopt_adadelta_config c = bi_adadelta_cfg(a);
    trainopt_step_opts o = bi_multi_opts(a, 4);
    return trainopt_adadelta_step_multi(C(0) ? &c : NULL, BI_MULTI_ARGS);
}
static int bi_lion_multi(bi_args *a) {
    trainopt_lion_config c = bi_lion_cfg(a);
    trainopt_step_opts o = bi_multi_opts(a, 4);
    return trainopt_lion_step_multi(C(0) ? &c : NULL, BI_MULTI_ARGS);
}
/* Schedule-free AdamW's list: the state (advanced once, outside the arena) in slot 4. */
static void bi_sf_multi_setup(bi_args *a) {
    bi_multi_setup(a);
    bi_sf_step_setup(a);
    a->p[4] = a->p[1], a->p[1] = bi_tensors;
}
static int bi_sf_multi(bi_args *a) {
    trainopt_sfadamw_config c = bi_sf_cfg(a);
    trainopt_step_opts o = bi_multi_opts(a, 7);
    int found_inf = (int)a->i[1]; /* i[1]: found_inf (0 in the table's rows) */
    if (found_inf) o.found_inf = &found_inf;
    return trainopt_sfadamw_step_multi(C(0) ? &c : NULL, (const trainopt_sfadamw_state *)a->p[4], a->n,
                                       (const trainopt_tensor *)a->p[1], a->p[2] ? &o : NULL,
                                       a->p[3] ? &bi_threads : NULL);
}
/* The bad tensor is the middle one: nothing is written to any tensor or to the count. */
static void bi_multi_extra(to_ctx *t, const bi_kernel *k) {
    bi_args a;
    bi_setup(k, &a), bi_tensors[1].grad = NULL;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_NULL, 0, "tensors[1].grad NULL"));
    bi_setup(k, &a), bi_tensors[1].state[0] = NULL;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_NULL, 0, "tensors[1].state[0] NULL (needed by every row's config)"));
    bi_setup(k, &a), bi_tensors[1].param = NULL, bi_tensors[1].grad = NULL, bi_tensors[1].n = 0;
    bi_logged(bi_row(t, k, &a, TRAINOPT_OK, 0, "an empty tensor with NULL arrays"));
    bi_setup(k, &a), bi_tensors[1].state[0] = bi_tensors[1].param + 3;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_ALIAS, 0, "tensors[1].param and state[0] overlap"));
    bi_setup(k, &a), bi_tensors[1].state[0] = bi_tensors[1].param;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_ALIAS, 0, "tensors[1].param is state[0]"));
    bi_setup(k, &a), bi_tensors[1].n = BI_BIG_N;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_SHAPE, 0, "tensors[1].n overflows"));
    bi_setup(k, &a), a.p[9] = bi_slot(5) + 128 + 2; /* inside tensors[2].grad, 8-byte aligned */
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_ALIAS, 0, "opts->nonfinite inside tensors[2].grad"));
    bi_setup(k, &a), a.p[3] = NULL;
    bi_logged(bi_row(t, k, &a, TRAINOPT_OK, 0, "no threads"));
}

/* Schedule-free AdamW's list also refuses a state never advanced, found_inf or not. */
static void bi_sf_multi_extra(to_ctx *t, const bi_kernel *k) {
    bi_args a;
    bi_multi_extra(t, k);
    bi_setup(k, &a), bi_sf_state.step = 0;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_STEP, 0, "a state never advanced (s->step 0)"));
    bi_setup(k, &a), bi_sf_state.step = 0, a.i[1] = 1;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_STEP, 0, "a state never advanced, found_inf set"));
}

/* ---- mixed-precision multi-tensor steps (_step_mp_multi) ----------------------------------
   Three tensors (n is k) of bf16 Kahan parameters, bf16 gradients and states and fp16
   copies: tensor j's param at float 64*j of slot 5, grad of slot 6, states of slots 7 to 9;
   its compensation and copy at float 256 + 64*j of slots 5 and 6 (pr->param_aux and
   pr->copy: the lists below). Slot 2 is the descriptor (bi_mp_pr's, from the row's last
   three integers), 3 the options (nonfinite in slot 10), 4 the threads (reverse order). */
static trainopt_tensor_mp bi_mpm_tensors[3];
static void *bi_mpm_aux[3], *bi_mpm_copy[3];
static void bi_mpm_setup(bi_args *a) {
    size_t j;
    int s;
    for (j = 0; j < 3; j++) {
        bi_mpm_tensors[j].param = bi_slot(5) + 64 * j;
        bi_mpm_tensors[j].grad = bi_slot(6) + 64 * j;
        for (s = 0; s < TRAINOPT_MAX_STATES; s++) bi_mpm_tensors[j].state[s] = s < 3 ? bi_slot(7 + s) + 64 * j : NULL;
        bi_mpm_tensors[j].n = bi_multi_lens[j];
        bi_mpm_aux[j] = bi_slot(5) + 256 + 64 * j;
        bi_mpm_copy[j] = bi_slot(6) + 256 + 64 * j;
    }
    a->p[1] = bi_mpm_tensors;
}
static void bi_sf_mpm_setup(bi_args *a) {
    bi_sf_step_setup(a);
    bi_mpm_setup(a);
}
static trainopt_precision bi_mpm_pr(const bi_args *a, int i0) {
    trainopt_precision pr = bi_mp_pr(a, i0, 0);
    pr.param_aux = (void *)bi_mpm_aux, pr.copy = (void *)bi_mpm_copy;
    return pr;
}
#define BI_MPM_CALL(name, cfgfn, hi, ii, i0)                                                                            \
    static int bi_##name##_mpm(bi_args *a) {                                                                           \
        int fi;                                                                                                        \
        const trainopt_##cfgfn c = bi_##name##_cfg_for_mp(a);                                                          \
        const trainopt_step_opts o = bi_opts(a, hi, ii, 10, &fi);                                                      \
        const trainopt_precision pr = bi_mpm_pr(a, i0);                                                                \
        return trainopt_##name##_step_mp_multi(C(0) ? &c : NULL, a->step, a->n, (const trainopt_tensor_mp *)a->p[1],  \
                                               a->p[2] ? &pr : NULL, a->p[3] ? &o : NULL,                              \
                                               a->p[4] ? &bi_threads : NULL);                                          \
    }
BI_MPM_CALL(sgd, sgd_config, 4, 2, 3)
BI_MPM_CALL(adagrad, adagrad_config, 5, 1, 2)
BI_MPM_CALL(rmsprop, rmsprop_config, 5, 2, 3)
BI_MPM_CALL(adam, adam_config, 5, 2, 3)
BI_MPM_CALL(adamw, adam_config, 5, 2, 3)
BI_MPM_CALL(radam, radam_config, 5, 2, 3)
BI_MPM_CALL(adamax, adamax_config, 5, 1, 2)
BI_MPM_CALL(adadelta, adadelta_config, 4, 1, 2)
BI_MPM_CALL(lion, lion_config, 4, 1, 2)
#undef BI_MPM_CALL
static int bi_nadam_mpm(bi_args *a) {
    int fi;
    const trainopt_nadam_config c = bi_nadam_cfg(a);
    const trainopt_step_opts o = bi_opts(a, 7, 2, 10, &fi);
    const trainopt_precision pr = bi_mpm_pr(a, 3);
    return trainopt_nadam_step_mp_multi(C(0) ? &c : NULL, a->step, a->h[6], a->n, (const trainopt_tensor_mp *)a->p[1],
                                        a->p[2] ? &pr : NULL, a->p[3] ? &o : NULL, a->p[4] ? &bi_threads : NULL);
}
static int bi_sf_mpm(bi_args *a) {
    int fi;
    const trainopt_sfadamw_config c = bi_sf_cfg(a);
    const trainopt_step_opts o = bi_opts(a, 7, 1, 10, &fi);
    const trainopt_precision pr = bi_mpm_pr(a, 2);
    return trainopt_sfadamw_step_mp_multi(C(0) ? &c : NULL, &bi_sf_state, a->n, (const trainopt_tensor_mp *)a->p[1],
                                          a->p[2] ? &pr : NULL, a->p[3] ? &o : NULL, a->p[4] ? &bi_threads : NULL);
}
/* The bad tensor is the middle one: nothing is written to any tensor or to the count,
   found_inf or not; and the descriptor's own refusals. */
static void bi_mpm_extra(to_ctx *t, const bi_kernel *k) {
    bi_args a;
    bi_setup(k, &a), bi_mpm_tensors[1].grad = NULL;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_NULL, 0, "tensors[1].grad NULL"));
    bi_setup(k, &a), bi_mpm_tensors[1].state[0] = NULL;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_NULL, 0, "tensors[1].state[0] NULL (needed by every row's config)"));
    bi_setup(k, &a), bi_mpm_aux[1] = NULL;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_NULL, 0, "pr->param_aux[1] NULL"));
    bi_setup(k, &a), bi_mpm_copy[1] = NULL;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_NULL, 0, "pr->copy[1] NULL"));
    bi_setup(k, &a), bi_mpm_tensors[1].param = NULL, bi_mpm_tensors[1].grad = NULL, bi_mpm_tensors[1].n = 0;
    bi_mpm_aux[1] = bi_mpm_copy[1] = NULL;
    bi_logged(bi_row(t, k, &a, TRAINOPT_OK, 0, "an empty tensor with NULL arrays"));
    bi_setup(k, &a), bi_mpm_tensors[1].state[0] = (uint16_t *)bi_mpm_tensors[1].param + 3;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_ALIAS, 0, "tensors[1].param and state[0] overlap"));
    bi_setup(k, &a), bi_mpm_aux[1] = (uint16_t *)bi_mpm_tensors[1].param + 19;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_ALIAS, 0, "tensors[1].param and its param_aux overlap"));
    bi_setup(k, &a), bi_mpm_copy[1] = (uint16_t *)bi_mpm_tensors[1].grad + 1;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_ALIAS, 0, "tensors[1].grad and its copy overlap"));
    bi_setup(k, &a), bi_mpm_copy[1] = (uint16_t *)bi_mpm_tensors[1].param + 20; /* bf16: 2 bytes an element */
    bi_logged(bi_row(t, k, &a, TRAINOPT_OK, 0, "tensors[1]'s copy right after its bf16 param"));
    bi_setup(k, &a), bi_mpm_tensors[1].n = BI_BIG_N;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_SHAPE, 0, "tensors[1].n overflows"));
    bi_setup(k, &a), a.p[10] = bi_slot(6) + 128 + 2; /* inside tensors[2].grad, 8-byte aligned */
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_ALIAS, 0, "opts->nonfinite inside tensors[2].grad"));
    bi_setup(k, &a), a.p[4] = NULL;
    bi_logged(bi_row(t, k, &a, TRAINOPT_OK, 0, "no threads"));
    bi_setup(k, &a), bi_mp_state_dtype = TRAINOPT_F16;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_HPARAM, 0, "fp16 states"));
    bi_setup(k, &a), bi_mp_copy_dtype = TRAINOPT_F32;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_HPARAM, 0, "an fp32 copy"));
    bi_mp_state_dtype = TRAINOPT_BF16, bi_mp_copy_dtype = TRAINOPT_F16;
}
static void bi_sf_mpm_extra(to_ctx *t, const bi_kernel *k) {
    bi_args a;
    bi_mpm_extra(t, k);
    bi_setup(k, &a), bi_sf_state.step = 0;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_STEP, 0, "a state never advanced (s->step 0)"));
}

/* Adafactor's list (its own tensor type): tensor j's param, grad, row_var, col_var and
   variance at float 64*j of slots 4 to 8; a factored [4][8], an unfactored [1][20] and a
   factored [5][1]. Config h as bi_af_cfg, grad_scale h[6]; i[1] found_inf. */
static trainopt_adafactor_tensor bi_af_tensors[3];
static void bi_af_multi_setup(bi_args *a) {
    static const size_t rows[3] = {4, 1, 5}, cols[3] = {8, 20, 1};
    size_t j;
    for (j = 0; j < 3; j++) {
        trainopt_adafactor_tensor *x = &bi_af_tensors[j];
        x->param = bi_slot(4) + 64 * j, x->grad = bi_slot(5) + 64 * j;
        x->row_var = rows[j] > 1 ? bi_slot(6) + 64 * j : NULL;
        x->col_var = rows[j] > 1 ? bi_slot(7) + 64 * j : NULL;
        x->variance = rows[j] > 1 ? NULL : bi_slot(8) + 64 * j;
        x->rows = rows[j], x->cols = cols[j];
    }
    a->p[1] = bi_af_tensors;
}
static int bi_af_multi(bi_args *a) {
    trainopt_adafactor_config c = bi_af_cfg(a);
    trainopt_step_opts o = bi_multi_opts(a, 6);
    int found_inf = (int)a->i[1];
    if (found_inf) o.found_inf = &found_inf;
    return trainopt_adafactor_step_multi(C(0) ? &c : NULL, a->step, a->n, (const trainopt_adafactor_tensor *)a->p[1],
                                         a->p[2] ? &o : NULL, a->p[3] ? &bi_threads : NULL);
}
/* The bad tensor is the middle one: nothing is written to any tensor or to the count. */
static void bi_af_multi_extra(to_ctx *t, const bi_kernel *k) {
    bi_args a;
    bi_setup(k, &a), bi_af_tensors[1].grad = NULL;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_NULL, 0, "tensors[1].grad NULL"));
    bi_setup(k, &a), bi_af_tensors[1].variance = NULL;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_NULL, 0, "tensors[1] with neither variance nor factors"));
    bi_setup(k, &a), bi_af_tensors[1].row_var = bi_slot(6) + 64, bi_af_tensors[1].col_var = bi_slot(7) + 64;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_ALIAS, 0, "tensors[1] with variance and factors"));
    bi_setup(k, &a), bi_af_tensors[1].variance = bi_slot(5) + 64 + 3;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_ALIAS, 0, "tensors[1].grad and variance overlap"));
    bi_setup(k, &a), bi_af_tensors[0].col_var = bi_af_tensors[0].param + 31;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_ALIAS, 0, "tensors[0].col_var inside param"));
    bi_setup(k, &a), bi_af_tensors[1].rows = BI_BIG_N;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_SHAPE, 0, "tensors[1].rows * cols overflows"));
    bi_setup(k, &a), bi_af_tensors[1].param = NULL, bi_af_tensors[1].grad = NULL, bi_af_tensors[1].cols = 0;
    bi_logged(bi_row(t, k, &a, TRAINOPT_OK, 0, "an empty tensor with NULL arrays"));
    bi_setup(k, &a), a.p[9] = bi_slot(5) + 128 + 2; /* inside tensors[2].grad, 8-byte aligned */
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_ALIAS, 0, "opts->nonfinite inside tensors[2].grad"));
    bi_setup(k, &a), a.h[4] = 0.5;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_HPARAM, 0, "d < 1"));
    bi_setup(k, &a), a.i[1] = 1, a.h[6] = NAN;
    bi_logged(bi_row(t, k, &a, TRAINOPT_OK, 0, "found_inf: the whole list skipped, any grad_scale"));
    bi_setup(k, &a), a.p[3] = NULL;
    bi_logged(bi_row(t, k, &a, TRAINOPT_OK, 0, "no threads"));
}

static int bi_sum_squares_mt(bi_args *a) {
    return trainopt_sum_squares_mt(a->n, (const float *const *)a->p[0], (const size_t *)a->p[1], (double *)a->p[2],
                                   (size_t *)a->p[3], a->p[4] ? &bi_threads : NULL);
}
static int bi_grad_norm_mt(bi_args *a) {
    return trainopt_grad_norm_mt(a->n, (float *const *)a->p[0], (const size_t *)a->p[1], (float)a->h[0], a->h[1],
                                 (trainopt_grad_norm_info *)a->p[2], a->p[3] ? &bi_threads : NULL);
}
static int bi_clip_norm_mt(bi_args *a) {
    return trainopt_clip_grad_norm_mt(a->n, (float *const *)a->p[0], (const size_t *)a->p[1], a->h[0], F(2),
                                      a->p[3] ? &bi_threads : NULL);
}

static int bi_clip_value_mt(bi_args *a) { return trainopt_clip_grad_value_mt(a->n, F(0), a->h[0], &bi_threads); }
static int bi_unscale_mt(bi_args *a) {
    return trainopt_grad_unscale_mt(a->n, F(0), (float)a->h[0], (int *)a->p[1], &bi_threads);
}

static int bi_mse(bi_args *a) { return trainopt_mse_loss(a->n, F(0), F(1), F(2), F(3)); }
static int bi_bce(bi_args *a) { return trainopt_bce_with_logits(a->n, F(0), F(1), F(2), F(3)); }

/* Cross-entropy: batch n, classes i[0], labels (int32) in slot 1, ignore_index i[1]. */
static void bi_ce_setup(bi_args *a) {
    int32_t *labels = (int32_t *)a->p[1];
    size_t b;
    for (b = 0; b < BI_N; b++) labels[b] = (int32_t)(b % 7);
    labels[4] = -100; /* an ignored row */
}
static int bi_ce(bi_args *a) {
    return trainopt_softmax_cross_entropy(a->n, (size_t)a->i[0], F(0), (const int32_t *)a->p[1], (int32_t)a->i[1], a->h[0],
                                          F(2), F(3));
}
static int bi_mse_mt(bi_args *a) { return trainopt_mse_loss_mt(a->n, F(0), F(1), F(2), F(3), &bi_threads); }
static int bi_bce_mt(bi_args *a) { return trainopt_bce_with_logits_mt(a->n, F(0), F(1), F(2), F(3), &bi_threads); }
static int bi_ce_mt(bi_args *a) {
    return trainopt_softmax_cross_entropy_mt(a->n, (size_t)a->i[0], F(0), (const int32_t *)a->p[1], (int32_t)a->i[1],
                                             a->h[0], F(2), F(3), &bi_threads);
}
static void bi_ce_extra(to_ctx *t, const bi_kernel *k) {
    bi_args a;
    bi_setup(k, &a), a.i[0] = 0;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_SHAPE, 0, "classes = 0"));
    bi_setup(k, &a), a.i[0] = (int64_t)(SIZE_MAX / 64);
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_SHAPE, 0, "batch * classes overflows"));
    bi_setup(k, &a), ((int32_t *)a.p[1])[BI_N - 1] = 7;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_INDEX, 0, "label = classes"));
    bi_setup(k, &a), ((int32_t *)a.p[1])[BI_N - 1] = -1;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_INDEX, 0, "label -1"));
    bi_setup(k, &a), a.i[1] = 3, ((int32_t *)a.p[1])[4] = 3; /* (-100 is then an ordinary, bad label) */
    bi_logged(bi_row(t, k, &a, TRAINOPT_OK, 0, "ignore_index inside [0, classes)"));
    bi_setup(k, &a), a.i[1] = 3;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_INDEX, 0, "label -100 when ignore_index is 3"));
    bi_setup(k, &a), a.p[3] = (float *)a.p[1] + 2;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_ALIAS, 0, "grad overlapping the labels"));
    bi_setup(k, &a), a.p[2] = (float *)a.p[1] + 2;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_ALIAS, 0, "loss inside the labels"));
}

/* ---- random numbers, dropout, initializers --------------------------------------------- */

static int bi_rand_u32(bi_args *a) { return trainopt_rand_u32((uint64_t)a->i[0], (uint64_t)a->i[1], a->n, (uint32_t *)a->p[0]); }
static int bi_rand_uniform(bi_args *a) {
    return trainopt_rand_uniform((uint64_t)a->i[0], (uint64_t)a->i[1], a->n, a->h[0], a->h[1], F(0));
}
static void bi_rand_uniform_extra(to_ctx *t, const bi_kernel *k) {
    bi_args a;
    bi_setup(k, &a), a.h[0] = 2.0;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_HPARAM, 0, "lo > hi"));
    bi_setup(k, &a), a.h[0] = -3e38, a.h[1] = 3e38;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_HPARAM, 0, "hi - lo beyond FLT_MAX"));
    bi_setup(k, &a), a.h[0] = a.h[1] = 0.5;
    bi_logged(bi_row(t, k, &a, TRAINOPT_OK, 0, "lo == hi"));
}
static int bi_rand_normal(bi_args *a) {
    return trainopt_rand_normal((uint64_t)a->i[0], (uint64_t)a->i[1], a->n, a->h[0], a->h[1], F(0));
}
static int bi_dropout_fwd(bi_args *a) {
    return trainopt_dropout_forward(a->h[0], (uint64_t)a->i[0], (uint64_t)a->i[1], a->n, F(0), F(1), (uint8_t *)a->p[2]);
}
static int bi_dropout_bwd(bi_args *a) {
    return trainopt_dropout_backward(a->h[0], (uint64_t)a->i[0], (uint64_t)a->i[1], a->n, F(0), F(1),
                                     (const uint8_t *)a->p[2]);
}
static int bi_dropout_fwd_mt(bi_args *a) {
    return trainopt_dropout_forward_mt(a->h[0], (uint64_t)a->i[0], (uint64_t)a->i[1], a->n, F(0), F(1), (uint8_t *)a->p[2],
                                       &bi_threads);
}
static int bi_dropout_bwd_mt(bi_args *a) {
    return trainopt_dropout_backward_mt(a->h[0], (uint64_t)a->i[0], (uint64_t)a->i[1], a->n, F(0), F(1),
                                        (const uint8_t *)a->p[2], &bi_threads);
}
static void bi_dropout_extra(to_ctx *t, const bi_kernel *k) {
    bi_args a;
    bi_setup(k, &a), a.p[2] = (uint8_t *)a.p[0] + BI_N * sizeof(float) - 2; /* the mask's first bytes are x's last */
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_ALIAS, 0, "mask straddling the end of the input"));
    bi_setup(k, &a), a.p[2] = (uint8_t *)a.p[0] + BI_N * sizeof(float);
    bi_logged(bi_row(t, k, &a, TRAINOPT_OK, 0, "mask right after the input"));
}

/* convert: src in slot 0, dst in slot 1; dtypes, rounding, seed, offset in i[0..4]. */
static int bi_convert(bi_args *a) {
    return trainopt_convert(a->n, a->p[0], (trainopt_dtype)a->i[0], a->p[1], (trainopt_dtype)a->i[1],
                            (trainopt_rounding)a->i[2], (uint64_t)a->i[3], (uint64_t)a->i[4]);
}
static void bi_convert_extra(to_ctx *t, const bi_kernel *k) {
    bi_args a;
    bi_setup(k, &a), a.p[1] = (uint16_t *)a.p[0] + 2 * BI_N - 1; /* the bf16 output's first element is src's last half */
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_ALIAS, 0, "dst starting inside src's last element"));
    bi_setup(k, &a), a.p[1] = (float *)a.p[0] + BI_N;
    bi_logged(bi_row(t, k, &a, TRAINOPT_OK, 0, "dst right after src"));
    bi_setup(k, &a), a.i[0] = TRAINOPT_BF16, a.i[1] = TRAINOPT_F32, a.p[1] = (uint16_t *)a.p[0] + BI_N + 1;
    bi_logged(bi_row(t, k, &a, TRAINOPT_OK, 0, "bf16 src, fp32 dst after its n halves"));
    bi_setup(k, &a), a.i[0] = TRAINOPT_BF16, a.i[1] = TRAINOPT_F32, a.p[1] = (uint16_t *)a.p[0] + BI_N - 1;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_ALIAS, 0, "bf16 src, fp32 dst over its last half"));
}

/* calculate_fans: ndim n, the shape (size_t) in slot 0. */
static void bi_fans_setup(bi_args *a) {
    size_t *shape = (size_t *)a->p[0];
    shape[0] = 8, shape[1] = 3, shape[2] = 5, shape[3] = 5;
}
static int bi_fans(bi_args *a) { return trainopt_calculate_fans(a->n, (const size_t *)a->p[0], (size_t *)a->p[1], (size_t *)a->p[2]); }
static void bi_fans_extra(to_ctx *t, const bi_kernel *k) {
    bi_args a;
    bi_setup(k, &a), a.n = 1;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_SHAPE, 0, "ndim 1"));
    bi_setup(k, &a), a.n = 0;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_SHAPE, 0, "ndim 0"));
    bi_setup(k, &a), ((size_t *)a.p[0])[0] = SIZE_MAX / 2;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_SHAPE, 0, "fan_out overflows"));
    bi_setup(k, &a), ((size_t *)a.p[0])[2] = SIZE_MAX / 2;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_SHAPE, 0, "receptive field overflows"));
    bi_setup(k, &a), ((size_t *)a.p[0])[3] = 0;
    bi_logged(bi_row(t, k, &a, TRAINOPT_OK, 0, "a zero dimension (fans 0)"));
}

/* Xavier: seed i0, offset i1, fan_in i2, fan_out i3, gain h0. */
static int bi_xavier_u(bi_args *a) {
    return trainopt_xavier_uniform((uint64_t)a->i[0], (uint64_t)a->i[1], a->n, (size_t)a->i[2], (size_t)a->i[3], a->h[0], F(0));
}
static int bi_xavier_n(bi_args *a) {
    return trainopt_xavier_normal((uint64_t)a->i[0], (uint64_t)a->i[1], a->n, (size_t)a->i[2], (size_t)a->i[3], a->h[0], F(0));
}
static void bi_xavier_extra(to_ctx *t, const bi_kernel *k) {
    bi_args a;
    bi_setup(k, &a), a.i[2] = 0;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_SHAPE, 0, "fan_in 0"));
    bi_setup(k, &a), a.i[2] = -1; /* (size_t)-1: fan_in + fan_out overflows */
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_SHAPE, 0, "fan_in + fan_out overflows"));
    bi_setup(k, &a), a.h[0] = 1e39;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_HPARAM, 0, "a gain too large for float"));
}
/* Kaiming: a h0, seed i0, offset i1, mode i2, nonlinearity i3, fan_in i4, fan_out i5. */
static trainopt_kaiming_config bi_kaiming_cfg(const bi_args *a) {
    trainopt_kaiming_config c;
    c.a = a->h[0], c.mode = (trainopt_fan_mode)a->i[2], c.nonlinearity = (trainopt_nonlinearity)a->i[3];
    return c;
}
static int bi_kaiming_u(bi_args *a) {
    trainopt_kaiming_config c = bi_kaiming_cfg(a);
    return trainopt_kaiming_uniform(C(0) ? &c : NULL, (uint64_t)a->i[0], (uint64_t)a->i[1], a->n, (size_t)a->i[4],
                                    (size_t)a->i[5], F(1));
}
static int bi_kaiming_n(bi_args *a) {
    trainopt_kaiming_config c = bi_kaiming_cfg(a);
    return trainopt_kaiming_normal(C(0) ? &c : NULL, (uint64_t)a->i[0], (uint64_t)a->i[1], a->n, (size_t)a->i[4],
                                   (size_t)a->i[5], F(1));
}
static void bi_kaiming_extra(to_ctx *t, const bi_kernel *k) {
    bi_args a;
    bi_setup(k, &a), a.i[4] = 0;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_SHAPE, 0, "fan_in 0 (mode fan_in)"));
    bi_setup(k, &a), a.i[5] = 0;
    bi_logged(bi_row(t, k, &a, TRAINOPT_OK, 0, "fan_out 0 (not the fan used)"));
}
static int bi_trunc(bi_args *a) {
    trainopt_trunc_normal_config c;
    c.mean = a->h[0], c.std = a->h[1], c.a = a->h[2], c.b = a->h[3];
    return trainopt_trunc_normal(C(0) ? &c : NULL, (uint64_t)a->i[0], (uint64_t)a->i[1], a->n, F(1));
}
static void bi_trunc_extra(to_ctx *t, const bi_kernel *k) {
    bi_args a;
    bi_setup(k, &a), a.h[2] = 3.0;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_HPARAM, 0, "a > b"));
    bi_setup(k, &a), a.h[1] = 3e38;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_HPARAM, 0, "std * sqrt(2) beyond FLT_MAX"));
}

/* The threaded generators and initializers: the same arguments, on the reverse hook. */
static int bi_rand_u32_mt(bi_args *a) {
    return trainopt_rand_u32_mt((uint64_t)a->i[0], (uint64_t)a->i[1], a->n, (uint32_t *)a->p[0], &bi_threads);
}
static int bi_rand_uniform_mt(bi_args *a) {
    return trainopt_rand_uniform_mt((uint64_t)a->i[0], (uint64_t)a->i[1], a->n, a->h[0], a->h[1], F(0), &bi_threads);
}
static int bi_rand_normal_mt(bi_args *a) {
    return trainopt_rand_normal_mt((uint64_t)a->i[0], (uint64_t)a->i[1], a->n, a->h[0], a->h[1], F(0), &bi_threads);
}
static int bi_xavier_u_mt(bi_args *a) {
    return trainopt_xavier_uniform_mt((uint64_t)a->i[0], (uint64_t)a->i[1], a->n, (size_t)a->i[2], (size_t)a->i[3], a->h[0],
                                      F(0), &bi_threads);
}
static int bi_xavier_n_mt(bi_args *a) {
    return trainopt_xavier_normal_mt((uint64_t)a->i[0], (uint64_t)a->i[1], a->n, (size_t)a->i[2], (size_t)a->i[3], a->h[0],
                                     F(0), &bi_threads);
}
static int bi_kaiming_u_mt(bi_args *a) {
    trainopt_kaiming_config c = bi_kaiming_cfg(a);
    return trainopt_kaiming_uniform_mt(C(0) ? &c : NULL, (uint64_t)a->i[0], (uint64_t)a->i[1], a->n, (size_t)a->i[4],
                                       (size_t)a->i[5], F(1), &bi_threads);
}
static int bi_kaiming_n_mt(bi_args *a) {
    trainopt_kaiming_config c = bi_kaiming_cfg(a);
    return trainopt_kaiming_normal_mt(C(0) ? &c : NULL, (uint64_t)a->i[0], (uint64_t)a->i[1], a->n, (size_t)a->i[4],
                                      (size_t)a->i[5], F(1), &bi_threads);
}
static int bi_trunc_mt(bi_args *a) {
    trainopt_trunc_normal_config c;
    c.mean = a->h[0], c.std = a->h[1], c.a = a->h[2], c.b = a->h[3];
    return trainopt_trunc_normal_mt(C(0) ? &c : NULL, (uint64_t)a->i[0], (uint64_t)a->i[1], a->n, F(1), &bi_threads);
}

/* ---- batch normalization: shape (n, c = i0, spatial = i1, layout i2), fuse_relu i3 ---- */

static trainopt_bn_config bi_bn_cfg(const bi_args *a) {
    trainopt_bn_config c;
    c.eps = a->h[0], c.momentum = a->h[1], c.fuse_relu = (int)a->i[3];
    return c;
}
static trainopt_bn_shape bi_bn_shape(const bi_args *a) {
    trainopt_bn_shape s;
    s.n = a->n, s.c = (size_t)a->i[0], s.spatial = (size_t)a->i[1], s.layout = (trainopt_layout)a->i[2];
    return s;
}
static int bi_bn_train(bi_args *a) {
    trainopt_bn_config c = bi_bn_cfg(a);
    return trainopt_batchnorm_forward_train(C(0) ? &c : NULL, bi_bn_shape(a), F(1), F(2), F(3), F(4), F(5), F(6), F(7), F(8));
}
static int bi_bn_infer(bi_args *a) {
    trainopt_bn_config c = bi_bn_cfg(a);
    return trainopt_batchnorm_forward_infer(C(0) ? &c : NULL, bi_bn_shape(a), F(1), F(2), F(3), F(4), F(5), F(6));
}
static int bi_bn_backward(bi_args *a) {
    trainopt_bn_config c = bi_bn_cfg(a);
    return trainopt_batchnorm_backward(C(0) ? &c : NULL, bi_bn_shape(a), F(1), F(2), F(3), F(4), F(5), F(6), F(7), F(8), F(9));
}
static int bi_bn_train_mt(bi_args *a) {
    trainopt_bn_config c = bi_bn_cfg(a);
    return trainopt_batchnorm_forward_train_mt(C(0) ? &c : NULL, bi_bn_shape(a), F(1), F(2), F(3), F(4), F(5), F(6), F(7),
                                               F(8), &bi_threads);
}
static int bi_bn_backward_mt(bi_args *a) {
    trainopt_bn_config c = bi_bn_cfg(a);
    return trainopt_batchnorm_backward_mt(C(0) ? &c : NULL, bi_bn_shape(a), F(1), F(2), F(3), F(4), F(5), F(6), F(7), F(8),
                                          F(9), &bi_threads);
}
static int bi_bn_infer_mt(bi_args *a) {
    trainopt_bn_config c = bi_bn_cfg(a);
    return trainopt_batchnorm_forward_infer_mt(C(0) ? &c : NULL, bi_bn_shape(a), F(1), F(2), F(3), F(4), F(5), F(6),
                                               &bi_threads);
}
static int bi_bn_fold(bi_args *a) {
    trainopt_bn_config c = bi_bn_cfg(a);
    return trainopt_batchnorm_fold(C(0) ? &c : NULL, a->n, F(1), F(2), F(3), F(4), F(5), F(6));
}
/* Rows on the shape every batch-norm function shares. */
static void bi_bn_shape_extra(to_ctx *t, const bi_kernel *k) {
    bi_args a;
    bi_setup(k, &a), a.i[0] = 0;
    bi_logged(bi_row(t, k, &a, TRAINOPT_OK, 1, "c = 0 (a no-op)"));
    bi_setup(k, &a), a.i[1] = 0;
    bi_logged(bi_row(t, k, &a, TRAINOPT_OK, 1, "spatial = 0 (a no-op)"));
    bi_setup(k, &a), a.i[1] = -1;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_SHAPE, 0, "n * spatial overflows"));
    bi_setup(k, &a), a.i[0] = (int64_t)(SIZE_MAX / 32);
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_SHAPE, 0, "n * c * spatial * 4 overflows"));
    bi_setup(k, &a), a.i[2] = TRAINOPT_NHWC;
    bi_logged(bi_row(t, k, &a, TRAINOPT_OK, 0, "NHWC"));
}
static void bi_bn_train_extra(to_ctx *t, const bi_kernel *k) {
    bi_args a;
    bi_bn_shape_extra(t, k);
    bi_setup(k, &a), a.p[4] = a.p[5] = NULL;
    bi_logged(bi_row(t, k, &a, TRAINOPT_OK, 0, "running statistics not tracked"));
    bi_setup(k, &a), a.n = 1, a.i[1] = 1;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_SHAPE, 0, "one value per channel"));
}
static void bi_bn_backward_extra(to_ctx *t, const bi_kernel *k) {
    bi_args a;
    bi_bn_shape_extra(t, k);
    bi_setup(k, &a), a.i[3] = 0, a.p[6] = NULL;
    bi_logged(bi_row(t, k, &a, TRAINOPT_OK, 0, "no fuse_relu, no y"));
    bi_setup(k, &a), a.i[3] = 0, a.p[6] = (float *)a.p[7] + 1; /* y is not read: "it is not touched" */
    bi_logged(bi_row(t, k, &a, TRAINOPT_OK, 0, "no fuse_relu, an unused y overlapping dx"));
}

/* ---- layer, RMS and group norm: rows = n, cols = i0 (group norm: shape (n, c = i0,
   spatial = i1, layout i2), groups i3) ---- */

static trainopt_norm_config bi_norm_cfg(const bi_args *a) {
    trainopt_norm_config c;
    c.eps = a->h[0];
    return c;
}
static int bi_ln_fwd(bi_args *a) {
    trainopt_norm_config c = bi_norm_cfg(a);
    return trainopt_layernorm_forward(C(0) ? &c : NULL, a->n, (size_t)a->i[0], F(1), F(2), F(3), F(4), F(5), F(6));
}
static int bi_ln_bwd(bi_args *a) {
    trainopt_norm_config c = bi_norm_cfg(a);
    return trainopt_layernorm_backward(C(0) ? &c : NULL, a->n, (size_t)a->i[0], F(1), F(2), F(3), F(4), F(5), F(6), F(7),
                                       F(8));
}
static int bi_rms_fwd(bi_args *a) {
    trainopt_norm_config c = bi_norm_cfg(a);
    return trainopt_rmsnorm_forward(C(0) ? &c : NULL, a->n, (size_t)a->i[0], F(1), F(2), F(3), F(4));
}
static int bi_rms_bwd(bi_args *a) {
    trainopt_norm_config c = bi_norm_cfg(a);
    return trainopt_rmsnorm_backward(C(0) ? &c : NULL, a->n, (size_t)a->i[0], F(1), F(2), F(3), F(4), F(5), F(6));
}
static trainopt_bn_shape bi_gn_shape(const bi_args *a) {
    trainopt_bn_shape s;
    s.n = a->n, s.c = (size_t)a->i[0], s.spatial = (size_t)a->i[1], s.layout = (trainopt_layout)a->i[2];
    return s;
}
static int bi_gn_fwd(bi_args *a) {
    trainopt_norm_config c = bi_norm_cfg(a);
    return trainopt_groupnorm_forward(C(0) ? &c : NULL, bi_gn_shape(a), (size_t)a->i[3], F(1), F(2), F(3), F(4), F(5), F(6));
}
static int bi_gn_bwd(bi_args *a) {
    trainopt_norm_config c = bi_norm_cfg(a);
    return trainopt_groupnorm_backward(C(0) ? &c : NULL, bi_gn_shape(a), (size_t)a->i[3], F(1), F(2), F(3), F(4), F(5), F(6),
                                       F(7), F(8));
}
/* The threaded forms: the same checks, on bi_threads (a reverse hook). */
static int bi_ln_fwd_mt(bi_args *a) {
    trainopt_norm_config c = bi_norm_cfg(a);
    return trainopt_layernorm_forward_mt(C(0) ? &c : NULL, a->n, (size_t)a->i[0], F(1), F(2), F(3), F(4), F(5), F(6),
                                         &bi_threads);
}
static int bi_ln_bwd_mt(bi_args *a) {
    trainopt_norm_config c = bi_norm_cfg(a);
    return trainopt_layernorm_backward_mt(C(0) ? &c : NULL, a->n, (size_t)a->i[0], F(1), F(2), F(3), F(4), F(5), F(6), F(7),
                                          F(8), &bi_threads);
}
static int bi_rms_fwd_mt(bi_args *a) {
    trainopt_norm_config c = bi_norm_cfg(a);
    return trainopt_rmsnorm_forward_mt(C(0) ? &c : NULL, a->n, (size_t)a->i[0], F(1), F(2), F(3), F(4), &bi_threads);
}
static int bi_rms_bwd_mt(bi_args *a) {
    trainopt_norm_config c = bi_norm_cfg(a);
    return trainopt_rmsnorm_backward_mt(C(0) ? &c : NULL, a->n, (size_t)a->i[0], F(1), F(2), F(3), F(4), F(5), F(6),
                                        &bi_threads);
}
/* The bf16/fp16 forms (src/norms_mixed.h): the dtype is the last integer (bf16 in the
   valid call), so the generic enum rows refuse unknown ones; the activations are bf16
   views of their float regions. */
static int bi_ln_fwd_mp(bi_args *a) {
    trainopt_norm_config c = bi_norm_cfg(a);
    return trainopt_layernorm_forward_mp(C(0) ? &c : NULL, a->n, (size_t)a->i[0], a->p[1], (trainopt_dtype)a->i[1], F(2),
                                         F(3), a->p[4], F(5), F(6));
}
static int bi_ln_bwd_mp(bi_args *a) {
    trainopt_norm_config c = bi_norm_cfg(a);
    return trainopt_layernorm_backward_mp(C(0) ? &c : NULL, a->n, (size_t)a->i[0], a->p[1], a->p[2], (trainopt_dtype)a->i[1],
                                          F(3), F(4), F(5), a->p[6], F(7), F(8));
}
static int bi_rms_fwd_mp(bi_args *a) {
    trainopt_norm_config c = bi_norm_cfg(a);
    return trainopt_rmsnorm_forward_mp(C(0) ? &c : NULL, a->n, (size_t)a->i[0], a->p[1], (trainopt_dtype)a->i[1], F(2),
                                       a->p[3], F(4));
}
static int bi_rms_bwd_mp(bi_args *a) {
    trainopt_norm_config c = bi_norm_cfg(a);
    return trainopt_rmsnorm_backward_mp(C(0) ? &c : NULL, a->n, (size_t)a->i[0], a->p[1], a->p[2], (trainopt_dtype)a->i[1],
                                        F(3), F(4), a->p[5], F(6));
}
static int bi_gn_fwd_mp(bi_args *a) {
    trainopt_norm_config c = bi_norm_cfg(a);
    return trainopt_groupnorm_forward_mp(C(0) ? &c : NULL, bi_gn_shape(a), (size_t)a->i[3], a->p[1], (trainopt_dtype)a->i[4],
                                         F(2), F(3), a->p[4], F(5), F(6));
}
static int bi_gn_bwd_mp(bi_args *a) {
    trainopt_norm_config c = bi_norm_cfg(a);
    return trainopt_groupnorm_backward_mp(C(0) ? &c : NULL, bi_gn_shape(a), (size_t)a->i[3], a->p[1], a->p[2],
                                          (trainopt_dtype)a->i[4], F(3), F(4), F(5), a->p[6], F(7), F(8));
}

static int bi_gn_fwd_mt(bi_args *a) {
    trainopt_norm_config c = bi_norm_cfg(a);
    return trainopt_groupnorm_forward_mt(C(0) ? &c : NULL, bi_gn_shape(a), (size_t)a->i[3], F(1), F(2), F(3), F(4), F(5),
                                         F(6), &bi_threads);
}
static int bi_gn_bwd_mt(bi_args *a) {
    trainopt_norm_config c = bi_norm_cfg(a);
    return trainopt_groupnorm_backward_mt(C(0) ? &c : NULL, bi_gn_shape(a), (size_t)a->i[3], F(1), F(2), F(3), F(4), F(5),
                                          F(6), F(7), F(8), &bi_threads);
}
/* The normalized dimension: zero has no mean (refused), too long overflows. */
static void bi_norm_extra(to_ctx *t, const bi_kernel *k) {
    bi_args a;
    bi_setup(k, &a), a.i[0] = 0;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_SHAPE, 0, "cols = 0"));
    bi_setup(k, &a), a.i[0] = (int64_t)(SIZE_MAX / 8);
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_SHAPE, 0, "rows * cols * 4 overflows"));
    bi_setup(k, &a), a.i[0] = 1;
    bi_logged(bi_row(t, k, &a, TRAINOPT_OK, 0, "cols = 1"));
}
static void bi_gn_extra(to_ctx *t, const bi_kernel *k) {
    bi_args a;
    bi_setup(k, &a), a.i[3] = 0;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_SHAPE, 0, "groups = 0"));
    bi_setup(k, &a), a.i[3] = 3;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_SHAPE, 0, "groups not dividing c"));
    bi_setup(k, &a), a.i[3] = 4;
    bi_logged(bi_row(t, k, &a, TRAINOPT_OK, 0, "groups = c"));
    bi_setup(k, &a), a.i[0] = 0;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_SHAPE, 0, "c = 0"));
    bi_setup(k, &a), a.i[1] = 0;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_SHAPE, 0, "spatial = 0"));
    bi_setup(k, &a), a.i[1] = -1;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_SHAPE, 0, "n * spatial overflows"));
    bi_setup(k, &a), a.i[0] = (int64_t)(SIZE_MAX / 32);
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_SHAPE, 0, "n * c * spatial * 4 overflows"));
    bi_setup(k, &a), a.i[2] = TRAINOPT_NHWC;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_SHAPE, 0, "NHWC with spatial > 1"));
    bi_setup(k, &a), a.i[2] = TRAINOPT_NHWC, a.i[1] = 1;
    bi_logged(bi_row(t, k, &a, TRAINOPT_OK, 0, "NHWC with spatial = 1"));
}

/* ---- schedules: t is `step`; NaN is the documented answer to bad arguments -------------- */

static int bi_lr_step(bi_args *a) { return SCHED(trainopt_lr_step(a->h[0], a->step, a->i[0], a->h[1])); }
static void bi_milestones_setup(bi_args *a) {
    int64_t *m = (int64_t *)a->p[0];
    m[0] = 3, m[1] = 30, m[2] = 3;
}
static int bi_lr_multistep(bi_args *a) {
    return SCHED(trainopt_lr_multistep(a->h[0], a->step, (const int64_t *)a->p[0], a->n, a->h[1]));
}
static void bi_multistep_extra(to_ctx *t, const bi_kernel *k) {
    bi_args a;
    bi_setup(k, &a), a.n = 0, a.p[0] = NULL;
    bi_logged(bi_row(t, k, &a, BI_NUMBER, 0, "no milestones"));
    bi_setup(k, &a), ((int64_t *)a.p[0])[1] = -1;
    bi_logged(bi_row(t, k, &a, BI_NAN, 0, "a negative milestone"));
}
static int bi_lr_exponential(bi_args *a) { return SCHED(trainopt_lr_exponential(a->h[0], a->step, a->h[1])); }
static int bi_lr_inverse_time(bi_args *a) {
    return SCHED(trainopt_lr_inverse_time(a->h[0], a->step, a->h[1], a->i[0], (int)a->i[1]));
}
static int bi_lr_polynomial(bi_args *a) { return SCHED(trainopt_lr_polynomial(a->h[0], a->step, a->i[0], a->h[1], a->h[2])); }
static int bi_lr_linear(bi_args *a) { return SCHED(trainopt_lr_linear(a->h[0], a->step, a->h[1], a->h[2], a->i[0])); }
static int bi_lr_constant(bi_args *a) { return SCHED(trainopt_lr_constant(a->h[0], a->step, a->h[1], a->i[0])); }
static int bi_lr_cosine(bi_args *a) { return SCHED(trainopt_lr_cosine(a->h[0], a->step, a->i[0], a->h[1])); }
static int bi_lr_restarts(bi_args *a) { return SCHED(trainopt_lr_cosine_restarts(a->h[0], a->step, a->i[0], a->i[1], a->h[1])); }
static int bi_lr_warmup_cosine(bi_args *a) {
    return SCHED(trainopt_lr_warmup_cosine(a->h[0], a->step, a->i[0], a->i[1], a->h[1], a->h[2]));
}
static void bi_warmup_cosine_extra(to_ctx *t, const bi_kernel *k) {
    bi_args a;
    bi_setup(k, &a), a.i[1] = a.i[0];
    bi_logged(bi_row(t, k, &a, BI_NAN, 0, "decay_steps == warmup_steps"));
    bi_setup(k, &a), a.i[0] = 0;
    bi_logged(bi_row(t, k, &a, BI_NUMBER, 0, "no warmup"));
}
static int bi_lr_warmup_factor(bi_args *a) { return SCHED(trainopt_lr_warmup_factor(a->step, a->i[0], a->h[0])); }

/* OneCycle: max_lr h0, pct_start h1, div h2, final_div h3, base_m h4, max_m h5;
   total_steps i0, anneal i1, three_phase i2. */
static trainopt_onecycle_config bi_onecycle_cfg(const bi_args *a) {
    trainopt_onecycle_config c;
    c.max_lr = a->h[0], c.pct_start = a->h[1], c.div_factor = a->h[2], c.final_div_factor = a->h[3];
    c.base_momentum = a->h[4], c.max_momentum = a->h[5];
    c.total_steps = a->i[0], c.anneal_strategy = (trainopt_anneal)a->i[1], c.three_phase = (int)a->i[2];
    return c;
}
static int bi_lr_onecycle(bi_args *a) {
    trainopt_onecycle_config c = bi_onecycle_cfg(a);
    return SCHED(trainopt_lr_onecycle(C(0) ? &c : NULL, a->step));
}
static int bi_momentum_onecycle(bi_args *a) {
    trainopt_onecycle_config c = bi_onecycle_cfg(a);
    return SCHED(trainopt_momentum_onecycle(C(0) ? &c : NULL, a->step));
}
static void bi_onecycle_extra(to_ctx *t, const bi_kernel *k) {
    bi_args a;
    bi_setup(k, &a), a.step = a.i[0] + 1;
    bi_logged(bi_row(t, k, &a, BI_NAN, 0, "t past total_steps"));
    bi_setup(k, &a), a.i[0] = 0; /* (a generic 'P' row would try total_steps 1, which t = 2 is past) */
    bi_logged(bi_row(t, k, &a, BI_NAN, 0, "total_steps 0"));
    bi_setup(k, &a), a.i[0] = INT64_MIN;
    bi_logged(bi_row(t, k, &a, BI_NAN, 0, "total_steps INT64_MIN"));
    bi_setup(k, &a), a.h[1] = 0.01, a.step = 0; /* pct_start * total_steps == 1: phase 1 has zero length */
    bi_logged(bi_row(t, k, &a, BI_NAN, 0, "a phase of zero length"));
}
/* Cyclic: base_lr h0, max_lr h1, gamma h2, base_m h3, max_m h4; up i0, down i1, mode i2. */
static trainopt_cyclic_config bi_cyclic_cfg(const bi_args *a) {
    trainopt_cyclic_config c;
    c.base_lr = a->h[0], c.max_lr = a->h[1], c.gamma = a->h[2], c.base_momentum = a->h[3], c.max_momentum = a->h[4];
    c.step_size_up = a->i[0], c.step_size_down = a->i[1], c.mode = (trainopt_cyclic_mode)a->i[2];
    return c;
}
static int bi_lr_cyclic(bi_args *a) {
    trainopt_cyclic_config c = bi_cyclic_cfg(a);
    return SCHED(trainopt_lr_cyclic(C(0) ? &c : NULL, a->step));
}
static int bi_momentum_cyclic(bi_args *a) {
    trainopt_cyclic_config c = bi_cyclic_cfg(a);
    return SCHED(trainopt_momentum_cyclic(C(0) ? &c : NULL, a->step));
}
static void bi_cyclic_extra(to_ctx *t, const bi_kernel *k) {
    bi_args a;
    bi_setup(k, &a), a.i[1] = -2;
    bi_logged(bi_row(t, k, &a, BI_NAN, 0, "step_size_down -2"));
    bi_setup(k, &a), a.i[1] = -1;
    bi_logged(bi_row(t, k, &a, BI_NUMBER, 0, "step_size_down -1 (= up)"));
    bi_setup(k, &a), a.i[1] = 0;
    bi_logged(bi_row(t, k, &a, BI_NUMBER, 0, "step_size_down 0"));
}

/* The tagged schedule (slot 0): a cosine whose lr h0, eta_min h1, warmup_start_factor h2,
   t_max i0, warmup_iters i1 come from the row; the momentum row uses a onecycle. */
static int bi_schedule_lr(bi_args *a) {
    trainopt_schedule s = trainopt_schedule_defaults(TRAINOPT_SCHEDULE_COSINE);
    s.lr = a->h[0], s.eta_min = a->h[1], s.warmup_start_factor = a->h[2], s.t_max = a->i[0], s.warmup_iters = a->i[1];
    if (a->p[0]) memcpy(a->p[0], &s, sizeof s); /* the schedule lives in the checked memory */
    return SCHED(trainopt_schedule_lr((const trainopt_schedule *)a->p[0], a->step));
}
static int bi_schedule_momentum(bi_args *a) {
    trainopt_schedule s = trainopt_schedule_defaults((trainopt_schedule_kind)a->i[1]);
    s.lr = a->h[0], s.base_momentum = a->h[1], s.max_momentum = a->h[2], s.total_steps = a->i[0], s.t_max = 100;
    if (a->p[0]) memcpy(a->p[0], &s, sizeof s);
    return SCHED(trainopt_schedule_momentum((const trainopt_schedule *)a->p[0], a->step));
}
static void bi_schedule_momentum_extra(to_ctx *t, const bi_kernel *k) {
    bi_args a;
    bi_setup(k, &a), a.i[1] = TRAINOPT_SCHEDULE_COSINE;
    bi_logged(bi_row(t, k, &a, BI_NAN, 0, "a schedule that sets no momentum"));
}
/* lr_join: two parts in slot 0, milestones in slot 1, k = n. */
static void bi_join_setup(bi_args *a) {
    trainopt_schedule *parts = (trainopt_schedule *)a->p[0];
    int64_t *m = (int64_t *)a->p[1];
    parts[0] = trainopt_schedule_defaults(TRAINOPT_SCHEDULE_LINEAR), parts[0].lr = 0.1;
    parts[1] = trainopt_schedule_defaults(TRAINOPT_SCHEDULE_COSINE), parts[1].lr = 0.1, parts[1].t_max = 95;
    parts[2] = parts[1];
    m[0] = 5, m[1] = 50;
}
static int bi_lr_join(bi_args *a) {
    return SCHED(trainopt_lr_join((const trainopt_schedule *)a->p[0], a->n, (const int64_t *)a->p[1], a->step));
}
static void bi_join_extra(to_ctx *t, const bi_kernel *k) {
    bi_args a;
    bi_setup(k, &a), a.n = 0;
    bi_logged(bi_row(t, k, &a, BI_NAN, 0, "k = 0"));
    bi_setup(k, &a), a.n = 1, a.p[1] = NULL;
    bi_logged(bi_row(t, k, &a, BI_NUMBER, 0, "one part, no milestones"));
    bi_setup(k, &a), a.n = 3, ((int64_t *)a.p[1])[1] = 4;
    bi_logged(bi_row(t, k, &a, BI_NAN, 0, "decreasing milestones"));
    bi_setup(k, &a), ((int64_t *)a.p[1])[0] = -1;
    bi_logged(bi_row(t, k, &a, BI_NAN, 0, "a negative milestone"));
    bi_setup(k, &a), ((trainopt_schedule *)a.p[0])[1].t_max = 0;
    bi_logged(bi_row(t, k, &a, BI_NAN, 0, "an invalid part"));
}

/* The parsers: text (slot 0), outputs written only on success; msg (slot 2) is scratch. */
static void bi_text_setup(bi_args *a) { strcpy((char *)a->p[0], "cosine:t_max=100,lr=0.1,eta_min=1e-5"); }
static void bi_join_text_setup(bi_args *a) { strcpy((char *)a->p[0], "linear:start_factor=0.1,total_iters=5,lr=0.1 @5 cosine:t_max=95"); }
static int bi_parse(bi_args *a) { return trainopt_schedule_parse((const char *)a->p[0], (trainopt_schedule *)a->p[1]); }
static int bi_parse_msg(bi_args *a) {
    return trainopt_schedule_parse_msg((const char *)a->p[0], (trainopt_schedule *)a->p[1], (char *)a->p[2], (size_t)a->i[0]);
}
static int bi_parse_join(bi_args *a) {
    return trainopt_schedule_parse_join((const char *)a->p[0], (trainopt_schedule *)a->p[1], (trainopt_schedule *)a->p[3],
                                        (size_t)a->i[1], (char *)a->p[2], (size_t)a->i[0]);
}
static void bi_parse_extra(to_ctx *t, const bi_kernel *k) {
    /* Texts that do not read as a schedule (ERR_PARSE), and values out of range (ERR_HPARAM). */
    static const struct {
        const char *text;
        int want;
    } bad[] = {{"", TRAINOPT_ERR_PARSE},
               {"cosine", TRAINOPT_ERR_PARSE},
               {"cosine:t_max=0", TRAINOPT_ERR_HPARAM},
               {"cosine:t_max=1e400", TRAINOPT_ERR_PARSE},
               {"cosine:t_max=nan", TRAINOPT_ERR_PARSE},
               {"bogus:lr=1", TRAINOPT_ERR_PARSE},
               {"cosine:t_max=5,t_max=6", TRAINOPT_ERR_PARSE},
               {"cosine:lr=-1,t_max=5", TRAINOPT_ERR_HPARAM},
               {"step:step_size=1,gamma=inf", TRAINOPT_ERR_HPARAM},
               {"cosine:t_max=9223372036854775808", TRAINOPT_ERR_PARSE}};
    bi_args a;
    size_t i;
    char what[96];
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        bi_setup(k, &a);
        strcpy((char *)a.p[0], bad[i].text);
        snprintf(what, sizeof what, "text \"%s\"", bad[i].text);
        bi_logged(bi_row(t, k, &a, bad[i].want, 0, what));
    }
}
static void bi_parse_join_extra(to_ctx *t, const bi_kernel *k) {
    bi_args a;
    bi_parse_extra(t, k);
    bi_setup(k, &a), a.i[1] = 1;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_HPARAM, 0, "more parts than max_parts"));
    bi_setup(k, &a), a.i[1] = 0, a.p[3] = NULL;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_HPARAM, 0, "two parts, no parts array"));
    bi_setup(k, &a), a.p[3] = NULL;
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_NULL, 0, "parts NULL with max_parts > 0"));
    bi_setup(k, &a), strcpy((char *)a.p[0], "cosine:t_max=9,lr=1 @3 fixed:lr=1 @2 fixed:lr=2");
    bi_logged(bi_row(t, k, &a, TRAINOPT_ERR_HPARAM, 0, "decreasing milestones"));
}

/* ReduceLROnPlateau: state in slot 0. init: factor h0, threshold h1, min_lr h2, eps h3, lr h4;
   patience i0, cooldown i1, mode i2, threshold_mode i3. step: metric h0. */
static trainopt_plateau_config bi_plateau_cfg(const bi_args *a) {
    trainopt_plateau_config c;
    c.factor = a->h[0], c.threshold = a->h[1], c.min_lr = a->h[2], c.eps = a->h[3];
    c.patience = a->i[0], c.cooldown = a->i[1], c.mode = (trainopt_plateau_mode)a->i[2];
    c.threshold_mode = (trainopt_threshold_mode)a->i[3];
    return c;
}
static int bi_plateau_init(bi_args *a) {
    trainopt_plateau_config c = bi_plateau_cfg(a);
    return trainopt_plateau_init((trainopt_plateau *)a->p[0], C(1) ? &c : NULL, a->h[4]);
}
static void bi_plateau_setup(bi_args *a) {
    /* Static, so its padding is defined: init copies it into the state, which the
       arena checksum reads (valgrind counts uninitialised padding as a use). */
    static const trainopt_plateau_config c = TRAINOPT_PLATEAU_DEFAULTS;
    trainopt_plateau_init((trainopt_plateau *)a->p[0], &c, 0.1);
}
static int bi_plateau_step(bi_args *a) { return SCHED(trainopt_plateau_step((trainopt_plateau *)a->p[0], a->h[0])); }
static void bi_plateau_step_extra(to_ctx *t, const bi_kernel *k) {
    bi_args a;
    bi_setup(k, &a), memset(a.p[0], 0, sizeof(trainopt_plateau));
    bi_logged(bi_row(t, k, &a, BI_NAN, 0, "an uninitialised state"));
    bi_setup(k, &a), ((trainopt_plateau *)a.p[0])->lr = -1.0;
    bi_logged(bi_row(t, k, &a, BI_NAN, 0, "a state with a negative lr"));
    bi_setup(k, &a), ((trainopt_plateau *)a.p[0])->config.factor = 1.0;
    bi_logged(bi_row(t, k, &a, BI_NAN, 0, "a state with factor 1"));
    bi_setup(k, &a), a.h[0] = NAN;
    bi_logged(bi_row(t, k, &a, BI_NUMBER, 0, "a NaN metric (never better)"));
}

/* ---- names and small helpers ------------------------------------------------------------ */

static int bi_name(const char *s, const char *unknown) {
    if (s == NULL) return -99; /* documented never NULL */
    return strcmp(s, unknown) == 0 ? BI_NAN : BI_NUMBER;
}
static int bi_status_str(bi_args *a) { return bi_name(trainopt_status_str((trainopt_status)a->i[0]), "unknown status"); }
static int bi_kind_name(bi_args *a) { return bi_name(trainopt_schedule_kind_name((trainopt_schedule_kind)a->i[0]), "unknown"); }
static int bi_backend(bi_args *a) {
    const char *b = trainopt_backend();
    (void)a;
    return b && (!strcmp(b, "scalar") || !strcmp(b, "avx2") || !strcmp(b, "avx512") || !strcmp(b, "neon") || !strcmp(b, "sse2")) ? BI_NUMBER : -99;
}
/* schedule_defaults has no error; an unknown kind must come back as that kind, whose lr is NaN. */
static int bi_schedule_defaults(bi_args *a) {
    trainopt_schedule s = trainopt_schedule_defaults((trainopt_schedule_kind)a->i[0]);
    if (s.kind != (trainopt_schedule_kind)a->i[0]) return -99;
    s.lr = 0.1;
    return SCHED(trainopt_schedule_lr(&s, 0));
}
static int bi_gain(bi_args *a) { return SCHED(trainopt_calculate_gain((trainopt_nonlinearity)a->i[0], a->h[0])); }
static void bi_gain_extra(to_ctx *t, const bi_kernel *k) {
    bi_args a;
    bi_setup(k, &a), a.i[0] = TRAINOPT_NL_RELU, a.h[0] = NAN;
    bi_logged(bi_row(t, k, &a, BI_NUMBER, 0, "relu ignores the (NaN) slope"));
}

/* ---- the table: every public function of trainopt.h ------------------------------------ */

#define ST TRAINOPT_OK, TRAINOPT_ERR_NULL, TRAINOPT_ERR_HPARAM, TRAINOPT_ERR_STEP /* status kernels */
#define SC BI_NUMBER, BI_NAN, BI_NAN, BI_NAN                                      /* schedules */
#define NO_STEP INT64_MIN
#define OPT_H {0.1, 0.9, 0.0, 0.01, 0.0, 0.5}

static const bi_kernel bi_kernels[] = {
    /* name, call, slots, exact_ok, hkinds, ikinds, h0, i0, step_min, n_valid, n_big, ok, null, h, step,
       empty_writes, scratch, setup, extra */
    {"sgd_step", bi_sgd, "cWRW", "", "nnfn", "--", OPT_H, {0}, 1, BI_N, BI_BIG_N, ST, 0, -1, NULL, bi_sgd_extra},
    {"sgd_step_ex", bi_sgd_ex, "cWRWyy", "", "nnfnn", "---", {0.1, 0.9, 0.0, 0.01, 0.5}, {0}, 1, BI_N, BI_BIG_N, ST, 1, -1,
     NULL, bi_sgd_ex_extra},
    {"adagrad_init", bi_adagrad_init, "cW", "", "nnnnn", "-", {0.01, 0.0, 0.0, 0.1, 1e-10}, {0}, NO_STEP, BI_N, BI_BIG_N,
     ST, 0, -1, NULL, NULL},
    {"adagrad_step", bi_adagrad, "cWRW", "", "nnnnn", "-", {0.01, 0.01, 0.01, 0.1, 1e-10}, {0}, 1, BI_N, BI_BIG_N, ST, 0,
     -1, NULL, NULL},
    {"adagrad_step_ex", bi_adagrad_ex, "cWRWyy", "", "nnnnnn", "--", {0.01, 0.01, 0.01, 0.1, 1e-10, 0.5}, {0}, 1, BI_N,
     BI_BIG_N, ST, 1, -1, NULL, bi_adagrad_ex_extra},
    {"rmsprop_step", bi_rmsprop, "cWRWWW", "", "nunnn", "--", {0.01, 0.99, 1e-8, 0.01, 0.9}, {1}, 1, BI_N, BI_BIG_N, ST,
     0, -1, NULL, bi_rmsprop_extra},
    {"rmsprop_step_ex", bi_rmsprop_ex, "cWRWWWyy", "", "nunnnn", "---", {0.01, 0.99, 1e-8, 0.01, 0.9, 0.5}, {1}, 1, BI_N,
     BI_BIG_N, ST, 1, -1, NULL, bi_rmsprop_ex_extra},
    {"adam_step", bi_adam, "cWRWWW", "", "nbbnn", "--", {1e-3, 0.9, 0.999, 1e-8, 0.01}, {1}, 1, BI_N, BI_BIG_N, ST, 0,
     -1, NULL, bi_adam_extra},
    {"adamw_step", bi_adamw, "cWRWWW", "", "nbbnn", "--", {1e-3, 0.9, 0.999, 1e-8, 0.01}, {1}, 1, BI_N, BI_BIG_N, ST, 0,
     -1, NULL, bi_adam_extra},
    {"adam_step_ex", bi_adam_ex, "cWRWWWyy", "", "nbbnnn", "---", {1e-3, 0.9, 0.999, 1e-8, 0.01, 0.5}, {1}, 1, BI_N,
     BI_BIG_N, ST, 1, -1, NULL, bi_adam_ex_extra},
    {"adamw_step_ex", bi_adamw_ex, "cWRWWWyy", "", "nbbnnn", "---", {1e-3, 0.9, 0.999, 1e-8, 0.01, 0.5}, {1}, 1, BI_N,
     BI_BIG_N, ST, 1, -1, NULL, bi_adam_ex_extra},
    /* issue 16 */
    {"nadam_mu_product", bi_nadam_mu_product, "c", "", "-b---nu", "--", {2e-3, 0.9, 0.999, 1e-8, 0.01, 4e-3, 0.45}, {1},
     1, 0, 0, SC, 0, -1, NULL, NULL},
    {"nadam_step", bi_nadam, "cWRWW", "", "nbbnnnb", "--", {2e-3, 0.9, 0.999, 1e-8, 0.01, 4e-3, 0.45}, {1}, 1, BI_N,
     BI_BIG_N, ST, 0, -1, NULL, NULL},
    {"nadam_step_ex", bi_nadam_ex, "cWRWWyy", "", "nbbnnnbn", "---", {2e-3, 0.9, 0.999, 1e-8, 0.01, 4e-3, 0.45, 0.5},
     {1}, 1, BI_N, BI_BIG_N, ST, 1, -1, NULL, bi_nadam_ex_extra},
    {"radam_step", bi_radam, "cWRWW", "", "nbbnn", "--", {1e-3, 0.9, 0.999, 1e-8, 0.01}, {1}, 1, BI_N, BI_BIG_N, ST, 0,
     -1, NULL, NULL},
    {"radam_step_ex", bi_radam_ex, "cWRWWyy", "", "nbbnnn", "---", {1e-3, 0.9, 0.999, 1e-8, 0.01, 0.5}, {0}, 1, BI_N,
     BI_BIG_N, ST, 1, -1, NULL, bi_radam_ex_extra},
    {"adamax_step", bi_adamax, "cWRWW", "", "nbbnn", "-", {2e-3, 0.9, 0.999, 1e-8, 0.01}, {0}, 1, BI_N, BI_BIG_N, ST, 0,
     -1, NULL, NULL},
    {"adamax_step_ex", bi_adamax_ex, "cWRWWyy", "", "nbbnnn", "--", {2e-3, 0.9, 0.999, 1e-8, 0.01, 0.5}, {1}, 1, BI_N,
     BI_BIG_N, ST, 1, -1, NULL, bi_adamax_ex_extra},
    {"adadelta_step", bi_adadelta, "cWRWW", "", "nunn", "-", {1.0, 0.9, 1e-6, 0.01}, {0}, 1, BI_N, BI_BIG_N, ST, 0, -1,
     NULL, NULL},
    {"adadelta_step_ex", bi_adadelta_ex, "cWRWWyy", "", "nunnn", "--", {1.0, 0.9, 1e-6, 0.01, 0.5}, {1}, 1, BI_N,
     BI_BIG_N, ST, 1, -1, NULL, bi_adadelta_ex_extra},
    {"lion_step", bi_lion, "cWRW", "", "nuun", "-", {1e-4, 0.9, 0.99, 1e-3}, {0}, 1, BI_N, BI_BIG_N, ST, 0, -1, NULL,
     bi_lion_extra},
    {"lion_step_ex", bi_lion_ex, "cWRWyy", "", "nuunn", "--", {1e-4, 0.9, 0.99, 1e-3, 0.5}, {1}, 1, BI_N, BI_BIG_N, ST, 1,
     -1, NULL, bi_lion_ex_extra},
    /* issue 18: 8-bit states (integer parameters: the config's ints, the block, found_inf) */
    {"quantize_blockwise", bi_quantize, "Rxx", "", "", "E-", {0}, {0, 256}, NO_STEP, BI_N, BI_BIG_N, ST, 0, -1, NULL,
     bi_quantize_extra},
    {"dequantize_blockwise", bi_dequantize, "xxW", "", "", "E-", {0}, {1, 256}, NO_STEP, BI_N, BI_BIG_N, ST, 0, -1, NULL,
     bi_dequantize_extra},
    {"sgd8bit_step", bi_sgd8, "cWRxx", "", "n-fn", "---", OPT_H, {0, 0, 256}, 1, BI_N, BI_BIG_N, ST, 0, -1, NULL,
     bi_sgd8_extra},
    {"sgd8bit_step_ex", bi_sgd8_ex, "cWRxxyy", "", "n-fnn", "----", {0.1, 0.9, 0.0, 0.01, 0.5}, {0, 1, 256}, 1, BI_N,
     BI_BIG_N, ST, 1, -1, NULL, bi_sgd8_ex_extra},
    {"adam8bit_step", bi_adam8, "cWRxxxx", "", "nbbnn", "---", {1e-3, 0.9, 0.999, 1e-8, 0.01}, {0, 0, 256}, 1, BI_N,
     BI_BIG_N, ST, 0, -1, NULL, bi_adam8_extra},
    {"adam8bit_step_ex", bi_adam8_ex, "cWRxxxxyy", "", "nbbnnn", "----", {1e-3, 0.9, 0.999, 1e-8, 0.01, 0.5}, {0, 1, 256},
     1, BI_N, BI_BIG_N, ST, 1, -1, NULL, bi_adam8_ex_extra},
    {"adamw8bit_step", bi_adamw8, "cWRxxxx", "", "nbbnn", "---", {1e-3, 0.9, 0.999, 1e-8, 0.01}, {0, 0, 256}, 1, BI_N,
     BI_BIG_N, ST, 0, -1, NULL, bi_adam8_extra},
    {"adamw8bit_step_ex", bi_adamw8_ex, "cWRxxxxyy", "", "nbbnnn", "----", {1e-3, 0.9, 0.999, 1e-8, 0.01, 0.5},
     {0, 1, 256}, 1, BI_N, BI_BIG_N, ST, 1, -1, NULL, bi_adam8_ex_extra},
    {"lion8bit_step", bi_lion8, "cWRxx", "", "nuun", "--", {1e-4, 0.9, 0.99, 1e-3}, {0, 256}, 1, BI_N, BI_BIG_N, ST, 0,
     -1, NULL, bi_lion8_extra},
    {"lion8bit_step_ex", bi_lion8_ex, "cWRxxyy", "", "nuunn", "---", {1e-4, 0.9, 0.99, 1e-3, 0.5}, {1, 256}, 1, BI_N,
     BI_BIG_N, ST, 1, -1, NULL, bi_lion8_ex_extra},
    /* LAMB, LARS (lists: n is k), Adafactor (n is rows), schedule-free AdamW */
    {"lamb_step", bi_lamb, "cxxxxx", "", "nbbnnn", "", {0.1, 0.9, 0.999, 1e-6, 0.0, 1e-4}, {0}, 1, 2, 0, ST, 0, -1,
     bi_lw_setup, bi_lamb_extra},
    {"lamb_step_ex", bi_lamb_ex, "cxxxxxy", "", "nbbnnnn", "-", {0.1, 0.9, 0.999, 1e-6, 0.0, 1e-4, 0.5}, {0}, 1, 2, 0, ST,
     1, -1, bi_lw_setup, bi_lamb_ex_extra},
    {"lars_step", bi_lars, "cxxxx", "", "nnnnn", "--", {0.1, 1e-4, 0.001, 0.0, 0.9}, {0}, NO_STEP, 2, 0, ST, 0, -1,
     bi_lw_setup, bi_lars_extra},
    {"lars_step_ex", bi_lars_ex, "cxxxx-y", "", "nnnnnn", "--", {0.1, 1e-4, 0.001, 0.0, 0.9, 0.5}, {0}, NO_STEP, 2, 0, ST,
     1, -1, bi_lw_setup, bi_lars_ex_extra},
    {"lamb_step_mt", bi_lamb_mt, "cxxxxxy-y", "", "nbbnnnn", "-", {0.1, 0.9, 0.999, 1e-6, 0.0, 1e-4, 0.5}, {0}, 1, 2, 0,
     ST, 1, -1, bi_lw_setup, bi_lamb_ex_extra},
    {"lars_step_mt", bi_lars_mt, "cxxxx-y-y", "", "nnnnnn", "--", {0.1, 1e-4, 0.001, 0.0, 0.9, 0.5}, {0}, NO_STEP, 2, 0,
     ST, 1, -1, bi_lw_setup, bi_lars_ex_extra},
    {"adafactor_step", bi_af, "cWRWWw", "", "n-nn-n", "--", {0.01, -0.8, 1e-7, 1e-3, 1.0, 0.1}, {1, 3}, 1, BI_N, BI_BIG_N,
     ST, 0, -1, bi_af_setup, bi_af_extra},
    {"adafactor_step_ex", bi_af_ex, "cWRWWwyy", "", "n-nn-nn", "---", {0.01, -0.8, 1e-7, 1e-3, 1.0, 0.1, 0.5}, {1, 3, 0}, 1,
     BI_N, BI_BIG_N, ST, 1, -1, bi_af_setup, bi_af_ex_extra},
    {"sfadamw_advance", bi_sf_advance, "cc", "", "n-b--nn", "N", {0.0025, 0.9, 0.999, 1e-8, 0.0, 0.0, 2.0}, {0}, NO_STEP, 0,
     0, ST, 0, -1, bi_sf_advance_setup, bi_sf_advance_extra},
    {"sfadamw_step", bi_sf_step, "ccWRWW", "", "nbbnn--", "-", {0.0025, 0.9, 0.999, 1e-8, 0.01, 0.0, 2.0}, {0}, NO_STEP,
     BI_N, BI_BIG_N, ST, 0, -1, bi_sf_step_setup, bi_sf_step_extra},
    {"sfadamw_step_ex", bi_sf_step_ex, "ccWRWWyy", "", "nbbnn--n", "--", {0.0025, 0.9, 0.999, 1e-8, 0.01, 0.0, 2.0, 0.5},
     {0}, NO_STEP, BI_N, BI_BIG_N, ST, 1, -1, bi_sf_step_setup, bi_sf_step_ex_extra},
    {"sfadamw_to_eval", bi_sf_to_eval, "cRRW", "13", "-", "-", {0.0025, 0.9}, {0}, NO_STEP, BI_N, BI_BIG_N, ST, 0, -1, NULL,
     bi_sf_to_eval_extra},
    {"sfadamw_to_train", bi_sf_to_train, "cRRW", "13", "-b", "-", {0.0025, 0.9}, {0}, NO_STEP, BI_N, BI_BIG_N, ST, 0, -1,
     NULL, NULL},

    {"l1l2_penalty", bi_l1l2_penalty, "RS", "", "nn", "", {0.1, 0.2}, {0}, NO_STEP, BI_N, BI_BIG_N, ST, 1, -1, NULL, NULL},
    {"l1l2_grad", bi_l1l2_grad, "RW", "01", "nn", "", {0.1, 0.2}, {0}, NO_STEP, BI_N, BI_BIG_N, ST, 0, -1, NULL, NULL},
    {"clip_grad_value", bi_clip_value, "W", "", "n", "", {0.5}, {0}, NO_STEP, BI_N, BI_BIG_N, ST, 0, -1, NULL, NULL},
    {"grad_unscale", bi_unscale, "WS", "", "p", "", {0.5}, {0}, NO_STEP, BI_N, BI_BIG_N, ST, 0, -1, NULL, NULL},
    {"sum_squares", bi_sum_squares, "xxSy", "", "", "", {0}, {0}, NO_STEP, 2, 0, ST, 0, -1, bi_list_setup,
     bi_sum_squares_extra},
    {"grad_norm", bi_grad_norm, "xxS", "", "pm", "", {0.5, 1.0}, {0}, NO_STEP, 2, 0, ST, 0, -1, bi_list_setup,
     bi_grad_norm_extra},
    {"clip_grad_norm", bi_clip_norm, "xxs", "", "m", "", {0.1}, {0}, NO_STEP, 2, 0, ST, 0, -1, bi_list_setup,
     bi_clip_norm_extra},
    /* mixed-precision steps: bf16 Kahan parameters, bf16 gradients and states, an fp16 copy */
    {"sgd_step_mp", bi_sgd_mp, "cWRWWwyy", "", "nnfnn", "---EEE", {0.1, 0.9, 0.0, 0.01, 0.5}, {0, 0, 0, TRAINOPT_BF16, TRAINOPT_PARAM_KAHAN, TRAINOPT_BF16}, 1, BI_N,
     BI_BIG_N, ST, 1, -1, NULL, bi_sgd_mp_extra},
    {"adagrad_step_mp", bi_adagrad_mp, "cWRWWwyy", "", "nnnnnn", "--EEE", {0.01, 0.01, 0.01, 0.1, 1e-10, 0.5}, {0, 0, TRAINOPT_BF16, TRAINOPT_PARAM_KAHAN, TRAINOPT_BF16},
     1, BI_N, BI_BIG_N, ST, 1, -1, NULL, bi_adagrad_mp_extra},
    {"rmsprop_step_mp", bi_rmsprop_mp, "cWRWWWWwyy", "", "nunnnn", "---EEE", {0.01, 0.99, 1e-8, 0.01, 0.9, 0.5},
     {1, 0, 0, TRAINOPT_BF16, TRAINOPT_PARAM_KAHAN, TRAINOPT_BF16}, 1, BI_N, BI_BIG_N, ST, 1, -1, NULL, bi_adam3_mp_extra},
    {"adam_step_mp", bi_adam_mp, "cWRWWWWwyy", "", "nbbnnn", "---EEE", {1e-3, 0.9, 0.999, 1e-8, 0.01, 0.5}, {1, 0, 0, TRAINOPT_BF16, TRAINOPT_PARAM_KAHAN, TRAINOPT_BF16},
     1, BI_N, BI_BIG_N, ST, 1, -1, NULL, bi_adam3_mp_extra},
    {"adamw_step_mp", bi_adamw_mp, "cWRWWWWwyy", "", "nbbnnn", "---EEE", {1e-3, 0.9, 0.999, 1e-8, 0.01, 0.5}, {1, 0, 0, TRAINOPT_BF16, TRAINOPT_PARAM_KAHAN, TRAINOPT_BF16},
     1, BI_N, BI_BIG_N, ST, 1, -1, NULL, bi_adam3_mp_extra},
    {"radam_step_mp", bi_radam_mp, "cWRWWWwyy", "", "nbbnnn", "---EEE", {1e-3, 0.9, 0.999, 1e-8, 0.01, 0.5}, {0, 0, 0, TRAINOPT_BF16, TRAINOPT_PARAM_KAHAN, TRAINOPT_BF16},
     1, BI_N, BI_BIG_N, ST, 1, -1, NULL, bi_radam_mp_extra},
    {"adamax_step_mp", bi_adamax_mp, "cWRWWWwyy", "", "nbbnnn", "--EEE", {2e-3, 0.9, 0.999, 1e-8, 0.01, 0.5}, {1, 0, TRAINOPT_BF16, TRAINOPT_PARAM_KAHAN, TRAINOPT_BF16},
     1, BI_N, BI_BIG_N, ST, 1, -1, NULL, bi_adamax_mp_extra},
    {"adadelta_step_mp", bi_adadelta_mp, "cWRWWWwyy", "", "nunnn", "--EEE", {1.0, 0.9, 1e-6, 0.01, 0.5}, {1, 0, TRAINOPT_BF16, TRAINOPT_PARAM_KAHAN, TRAINOPT_BF16}, 1,
     BI_N, BI_BIG_N, ST, 1, -1, NULL, bi_adadelta_mp_extra},
    {"lion_step_mp", bi_lion_mp, "cWRWWwyy", "", "nuunn", "--EEE", {1e-4, 0.9, 0.99, 1e-3, 0.5}, {1, 0, TRAINOPT_BF16, TRAINOPT_PARAM_KAHAN, TRAINOPT_BF16}, 1, BI_N,
     BI_BIG_N, ST, 1, -1, NULL, bi_lion_mp_extra},
    {"nadam_step_mp", bi_nadam_mp, "cWRWWWwyy", "", "nbbnnnbn", "---EEE", {2e-3, 0.9, 0.999, 1e-8, 0.01, 4e-3, 0.45, 0.5},
     {0, 0, 0, TRAINOPT_BF16, TRAINOPT_PARAM_KAHAN, TRAINOPT_BF16}, 1, BI_N, BI_BIG_N, ST, 1, -1, NULL, bi_nadam_mp_extra},
    {"sfadamw_step_mp", bi_sf_mp, "ccWRWWWwyy", "", "nbbnn--n", "--EEE", {0.0025, 0.9, 0.999, 1e-8, 0.01, 0.0, 2.0, 0.5},
     {0, 0, TRAINOPT_BF16, TRAINOPT_PARAM_KAHAN, TRAINOPT_BF16}, NO_STEP, BI_N, BI_BIG_N, ST, 1, -1, bi_sf_step_setup,
     bi_sf_mp_extra},
    {"lamb_step_mp", bi_lamb_mp, "cxxxxxy", "", "nbbnnnn", "-EEE", {0.1, 0.9, 0.999, 1e-6, 0.0, 1e-4, 0.5},
     {0, TRAINOPT_BF16, TRAINOPT_PARAM_KAHAN, TRAINOPT_BF16}, 1, 2, 0, ST, 1, -1, bi_lw_mp_setup, bi_lamb_mp_extra},
    {"lars_step_mp", bi_lars_mp, "cxxxx-y", "", "nnnnnn", "--EEE", {0.1, 1e-4, 0.001, 0.0, 0.9, 0.5},
     {0, 0, TRAINOPT_BF16, TRAINOPT_PARAM_KAHAN, TRAINOPT_BF16}, NO_STEP, 2, 0, ST, 1, -1, bi_lw_mp_setup, bi_lars_mp_extra},
    {"lamb_step_mp_mt", bi_lamb_mp_mt, "cxxxxxy--y", "", "nbbnnnn", "-EEE", {0.1, 0.9, 0.999, 1e-6, 0.0, 1e-4, 0.5},
     {0, TRAINOPT_BF16, TRAINOPT_PARAM_KAHAN, TRAINOPT_BF16}, 1, 2, 0, ST, 1, -1, bi_lw_mp_setup, bi_lamb_mp_extra},
    {"lars_step_mp_mt", bi_lars_mp_mt, "cxxxx-y--y", "", "nnnnnn", "--EEE", {0.1, 1e-4, 0.001, 0.0, 0.9, 0.5},
     {0, 0, TRAINOPT_BF16, TRAINOPT_PARAM_KAHAN, TRAINOPT_BF16}, NO_STEP, 2, 0, ST, 1, -1, bi_lw_mp_setup, bi_lars_mp_extra},
    {"adafactor_step_mp", bi_af_mp, "cWRWWWwwyy", "", "n-nn-nn", "---EEE", {0.01, -0.8, 1e-7, 1e-3, 1.0, 0.1, 0.5},
     {1, 2, 0, TRAINOPT_BF16, TRAINOPT_PARAM_KAHAN, TRAINOPT_BF16}, 1, BI_N, BI_BIG_N, ST, 1, -1, bi_af_mp_setup,
     bi_af_mp_extra},
    /* issue 18: the 8-bit steps with bf16/fp16 parameters (the block is the last real) */
    {"sgd8bit_step_mp", bi_sgd8_mp, "cWRxxWwyy", "", "n-fnn-", "---EEE", {0.1, 0.9, 0.0, 0.01, 0.5, 256},
     {0, 1, 0, TRAINOPT_BF16, TRAINOPT_PARAM_KAHAN, TRAINOPT_BF16}, 1, BI_N, BI_BIG_N, ST, 1, -1, NULL, bi_sgd8_mp_extra},
    {"adam8bit_step_mp", bi_adam8_mp, "cWRxxxxWwyy", "", "nbbnnn-", "---EEE", {1e-3, 0.9, 0.999, 1e-8, 0.01, 0.5, 256},
     {0, 1, 0, TRAINOPT_BF16, TRAINOPT_PARAM_KAHAN, TRAINOPT_F16}, 1, BI_N, BI_BIG_N, ST, 1, -1, NULL, bi_adam8_mp_extra},
    {"adamw8bit_step_mp", bi_adamw8_mp, "cWRxxxxWwyy", "", "nbbnnn-", "---EEE", {1e-3, 0.9, 0.999, 1e-8, 0.01, 0.5, 256},
     {0, 0, 0, TRAINOPT_BF16, TRAINOPT_PARAM_KAHAN, TRAINOPT_BF16}, 1, BI_N, BI_BIG_N, ST, 1, -1, NULL, bi_adam8_mp_extra},
    {"lion8bit_step_mp", bi_lion8_mp, "cWRxxWwyy", "", "nuunn-", "--EEE", {1e-4, 0.9, 0.99, 1e-3, 0.5, 256},
     {1, 0, TRAINOPT_BF16, TRAINOPT_PARAM_KAHAN, TRAINOPT_BF16}, 1, BI_N, BI_BIG_N, ST, 1, -1, NULL, bi_lion8_mp_extra},
    /* multi-tensor steps (k = 3 tensors) and threaded reductions */
    {"sgd_step_multi", bi_sgd_multi, "cxyy", "", "nnfnn", "--", {0.1, 0.9, 0.0, 0.01, 0.5}, {0}, 1, 3, 0, ST, 0, -1,
     bi_multi_setup, bi_multi_extra},
    {"adagrad_step_multi", bi_adagrad_multi, "cxyy", "", "nnnnnn", "-", {0.01, 0.01, 0.01, 0.1, 1e-10, 0.5}, {0}, 1, 3, 0,
     ST, 0, -1, bi_multi_setup, bi_multi_extra},
    {"rmsprop_step_multi", bi_rmsprop_multi, "cxyy", "", "nunnnn", "--", {0.01, 0.99, 1e-8, 0.01, 0.9, 0.5}, {1}, 1, 3, 0,
     ST, 0, -1, bi_multi_setup, bi_multi_extra},
    {"adam_step_multi", bi_adam_multi, "cxyy", "", "nbbnnn", "--", {1e-3, 0.9, 0.999, 1e-8, 0.01, 0.5}, {1}, 1, 3, 0, ST,
     0, -1, bi_multi_setup, bi_multi_extra},
    {"adamw_step_multi", bi_adamw_multi, "cxyy", "", "nbbnnn", "--", {1e-3, 0.9, 0.999, 1e-8, 0.01, 0.5}, {1}, 1, 3, 0, ST,
     0, -1, bi_multi_setup, bi_multi_extra},
    {"nadam_step_multi", bi_nadam_multi, "cxyy", "", "nbbnnnbn", "--", {2e-3, 0.9, 0.999, 1e-8, 0.01, 4e-3, 0.45, 0.5},
     {1}, 1, 3, 0, ST, 0, -1, bi_multi_setup, bi_multi_extra},
    {"radam_step_multi", bi_radam_multi, "cxyy", "", "nbbnnn", "--", {1e-3, 0.9, 0.999, 1e-8, 0.01, 0.5}, {0}, 1, 3, 0, ST,
     0, -1, bi_multi_setup, bi_multi_extra},
    {"adamax_step_multi", bi_adamax_multi, "cxyy", "", "nbbnnn", "-", {2e-3, 0.9, 0.999, 1e-8, 0.01, 0.5}, {1}, 1, 3, 0,
     ST, 0, -1, bi_multi_setup, bi_multi_extra},
    {"adadelta_step_multi", bi_adadelta_multi, "cxyy", "", "nunnn", "-", {1.0, 0.9, 1e-6, 0.01, 0.5}, {1}, 1, 3, 0, ST, 0,
     -1, bi_multi_setup, bi_multi_extra},
    {"lion_step_multi", bi_lion_multi, "cxyy", "", "nuunn", "-", {1e-4, 0.9, 0.99, 1e-3, 0.5}, {1}, 1, 3, 0, ST, 0, -1,
     bi_multi_setup, bi_multi_extra},
    {"sfadamw_step_multi", bi_sf_multi, "cxyyc", "", "nbbnn--n", "-", {0.0025, 0.9, 0.999, 1e-8, 0.01, 0.0, 2.0, 0.5}, {0},
     NO_STEP, 3, 0, ST, 0, -1, bi_sf_multi_setup, bi_sf_multi_extra},
    /* issue 19: the mixed-precision multi-tensor steps (k = 3 tensors; the _mp rows' reals and integers) */
    {"sgd_step_mp_multi", bi_sgd_mpm, "cxxyy", "", "nnfnn", "---EEE", {0.1, 0.9, 0.0, 0.01, 0.5},
     {0, 0, 0, TRAINOPT_BF16, TRAINOPT_PARAM_KAHAN, TRAINOPT_BF16}, 1, 3, 0, ST, 0, -1, bi_mpm_setup, bi_mpm_extra},
    {"adagrad_step_mp_multi", bi_adagrad_mpm, "cxxyy", "", "nnnnnn", "--EEE", {0.01, 0.01, 0.01, 0.1, 1e-10, 0.5},
     {0, 0, TRAINOPT_BF16, TRAINOPT_PARAM_KAHAN, TRAINOPT_BF16}, 1, 3, 0, ST, 0, -1, bi_mpm_setup, bi_mpm_extra},
    {"rmsprop_step_mp_multi", bi_rmsprop_mpm, "cxxyy", "", "nunnnn", "---EEE", {0.01, 0.99, 1e-8, 0.01, 0.9, 0.5},
     {1, 0, 0, TRAINOPT_BF16, TRAINOPT_PARAM_KAHAN, TRAINOPT_BF16}, 1, 3, 0, ST, 0, -1, bi_mpm_setup, bi_mpm_extra},
    {"adam_step_mp_multi", bi_adam_mpm, "cxxyy", "", "nbbnnn", "---EEE", {1e-3, 0.9, 0.999, 1e-8, 0.01, 0.5},
     {1, 0, 0, TRAINOPT_BF16, TRAINOPT_PARAM_KAHAN, TRAINOPT_BF16}, 1, 3, 0, ST, 0, -1, bi_mpm_setup, bi_mpm_extra},
    {"adamw_step_mp_multi", bi_adamw_mpm, "cxxyy", "", "nbbnnn", "---EEE", {1e-3, 0.9, 0.999, 1e-8, 0.01, 0.5},
     {1, 0, 0, TRAINOPT_BF16, TRAINOPT_PARAM_KAHAN, TRAINOPT_BF16}, 1, 3, 0, ST, 0, -1, bi_mpm_setup, bi_mpm_extra},
    {"nadam_step_mp_multi", bi_nadam_mpm, "cxxyy", "", "nbbnnnbn", "---EEE", {2e-3, 0.9, 0.999, 1e-8, 0.01, 4e-3, 0.45, 0.5},
     {0, 0, 0, TRAINOPT_BF16, TRAINOPT_PARAM_KAHAN, TRAINOPT_BF16}, 1, 3, 0, ST, 0, -1, bi_mpm_setup, bi_mpm_extra},
    {"radam_step_mp_multi", bi_radam_mpm, "cxxyy", "", "nbbnnn", "---EEE", {1e-3, 0.9, 0.999, 1e-8, 0.01, 0.5},
     {0, 0, 0, TRAINOPT_BF16, TRAINOPT_PARAM_KAHAN, TRAINOPT_BF16}, 1, 3, 0, ST, 0, -1, bi_mpm_setup, bi_mpm_extra},
    {"adamax_step_mp_multi", bi_adamax_mpm, "cxxyy", "", "nbbnnn", "--EEE", {2e-3, 0.9, 0.999, 1e-8, 0.01, 0.5},
     {1, 0, TRAINOPT_BF16, TRAINOPT_PARAM_KAHAN, TRAINOPT_BF16}, 1, 3, 0, ST, 0, -1, bi_mpm_setup, bi_mpm_extra},
    {"adadelta_step_mp_multi", bi_adadelta_mpm, "cxxyy", "", "nunnn", "--EEE", {1.0, 0.9, 1e-6, 0.01, 0.5},
     {1, 0, TRAINOPT_BF16, TRAINOPT_PARAM_KAHAN, TRAINOPT_BF16}, 1, 3, 0, ST, 0, -1, bi_mpm_setup, bi_mpm_extra},
    {"lion_step_mp_multi", bi_lion_mpm, "cxxyy", "", "nuunn", "--EEE", {1e-4, 0.9, 0.99, 1e-3, 0.5},
     {1, 0, TRAINOPT_BF16, TRAINOPT_PARAM_KAHAN, TRAINOPT_BF16}, 1, 3, 0, ST, 0, -1, bi_mpm_setup, bi_mpm_extra},
    {"sfadamw_step_mp_multi", bi_sf_mpm, "cxxyy", "", "nbbnn--n", "--EEE", {0.0025, 0.9, 0.999, 1e-8, 0.01, 0.0, 2.0, 0.5},
     {0, 0, TRAINOPT_BF16, TRAINOPT_PARAM_KAHAN, TRAINOPT_BF16}, NO_STEP, 3, 0, ST, 0, -1, bi_sf_mpm_setup, bi_sf_mpm_extra},
    {"adafactor_step_multi", bi_af_multi, "cxyy", "", "n-nn-nn", "--", {0.01, -0.8, 1e-7, 1e-3, 1.0, 0.1, 0.5}, {0}, 1,
     3, 0, ST, 0, -1, bi_af_multi_setup, bi_af_multi_extra},
    {"sum_squares_mt", bi_sum_squares_mt, "xxSyy", "", "", "", {0}, {0}, NO_STEP, 2, 0, ST, 0, -1, bi_list_setup,
     bi_sum_squares_extra},
    {"grad_norm_mt", bi_grad_norm_mt, "xxSy", "", "pm", "", {0.5, 1.0}, {0}, NO_STEP, 2, 0, ST, 0, -1, bi_list_setup,
     bi_grad_norm_extra},
    {"clip_grad_norm_mt", bi_clip_norm_mt, "xxsy", "", "m", "", {0.1}, {0}, NO_STEP, 2, 0, ST, 0, -1, bi_list_setup,
     bi_clip_norm_extra},
    {"clip_grad_value_mt", bi_clip_value_mt, "W", "", "n", "", {0.5}, {0}, NO_STEP, BI_N, BI_BIG_N, ST, 0, -1, NULL,
     NULL},
    {"grad_unscale_mt", bi_unscale_mt, "WS", "", "p", "", {0.5}, {0}, NO_STEP, BI_N, BI_BIG_N, ST, 0, -1, NULL, NULL},
    {"mse_loss", bi_mse, "RRSw", "03 13", "", "", {0}, {0}, NO_STEP, BI_N, BI_BIG_N, ST, 1, -1, NULL, NULL},
    {"bce_with_logits", bi_bce, "RRSw", "03 13", "", "", {0}, {0}, NO_STEP, BI_N, BI_BIG_N, ST, 1, -1, NULL, NULL},
    {"softmax_cross_entropy", bi_ce, "RxSw", "03", "u", "--", {0.1}, {7, -100}, NO_STEP, BI_N, SIZE_MAX / 8, ST, 1, -1,
     bi_ce_setup, bi_ce_extra},
    {"mse_loss_mt", bi_mse_mt, "RRSw", "03 13", "", "", {0}, {0}, NO_STEP, BI_N, BI_BIG_N, ST, 1, -1, NULL, NULL},
    {"bce_with_logits_mt", bi_bce_mt, "RRSw", "03 13", "", "", {0}, {0}, NO_STEP, BI_N, BI_BIG_N, ST, 1, -1, NULL, NULL},
    {"softmax_cross_entropy_mt", bi_ce_mt, "RxSw", "03", "u", "--", {0.1}, {7, -100}, NO_STEP, BI_N, SIZE_MAX / 8, ST, 1,
     -1, bi_ce_setup, bi_ce_extra},

    {"rand_u32", bi_rand_u32, "W", "", "", "--", {0}, {42, 5}, NO_STEP, BI_N, BI_BIG_N, ST, 0, -1, NULL, NULL},
    {"rand_uniform", bi_rand_uniform, "W", "", "FF", "--", {-1.0, 1.0}, {42, 5}, NO_STEP, BI_N, BI_BIG_N, ST, 0, -1, NULL,
     bi_rand_uniform_extra},
    {"rand_normal", bi_rand_normal, "W", "", "Fg", "--", {0.5, 2.0}, {42, 5}, NO_STEP, BI_N, BI_BIG_N, ST, 0, -1, NULL, NULL},
    {"dropout_forward", bi_dropout_fwd, "RWs", "01", "u", "--", {0.3}, {42, 5}, NO_STEP, BI_N, BI_BIG_N, ST, 0, -1, NULL,
     bi_dropout_extra},
    {"dropout_backward", bi_dropout_bwd, "RWs", "01", "u", "--", {0.3}, {42, 5}, NO_STEP, BI_N, BI_BIG_N, ST, 0, -1, NULL,
     bi_dropout_extra},
    {"dropout_forward_mt", bi_dropout_fwd_mt, "RWs", "01", "u", "--", {0.3}, {42, 5}, NO_STEP, BI_N, BI_BIG_N, ST, 0, -1,
     NULL, bi_dropout_extra},
    {"dropout_backward_mt", bi_dropout_bwd_mt, "RWs", "01", "u", "--", {0.3}, {42, 5}, NO_STEP, BI_N, BI_BIG_N, ST, 0, -1,
     NULL, bi_dropout_extra},
    {"convert", bi_convert, "RW", "", "", "EEE--", {0}, {TRAINOPT_F32, TRAINOPT_BF16, TRAINOPT_ROUND_STOCHASTIC, 42, 5},
     NO_STEP, BI_N, BI_BIG_N, ST, 0, -1, NULL, bi_convert_extra},
    {"calculate_fans", bi_fans, "xSS", "", "", "", {0}, {0}, NO_STEP, 4, 0, ST, 0, -1, bi_fans_setup, bi_fans_extra},
    {"xavier_uniform", bi_xavier_u, "W", "", "n", "----", {1.0}, {42, 5, 30, 20}, NO_STEP, BI_N, BI_BIG_N, ST, 0, -1, NULL,
     bi_xavier_extra},
    {"xavier_normal", bi_xavier_n, "W", "", "n", "----", {1.0}, {42, 5, 30, 20}, NO_STEP, BI_N, BI_BIG_N, ST, 0, -1, NULL,
     bi_xavier_extra},
    {"kaiming_uniform", bi_kaiming_u, "cW", "", "f", "--EE--", {0.01}, {42, 5, TRAINOPT_FAN_IN, TRAINOPT_NL_LEAKY_RELU, 30, 20},
     NO_STEP, BI_N, BI_BIG_N, ST, 0, -1, NULL, bi_kaiming_extra},
    {"kaiming_normal", bi_kaiming_n, "cW", "", "f", "--EE--", {0.01}, {42, 5, TRAINOPT_FAN_IN, TRAINOPT_NL_LEAKY_RELU, 30, 20},
     NO_STEP, BI_N, BI_BIG_N, ST, 0, -1, NULL, bi_kaiming_extra},
    {"trunc_normal", bi_trunc, "cW", "", "FqFF", "--", {0.0, 1.0, -2.0, 2.0}, {42, 5}, NO_STEP, BI_N, BI_BIG_N, ST, 0, -1,
     NULL, bi_trunc_extra},
    {"rand_u32_mt", bi_rand_u32_mt, "W", "", "", "--", {0}, {42, 5}, NO_STEP, BI_N, BI_BIG_N, ST, 0, -1, NULL, NULL},
    {"rand_uniform_mt", bi_rand_uniform_mt, "W", "", "FF", "--", {-1.0, 1.0}, {42, 5}, NO_STEP, BI_N, BI_BIG_N, ST, 0, -1,
     NULL, bi_rand_uniform_extra},
    {"rand_normal_mt", bi_rand_normal_mt, "W", "", "Fg", "--", {0.5, 2.0}, {42, 5}, NO_STEP, BI_N, BI_BIG_N, ST, 0, -1, NULL,
     NULL},
    {"xavier_uniform_mt", bi_xavier_u_mt, "W", "", "n", "----", {1.0}, {42, 5, 30, 20}, NO_STEP, BI_N, BI_BIG_N, ST, 0, -1,
     NULL, bi_xavier_extra},
    {"xavier_normal_mt", bi_xavier_n_mt, "W", "", "n", "----", {1.0}, {42, 5, 30, 20}, NO_STEP, BI_N, BI_BIG_N, ST, 0, -1,
     NULL, bi_xavier_extra},
    {"kaiming_uniform_mt", bi_kaiming_u_mt, "cW", "", "f", "--EE--",
     {0.01}, {42, 5, TRAINOPT_FAN_IN, TRAINOPT_NL_LEAKY_RELU, 30, 20}, NO_STEP, BI_N, BI_BIG_N, ST, 0, -1, NULL,
     bi_kaiming_extra},
    {"kaiming_normal_mt", bi_kaiming_n_mt, "cW", "", "f", "--EE--",
     {0.01}, {42, 5, TRAINOPT_FAN_IN, TRAINOPT_NL_LEAKY_RELU, 30, 20}, NO_STEP, BI_N, BI_BIG_N, ST, 0, -1, NULL,
     bi_kaiming_extra},
    {"trunc_normal_mt", bi_trunc_mt, "cW", "", "FqFF", "--", {0.0, 1.0, -2.0, 2.0}, {42, 5}, NO_STEP, BI_N, BI_BIG_N, ST, 0,
     -1, NULL, bi_trunc_extra},

    {"batchnorm_forward_train", bi_bn_train, "cRrrWWWWW", "16", "pu", "--L-", {1e-5, 0.1}, {3, 5, TRAINOPT_NCHW, 0},
     NO_STEP, 4, SIZE_MAX / 4, ST, 0, -1, NULL, bi_bn_train_extra},
    {"batchnorm_forward_infer", bi_bn_infer, "cRrrRRW", "16", "pu", "--L-", {1e-5, 0.1}, {3, 5, TRAINOPT_NCHW, 0}, NO_STEP,
     4, SIZE_MAX / 4, ST, 0, -1, NULL, bi_bn_shape_extra},
    {"batchnorm_backward", bi_bn_backward, "cRRrRRRWww", "17 27 67", "pu", "--L-", {1e-5, 0.1}, {3, 5, TRAINOPT_NCHW, 1},
     NO_STEP, 4, SIZE_MAX / 4, ST, 0, -1, NULL, bi_bn_backward_extra},
    {"batchnorm_fold", bi_bn_fold, "crrRRWW", "15 16 25 26 35 36 45 46", "pu", "", {1e-5, 0.1}, {0}, NO_STEP, 3, BI_BIG_N,
     ST, 0, -1, NULL, NULL},
    {"batchnorm_forward_train_mt", bi_bn_train_mt, "cRrrWWWWW", "16", "pu", "--L-", {1e-5, 0.1}, {3, 5, TRAINOPT_NCHW, 0},
     NO_STEP, 4, SIZE_MAX / 4, ST, 0, -1, NULL, bi_bn_train_extra},
    {"batchnorm_backward_mt", bi_bn_backward_mt, "cRRrRRRWww", "17 27 67", "pu", "--L-", {1e-5, 0.1},
     {3, 5, TRAINOPT_NCHW, 1}, NO_STEP, 4, SIZE_MAX / 4, ST, 0, -1, NULL, bi_bn_backward_extra},
    {"batchnorm_forward_infer_mt", bi_bn_infer_mt, "cRrrRRW", "16", "pu", "--L-", {1e-5, 0.1}, {3, 5, TRAINOPT_NCHW, 0},
     NO_STEP, 4, SIZE_MAX / 4, ST, 0, -1, NULL, bi_bn_shape_extra},
    {"layernorm_forward", bi_ln_fwd, "cRrrWww", "14", "p", "-", {1e-5}, {7}, NO_STEP, 4, SIZE_MAX / 4, ST, 0, -1, NULL,
     bi_norm_extra},
    {"layernorm_backward", bi_ln_bwd, "cRRrRRwww", "", "p", "-", {1e-5}, {7}, NO_STEP, 4, SIZE_MAX / 4, ST, 0, -1, NULL,
     bi_norm_extra},
    {"rmsnorm_forward", bi_rms_fwd, "cRrWw", "13", "p", "-", {1e-5}, {7}, NO_STEP, 4, SIZE_MAX / 4, ST, 0, -1, NULL,
     bi_norm_extra},
    {"rmsnorm_backward", bi_rms_bwd, "cRRrRww", "", "p", "-", {1e-5}, {7}, NO_STEP, 4, SIZE_MAX / 4, ST, 0, -1, NULL,
     bi_norm_extra},
    {"groupnorm_forward", bi_gn_fwd, "cRrrWww", "14", "p", "--L-", {1e-5}, {4, 5, TRAINOPT_NCHW, 2}, NO_STEP, 3,
     SIZE_MAX / 4, ST, 0, -1, NULL, bi_gn_extra},
    {"groupnorm_backward", bi_gn_bwd, "cRRrRRwww", "", "p", "--L-", {1e-5}, {4, 5, TRAINOPT_NCHW, 2}, NO_STEP, 3,
     SIZE_MAX / 4, ST, 0, -1, NULL, bi_gn_extra},
    {"layernorm_forward_mt", bi_ln_fwd_mt, "cRrrWww", "14", "p", "-", {1e-5}, {7}, NO_STEP, 4, SIZE_MAX / 4, ST, 0, -1,
     NULL, bi_norm_extra},
    {"layernorm_backward_mt", bi_ln_bwd_mt, "cRRrRRwww", "", "p", "-", {1e-5}, {7}, NO_STEP, 4, SIZE_MAX / 4, ST, 0, -1,
     NULL, bi_norm_extra},
    {"rmsnorm_forward_mt", bi_rms_fwd_mt, "cRrWw", "13", "p", "-", {1e-5}, {7}, NO_STEP, 4, SIZE_MAX / 4, ST, 0, -1, NULL,
     bi_norm_extra},
    {"rmsnorm_backward_mt", bi_rms_bwd_mt, "cRRrRww", "", "p", "-", {1e-5}, {7}, NO_STEP, 4, SIZE_MAX / 4, ST, 0, -1, NULL,
     bi_norm_extra},
    {"layernorm_forward_mp", bi_ln_fwd_mp, "cRrrWww", "14", "p", "-E", {1e-5}, {7, TRAINOPT_BF16}, NO_STEP, 4, SIZE_MAX / 4,
     ST, 0, -1, NULL, bi_norm_extra},
    {"layernorm_backward_mp", bi_ln_bwd_mp, "cRRrRRwww", "", "p", "-E", {1e-5}, {7, TRAINOPT_BF16}, NO_STEP, 4,
     SIZE_MAX / 4, ST, 0, -1, NULL, bi_norm_extra},
    {"rmsnorm_forward_mp", bi_rms_fwd_mp, "cRrWw", "13", "p", "-E", {1e-5}, {7, TRAINOPT_F16}, NO_STEP, 4, SIZE_MAX / 4, ST,
     0, -1, NULL, bi_norm_extra},
    {"rmsnorm_backward_mp", bi_rms_bwd_mp, "cRRrRww", "", "p", "-E", {1e-5}, {7, TRAINOPT_F16}, NO_STEP, 4, SIZE_MAX / 4, ST,
     0, -1, NULL, bi_norm_extra},
    {"groupnorm_forward_mp", bi_gn_fwd_mp, "cRrrWww", "14", "p", "--L-E", {1e-5}, {4, 5, TRAINOPT_NCHW, 2, TRAINOPT_BF16},
     NO_STEP, 3, SIZE_MAX / 4, ST, 0, -1, NULL, bi_gn_extra},
    {"groupnorm_backward_mp", bi_gn_bwd_mp, "cRRrRRwww", "", "p", "--L-E", {1e-5}, {4, 5, TRAINOPT_NCHW, 2, TRAINOPT_F16},
     NO_STEP, 3, SIZE_MAX / 4, ST, 0, -1, NULL, bi_gn_extra},
    {"groupnorm_forward_mt", bi_gn_fwd_mt, "cRrrWww", "14", "p", "--L-", {1e-5}, {4, 5, TRAINOPT_NCHW, 2}, NO_STEP, 3,
     SIZE_MAX / 4, ST, 0, -1, NULL, bi_gn_extra},
    {"groupnorm_backward_mt", bi_gn_bwd_mt, "cRRrRRwww", "", "p", "--L-", {1e-5}, {4, 5, TRAINOPT_NCHW, 2}, NO_STEP, 3,
     SIZE_MAX / 4, ST, 0, -1, NULL, bi_gn_extra},

    {"lr_step", bi_lr_step, "", "", "nn", "P", {0.1, 0.5}, {3}, 0, 0, 0, SC, 0, -1, NULL, NULL},
    {"lr_multistep", bi_lr_multistep, "x", "", "nn", "", {0.1, 0.5}, {0}, 0, 3, 0, SC, 0, -1, bi_milestones_setup,
     bi_multistep_extra},
    {"lr_exponential", bi_lr_exponential, "", "", "nn", "", {0.1, 0.9}, {0}, 0, 0, 0, SC, 0, -1, NULL, NULL},
    {"lr_inverse_time", bi_lr_inverse_time, "", "", "nn", "P-", {0.1, 0.5}, {10, 1}, 0, 0, 0, SC, 0, -1, NULL, NULL},
    {"lr_polynomial", bi_lr_polynomial, "", "", "nnn", "P", {0.1, 2.0, 0.001}, {10}, 0, 0, 0, SC, 0, -1, NULL, NULL},
    {"lr_linear", bi_lr_linear, "", "", "nuu", "P", {0.1, 0.25, 1.0}, {10}, 0, 0, 0, SC, 0, -1, NULL, NULL},
    {"lr_constant", bi_lr_constant, "", "", "nu", "N", {0.1, 0.25}, {10}, 0, 0, 0, SC, 0, -1, NULL, NULL},
    {"lr_cosine", bi_lr_cosine, "", "", "nn", "P", {0.1, 1e-4}, {100}, 0, 0, 0, SC, 0, -1, NULL, NULL},
    {"lr_cosine_restarts", bi_lr_restarts, "", "", "nn", "PP", {0.1, 1e-4}, {10, 2}, 0, 0, 0, SC, 0, -1, NULL, NULL},
    {"lr_warmup_cosine", bi_lr_warmup_cosine, "", "", "nnn", "N-", {0.1, 0.0, 1e-4}, {5, 50}, 0, 0, 0, SC, 0, -1, NULL,
     bi_warmup_cosine_extra},
    {"lr_warmup_factor", bi_lr_warmup_factor, "", "", "u", "N", {0.25}, {10}, 0, 0, 0, SC, 0, -1, NULL, NULL},
    {"lr_onecycle", bi_lr_onecycle, "c", "", "nupp--", "-E-", {0.1, 0.3, 25.0, 1e4, 0.85, 0.95}, {100, 0, 0}, 0, 0, 0, SC, 0,
     -1, NULL, bi_onecycle_extra},
    {"momentum_onecycle", bi_momentum_onecycle, "c", "", "nuppff", "-E-", {0.1, 0.3, 25.0, 1e4, 0.85, 0.95}, {100, 0, 0}, 0,
     0, 0, SC, 0, -1, NULL, bi_onecycle_extra},
    {"lr_cyclic", bi_lr_cyclic, "c", "", "nnn--", "P-E", {0.01, 0.1, 0.99, 0.8, 0.9}, {20, -1, TRAINOPT_CYCLIC_EXP_RANGE}, 0,
     0, 0, SC, 0, -1, NULL, bi_cyclic_extra},
    {"momentum_cyclic", bi_momentum_cyclic, "c", "", "nnnff", "P-E", {0.01, 0.1, 0.99, 0.8, 0.9},
     {20, -1, TRAINOPT_CYCLIC_EXP_RANGE}, 0, 0, 0, SC, 0, -1, NULL, bi_cyclic_extra},
    {"schedule_lr", bi_schedule_lr, "c", "", "nnu", "PN", {0.1, 1e-4, 0.25}, {100, 5}, 0, 0, 0, SC, 0, 0, NULL, NULL},
    {"schedule_momentum", bi_schedule_momentum, "c", "", "nff", "--", {0.1, 0.85, 0.95}, {100, TRAINOPT_SCHEDULE_ONECYCLE}, 0,
     0, 0, SC, 0, 0, NULL, bi_schedule_momentum_extra},
    {"lr_join", bi_lr_join, "xx", "", "", "", {0}, {0}, 0, 2, 0, SC, 0, 0, bi_join_setup, bi_join_extra},
    {"schedule_parse", bi_parse, "xS", "", "", "", {0}, {0}, NO_STEP, 0, 0, ST, 0, -1, bi_text_setup, bi_parse_extra},
    {"schedule_parse_msg", bi_parse_msg, "xSy", "", "", "-", {0}, {64}, NO_STEP, 0, 0, ST, 0, 2, bi_text_setup,
     bi_parse_extra},
    {"schedule_parse_join", bi_parse_join, "xSyS", "", "", "--", {0}, {64, 3}, NO_STEP, 0, 0, ST, 0, 2, bi_join_text_setup,
     bi_parse_join_extra},
    {"plateau_init", bi_plateau_init, "Sc", "", "bnnnn", "NNEE", {0.1, 1e-4, 0.0, 1e-8, 0.1}, {10, 0, 0, 0}, NO_STEP, 0, 0,
     ST, 0, -1, NULL, NULL},
    {"plateau_step", bi_plateau_step, "x", "", "-", "", {0.5}, {0}, NO_STEP, 0, 0, SC, 0, -1, bi_plateau_setup,
     bi_plateau_step_extra},
    {"calculate_gain", bi_gain, "", "", "f", "E", {0.01}, {TRAINOPT_NL_LEAKY_RELU}, NO_STEP, 0, 0, SC, 0, -1, NULL,
     bi_gain_extra},
    {"status_str", bi_status_str, "", "", "", "E", {0}, {TRAINOPT_ERR_ALIAS}, NO_STEP, 0, 0, SC, 0, -1, NULL, NULL},
    {"schedule_kind_name", bi_kind_name, "", "", "", "E", {0}, {TRAINOPT_SCHEDULE_CYCLIC}, NO_STEP, 0, 0, SC, 0, -1, NULL,
     NULL},
    {"schedule_defaults", bi_schedule_defaults, "", "", "", "E", {0}, {TRAINOPT_SCHEDULE_FIXED}, NO_STEP, 0, 0, SC, 0, -1,
     NULL, NULL},
    {"backend", bi_backend, "", "", "", "", {0}, {0}, NO_STEP, 0, 0, SC, 0, -1, NULL, NULL},
};
#define BI_COUNT (sizeof bi_kernels / sizeof bi_kernels[0])

static const bi_kernel *bi_current;
static void bi_test_current(to_ctx *t) { bi_generic(t, bi_current); }

/* Every function of the kernel list that takes arguments has a row above: a kernel added
   to the list and forgotten here fails, by name. */
static void bi_test_complete(to_ctx *t) {
#define BI_LISTED(family, ret, name, params, args) {#name, #params},
    static const struct {
        const char *name, *params;
    } listed[] = {TRAINOPT_KERNELS(BI_LISTED)};
#undef BI_LISTED
    size_t i, j;
    for (i = 0; i < sizeof listed / sizeof listed[0]; i++) {
        int found = 0;
        if (strcmp(listed[i].params, "(void)") == 0) continue; /* nothing to validate */
        for (j = 0; j < BI_COUNT; j++) found |= strcmp(bi_kernels[j].name, listed[i].name) == 0;
        TO_CHECK(t, found, "trainopt_%s%s is in TRAINOPT_KERNELS but has no row in tests/test_badinput.c's bi_kernels",
                 listed[i].name, listed[i].params);
    }
}

/* Texts checked word for word: the name of the function, of the argument, and the reason. */
static void bi_expect_text(to_ctx *t, int got, int want, const char *text) {
    TO_CHECK(t, got == want && strcmp(trainopt_last_error(), text) == 0, "status %d (want %d), text \"%s\", want \"%s\"",
             got, want, trainopt_last_error(), text);
}
static void bi_test_messages(to_ctx *t) {
    float a[64], b[64], c[64], d[64];
    int32_t labels[2] = {1, 7};
    float loss;
    trainopt_schedule sched;
    memset(a, 0, sizeof a), memset(b, 0, sizeof b), memset(c, 0, sizeof c), memset(d, 0, sizeof d);
    {
        trainopt_adam_config cfg = TRAINOPT_ADAM_DEFAULTS;
        cfg.beta2 = 1.0;
        bi_expect_text(t, trainopt_adam_step(&cfg, 1, 8, a, b, c, d, NULL), TRAINOPT_ERR_HPARAM,
                       "trainopt_adam_step: beta2 = 1 is outside [0, 1)");
        cfg.beta2 = 0.999, cfg.lr = -0.001;
        bi_expect_text(t, trainopt_adamw_step(&cfg, 1, 8, a, b, c, d, NULL), TRAINOPT_ERR_HPARAM,
                       "trainopt_adamw_step: lr = -0.001 is not a finite number >= 0");
        cfg.lr = 0.001;
        bi_expect_text(t, trainopt_adam_step(&cfg, 0, 8, a, b, c, d, NULL), TRAINOPT_ERR_STEP,
                       "trainopt_adam_step: step = 0: steps count from 1");
        bi_expect_text(t, trainopt_adam_step(&cfg, 1, 8, a, b, a + 4, d, NULL), TRAINOPT_ERR_ALIAS,
                       "trainopt_adam_step: param and exp_avg overlap");
        cfg.amsgrad = 1;
        bi_expect_text(t, trainopt_adam_step(&cfg, 1, 8, a, b, c, d, NULL), TRAINOPT_ERR_NULL,
                       "trainopt_adam_step: max_exp_avg_sq (needed: amsgrad) is NULL");
        bi_expect_text(t, trainopt_adam_step(NULL, 1, 0, NULL, NULL, NULL, NULL, NULL), TRAINOPT_ERR_NULL,
                       "trainopt_adam_step: c (the config) is NULL");
    }
    {
        trainopt_sgd_config cfg = TRAINOPT_SGD_DEFAULTS;
        bi_expect_text(t, trainopt_sgd_step(&cfg, 1, 8, a, NULL, NULL), TRAINOPT_ERR_NULL,
                       "trainopt_sgd_step: grad is NULL");
        bi_expect_text(t, trainopt_sgd_step(&cfg, 1, BI_BIG_N, a, b, NULL), TRAINOPT_ERR_SHAPE,
                       "trainopt_sgd_step: n = 4611686018427387904: its size in bytes overflows size_t");
    }
    {
        trainopt_bn_config cfg = TRAINOPT_BN_DEFAULTS;
        trainopt_bn_shape shape;
        shape.n = 1, shape.c = 3, shape.spatial = 1, shape.layout = TRAINOPT_NHWC;
        bi_expect_text(t, trainopt_batchnorm_forward_train(&cfg, shape, a, NULL, NULL, NULL, NULL, b, c, d),
                       TRAINOPT_ERR_SHAPE,
                       "trainopt_batchnorm_forward_train: n*spatial == 1: one value per channel has no variance "
                       "(PyTorch: Expected more than 1 value per channel when training)");
        cfg.eps = 0.0;
        bi_expect_text(t, trainopt_batchnorm_forward_infer(&cfg, shape, a, NULL, NULL, b, c, d), TRAINOPT_ERR_HPARAM,
                       "trainopt_batchnorm_forward_infer: eps = 0 is not a finite number > 0");
    }
    bi_expect_text(t, trainopt_softmax_cross_entropy(2, 4, a, labels, -100, 0.0, &loss, NULL), TRAINOPT_ERR_INDEX,
                   "trainopt_softmax_cross_entropy: labels[1] = 7 is outside [0, classes = 4) and is not "
                   "ignore_index = -100 (PyTorch: Target 7 is out of bounds)");
    bi_expect_text(t, trainopt_dropout_forward(1.5, 1, 0, 8, a, b, NULL), TRAINOPT_ERR_HPARAM,
                   "trainopt_dropout_forward: p = 1.5 is outside [0, 1]");
    bi_expect_text(t, trainopt_schedule_parse("cosine:tmax=5", &sched), TRAINOPT_ERR_PARSE,
                   "trainopt_schedule_parse: unknown field \"tmax\" for cosine (its fields: lr t_max! eta_min "
                   "warmup_iters warmup_start_factor)");
    /* the text stays until the next refusal or trainopt_clear_error(): a valid call leaves it */
    {
        trainopt_sgd_config cfg = TRAINOPT_SGD_DEFAULTS;
        cfg.momentum = NAN;
        trainopt_sgd_step(&cfg, 1, 8, a, b, NULL);
        cfg.momentum = 0.0;
        bi_expect_text(t, trainopt_sgd_step(&cfg, 1, 8, a, b, NULL), TRAINOPT_OK,
                       "trainopt_sgd_step: momentum = nan is not a finite number >= 0");
        trainopt_clear_error();
        TO_CHECK(t, strcmp(trainopt_last_error(), "") == 0, "after trainopt_clear_error: \"%s\"", trainopt_last_error());
    }
}

void TO_NAME(badinput_tests)(to_ctx *t) {
    size_t i;
    to_run(t, "complete", bi_test_complete);
    to_run(t, "messages", bi_test_messages);
    for (i = 0; i < BI_COUNT; i++) {
        bi_current = &bi_kernels[i];
        to_run(t, bi_kernels[i].name, bi_test_current);
    }
}

/* The status of every row, per function: the same on every backend and build. */
void TO_NAME(badinput_battery)(to_sink *s) {
    size_t i;
    for (i = 0; i < BI_COUNT; i++) {
        bi_log_n = 0;
        bi_generic(NULL, &bi_kernels[i]);
        to_emit(s, bi_kernels[i].name, bi_log, bi_log_n * sizeof bi_log[0]);
    }
}
