# Thin wrapper over CMake + ctest. The README's two commands use `make run` and `make test`.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
BUILD ?= build
BUILD_ASAN ?= build-asan
BUILD_FUZZ ?= build-fuzz
FUZZ_SECONDS ?= 20

.PHONY: all build test test-release test-asan fuzz bench run clean format lint

all: build

build:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

# Everything: release build + tests, the same under ASan+UBSan, then a short fuzz run.
test: test-release test-asan fuzz

test-release: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

test-asan:
	CC=gcc cmake -S . -B $(BUILD_ASAN) -DATTESTD_SANITIZE=ON >/dev/null
	cmake --build $(BUILD_ASAN) -j $(JOBS)
	cd $(BUILD_ASAN) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j $(JOBS)

# libFuzzer (clang): each target runs FUZZ_SECONDS from its seed corpus (copied to a scratch dir).
fuzz:
	CC=clang cmake -S . -B $(BUILD_FUZZ) -DATTESTD_FUZZ=ON >/dev/null
	cmake --build $(BUILD_FUZZ) -j $(JOBS)
	./scripts/run-fuzz.sh $(BUILD_FUZZ) $(FUZZ_SECONDS)

bench: build
	./scripts/run-bench.sh $(BUILD)
	@if [ -x bench/bench_http.sh ]; then bench/bench_http.sh $(BUILD) && \
		BENCH_AUDIT=1 bench/bench_http.sh $(BUILD); fi

# Start attestd with its embedded defaults: https://127.0.0.1:8443, store and a
# self-signed TLS certificate under ./run (curl --cacert run/tls/cert.pem ...).
DATA_DIR ?= run
# The store is encrypted at rest under $(DATA_DIR)/kek.key (made once, mode 0600).
run: build
	mkdir -p $(DATA_DIR)
	test -f $(DATA_DIR)/kek.key || ./$(BUILD)/attestctl key generate --out $(DATA_DIR)/kek.key
	./$(BUILD)/attestd --data-dir $(DATA_DIR) --kek-file $(DATA_DIR)/kek.key

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

lint: build
	clang-tidy -p $(BUILD) $$(git ls-files 'src/*.c')

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_FUZZ)
