# `make demo` and `make test` set everything up themselves: no activation, no manual step first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS := 180

.PHONY: demo test lint install clean

demo: $(STAMP)  ## Run the moderate flow once on the example thread and print what it flagged.
	$(BIN)/moderation run

test: $(STAMP)  ## Lint, type-check and run the whole test suite (what CI runs).
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest -n auto --maxprocesses 4  # workers each start their own Prefect server and WordPress

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy

install: $(STAMP)

# torch is pinned with detoxify in one install so pip takes the CPU build from local disk.
# --no-compile: byte-compiling every installed module took 82 of the install's 135 s on the 2-core machine;
# Python compiles the modules it imports on first use instead.
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --no-compile -c requirements.lock -e '.[dev]'
	touch $(STAMP)

clean:
	rm -rf $(VENV) moderation.db moderation.db-*
