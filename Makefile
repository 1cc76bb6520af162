# The verbs people expect. Every target does its own set-up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
EXAMPLE := examples/worker-connections

.PHONY: setup deps demo test lint bench fuzz serve chat clean

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

bench: setup
	$(BIN)/python bench/bench_config.py
	$(BIN)/python bench/bench_errorlog.py
	$(BIN)/python bench/bench_slack.py

# Fuzzing (issue 13): 100,000 inputs through match, diagnose and the conversation engine
# in-process (no exception, none over 2 s), then 2,000 whole-process CLI runs (no internal
# error). Full size by default; CI bounds it with FUZZ_SECONDS / FUZZ_CLI_RUNS (see .ci/run).
fuzz: setup
	$(BIN)/python -m tests.fuzz.engine
	$(BIN)/python -m tests.fuzz.cli

serve: setup
	$(BIN)/nginx-triage serve --port $${PORT:-3000}

chat: setup
	$(BIN)/nginx-triage chat

clean:
	rm -rf $(VENV) bench/out .pytest_cache .mypy_cache .ruff_cache
