# demo.mk - the examples and the flagship demo; included from the Makefile.
#   make examples        build every example into build/examples/
#   make demo            train the Fashion-MNIST MLP (examples/fashion_mnist.c): a progress line per
#                        epoch, the final accuracy and images/s, the learning curve as CSV and PNG
#                        (gnuplot) in build/demo/
#   make demo-compare    the same run, then its PyTorch twin, printed side by side
#                        (both take DEMO_ARGS, e.g. DEMO_ARGS=--small for a 10-second run)
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
# gnuplot-nox draws the learning curve's PNG.
DEMO_PACKAGES   = dataset-fashion-mnist libopenblas-dev zlib1g-dev gnuplot-nox
BLAS_PACKAGES   = libopenblas-dev zlib1g-dev
TWIN_PACKAGES   = python3-torch python3-numpy
EXAMPLES        = linear_regression batchnorm_sgd fashion_mnist $(if $(wildcard examples/lr_schedules.c),lr_schedules)
EXAMPLES       += layernorm_mlp
EXAMPLE_HEADERS = $(HEADERS) $(wildcard examples/*.h)

.PHONY: examples examples-deps demo-deps demo demo-compare examples-check

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

# $(call demo_plot,CSV,PNG[,TORCH_CSV]): the learning curve as a PNG (demo-deps installs gnuplot-nox).
demo_plot = gnuplot -e "csv='$(1)'; png='$(2)'; torch='$(3)'" examples/fashion_mnist_curve.gp && echo "learning curve: $(2)"

# Small sizes on two backends (scalar, and the CPU's own), outputs compared between them.
examples-check: examples-deps
	@$(MAKE) --no-print-directory $(foreach e,$(EXAMPLES),$(EX)/$(e))
	@$(MAKE) --no-print-directory EX=$(BUILD)/examples-scalar EXAMPLE_SIMD=-DTRAINOPT_NO_SIMD \
		$(foreach e,$(EXAMPLES),$(BUILD)/examples-scalar/$(e))
	@sh examples/check.sh $(EX) $(BUILD)/examples-scalar "$(EXAMPLES)"
