# Two commands on a fresh machine: `make demo` and `make test`.
# Both create .venv in the repo and install evalkit into it; the install is
# skipped when pyproject.toml has not changed since the last one.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test test-fast bench lint sample clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: install
	$(BIN)/evalkit run datasets/sample/demo.toml --out reports/demo --jobs 2
	@echo "Report: reports/demo/index.html"

test: install
	$(BIN)/python -m pytest

test-fast: install
	$(BIN)/python -m pytest -m "not slow and not browser"

bench: install
	$(BIN)/python -m pytest tests/benchmarks --benchmark-enable --benchmark-only

lint: install
	$(BIN)/ruff check evalkit tests
	$(BIN)/ruff format --check evalkit tests

# Regenerates the committed sample dataset (deterministic).
sample: install
	$(BIN)/evalkit sample datasets/sample

clean:
	rm -rf $(VENV) reports/demo .pytest_cache
