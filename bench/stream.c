/* bench/stream.c - STREAM's copy and triad, plain C as STREAM is, in a
   translation unit of their own (-O3 -march=native). STREAM counts 8 bytes
   per copied element and 12 per triad element (the write-allocate read of
   a[] is not counted), and so does the report. The Makefile adds
   -fno-tree-loop-distribute-patterns, so the copy stays a loop of ordinary
   stores rather than a call to memcpy (whose non-temporal stores no in-place
   kernel can use). */
#include <stddef.h>

#include "bench.h"

void tob_stream_copy(size_t n, float *restrict a, const float *restrict b) {
    size_t i;
    for (i = 0; i < n; i++) a[i] = b[i];
}

void tob_stream_triad(size_t n, float *restrict a, const float *restrict b, const float *restrict c, float q) {
    size_t i;
    for (i = 0; i < n; i++) a[i] = b[i] + q * c[i];
}
