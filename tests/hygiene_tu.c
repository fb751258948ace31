/* tests/hygiene_tu.c - a translation unit that only includes the library, in the mode
   tests/hygiene.sh gives on the command line: nothing (declarations), TRAINOPT_IMPLEMENTATION
   or TRAINOPT_STATIC. Compiled as every C and C++ standard, and twice (HYGIENE_TU=1, the
   implementation unit; HYGIENE_TU=2, main, a user unit) and linked together. */
#include "trainopt.h"

#if HYGIENE_TU == 1
#ifdef __cplusplus
extern "C"
#endif
const char *hygiene_backend_1(void);
const char *hygiene_backend_1(void) { return trainopt_backend(); }
#else
#include <stdio.h>
#ifdef __cplusplus
extern "C" /* unit 1 may be C */
#endif
const char *hygiene_backend_1(void);
int main(void) {
    printf("%s %s\n", hygiene_backend_1(), trainopt_status_str(TRAINOPT_OK));
    return 0;
}
#endif
