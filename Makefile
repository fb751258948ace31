# trainopt - see README.md. The library itself is two headers; this Makefile
# builds libtrainopt from them and runs the tests, benchmarks and examples.
#   make test    every test, on every backend, plus the build matrix (ends "N passed, N failed")
#   make check   the quick check: headers from src/, the reference runner, examples-check
#   make golden-hashes   regenerate tests/golden/hashes.txt (a deliberate change of bits only)
#   make fuzz    differential fuzzing, every backend against scalar (FUZZ_SECONDS=60 per target)
#   make demo    the flagship example
#   make demo-ddp   the flagship example data-parallel on MPI at np 1, 2, 4, checked bit for bit
#   make bench   benchmarks (bench/), make bench-quick for a smoke run,
#                make bench-dispatch for the per-call cost of runtime dispatch
#   make lib     build/lib/libtrainopt.a and libtrainopt.so (runtime dispatch on x86-64)
#   make install PREFIX=/usr/local   the two headers, the libraries and trainopt.pc (pkg-config); make uninstall
#   make clean

CC      ?= cc
CFLAGS  ?= -O2
# STRICT: the tests' warnings. WARN adds TRAINOPT_STATIC for the programs that are one
# translation unit and compile the library into themselves (the examples, demo.mk; the
# schedules plot; bench-dispatch); the test builds link to per-backend library objects.
STRICT   = -std=c99 -Wall -Wextra -Wpedantic -Werror
WARN     = $(STRICT) -DTRAINOPT_STATIC
BUILD    = build
HEADERS  = trainopt.h trainopt_simd.h

BACKEND_SUITES := $(shell sed -n 's/^TO_BACKEND_SUITE(\(.*\))/\1/p' tests/suites.h)
ONCE_SUITES    := $(shell sed -n 's/^TO_ONCE_SUITE(\(.*\))/\1/p' tests/suites.h)

# Compiler flags that select each backend.
FLAGS_scalar = -DTRAINOPT_NO_SIMD
FLAGS_avx2   = -mavx2 -mfma -DTRAINOPT_NO_AVX512
FLAGS_avx512 = -mavx512f -mavx2 -mfma
# SIMDe's portable vmulq_u32 multiplies in signed int and relies on wrap-around, which
# UBSan rejects; that check stays on for every other backend (trainopt's own integer ops are unsigned).
FLAGS_neon   = -mavx2 -mfma -DTRAINOPT_SIMDE_NEON -fno-sanitize=signed-integer-overflow
X86_BACKENDS = scalar avx2 avx512 neon

.PHONY: all test test-deps bench bench-quick bench-report clean plot-schedules install uninstall fuzz fuzz-targets fuzz-merge
all: $(BUILD)/runner

# ---- make headers: trainopt.h and trainopt_simd.h, generated from src/ (tools/pack.sh) ----
.PHONY: headers check-headers
headers:
	sh tools/pack.sh
check-headers:
	@sh tools/pack.sh --check

