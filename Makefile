# Shipyard developer entry points. Every target bootstraps .venv from pinned constraints.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# One venv, three layers: `make run` installs what the demo needs (the base package), `make
# test`/`make lint` add the dev set (PostgreSQL, S3, Dask, Ray, ONNX, boosting, Playwright …),
# `make bench` adds the competitors the benchmarks compare against. Byte-code is compiled on
# first import, not at install (--no-compile), so the venv holds only what runs.
PIP := $(BIN)/pip install -q --no-compile -c requirements/constraints.txt
RUN_STAMP := $(VENV)/.installed-run
STAMP := $(VENV)/.installed-dev
BENCH_STAMP := $(VENV)/.installed-bench
DOCS_STAMP := $(VENV)/.installed-docs

.PHONY: install test lint bench run docs clean audit

$(VENV)/.created:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	touch $@

$(RUN_STAMP): $(VENV)/.created pyproject.toml requirements/constraints.txt
	@echo "installing shipyard and what the demo needs into $(VENV) …"
	$(PIP) -e .
	touch $@

$(STAMP): $(RUN_STAMP)
	@echo "installing the dev and test set into $(VENV) …"
	$(PIP) -e '.[dev]'
	touch $@

$(BENCH_STAMP): $(STAMP)
	@echo "installing the benchmarks' competitors into $(VENV) …"
	$(PIP) -e '.[bench]'
	touch $@

$(DOCS_STAMP): $(STAMP)
	@echo "installing the documentation tools into $(VENV) …"
	$(PIP) -e '.[docs]'
	touch $@

install: $(STAMP)

test: $(STAMP)
	$(BIN)/pytest -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench docs/hooks
	$(BIN)/ruff format --check src tests bench docs/hooks
	$(BIN)/lint-imports
	$(BIN)/mypy

bench: $(BENCH_STAMP)
	$(BIN)/python bench/hashing.py
	$(BIN)/python bench/tracking.py $(BENCH_ARGS)
	$(BIN)/python bench/tracking_http.py
	$(BIN)/python bench/data.py $(BENCH_ARGS)
	$(BIN)/python bench/pipelines.py $(BENCH_ARGS)
	$(BIN)/python bench/registry.py
	$(BIN)/python bench/serving.py $(BENCH_ARGS)
	$(BIN)/python bench/monitoring.py $(BENCH_ARGS)
	$(BIN)/python bench/monitoring_logs.py $(BENCH_ARGS)
	$(BIN)/python bench/monitoring_fleet.py $(BENCH_ARGS)

# The site (mkdocs.yml): reference pages are generated from the code at build time; any
# warning (a broken link, a docstring mkdocstrings cannot read) fails the build.
docs: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

run: $(RUN_STAMP)
	$(BIN)/shipyard demo --path .demo --port $(or $(PORT),5005)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache site

audit: $(STAMP)
	PIP_AUDIT=$(BIN)/pip-audit scripts/audit_deps.sh
