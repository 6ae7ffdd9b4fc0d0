# The two commands a newcomer runs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
EXAMPLE := examples/offload-veth.pcap

.PHONY: run test lint typecheck pytest bench bench-diff venv clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	$(BIN)/python -m wiredoctor.native >/dev/null || true
	touch $@

$(VENV)/.installed-test: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -m wiredoctor.native >/dev/null || true
	touch $@ $(VENV)/.installed

venv: $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/wiredoctor check $(EXAMPLE); status=$$?; \
	  if [ $$status -gt 1 ]; then exit $$status; fi

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

pytest: $(VENV)/.installed-test
	$(BIN)/pytest -q

test: lint typecheck pytest

bench: $(VENV)/.installed-test
	$(BIN)/python benchmarks/run.py

bench-diff: $(VENV)/.installed-test
	$(BIN)/python benchmarks/diff_bench.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