# ---- make lib: libtrainopt.a and libtrainopt.so from one implementation unit ----------
# src/lib.c defines TRAINOPT_IMPLEMENTATION; built with -fvisibility=hidden and TRAINOPT_API
# set to the default visibility, so the shared library exports exactly the functions of the
# kernel list (tests/install.sh checks it). x86-64: runtime dispatch on a baseline x86-64
# build; AArch64: NEON. One PIC object goes into both libraries. Debian's shape:
# libtrainopt.so.0.2.0 (soname libtrainopt.so.0), the symlink libtrainopt.so.0, and the
# development symlink libtrainopt.so. Another compiler, another directory:
#   make lib CC=aarch64-linux-gnu-gcc LIB_OUT=build/lib-aarch64
# CFLAGS, CPPFLAGS and LDFLAGS apply (e.g. CPPFLAGS=-DTRAINOPT_NO_AVX512).
VERSION := $(shell sed -n 's/^\#define TRAINOPT_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\)$$/\2/p' trainopt.h | paste -sd.)
SOVERSION   = $(firstword $(subst ., ,$(VERSION)))
LIB_OUT    ?= $(BUILD)/lib
LIB_REAL    = libtrainopt.so.$(VERSION)
LIB_SONAME  = libtrainopt.so.$(SOVERSION)
LIB_WARN    = -std=c99 -Wall -Wextra -Wpedantic
LIB_MACHINE = $(shell $(CC) -dumpmachine)
LIB_ARCH    = $(if $(filter x86_64-%,$(LIB_MACHINE)),-march=x86-64 -DTRAINOPT_DISPATCH)
LIB_AR      = $(shell $(CC) -print-prog-name=ar)
.PHONY: lib
lib: $(LIB_OUT)/libtrainopt.a $(LIB_OUT)/$(LIB_SONAME) $(LIB_OUT)/libtrainopt.so
$(LIB_OUT)/trainopt.o: src/lib.c $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(LIB_WARN) $(CFLAGS) $(LIB_ARCH) $(CPPFLAGS) -fPIC -fvisibility=hidden -I. -c $< -o $@
$(LIB_OUT)/libtrainopt.a: $(LIB_OUT)/trainopt.o
	rm -f $@
	$(LIB_AR) rcs $@ $<
$(LIB_OUT)/$(LIB_REAL): $(LIB_OUT)/trainopt.o
	$(CC) $(CFLAGS) $(LDFLAGS) -shared -Wl,-soname,$(LIB_SONAME) -Wl,-z,defs $< -o $@ -lm
$(LIB_OUT)/$(LIB_SONAME): $(LIB_OUT)/$(LIB_REAL)
	ln -sf $(LIB_REAL) $@
$(LIB_OUT)/libtrainopt.so: $(LIB_OUT)/$(LIB_SONAME)
	ln -sf $(LIB_SONAME) $@

# ---- make install / uninstall: the two headers, the libraries and a pkg-config file ----
# The .pc goes to $(LIBDIR)/pkgconfig (0.1.0 put it in share/pkgconfig; install and
# uninstall remove that one): it names an architecture-specific library. Its Libs link
# libtrainopt; the header-only use (TRAINOPT_IMPLEMENTATION in one file) needs only Cflags and -lm.
PREFIX       ?= /usr/local
INCLUDEDIR   ?= $(PREFIX)/include
LIBDIR       ?= $(PREFIX)/lib
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
OLD_PC        = $(DESTDIR)$(PREFIX)/share/pkgconfig/trainopt.pc
install: lib
	install -d $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PKGCONFIGDIR)
	install -m 644 $(HEADERS) $(DESTDIR)$(INCLUDEDIR)/
	install -m 644 $(LIB_OUT)/libtrainopt.a $(LIB_OUT)/$(LIB_REAL) $(DESTDIR)$(LIBDIR)/
	ln -sf $(LIB_REAL) $(DESTDIR)$(LIBDIR)/$(LIB_SONAME)
	ln -sf $(LIB_SONAME) $(DESTDIR)$(LIBDIR)/libtrainopt.so
	rm -f $(OLD_PC)
	printf '%s\n' 'prefix=$(PREFIX)' 'includedir=$(INCLUDEDIR)' 'libdir=$(LIBDIR)' '' 'Name: trainopt' \
		'Description: SIMD training kernels (optimizers, schedules, batch norm, dropout, losses)' \
		'Version: $(VERSION)' 'Cflags: -I$${includedir}' 'Libs: -L$${libdir} -ltrainopt' 'Libs.private: -lm' \
		> $(DESTDIR)$(PKGCONFIGDIR)/trainopt.pc
uninstall:
	rm -f $(foreach h,$(HEADERS),$(DESTDIR)$(INCLUDEDIR)/$(h)) $(DESTDIR)$(PKGCONFIGDIR)/trainopt.pc $(OLD_PC) \
		$(foreach f,libtrainopt.a $(LIB_REAL) $(LIB_SONAME) libtrainopt.so,$(DESTDIR)$(LIBDIR)/$(f))

