# Shipyard developer entry points. Every target bootstraps .venv from pinned constraints.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test lint bench run clean

$(STAMP): pyproject.toml requirements/constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c requirements/constraints.txt -e '.[bench]'
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(BIN)/pytest -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/hashing.py
	$(BIN)/python bench/tracking.py $(BENCH_ARGS)
	$(BIN)/python bench/tracking_http.py
	$(BIN)/python bench/data.py $(BENCH_ARGS)
	$(BIN)/python bench/pipelines.py $(BENCH_ARGS)
	$(BIN)/python bench/registry.py
	$(BIN)/python bench/serving.py $(BENCH_ARGS)

run: $(STAMP)
	$(BIN)/shipyard demo --path .demo --port $(or $(PORT),5005)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
