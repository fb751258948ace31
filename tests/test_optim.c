/* tests/test_optim.c - placeholder while the optimizer suite is written. */
#include "harness.h"
#include "trainopt.h"

void TO_NAME(optim_tests)(to_ctx *t) { (void)t; }
void TO_NAME(optim_battery)(to_sink *s) { (void)s; }
