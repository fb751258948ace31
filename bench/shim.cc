// bench/shim.cc - the C API of tob.h over Google Benchmark. Nothing here is
// timed except tob_loop's call into State::KeepRunning (a few ns per
// iteration; the smallest benchmarked kernel call takes a few hundred).
#include "tob.h"

#include <benchmark/benchmark.h>

namespace {
benchmark::State &st(tob_state *s) { return *reinterpret_cast<benchmark::State *>(s); }
const benchmark::State &st(const tob_state *s) { return *reinterpret_cast<const benchmark::State *>(s); }
}  // namespace

extern "C" {

int tob_loop(tob_state *s) { return st(s).KeepRunning() ? 1 : 0; }
int64_t tob_arg(const tob_state *s) { return st(s).range(0); }
int tob_threads(const tob_state *s) {
    // Registered through tob_register_threads: the second argument.
    return static_cast<int>(st(s).range(1));
}
void tob_pause(tob_state *s) { st(s).PauseTiming(); }
void tob_resume(tob_state *s) { st(s).ResumeTiming(); }

void tob_rates(tob_state *s, double elements, double bytes) {
    benchmark::State &b = st(s);
    const int64_t it = b.iterations();
    b.SetItemsProcessed(static_cast<int64_t>(elements) * it);
    b.SetBytesProcessed(static_cast<int64_t>(bytes) * it);
    // ns/element is time / elements: the report computes it from the JSON.
    b.counters["bytes_per_elem"] = benchmark::Counter(bytes / elements);
}

void tob_counter(tob_state *s, const char *name, double value) { st(s).counters[name] = benchmark::Counter(value); }
void tob_error(tob_state *s, const char *msg) { st(s).SkipWithError(msg); }

void tob_register(const char *name, tob_fn fn, const void *arg, const int64_t *sizes, unsigned opts) {
    benchmark::internal::Benchmark *b = benchmark::RegisterBenchmark(
        name, [fn, arg](benchmark::State &state) { fn(reinterpret_cast<tob_state *>(&state), arg); });
    for (const int64_t *n = sizes; *n; n++) b->Arg(*n);
    if (opts & TOB_REAL_TIME) b->UseRealTime();
}

void tob_register_threads(const char *name, tob_fn fn, const void *arg, const int64_t *sizes,
                          const int64_t *threads) {
    benchmark::internal::Benchmark *b = benchmark::RegisterBenchmark(
        name, [fn, arg](benchmark::State &state) { fn(reinterpret_cast<tob_state *>(&state), arg); });
    for (const int64_t *n = sizes; *n; n++)
        for (const int64_t *t = threads; *t; t++) b->Args({*n, *t});
    b->UseRealTime();  // CPU time would add up both threads
}

void tob_context(const char *key, const char *value) { benchmark::AddCustomContext(key, value); }

int tob_main(int argc, char **argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}

}  // extern "C"
