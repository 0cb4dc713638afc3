# immunomod: the README's two commands are `make demo` and `make test`.
# Both create .venv on a fresh machine and install what they need; nothing is installed by hand.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
LINT_PATHS := $(wildcard src tests benchmarks scripts)

.PHONY: demo test lint typecheck unit kb validate bench clean

$(PY):
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "immunomod needs Python >= 3.11"'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Re-install when the project metadata changes.
$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@ $(VENV)/.installed

## demo: install and run the main job on the embedded SQLite knowledge base
demo: $(VENV)/.installed
	$(BIN)/immunomod kb stats
	$(BIN)/immunomod info humira
	$(BIN)/immunomod info keytruda --view patient
	$(BIN)/immunomod condition "rheumatoid arthritis"
	$(BIN)/immunomod classes

## test: dev dependencies, then lint, type checks and the whole test suite
test: $(VENV)/.installed-dev lint typecheck unit

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy src

unit: $(VENV)/.installed-dev
	$(BIN)/pytest -q

## validate / kb: check the YAML sources; rebuild the shipped SQLite file from them
validate: $(VENV)/.installed-dev
	$(BIN)/immunomod kb validate

kb: $(VENV)/.installed-dev
	$(BIN)/immunomod kb build

$(VENV)/.installed-bench: pyproject.toml | $(VENV)/.installed-dev
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	@touch $@

## bench: the figures reported in the README (benchmarks/results/*.json)
bench: $(VENV)/.installed-bench
	$(PY) benchmarks/bench_kb.py
	$(PY) benchmarks/bench_resolver.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
