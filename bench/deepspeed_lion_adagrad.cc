/* bench/deepspeed_lion_adagrad.cc - trainopt's Lion and Adagrad beside DeepSpeed's CPU Lion and
   CPU Adagrad (Lion_Optimizer::Step_AVX in csrc/includes/cpu_lion.h, Adagrad_Optimizer::Step_AVX
   in csrc/includes/cpu_adagrad.h), fp32, at 1M and 16M elements, one thread: the time of each
   (the sides take turns step by step, median of REPS steps) and the error of each against a
   float64 reference of the published formula after STEPS steps from the same arrays.

   References, in double from the same fp32 inputs:
   - Lion, optax.lion (Chen et al. 2023): c = b1*m + (1-b1)*g; p -= lr*(sign(c) + wd*p);
     m = b2*m + (1-b2)*g; sign(0) = 0.
   - Adagrad, torch.optim.Adagrad (lr_decay 0): g += wd*p; s += g*g; p -= lr*g/(sqrt(s) + eps).
   What the issue says of DeepSpeed's code, which these rows measure: its Lion takes the sign with
   a bit trick (c AND the bits of -1.0f, XOR the bits of -lr) that gives -lr*sign(c) only for
   |c| in [2, 4) and +-lr for c = 0; its Adagrad puts the raw gradient in the numerator and the
   decayed one (g + wd*p) in the denominator, so it is right only without weight decay.

   As bench/deepspeed_peer.cc: DeepSpeed's code is not part of trainopt; this file includes its
   headers from the checkout the build is pointed at (make -C bench deepspeed-lion-adagrad
   DEEPSPEED=/path/to/DeepSpeed) with its op builder's flags, PyTorch's types stubbed in
   bench/deepspeed_stub/. One thread only: pinned to one core (taskset -c 1) two threads measure
   nothing, and DeepSpeed's OpenMP loop is told to use one. */
#define _POSIX_C_SOURCE 199309L /* clock_gettime */
#define TRAINOPT_IMPLEMENTATION
#define TRAINOPT_STATIC
#include "trainopt.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "cpu_lion.h" /* DeepSpeed's, from $(DEEPSPEED)/csrc/includes */
#undef STEP           /* both headers define it for their own declarations */
#include "cpu_adagrad.h"

#define REPS 9
#define STEPS 5 /* steps of the error comparison */
#define SPAN 8  /* DeepSpeed's invokers run Step_8: Step_AVX<8>, then narrower spans for the tail */

/* The rows: an optimizer and its hyperparameters (float, as DeepSpeed takes them). */
enum kind { LION, ADAGRAD };
struct row {
    kind k;
    const char *name;
    float lr, b1, b2, eps, wd;
};
static const row rows[] = {
    {LION, "Lion (b1 .9, b2 .99, wd 1e-3)", 1e-4f, 0.9f, 0.99f, 0.0f, 1e-3f},
    {ADAGRAD, "Adagrad (wd 0)", 1e-2f, 0.0f, 0.0f, 1e-10f, 0.0f},
    {ADAGRAD, "Adagrad (wd 0.01)", 1e-2f, 0.0f, 0.0f, 1e-10f, 0.01f},
};

static float *alloc_floats(size_t n) {
    void *p = NULL;
    if (posix_memalign(&p, 64, (n ? n : 1) * sizeof(float))) exit(2);
    return (float *)p;
}

/* Fixed values in [-1, 1] from an index and a key; for the states and gradients (key >= 2) every
   4096th is 0, so Lion's c is 0 there at every step. */
static float value(size_t i, unsigned key) {
    if (key >= 2 && i % 4096 == 0) return 0.0f;
    return (float)((i * 2654435761u + (size_t)key * 40503u) % 2001u) / 1000.0f - 1.0f;
}

