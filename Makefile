# The verbs people expect. Every target does its own set-up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
EXAMPLE := examples/worker-connections

.PHONY: setup deps demo test lint bench fuzz fuzz-native serve chat clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP)

# System packages the integration tests use: a real nginx and patch (Debian packages).
# Installed only when asked (`make deps`, which .ci/run calls) and only as root with apt-get;
# without them those tests skip with the reason (CI makes them mandatory).
deps:
	@if { command -v nginx >/dev/null 2>&1 || test -x /usr/sbin/nginx; } && command -v patch >/dev/null 2>&1; then \
		echo "nginx: $$(/usr/sbin/nginx -v 2>&1), patch: $$(patch --version | head -1)"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing nginx and patch (Debian packages)"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			-o Dpkg::Options::=--force-confold nginx patch >/dev/null) \
			|| echo "nginx could not be installed; nginx integration tests will skip"; \
	else \
		echo "nginx or patch missing and not root: the real-nginx tests will skip"; \
	fi

demo: setup
	$(BIN)/nginx-triage diagnose $(EXAMPLE)/error.log $(EXAMPLE)/nginx-T.txt $(EXAMPLE)/worker-limits.txt

test: setup
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check bot tests bench
	$(BIN)/ruff format --check bot tests bench
	$(BIN)/mypy --strict bot
	$(BIN)/lint-imports

# Each script exits non-zero when it misses its target; all of them run regardless (-).
bench: setup
	-$(BIN)/python bench/bench_startup.py
	-$(BIN)/python bench/bench_errorlog.py
	-$(BIN)/python bench/bench_slack.py
	-$(BIN)/python bench/bench_config.py
	-$(BIN)/python bench/soak_serve.py --turns $${SOAK_TURNS:-20000}
	-NGINX_TRIAGE_BURST=500 $(BIN)/python -m pytest -q -s -p no:cacheprovider tests/integration/test_slack_exactly_once.py -k burst

# The C scanner under AddressSanitizer + UBSan, fed >= NATIVE_FUZZ_LINES mutated and random lines
# (bounded by NATIVE_FUZZ_SECONDS). Any finding aborts with the sanitizer's report (non-zero exit).
FUZZ_DIR     := build/fuzz-native
NATIVE_FUZZ_LINES   ?= 100000
NATIVE_FUZZ_SECONDS ?= 120
CC           ?= cc
fuzz-native: setup
	@mkdir -p $(FUZZ_DIR)
	$(BIN)/python bot/native/layout.py $(FUZZ_DIR)/_fastscan_layout.h
	$(CC) -shared -fPIC -O1 -g -std=c99 -fno-omit-frame-pointer -fno-strict-aliasing \
		-fsanitize=address,undefined -fno-sanitize-recover=undefined \
		-I "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["include"])')" -I $(FUZZ_DIR) \
		bot/native/_fastscan.c -o $(FUZZ_DIR)/_fastscan.so
	LD_PRELOAD="$$($(CC) -print-file-name=libasan.so)" PYTHONMALLOC=malloc \
		ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:strict_string_checks=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		$(BIN)/python tests/fuzz/fuzz_native.py --module-dir $(FUZZ_DIR) --lines $(NATIVE_FUZZ_LINES) --seconds $(NATIVE_FUZZ_SECONDS)

# Fuzzing (issue 13): 100,000 inputs through match, diagnose and the conversation engine
# in-process (no exception, none over 2 s), then 2,000 whole-process CLI runs (no internal
# error). Full size by default; CI runs it at full size, bounded in time (see .ci/run).
fuzz: setup
	$(BIN)/python -m tests.fuzz.engine
	$(BIN)/python -m tests.fuzz.cli

serve: setup
	$(BIN)/nginx-triage serve --port $${PORT:-3000}

chat: setup
	$(BIN)/nginx-triage chat

clean:
	rm -rf $(VENV) bench/out .pytest_cache .mypy_cache .ruff_cache
