/* tests/test_schedules.c - placeholder; the schedules suite replaces it. */
#include "harness.h"
#include "trainopt.h"

void schedules_tests_once(to_ctx *t) { (void)t; }