# ---- the test runner: the library compiled once per backend, every suite once per backend --
# Each leg compiles the library (tests/lib.c) once per backend with that backend's flags
# and -DTRAINOPT_SYMBOL_PREFIX=to_<backend>_, as $(BUILD)/<leg>/lib.<backend>.o; each
# suite is compiled per backend with the same flags and prefix, declarations only, so
# its calls of trainopt_adam_step link to to_<backend>_adam_step. The few internals the
# suites test directly go through tests/whitebox.c, compiled per backend with
# TRAINOPT_STATIC. Backend-independent suites (TO_ONCE_SUITE) link to the scalar copy.
# $(call leg_rule,LEG,CC,CFLAGS,BACKENDS,FLAGSVAR,RUNNER_DEFS,LDFLAGS): $(BUILD)/LEG/runner,
# the backends' flags being $(FLAGSVAR<backend>).
TEST_HEADERS = tests/harness.h tests/whitebox.h $(HEADERS)
# A leg whose runs need only some suites names them in SUITES_<leg> (the TSan leg): it
# compiles and links only those, on every backend it has, and its runner.o is built from
# $(BUILD)/<leg>/suites.h, just their lines of tests/suites.h (TO_SUITE_LIST in tests/runner.c;
# the runner fails when run.sh asks it for a suite it lacks). Every other leg: every suite.
leg_suites         = $(or $(SUITES_$(1)),$(BACKEND_SUITES) $(ONCE_SUITES))
leg_backend_suites = $(filter $(call leg_suites,$(1)),$(BACKEND_SUITES))
leg_once_suites    = $(filter $(call leg_suites,$(1)),$(ONCE_SUITES))
define leg_suite_list
$(BUILD)/$(1)/suites.h: tests/suites.h Makefile
	@mkdir -p $$(@D)
	grep -E -x $(foreach s,$(SUITES_$(1)),-e 'TO_[A-Z]+_SUITE\($(s)\)') tests/suites.h > $$@
	@test "$$$$(wc -l < $$@)" -eq $(words $(SUITES_$(1))) || { echo "SUITES_$(1): not every name is in tests/suites.h"; rm -f $$@; exit 1; }
$(BUILD)/$(1)/runner.o: $(BUILD)/$(1)/suites.h
$(BUILD)/$(1)/runner.o: SUITE_LIST = -DTO_SUITE_LIST='"$(BUILD)/$(1)/suites.h"'
endef
define leg_rule
$(if $(SUITES_$(1)),$(call leg_suite_list,$(1)))
$(BUILD)/$(1)/%.o: tests/%.c tests/harness.h tests/suites.h
	@mkdir -p $$(@D)
	$(2) $(STRICT) $(3) $(6) $$(SUITE_LIST) -I. -Itests -c $$< -o $$@
$(foreach b,$(4),
$(BUILD)/$(1)/lib.$(b).o: tests/lib.c $(HEADERS)
	@mkdir -p $$(@D)
	$(2) $(STRICT) $(3) $($(5)$(b)) $(LIB_EXTRA_$(1)) -DTRAINOPT_SYMBOL_PREFIX=to_$(b)_ -I. -c $$< -o $$@
$(BUILD)/$(1)/whitebox.$(b).o: tests/whitebox.c $(TEST_HEADERS)
	@mkdir -p $$(@D)
	$(2) $(STRICT) $(3) $($(5)$(b)) -DTO_BACKEND_ID=$(b) -I. -Itests -c $$< -o $$@
$(foreach s,$(call leg_backend_suites,$(1)),
$(BUILD)/$(1)/test_$(s).$(b).o: tests/test_$(s).c $(TEST_HEADERS)
	@mkdir -p $$(@D)
	$(2) $(STRICT) $(3) $($(5)$(b)) -DTRAINOPT_SYMBOL_PREFIX=to_$(b)_ -DTO_BACKEND_ID=$(b) -I. -Itests -c $$< -o $$@
))
$(foreach s,$(call leg_once_suites,$(1)),
$(BUILD)/$(1)/test_$(s).once.o: tests/test_$(s).c $(TEST_HEADERS)
	@mkdir -p $$(@D)
	$(2) $(STRICT) $(3) $($(5)scalar) -DTRAINOPT_SYMBOL_PREFIX=to_scalar_ -DTO_BACKEND_ID=once -I. -Itests -c $$< -o $$@
)
$(BUILD)/$(1)/runner: $(BUILD)/$(1)/runner.o $(BUILD)/$(1)/harness.o \
		$(foreach b,$(4),$(BUILD)/$(1)/lib.$(b).o $(BUILD)/$(1)/whitebox.$(b).o \
			$(foreach s,$(call leg_backend_suites,$(1)),$(BUILD)/$(1)/test_$(s).$(b).o)) \
		$(foreach s,$(call leg_once_suites,$(1)),$(BUILD)/$(1)/test_$(s).once.o)
	$(2) $(3) $(7) $$^ -o $$@ -lm -pthread
