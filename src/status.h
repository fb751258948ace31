/* >>status */
#ifndef TRAINOPT__VARIANT_PASS /* no vector code: compiled once, for the baseline ISA (>>dispatch) */
TRAINOPT_API const char *trainopt_status_str(trainopt_status s) {
    static const char *const text[] = {
#define TRAINOPT__STATUS_TEXT(name, text) text,
        TRAINOPT__STATUS_LIST(TRAINOPT__STATUS_TEXT)
#undef TRAINOPT__STATUS_TEXT
    };
    return ((unsigned)s < (unsigned)TRAINOPT__STATUS_COUNT) ? text[s] : "unknown status";
}

/* >>last-error: the text beside a refusal (stb_image's stbi_failure_reason). One
   buffer per thread, defined once per program: in the unit that compiles the
   implementation (with TRAINOPT_STATIC, one per unit), and under TRAINOPT_DISPATCH
   outside the variants, which all write this one. The trainopt__once_ names are
   compiled once and keep their spelling in every variant (tools/pack.sh). Only the
   error path formats: a valid call never touches the buffer. */
static TRAINOPT_THREAD_LOCAL char trainopt__once_text[512];

TRAINOPT_API const char *trainopt_last_error(void) { return trainopt__once_text; }
TRAINOPT_API void trainopt_clear_error(void) { trainopt__once_text[0] = '\0'; }

#if defined(__GNUC__) || defined(__clang__)
#define TRAINOPT__COLD __attribute__((noinline, cold))
#define TRAINOPT__PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define TRAINOPT__COLD
#define TRAINOPT__PRINTF(f, a)
#endif

/* The error path, out of line: "fn: " and the formatted text into this thread's buffer
   (cut to fit). */
static TRAINOPT__COLD TRAINOPT__PRINTF(2, 3) void trainopt__once_fail_f(const char *fn, const char *fmt, ...) {
    va_list ap;
    int len = snprintf(trainopt__once_text, sizeof trainopt__once_text, "%s: ", fn);
    if (len < 0) len = 0;
    if ((size_t)len < sizeof trainopt__once_text) {
        va_start(ap, fmt);
        vsnprintf(trainopt__once_text + len, sizeof trainopt__once_text - (size_t)len, fmt, ap);
        va_end(ap);
    }
}

/* "fn: name = value why", value in the fewest digits that read back as the same double. */
static TRAINOPT__COLD void trainopt__once_value_f(const char *fn, const char *name, double value, const char *why) {
    char num[40];
    int digits;
    for (digits = 1; digits < 17; digits++) {
        snprintf(num, sizeof num, "%.*g", digits, value);
        if (strtod(num, NULL) == value) break;
    }
    if (digits == 17) snprintf(num, sizeof num, "%.17g", value);
    trainopt__once_fail_f(fn, "%s = %s %s", name, num, why);
}

/* What validation code calls: each writes the text and gives its status, a constant the
   compiler sees at the call site (so the facts a check establishes survive its error path). */
#define trainopt__once_fail(st, ...) (trainopt__once_fail_f(__VA_ARGS__), (st))
/* A hyperparameter outside its range. */
#define trainopt__once_hparam(fn, name, value, why) (trainopt__once_value_f(fn, name, value, why), TRAINOPT_ERR_HPARAM)
/* A required pointer that is NULL. */
#define trainopt__once_null(fn, name) (trainopt__once_fail_f(fn, "%s is NULL", name), TRAINOPT_ERR_NULL)
/* Two buffers that overlap. */
#define trainopt__once_alias(fn, a, b) (trainopt__once_fail_f(fn, "%s and %s overlap", a, b), TRAINOPT_ERR_ALIAS)
/* A length whose byte size overflows size_t. */
#define trainopt__once_too_long(fn, name, n)                                                               \
    (trainopt__once_fail_f(fn, "%s = %zu: its size in bytes overflows size_t", name, (size_t)(n)), TRAINOPT_ERR_SHAPE)
/* step < 1. */
#define trainopt__once_step(fn, step)                                                                        \
    (trainopt__once_fail_f(fn, "step = %lld: steps count from 1", (long long)(step)), TRAINOPT_ERR_STEP)
#endif

/* The backend this translation unit was compiled for: "avx512", "avx2", "neon", "sse2", "scalar"
   (with TRAINOPT_DISPATCH: the variant chosen at run time). */
TRAINOPT__KERNEL_API const char *trainopt_backend(void) { return TRAINOPT_SIMD_NAME; }
