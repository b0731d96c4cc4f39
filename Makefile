# glasstcp — the two commands a new user needs: `make demo` and `make test`.
BUILD_RELEASE ?= build/release
BUILD_TEST    ?= build/test
JOBS          ?= $(shell nproc 2>/dev/null || echo 2)
PREFIX        ?= /usr/local

# cmake's configure output (stdout) is shown only when it fails; its notices
# and errors (stderr), which name any missing Debian package, always are.
CONFIGURE = out=$$(cmake -S . $(1)) || { printf '%s\n' "$$out"; exit 1; }

BUILD_BENCH   ?= build/bench

.PHONY: all demo test deps deps-fuzz deps-bench toolchain build build-test install fuzz fuzz-build fuzz-smoke bench bench-build bench-callgrind format clean

all: build

deps:
	@bash scripts/install-deps.sh

# `make demo` needs only cmake and a C compiler (the library needs nothing but
# libc; the CLI leaves out what jansson and libpcap give when they are
# missing): installed here as root when missing, else named.
toolchain:
	@command -v cmake >/dev/null && command -v cc >/dev/null || bash scripts/install-deps.sh --build

build: toolchain
	@$(call CONFIGURE,-B $(BUILD_RELEASE) -DCMAKE_BUILD_TYPE=Release -DGT_TESTS=OFF)
	@cmake --build $(BUILD_RELEASE) -j $(JOBS)

demo: build
	@$(BUILD_RELEASE)/glasstcp demo close

build-test: deps
	@$(call CONFIGURE,-B $(BUILD_TEST) -DCMAKE_BUILD_TYPE=Debug -DGT_SANITIZE=ON)
	@cmake --build $(BUILD_TEST) -j $(JOBS)

test: build-test
	@ctest --test-dir $(BUILD_TEST) --output-on-failure -j $(JOBS)

# The library, its headers, glasstcp.pc, the CMake package and the CLI
# (README.md, "Installing"): make install PREFIX=DIR
install: build
	@cmake --install $(BUILD_RELEASE) --prefix $(PREFIX)

# libFuzzer (clang, ASan, UBSan): see docs/fuzzing.md. `make fuzz` builds
# build/fuzz; with FUZZ_TIME=seconds it then runs a campaign, each target
# that long in turn on one core at nice 19, the grown corpora and any crashes
# kept in $(FUZZ_WORK). `make fuzz-smoke` (CI) runs each target
# FUZZ_SMOKE_TIME seconds on a temporary copy of its corpus and fails on a crash.
FUZZ_BUILD      ?= build/fuzz
FUZZ_TARGETS    ?= fuzz_input fuzz_options
FUZZ_TIME       ?= 0
FUZZ_SMOKE_TIME ?= 60
FUZZ_WORK       ?= fuzz-work

deps-fuzz:
	@bash scripts/install-deps.sh fuzz

fuzz-build: deps-fuzz
	@$(call CONFIGURE,-B $(FUZZ_BUILD) -DCMAKE_C_COMPILER=clang -DGT_FUZZ=ON -DGT_TESTS=OFF)
	@cmake --build $(FUZZ_BUILD) -j $(JOBS) --target $(FUZZ_TARGETS)

fuzz: fuzz-build
	@cmake --build $(FUZZ_BUILD) -j $(JOBS)
	@if [ "$(FUZZ_TIME)" -gt 0 ]; then \
	  nice -n 19 tests/fuzz/run.sh --keep-going --work $(FUZZ_WORK) $(FUZZ_BUILD) $(FUZZ_TIME) $(FUZZ_TARGETS); \
	fi

fuzz-smoke: fuzz-build
	@tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SMOKE_TIME) $(FUZZ_TARGETS)

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build

# glasstcp against Linux and lwIP, side by side in one run (bench/README.md):
# Release (-O2) in $(BUILD_BENCH). BENCH_BYTES, BENCH_RUNS, BENCH_CONNS.
deps-bench:
	@bash scripts/install-deps.sh bench

bench-build: deps-bench
	@$(call CONFIGURE,-B $(BUILD_BENCH) -DCMAKE_BUILD_TYPE=Release "-DCMAKE_C_FLAGS_RELEASE=-O2 -DNDEBUG" -DGT_TESTS=OFF)
	@cmake --build $(BUILD_BENCH) -j $(JOBS) --target glasstcp_bench

bench: bench-build
	@$(BUILD_BENCH)/bench/glasstcp_bench $(BENCH_ARGS)

# Instructions per byte and per segment of glasstcp's bulk transfer (both
# stacks, the link and the pattern check), under callgrind.
BENCH_CG_BYTES ?= 100000000
bench-callgrind: bench-build
	@bash bench/callgrind.sh $(BUILD_BENCH)/bench/glasstcp_bench $(BENCH_CG_BYTES)