endef
# x86 legs: every backend, neon through SIMDe.
runner_rule = $(call leg_rule,$(1),$(2),$(3),$(X86_BACKENDS),FLAGS_,-DTO_WITH_AVX2 -DTO_WITH_AVX512 -DTO_WITH_NEON)
# Runtime-dispatch legs: the library compiled once with TRAINOPT_DISPATCH, in the runner's
# one backend slot (named scalar), which runs whichever variant the dispatcher picks;
# run.sh runs it once per TRAINOPT_MAX_BACKEND value.
DISPATCHFLAGS_scalar = -DTRAINOPT_DISPATCH
dispatch_runner_rule = $(call leg_rule,$(1),$(2),$(3),scalar,DISPATCHFLAGS_)

# The reference build, and the matrix the bit-identity promise covers.
$(eval $(call runner_rule,ref,gcc,-O2))
# Each leg compiles the library four times, so a leg must add what no other has. gcc -O3
# with contraction off; gcc -O3 with every extension of this CPU and contraction on (the
# scalar backend too can then fuse a product into a sum, which baseline x86-64 cannot);
# clang -O3 with contraction on; unoptimized gcc (no inlining but the forced, every value
# through memory) on the scalar and avx512 backends (its library objects are as dear as
# -O2's, since -O0 emits every forced-inline body unsimplified, and its runner the
# slowest). clang -O2 on baseline x86-64 is the clang-dispatch leg's build (below) for
# scalar, avx2 and avx512. Until 2026-12-06 gcc -O3 -ffp-contract=fast, gcc -O2
# -march=native, clang -O2 and clang -O0 were legs of their own: make test outgrew the CI's
# 90 minutes (bench/FINDINGS.md, "make test's time: one leg per question").
$(eval $(call runner_rule,gcc-O3-contract-off,gcc,-O3 -ffp-contract=off))
$(eval $(call runner_rule,gcc-O3-native-contract-fast,gcc,-O3 -march=native -ffp-contract=fast))
$(eval $(call runner_rule,clang-O3-contract-fast,clang,-O3 -ffp-contract=fast))
$(eval $(call leg_rule,gcc-O0,gcc,-O0,scalar avx512,FLAGS_,-DTO_WITH_AVX512))
MATRIX_LEGS = gcc-O3-contract-off gcc-O3-native-contract-fast clang-O3-contract-fast gcc-O0
# Baseline x86-64 programs with runtime dispatch: every variant must give the reference bits.
$(eval $(call dispatch_runner_rule,gcc-dispatch,gcc,-O2 -march=x86-64))
$(eval $(call dispatch_runner_rule,clang-dispatch,clang,-O2 -march=x86-64))
DISPATCH_LEGS = gcc-dispatch clang-dispatch
# The sse2 backend (what a baseline x86-64 build without -m flags gets): its own leg,
# scalar and sse2 only, so that it adds two backends' objects to make test, not a fifth
# backend to every leg. TO_WANT_SSE2: tests/test_simd.c fails to compile if the ladder
# picks another backend.
FLAGS_sse2 = -march=x86-64 -DTO_WANT_SSE2
$(eval $(call leg_rule,sse2,gcc,-O2,scalar sse2,FLAGS_,-DTO_WITH_SSE2))
MATRIX_LEGS += sse2
# The avx512 backend through SIMDe's portable AVX-512 (tests/simde_avx512.h, which the
# objects force-include), compiled for AVX2+FMA+F16C: on a CPU without AVX-512 (AMD Zen 3,
# most laptops), where every leg's avx512 slot is skipped, that backend's code still runs
# against the golden hashes. Emulated, not the hardware's instructions, and its library
# object alone takes gcc about 6 minutes: make test has it only where the CPU lacks
# AVX-512F (the native slots check the same code where it has it).
SEFLAGS_scalar = $(FLAGS_scalar)
SEFLAGS_avx512 = -mavx2 -mfma -mf16c -Wno-psabi -include tests/simde_avx512.h
$(eval $(call leg_rule,simde-avx512,gcc,-O2,scalar avx512,SEFLAGS_,-DTO_WITH_AVX512 -DTO_SIMDE_AVX512))
$(BUILD)/simde-avx512/lib.avx512.o $(BUILD)/simde-avx512/whitebox.avx512.o: tests/simde_avx512.h
CPU_HAS_AVX512 := $(shell grep -qw avx512f /proc/cpuinfo 2>/dev/null && echo yes)
MATRIX_LEGS += $(if $(CPU_HAS_AVX512),,simde-avx512)
# AddressSanitizer + UndefinedBehaviorSanitizer: the whole suite, not just the batteries.
# Line tables only (gcc -g1, clang -gline-tables-only): a report's stack still names file
# and line, and the library objects compile in 60% (gcc) and 76% (clang) of -g's time.
SANITIZE = -O1 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
$(eval $(call runner_rule,asan,gcc,-g1 $(SANITIZE)))
# The clang leg's library objects are also the fuzz targets' (below): the same flags plus
# libFuzzer's coverage instrumentation, which the ASan runtime's weak hooks absorb in the runner.
LIB_EXTRA_asan-clang = -fsanitize=fuzzer-no-link
$(eval $(call runner_rule,asan-clang,clang,-gline-tables-only $(SANITIZE)))

