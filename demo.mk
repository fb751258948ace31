# demo.mk - the examples and the flagship demo; included from the Makefile.
#   make examples        build every example into build/examples/
#   make demo            train the Fashion-MNIST MLP (examples/fashion_mnist.c): a progress line per
#                        epoch, the final accuracy and images/s, the learning curve as CSV and PNG
#                        (gnuplot) in build/demo/
#   make demo-compare    the same run, then its PyTorch twin, printed side by side
#                        (both take DEMO_ARGS, e.g. DEMO_ARGS=--small for a 10-second run)
#   make demo-bf16       the same run three times: fp32 parameters, bf16 rounded to nearest, bf16
#                        rounded stochastically; their curves in one PNG (build/demo/fashion_mnist_bf16.png)
#   make examples-check  every example at a small size, on the scalar and the native backend, with
#                        the backends' outputs compared; ends with "N passed, N failed[, N skipped]"
#
# Each installs the Debian packages it needs when run as root; otherwise it names them and stops.
#
# OpenBLAS threads: 1. cblas_sgemm's results depend on how many threads OpenBLAS splits a
# product over (and on the CPU kernel it picks: OPENBLAS_CORETYPE), so the count is fixed here
# rather than left to OpenBLAS's default of one per core: with the same DEMO_THREADS the same
# command prints the same accuracy every time (1 and 2 threads give different, equally good
# digits). One thread, because the demo's products are small (128-row minibatches) and,
# measured on this 2-core machine while other jobs ran, a second OpenBLAS thread made epochs
# slower, not faster (12.5k and 9.9k images/s with 1 thread, 7.5k and 8.6k with 2). On an idle
# machine try DEMO_THREADS=2. The PyTorch twin gets the same count.
DEMO_THREADS   ?= 1
DEMO_ARGS      ?=
EX             ?= $(BUILD)/examples
DEMO_OUT       ?= $(BUILD)/demo
# The examples are built as a user would: all of the CPU's vector ISA. -ffp-contract=off keeps
# the examples' own float loops (outside trainopt) the same on every backend, as trainopt's are.
EXAMPLE_SIMD   ?= -march=native
# Each example is one file that defines TRAINOPT_IMPLEMENTATION itself, as a user's program does.
EXAMPLE_WARN    = -std=c99 -Wall -Wextra -Wpedantic -Werror
EXAMPLE_CFLAGS  = $(EXAMPLE_WARN) $(CFLAGS) $(EXAMPLE_SIMD) -ffp-contract=off -I. -Iexamples
# examples-check and ddp-check (legs of make test) build their own copies, in EXCHECK, with
# EXAMPLE_MODE=-DTRAINOPT_STATIC beside the example's own TRAINOPT_IMPLEMENTATION: private
# copies, so the compiler generates only the kernels the example calls, not the whole library
# (bench/FINDINGS.md, "make test's time"). What these legs test is the examples' runs and the
# backends' agreement; the whole library compiling warning-free in a user's unit (-O2,
# -march=native, TRAINOPT_NO_SIMD) is tests/hygiene.sh's implementation and link checks.
EXCHECK         = $(BUILD)/examples-check
EXAMPLE_MODE   ?=
EXAMPLE_CFLAGS += $(EXAMPLE_MODE)
# gnuplot-nox draws the learning curve's PNG.
DEMO_PACKAGES   = dataset-fashion-mnist libopenblas-dev zlib1g-dev gnuplot-nox
BLAS_PACKAGES   = libopenblas-dev zlib1g-dev
TWIN_PACKAGES   = python3-torch python3-numpy
EXAMPLES        = linear_regression batchnorm_sgd fashion_mnist $(if $(wildcard examples/lr_schedules.c),lr_schedules)
EXAMPLES       += layernorm_mlp
EXAMPLES       += compare_optimizers
# The threading hook and a multi-tensor step on a pthread pool (glibc has pthreads in libc).
EXAMPLES       += many_tensors
EXAMPLE_HEADERS = $(HEADERS) $(wildcard examples/*.h)

.PHONY: examples examples-deps demo-deps demo demo-compare demo-bf16 examples-check

examples: examples-deps
	@$(MAKE) --no-print-directory $(foreach e,$(EXAMPLES),$(EX)/$(e))

examples-deps:
	@sh tools/need-packages.sh $(BLAS_PACKAGES)
demo-deps:
	@sh tools/need-packages.sh $(DEMO_PACKAGES)

# Examples that need only the C library and libm.
$(EX)/%: examples/%.c $(EXAMPLE_HEADERS)
	@mkdir -p $(@D)
	$(CC) $(EXAMPLE_CFLAGS) $< -o $@ -lm

# The demo: OpenBLAS for the dense layers, zlib for the dataset's .gz files.
$(EX)/fashion_mnist: examples/fashion_mnist.c $(EXAMPLE_HEADERS)
	@mkdir -p $(@D)
	$(CC) $(EXAMPLE_CFLAGS) $< -o $@ -lopenblas -lz -lm

# Every optimizer on linear regression and the demo's model (make plot-optimizers draws its CSV).
$(EX)/compare_optimizers: examples/compare_optimizers.c $(EXAMPLE_HEADERS)
	@mkdir -p $(@D)
	$(CC) $(EXAMPLE_CFLAGS) $< -o $@ -lopenblas -lz -lm

demo: demo-deps
	@$(MAKE) --no-print-directory $(EX)/fashion_mnist
	@mkdir -p $(DEMO_OUT)
	OPENBLAS_NUM_THREADS=$(DEMO_THREADS) $(EX)/fashion_mnist --csv $(DEMO_OUT)/fashion_mnist_curve.csv $(DEMO_ARGS)
	@$(call demo_plot,$(DEMO_OUT)/fashion_mnist_curve.csv,$(DEMO_OUT)/fashion_mnist_curve.png)

demo-compare: demo-deps
	@sh tools/need-packages.sh $(TWIN_PACKAGES)
	@$(MAKE) --no-print-directory $(EX)/fashion_mnist
	@mkdir -p $(DEMO_OUT)
	OPENBLAS_NUM_THREADS=$(DEMO_THREADS) $(EX)/fashion_mnist --csv $(DEMO_OUT)/fashion_mnist_curve.csv $(DEMO_ARGS)
	OPENBLAS_NUM_THREADS=$(DEMO_THREADS) OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 examples/fashion_mnist_torch.py \
		--threads $(DEMO_THREADS) --csv $(DEMO_OUT)/fashion_mnist_torch_curve.csv $(DEMO_ARGS) \
		--compare $(DEMO_OUT)/fashion_mnist_curve.csv
	@$(call demo_plot,$(DEMO_OUT)/fashion_mnist_curve.csv,$(DEMO_OUT)/fashion_mnist_curve.png,$(DEMO_OUT)/fashion_mnist_torch_curve.csv)

demo-bf16: demo-deps
	@$(MAKE) --no-print-directory $(EX)/fashion_mnist
	@mkdir -p $(DEMO_OUT)
	OPENBLAS_NUM_THREADS=$(DEMO_THREADS) $(EX)/fashion_mnist --csv $(DEMO_OUT)/fashion_mnist_curve.csv $(DEMO_ARGS)
	OPENBLAS_NUM_THREADS=$(DEMO_THREADS) $(EX)/fashion_mnist --csv $(DEMO_OUT)/fashion_mnist_bf16_nearest.csv \
		--bf16 nearest $(DEMO_ARGS)
	OPENBLAS_NUM_THREADS=$(DEMO_THREADS) $(EX)/fashion_mnist --csv $(DEMO_OUT)/fashion_mnist_bf16_stochastic.csv \
		--bf16 stochastic $(DEMO_ARGS)
	@gnuplot -e "f32='$(DEMO_OUT)/fashion_mnist_curve.csv'; nearest='$(DEMO_OUT)/fashion_mnist_bf16_nearest.csv'; \
		stochastic='$(DEMO_OUT)/fashion_mnist_bf16_stochastic.csv'; png='$(DEMO_OUT)/fashion_mnist_bf16.png'" \
		examples/fashion_mnist_bf16.gp && echo "learning curves: $(DEMO_OUT)/fashion_mnist_bf16.png"

# $(call demo_plot,CSV,PNG[,TORCH_CSV]): the learning curve as a PNG (demo-deps installs gnuplot-nox).
demo_plot = gnuplot -e "csv='$(1)'; png='$(2)'; torch='$(3)'" examples/fashion_mnist_curve.gp && echo "learning curve: $(2)"

# Small sizes on two backends (scalar, and the CPU's own), outputs compared between them.
examples-check: examples-deps
	@$(MAKE) --no-print-directory EX=$(EXCHECK)/examples EXAMPLE_MODE=-DTRAINOPT_STATIC \
		$(foreach e,$(EXAMPLES),$(EXCHECK)/examples/$(e))
	@$(MAKE) --no-print-directory EX=$(EXCHECK)/examples-scalar EXAMPLE_SIMD=-DTRAINOPT_NO_SIMD EXAMPLE_MODE=-DTRAINOPT_STATIC \
		$(foreach e,$(EXAMPLES),$(EXCHECK)/examples-scalar/$(e))
	@sh examples/check.sh $(EXCHECK)/examples $(EXCHECK)/examples-scalar "$(EXAMPLES)"

# ---- the data-parallel example on MPI (examples/ddp_fashion_mnist.c) ----
#   make demo-ddp    the demo's model trained at mpirun -np 1, 2 and 4 (DDP_ARGS, default --small),
#                    the np 2 and np 4 runs checked bit for bit against the np 1 run
#   make ddp-check   the short version for make test: 16 steps on a subset at np 1, 2 and 4, and a
#                    run killed at np 2 resumed at np 4, checked against np 1's bits (examples/ddp_check.sh);
#                    skipped, with the reason, where MPI cannot run
# Open MPI refuses to start as root without --allow-run-as-root; --oversubscribe lets np 4 run
# on fewer cores (on the 2-core development machine the ranks take turns); a rank waiting in a
# collective yields its core (mpi_yield_when_idle) instead of busy-polling it, which on this
# shared 2-core machine made np 2 steps 3 to 10 times slower (bench/FINDINGS.md).
MPI_PACKAGES     = libopenmpi-dev openmpi-bin
MPICC           ?= mpicc
MPIRUN          ?= mpirun
MPIRUN_FLAGS    ?= --oversubscribe --mca mpi_yield_when_idle 1 $(if $(filter 0,$(shell id -u)),--allow-run-as-root)
DDP_ARGS        ?= --small --min-acc 0.75
DDP_NP          ?= 1 2 4
TEST_PACKAGES   += $(MPI_PACKAGES)

.PHONY: demo-ddp ddp-check

# mpicc is the compiler given by CC (OMPI_CC), with MPI's include and library flags.
$(EX)/ddp_fashion_mnist: examples/ddp_fashion_mnist.c $(EXAMPLE_HEADERS)
	@mkdir -p $(@D)
	OMPI_CC=$(CC) $(MPICC) $(EXAMPLE_CFLAGS) $< -o $@ -lopenblas -lz -lm

demo-ddp: demo-deps
	@sh tools/need-packages.sh $(MPI_PACKAGES)
	@$(MAKE) --no-print-directory $(EX)/ddp_fashion_mnist
	@mkdir -p $(DEMO_OUT)
	@set -e; first=; for np in $(DDP_NP); do \
		echo "== mpirun -np $$np"; \
		if [ -z "$$first" ]; then first=$$np; \
			$(MPIRUN) $(MPIRUN_FLAGS) -np $$np $(EX)/ddp_fashion_mnist $(DDP_ARGS) --trace $(DEMO_OUT)/ddp-np$$np.trace; \
		else \
			$(MPIRUN) $(MPIRUN_FLAGS) -np $$np $(EX)/ddp_fashion_mnist $(DDP_ARGS) --expect $(DEMO_OUT)/ddp-np$$first.trace; \
		fi; \
	done

# Also built on the scalar backend (the two compiles side by side): its np 2 run must have the
# native np 1 run's bits.
ddp-check:
	@if command -v $(MPICC) >/dev/null 2>&1; then \
		$(MAKE) --no-print-directory EX=$(EXCHECK)/examples EXAMPLE_MODE=-DTRAINOPT_STATIC \
			$(EXCHECK)/examples/ddp_fashion_mnist & native=$$!; \
		$(MAKE) --no-print-directory EX=$(EXCHECK)/examples-scalar EXAMPLE_SIMD=-DTRAINOPT_NO_SIMD EXAMPLE_MODE=-DTRAINOPT_STATIC \
			$(EXCHECK)/examples-scalar/ddp_fashion_mnist & scalar=$$!; \
		wait $$native; a=$$?; wait $$scalar; b=$$?; [ $$a = 0 ] && [ $$b = 0 ] || exit 1; \
	fi
	@sh examples/ddp_check.sh $(EXCHECK)/examples/ddp_fashion_mnist "$(MPIRUN) $(MPIRUN_FLAGS)" $(EXCHECK)/examples-scalar/ddp_fashion_mnist

# ---- the character-level language model (examples/char_lm.c) ----
#   make demo-lm           train it on Debian's English word list (wamerican): the validation loss
#                          per epoch, then a dozen sampled words; under a minute on the 2-core machine
#                          (LM_ARGS passes options, e.g. LM_ARGS=--rmsnorm)
#   make demo-lm-compare   the same run, then its PyTorch twin, and the two final validation losses
# One OpenBLAS thread, as the demo (DEMO_THREADS): the same command prints the same numbers.
LM_PACKAGES     = wamerican libopenblas-dev
LM_ARGS        ?=
EXAMPLES       += char_lm
TEST_PACKAGES  += wamerican

.PHONY: demo-lm demo-lm-compare

$(EX)/char_lm: examples/char_lm.c $(EXAMPLE_HEADERS)
	@mkdir -p $(@D)
	$(CC) $(EXAMPLE_CFLAGS) $< -o $@ -lopenblas -lm

demo-lm:
	@sh tools/need-packages.sh $(LM_PACKAGES)
	@$(MAKE) --no-print-directory $(EX)/char_lm
	OPENBLAS_NUM_THREADS=$(DEMO_THREADS) $(EX)/char_lm $(LM_ARGS)

demo-lm-compare:
	@sh tools/need-packages.sh $(LM_PACKAGES) $(TWIN_PACKAGES)
	@$(MAKE) --no-print-directory $(EX)/char_lm
	@mkdir -p $(DEMO_OUT)
	@# tee, and char_lm's own exit status (sh has no pipefail)
	{ OPENBLAS_NUM_THREADS=$(DEMO_THREADS) $(EX)/char_lm $(LM_ARGS); echo $$? > $(DEMO_OUT)/char_lm.status; } | tee $(DEMO_OUT)/char_lm.txt; \
		exit $$(cat $(DEMO_OUT)/char_lm.status)
	OPENBLAS_NUM_THREADS=$(DEMO_THREADS) OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 examples/char_lm_torch.py \
		--threads $(DEMO_THREADS) $(LM_ARGS) --compare $(DEMO_OUT)/char_lm.txt