/* p, the one state (Lion's m in [-.01, .01], Adagrad's sum in [0, 2e-4]) and the gradient of a step. */
struct arrays {
    size_t n;
    float *p, *g, *s;
};
static arrays make_arrays(kind k, size_t n) {
    arrays a = {n, alloc_floats(n), alloc_floats(n), alloc_floats(n)};
    for (size_t i = 0; i < n; i++) {
        a.p[i] = value(i, 1) + 5e-4f; /* never 0: the errors are relative */
        a.s[i] = k == LION ? 0.01f * value(i, 2) : 1e-4f * (value(i, 2) + 1.0f);
    }
    return a;
}
static void set_grad(arrays *a, int64_t step) {
    for (size_t i = 0; i < a->n; i++) a->g[i] = value(i, 3 + (unsigned)step);
}
static void free_arrays(arrays *a) { free(a->p), free(a->g), free(a->s); }

/* ---- the two sides ---- */

static void trainopt_side(const row &r, int64_t step, arrays *a) {
    trainopt_status s;
    if (r.k == LION) {
        trainopt_lion_config c = TRAINOPT_LION_DEFAULTS;
        c.lr = r.lr, c.beta1 = r.b1, c.beta2 = r.b2, c.weight_decay = r.wd;
        s = trainopt_lion_step(&c, step, a->n, a->p, a->g, a->s);
    } else {
        trainopt_adagrad_config c = TRAINOPT_ADAGRAD_DEFAULTS;
        c.lr = r.lr, c.eps = r.eps, c.weight_decay = r.wd;
        s = trainopt_adagrad_step(&c, step, a->n, a->p, a->g, a->s);
    }
    if (s != TRAINOPT_OK) {
        fprintf(stderr, "deepspeed_lion_adagrad: trainopt: %s\n", trainopt_last_error());
        exit(1);
    }
}

struct deepspeed_side {
    Lion_Optimizer lion;
    Adagrad_Optimizer adagrad;
    explicit deepspeed_side(const row &r) : lion(r.lr, r.b1, r.b2, r.wd), adagrad(r.lr, r.eps, r.wd) {}
    void step(const row &r, int64_t step, arrays *a) {
        size_t rounded = 0;
        omp_set_num_threads(1);
        if (r.k == LION) {
            lion.IncrementStep((size_t)step, r.b1, r.b2);
            lion.update_state(r.lr, r.wd);
            lion.Step_AVX<SPAN>(&rounded, a->p, a->g, a->s, a->n);
        } else {
            adagrad.IncrementStep((size_t)step);
            adagrad.update_state(r.lr, r.eps, r.wd);
            adagrad.Step_AVX<SPAN>(&rounded, a->p, a->g, a->s, a->n);
        }
        if (rounded != a->n) {
            fprintf(stderr, "deepspeed_lion_adagrad: Step_AVX left %zu elements (n must be a multiple of %d)\n",
                    a->n - rounded, SIMD_WIDTH * SPAN);
            exit(1);
        }
    }
};

/* ---- the float64 reference ---- */

static void reference_step(const row &r, size_t n, double *p, double *s, const float *g32) {
    const double lr = r.lr, b1 = r.b1, b2 = r.b2, eps = r.eps, wd = r.wd;
    for (size_t i = 0; i < n; i++) {
        double g = g32[i];
        if (r.k == LION) {
            const double c = b1 * s[i] + (1.0 - b1) * g;
            const double sign = c > 0.0 ? 1.0 : c < 0.0 ? -1.0 : c; /* 0 for +-0, NaN for NaN */
            p[i] -= lr * (sign + wd * p[i]);
            s[i] = b2 * s[i] + (1.0 - b2) * g;
        } else {
            g += wd * p[i];
            s[i] += g * g;
            p[i] -= lr * g / (sqrt(s[i]) + eps);
        }
    }
}

/* ---- timing and error ---- */

static void time_sides(const row &r, size_t n, double *trainopt_ns, double *deepspeed_ns) {
    arrays a = make_arrays(r.k, n);
    deepspeed_side ds(r);
    double t[2][REPS];
    const int calls = n < 4000000 ? 8 : 1;
    int64_t step = 1;
    set_grad(&a, 1);
    for (int rep = -1; rep < REPS; rep++)
        for (int side = 0; side < 2; side++) {
            const double t0 = bench_seconds();
            for (int k = 0; k < calls; k++) {
                if (side == 0) trainopt_side(r, step + k, &a);
                else ds.step(r, step + k, &a);
            }
            if (rep >= 0) t[side][rep] = (bench_seconds() - t0) / calls;
            if (side == 1) step += calls;
        }
    free_arrays(&a);
    *trainopt_ns = bench_median(t[0], REPS) * 1e9 / (double)n;
    *deepspeed_ns = bench_median(t[1], REPS) * 1e9 / (double)n;
}

