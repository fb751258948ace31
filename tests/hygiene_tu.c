/* tests/hygiene_tu.c - a translation unit that only includes the library; compiled
   twice (HYGIENE_TU=1 and 2) and linked together to show that two units including
   trainopt.h coexist, and compiled as every C and C++ standard by tests/hygiene.sh. */
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