# ThreadSanitizer (clang): the suites that run threads (parallel: the library on a pthread
# pool at 1, 2, 3 and 7 threads; threads: kernels called from two threads at once), on the
# scalar and avx512 backends: what threads share is the drivers' code (src/parallel*.h),
# the same source on every backend; a backend changes only the per-vector bodies inside
# one task's slice. tests/run.sh builds and runs it, or says why it is skipped; `make tsan` alone.
TSAN = -O1 -gline-tables-only -fsanitize=thread -fno-omit-frame-pointer
SUITES_tsan = parallel threads
$(eval $(call leg_rule,tsan,clang,$(TSAN),scalar avx512,FLAGS_,-DTO_WITH_AVX512))
.PHONY: tsan
tsan: $(BUILD)/tsan/runner
	$(BUILD)/tsan/runner

$(BUILD)/runner: $(BUILD)/ref/runner
	cp $< $@

# ---- native AArch64 under qemu-user: the neon backend on its own instruction set ----
AARCH64_CC = aarch64-linux-gnu-gcc
AARCH64FLAGS_scalar = -DTRAINOPT_NO_SIMD
AARCH64FLAGS_neon =
$(eval $(call leg_rule,aarch64,$(AARCH64_CC),-O2,scalar neon,AARCH64FLAGS_,-DTO_WITH_NEON,-static))

# ---- valgrind memcheck: the scalar backend alone (valgrind has no AVX-512), every suite
# by default (about 3 min under valgrind); VALGRIND_SUITES picks a subset (see README, Hardening) ----
comma := ,
empty :=
space := $(empty) $(empty)
ALL_SUITES = $(BACKEND_SUITES) $(ONCE_SUITES)
VALGRIND_SUITES ?= $(subst $(space),$(comma),$(strip $(ALL_SUITES)))
$(eval $(call leg_rule,valgrind,gcc,-O2 -g,scalar,FLAGS_))

