# Every target uses the one environment in .venv, created on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
CONFIG ?= feeds_config

.PHONY: install install-test run check test test-slow lint typecheck golden clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Stamp files: reinstall only when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test,dev]'
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

# Serve the sample on http://127.0.0.1:8080/ (SYNDICATE_* variables change settings).
run: install
	$(BIN)/syndicate serve --config $(CONFIG)

check: install
	$(BIN)/syndicate check $(CONFIG)

test: install-test
	$(BIN)/python -m pytest

# The property tests with many more examples than `make test` runs.
test-slow: install-test
	SYNDICATE_HYPOTHESIS_EXAMPLES=5000 $(BIN)/python -m pytest tests/test_hostile.py

lint: install-test
	$(BIN)/ruff check syndicate tests
	$(BIN)/ruff format --check syndicate tests

typecheck: install-test
	$(BIN)/mypy

# The only way golden files change: review the diff before committing it.
golden: install-test
	$(BIN)/python -m tests.golden

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
