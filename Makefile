# glasstcp — the two commands a new user needs: `make demo` and `make test`.
BUILD_RELEASE ?= build/release
BUILD_TEST    ?= build/test
JOBS          ?= $(shell nproc 2>/dev/null || echo 2)
PREFIX        ?= /usr/local

# cmake's configure output (stdout) is shown only when it fails; its notices
# and errors (stderr), which name any missing Debian package, always are.
CONFIGURE = out=$$(cmake -S . $(1)) || { printf '%s\n' "$$out"; exit 1; }

.PHONY: all demo test deps toolchain build build-test install fuzz format clean

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

# Long libFuzzer campaigns, outside CI: see docs/fuzzing.md
fuzz:
	@$(call CONFIGURE,-B build/fuzz -DCMAKE_C_COMPILER=clang -DGT_FUZZ=ON -DGT_TESTS=OFF)
	@cmake --build build/fuzz -j $(JOBS)

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build
