# glasstcp — the two commands a new user needs: `make demo` and `make test`.
BUILD_RELEASE ?= build/release
BUILD_TEST    ?= build/test
JOBS          ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all demo test deps build build-test fuzz format clean

all: build

deps:
	@bash scripts/install-deps.sh

build:
	@cmake -S . -B $(BUILD_RELEASE) -DCMAKE_BUILD_TYPE=Release -DGT_TESTS=OFF >/dev/null
	@cmake --build $(BUILD_RELEASE) -j $(JOBS)

demo: build
	@$(BUILD_RELEASE)/glasstcp demo close

build-test: deps
	@cmake -S . -B $(BUILD_TEST) -DCMAKE_BUILD_TYPE=Debug -DGT_SANITIZE=ON >/dev/null
	@cmake --build $(BUILD_TEST) -j $(JOBS)

test: build-test
	@ctest --test-dir $(BUILD_TEST) --output-on-failure -j $(JOBS)

# Long libFuzzer campaigns, outside CI: see docs/fuzzing.md
fuzz:
	@cmake -S . -B build/fuzz -DCMAKE_C_COMPILER=clang -DGT_FUZZ=ON -DGT_TESTS=OFF >/dev/null
	@cmake --build build/fuzz -j $(JOBS)

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build