# ---- differential fuzzing with libFuzzer: per kernel family, the calling code compiled
# once per backend (FZ_NAME), every backend's bits and statuses compared with scalar's.
# The library objects are the asan-clang leg's (prefix to_<backend>_, clang -O1 -g, ASan
# and UBSan, -fsanitize=fuzzer-no-link: FUZZ_CFLAGS exactly), linked into every target ----
FUZZ_TARGETS  = optim schedules batchnorm random losses norms
FUZZ_TARGETS += layerwise
FUZZ_TARGETS += quant8
FUZZ_BACKENDS = scalar avx2 avx512 neon
FUZZ_CC       = clang
FUZZ_SAN      = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS   = $(STRICT) -O1 -gline-tables-only $(FUZZ_SAN)
FUZZ_SECONDS ?= 60
# Whether clang can link a libFuzzer program (Debian: libclang-rt-14-dev); evaluated only when used.
HAVE_LIBFUZZER = $(shell echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }' | \
	$(FUZZ_CC) -x c -fsanitize=fuzzer - -o /dev/null 2>/dev/null && echo yes)
define fuzz_rule
$(foreach b,$(FUZZ_BACKENDS),
$(BUILD)/fuzz/fuzz_$(1).$(b).o: tests/fuzz/fuzz_$(1).c tests/fuzz/fuzz.h $(HEADERS)
	@mkdir -p $$(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(FLAGS_$(b)) -DTRAINOPT_SYMBOL_PREFIX=to_$(b)_ -DFZ_BACKEND=$(b) -I. -Itests/fuzz -c $$< -o $$@
)
$(BUILD)/fuzz/main_$(1).o: tests/fuzz/fuzz_main.c tests/fuzz/fuzz.h
	@mkdir -p $$(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -DFZ_FAMILY=$(1) -Itests/fuzz -c $$< -o $$@
$(BUILD)/fuzz/fuzz_$(1): $(BUILD)/fuzz/main_$(1).o $(foreach b,$(FUZZ_BACKENDS),$(BUILD)/fuzz/fuzz_$(1).$(b).o $(BUILD)/asan-clang/lib.$(b).o)
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer $$^ -o $$@ -lm
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call fuzz_rule,$(t))))
fuzz-targets: $(foreach t,$(FUZZ_TARGETS),$(BUILD)/fuzz/fuzz_$(t))
# Each target for FUZZ_SECONDS, starting from the committed corpus; new inputs go to
# $(BUILD)/fuzz/work/<target>, a crash or difference to $(BUILD)/fuzz/crash-*.
fuzz: test-deps
	@$(MAKE) --no-print-directory -j2 fuzz-targets
	@status=0; for t in $(FUZZ_TARGETS); do \
		mkdir -p $(BUILD)/fuzz/work/$$t; \
		echo "== fuzz_$$t for $(FUZZ_SECONDS) s (log: $(BUILD)/fuzz/$$t.log)"; \
		if $(BUILD)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -print_final_stats=1 \
				-artifact_prefix=$(BUILD)/fuzz/$$t- $(BUILD)/fuzz/work/$$t tests/fuzz/corpus/$$t > $(BUILD)/fuzz/$$t.log 2>&1; \
		then grep -E '^Done [0-9]+ runs|stat::number_of_executed_units|stat::new_units_added' $(BUILD)/fuzz/$$t.log; \
		else status=1; echo "FAIL fuzz_$$t"; grep -E 'FUZZ DIFF|ERROR|SUMMARY|Test unit written' $(BUILD)/fuzz/$$t.log | head -n 20; fi; \
	done; exit $$status

# Adds to the committed corpus the inputs from $(BUILD)/fuzz/work that reach coverage
# it lacks (libFuzzer's -merge=1 keeps a small set, not every input).
fuzz-merge: fuzz-targets
	@for t in $(FUZZ_TARGETS); do \
		mkdir -p $(BUILD)/fuzz/work/$$t; \
		$(BUILD)/fuzz/fuzz_$$t -merge=1 -max_len=4096 tests/fuzz/corpus/$$t $(BUILD)/fuzz/work/$$t 2>&1 | \
			grep 'MERGE-OUTER: [0-9]* new files' | sed "s/^/fuzz_$$t: /"; \
	done