struct error {
    double max_rel;     /* max over parameters of |p - ref| / |ref| */
    double differ;      /* share of parameters whose bits differ from the reference rounded to float */
    double off;         /* share of parameters more than 1e-4 relative from the reference: not rounding */
    double max_rel_c0;  /* Lion: the max over the elements whose c was 0 at every step */
};
static error error_of(const float *p, const double *ref, size_t n) {
    error e = {0.0, 0.0, 0.0, 0.0};
    size_t differ = 0, off = 0;
    for (size_t i = 0; i < n; i++) {
        const double rel = fabs((double)p[i] - ref[i]) / fmax(fabs(ref[i]), 1e-30);
        if (rel > e.max_rel || rel != rel) e.max_rel = rel;
        if (i % 4096 == 0 && rel > e.max_rel_c0) e.max_rel_c0 = rel;
        differ += p[i] != (float)ref[i];
        off += !(rel <= 1e-4);
    }
    e.differ = (double)differ / (double)n;
    e.off = (double)off / (double)n;
    return e;
}

/* STEPS steps of each side and of the reference from the same arrays. */
static void errors(const row &r, size_t n, error *trainopt_e, error *deepspeed_e) {
    arrays x = make_arrays(r.k, n), y = make_arrays(r.k, n);
    double *p = (double *)malloc(n * sizeof(double)), *s = (double *)malloc(n * sizeof(double));
    deepspeed_side ds(r);
    if (p == NULL || s == NULL) exit(2);
    for (size_t i = 0; i < n; i++) p[i] = x.p[i], s[i] = x.s[i];
    for (int64_t step = 1; step <= STEPS; step++) {
        set_grad(&x, step), set_grad(&y, step);
        trainopt_side(r, step, &x);
        ds.step(r, step, &y);
        reference_step(r, n, p, s, x.g);
    }
    *trainopt_e = error_of(x.p, p, n);
    *deepspeed_e = error_of(y.p, p, n);
    free(p), free(s), free_arrays(&x), free_arrays(&y);
}

int main(void) {
    static const size_t sizes[] = {1u << 20, 1u << 24};
    printf("trainopt (%s backend) Lion and Adagrad beside DeepSpeed's CPU Lion and CPU Adagrad (Step_AVX<%d>, "
           "%d-lane), fp32, one thread; time: median of %d steps; error: after %d steps against float64\n",
           trainopt_backend(), SPAN, SIMD_WIDTH, REPS, STEPS);
    printf("%-9s %-30s %9s %9s %7s | %11s %8s %8s | %11s %8s %8s\n", "n", "row", "trainopt", "DeepSpeed", "speed",
           "trainopt", "", "", "DeepSpeed", "", "");
    printf("%-9s %-30s %9s %9s %7s | %11s %8s %8s | %11s %8s %8s\n", "", "", "ns/elem", "ns/elem", "ds/tro",
           "max rel err", "differ", ">1e-4", "max rel err", "differ", ">1e-4");
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++)
        for (const row &r : rows) {
            double tro, ds;
            error te, de;
            time_sides(r, sizes[si], &tro, &ds);
            errors(r, sizes[si], &te, &de);
            printf("%-9zu %-30s %9.3f %9.3f %6.2fx | %11.2e %7.3f%% %7.3f%% | %11.2e %7.3f%% %7.3f%%\n", sizes[si],
                   r.name, tro, ds, ds / tro, te.max_rel, 100.0 * te.differ, 100.0 * te.off, de.max_rel,
                   100.0 * de.differ, 100.0 * de.off);
            if (r.k == LION)
                printf("%-9s %-30s   where c = 0 at every step: max rel err trainopt %.2e, DeepSpeed %.2e\n", "",
                       "", te.max_rel_c0, de.max_rel_c0);
            fflush(stdout);
        }
    return 0;
}
