/* tests/test_batchnorm.c - placeholder; the batchnorm suite replaces it. */
#include "harness.h"
#include "trainopt.h"

void TO_NAME(batchnorm_tests)(to_ctx *t) { (void)t; }
void TO_NAME(batchnorm_battery)(to_sink *s) { (void)s; }
