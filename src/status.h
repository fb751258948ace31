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
#endif

/* The backend this translation unit was compiled for: "avx512", "avx2", "neon", "scalar"
   (with TRAINOPT_DISPATCH: the variant chosen at run time). */
TRAINOPT__KERNEL_API const char *trainopt_backend(void) { return TRAINOPT_SIMD_NAME; }
