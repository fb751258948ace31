/* tests/test_random.c - placeholder; the random suite replaces it. */
#include "harness.h"
#include "trainopt.h"

void TO_NAME(random_tests)(to_ctx *t) { (void)t; }
void TO_NAME(random_battery)(to_sink *s) { (void)s; }
