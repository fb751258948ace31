/* tests/hygiene_one_call.c - a program whose one Adafactor call is unfactored (variance
   given, row_var and col_var NULL), as its only call of the kernel. TRAINOPT_STATIC compiles
   the kernel here; gcc 12 -O2 then copied the factored path's sweep for col_var = NULL
   (interprocedural constant propagation, before the branch to the unfactored path was
   folded) and warned (-Warray-bounds) about the copy, which is never run: a -Werror build
   of such a program failed. tests/hygiene_consts.c calls the kernel with several shapes
   and cannot show this. tests/hygiene.sh compiles it with -Werror; it is never run. */
#define TRAINOPT_STATIC
#include "trainopt.h"

static float param[34], grad[34], variance[34];

int unfactored_step(void);
int unfactored_step(void) {
    trainopt_adafactor_config c = TRAINOPT_ADAFACTOR_DEFAULTS;
    trainopt_step_opts o = TRAINOPT_STEP_OPTS_DEFAULTS;
    return (int)trainopt_adafactor_step_ex(&c, 2, 1, 17, param, grad, NULL, NULL, variance, &o);
}