# ---- make test ---------------------------------------------------------------------
# First: the committed trainopt.h and trainopt_simd.h must be what tools/pack.sh makes from src/.
test: test-deps
	@sh tools/pack.sh --check || { echo "make test: the packed headers are stale (run make headers and commit them)"; exit 1; }
	@start=$$(date +%s); \
	$(MAKE) --no-print-directory -j2 $(BUILD)/ref/runner $(foreach l,$(MATRIX_LEGS) $(DISPATCH_LEGS) asan asan-clang,$(BUILD)/$(l)/runner) \
		$(BUILD)/valgrind/runner $(if $(shell command -v $(AARCH64_CC)),$(BUILD)/aarch64/runner) \
		$(if $(HAVE_LIBFUZZER),fuzz-targets) || exit 1; \
	echo "compile phase: $$(( $$(date +%s) - start )) s"
	@VALGRIND_SUITES=$(VALGRIND_SUITES) FUZZ_TARGETS="$(FUZZ_TARGETS)" sh tests/run.sh $(BUILD) "$(MATRIX_LEGS)" "$(DISPATCH_LEGS)"

# ---- make check: the quick check (a few minutes on 2 cores): the headers regenerated from
# src/ (when they differ), the reference runner (every suite on every backend, the
# batteries against tests/golden/hashes.txt), and make examples-check ----
.PHONY: check golden-hashes
check:
	@sh tools/pack.sh --check > /dev/null 2>&1 || { echo "sh tools/pack.sh"; sh tools/pack.sh; }
	@$(MAKE) --no-print-directory -j2 $(BUILD)/ref/runner
	@echo "== reference runner: every suite on every backend, batteries against tests/golden/hashes.txt"
	@$(BUILD)/ref/runner --expect tests/golden/hashes.txt > $(BUILD)/ref/check-log.txt 2>&1; rc=$$?; \
		grep -v '^PASS' $(BUILD)/ref/check-log.txt; exit $$rc
	@echo "== make examples-check"
	@$(MAKE) --no-print-directory examples-check

# tests/golden/hashes.txt: the reference build's battery hashes (scalar backend; every
# backend must equal them), which every leg of make test and make check compares its
# bits with. The bits do not depend on the CPU (the AArch64 leg checks the same file).
# A deliberate change of bits (a kernel that now computes differently, on every backend
# at once) is its own commit that regenerates this file with make golden-hashes and says
# why; any other change of these hashes is a bug the tests caught.
golden-hashes: $(BUILD)/ref/runner
	$(BUILD)/ref/runner --battery-only --write-hashes tests/golden/hashes.txt

# Installs what the tests need when root; otherwise names it and stops.
TEST_PACKAGES = gcc clang make libsimde-dev gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user \
	libopenblas-dev zlib1g-dev dataset-fashion-mnist valgrind libclang-rt-14-dev
test-deps:
	@sh tools/need-packages.sh $(TEST_PACKAGES)

clean:
	rm -rf $(BUILD)

# ---- make plot-schedules: the learning-rate schedules figure (examples/lr_schedules.c) ----
plot-schedules: $(BUILD)/lr_schedules.png
$(BUILD)/examples/lr_schedules: examples/lr_schedules.c $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(EXAMPLE_WARN) $(CFLAGS) -I. $< -o $@ -lm
$(BUILD)/lr_schedules.csv: $(BUILD)/examples/lr_schedules
	$< > $@
$(BUILD)/lr_schedules.png: $(BUILD)/lr_schedules.csv tools/plot_schedules.gp
	@command -v gnuplot >/dev/null 2>&1 || sh tools/need-packages.sh gnuplot-nox
	gnuplot -e "csv='$<'; png='$@'" tools/plot_schedules.gp
	@echo "wrote $@"

