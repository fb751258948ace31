/* tests/suites.h - every suite, once. TO_BACKEND_SUITE(name): compiled per
   backend from tests/test_<name>.c, with tests and a battery.
   TO_ONCE_SUITE(name): backend-independent, compiled once, tests only. */
TO_BACKEND_SUITE(optim)
TO_BACKEND_SUITE(random)
TO_BACKEND_SUITE(batchnorm)
TO_BACKEND_SUITE(norms)
TO_BACKEND_SUITE(losses)
TO_BACKEND_SUITE(badinput)
TO_BACKEND_SUITE(threads)
TO_BACKEND_SUITE(guard)
TO_BACKEND_SUITE(layerwise)
TO_BACKEND_SUITE(simd)
TO_BACKEND_SUITE(parallel)
TO_BACKEND_SUITE(convert)
TO_BACKEND_SUITE(mixed)
TO_ONCE_SUITE(schedules)
TO_BACKEND_SUITE(quant8)
TO_BACKEND_SUITE(mixed_layerwise)
