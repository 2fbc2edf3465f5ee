# The single entry point for people: `make demo` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: demo token test lint typecheck pytest bench system-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(VENV)/.installed $@

## demo: set up and run the embedded default (SQLite, demo covenant, demo sources)
demo: $(VENV)/.installed
	$(BIN)/ketenpoort demo

## token: an access token for gemeente-demo from the running demo (PARTY=... for another)
PARTY ?= gemeente-demo
token: $(VENV)/.installed
	@$(BIN)/ketenpoort demo-token --party $(PARTY)

## system-deps: Debian packages the browser tests need (headless Chromium)
system-deps:
	@sh scripts/system-deps.sh

CODE := $(wildcard gateway connectors)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check $(wildcard gateway connectors tests bench)
	$(BIN)/ruff format --check $(CODE)
	$(BIN)/lint-imports

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy $(CODE)

## pytest: every database test runs on SQLite and on PostgreSQL (KETENPOORT_TEST_POSTGRES_URL)
pytest: $(VENV)/.installed-dev system-deps
	$(BIN)/python -m pytest -q -p no:cacheprovider --backends=sqlite,postgresql

## test: set up and run lint, strict type checks and the test suite on both databases
test: lint typecheck pytest

## bench: every benchmark (query load from wrk, installed by system-deps); tables in bench/results/
bench: $(VENV)/.installed-dev system-deps
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