# ---- make plot-optimizers: every optimizer's loss curves (examples/compare_optimizers.c) ----
# Trains 14 optimizers on linear regression and 3 epochs of the Fashion-MNIST MLP (a few minutes;
# OPT_ARGS=--small for seconds), then draws build/optimizers.png. Installs what it needs as root.
OPT_ARGS ?=
.PHONY: plot-optimizers
plot-optimizers: demo-deps
	@$(MAKE) --no-print-directory $(EX)/compare_optimizers
	OPENBLAS_NUM_THREADS=$(DEMO_THREADS) $(EX)/compare_optimizers --csv $(BUILD)/optimizers.csv $(OPT_ARGS)
	gnuplot -e "csv='$(BUILD)/optimizers.csv'; png='$(BUILD)/optimizers.png'" tools/plot_optimizers.gp
	@echo "wrote $(BUILD)/optimizers.png"

# ---- regenerating golden data (needs Debian's python3-torch; the tests themselves need no Python) ----
.PHONY: golden ulp-exhaustive
golden:
	/usr/bin/python3 tests/gen_optim.py
	/usr/bin/python3 tests/gen_schedules.py
	/usr/bin/python3 tests/gen_random.py
	/usr/bin/python3 tests/gen_losses.py
	/usr/bin/python3 tests/gen_batchnorm.py
	/usr/bin/python3 tests/gen_norms.py
	/usr/bin/python3 tests/gen_layerwise.py
	/usr/bin/python3 tests/gen_convert.py
	/usr/bin/python3 tests/gen_mixed_torch.py
# exp/log/log1p maximum ulp error over every float of their ranges, on every backend (several minutes).
ulp-exhaustive: $(BUILD)/ref/runner
	TRAINOPT_ULP_STRIDE=1 $(BUILD)/ref/runner
# the 8-bit encoder against bitsandbytes' rule on every float of [-1, 1], on every backend (a few minutes).
.PHONY: quant8-exhaustive
quant8-exhaustive: $(BUILD)/ref/runner
	TRAINOPT_Q8_STRIDE=1 $(BUILD)/ref/runner --only quant8

# ---- the examples and the flagship demo (make examples, demo, demo-compare, examples-check)
include demo.mk

# ---- benchmarks (bench/, Google Benchmark through a C shim; see bench/README.md) ----
bench:
	@$(MAKE) --no-print-directory -C bench run
bench-quick:
	@$(MAKE) --no-print-directory -C bench quick
bench-report:
	@$(MAKE) --no-print-directory -C bench report
# The per-call cost of runtime dispatch (bench/dispatch_overhead.c; recorded in bench/FINDINGS.md).
.PHONY: bench-dispatch
bench-dispatch: $(BUILD)/bench-dispatch/dispatch_overhead
	$(if $(shell command -v taskset),taskset -c 1) $<
$(BUILD)/bench-dispatch/dispatch_overhead: bench/dispatch_overhead.c $(HEADERS)
	@mkdir -p $(@D)
	gcc $(WARN) -O2 -march=x86-64 -I. -c $< -o $(@D)/dispatching.o
	gcc $(WARN) -O2 -mavx512f -mavx2 -mfma -DDISPATCH_STATIC_UNIT -I. -c $< -o $(@D)/static.o
	gcc $(@D)/dispatching.o $(@D)/static.o -o $@ -lm

# ---- Python: the package python/trainopt over libtrainopt (README.md, "Python") ----------
# make python: libtrainopt (make lib) and python/trainopt/_api.py, the C declarations, kernel
# list and _DEFAULTS the package reads, generated from trainopt.h by tools/gen_python_api.py
# (commit it with the headers; the tests check it is current). make python-test: python/tests
# (unittest), ending "N passed, N failed[, N skipped]"; the tests needing PyTorch are skips
# with the reason where Debian's python3-torch is missing. PY_PACKAGES installs as root.
PY            = /usr/bin/python3
PY_PACKAGES   = python3-numpy python3-cffi python3-torch
.PHONY: python python-test python-deps
python: lib python/trainopt/_api.py
python/trainopt/_api.py: trainopt.h tools/gen_python_api.py
	$(PY) tools/gen_python_api.py --cc $(CC)
python-deps:
	@sh tools/need-packages.sh $(PY_PACKAGES)
python-test: python
	$(PY) python/tests/run.py
