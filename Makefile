# immunomod: the README's two commands are `make demo` and `make test`.
# Both create .venv on a fresh machine and install what they need; nothing is installed by hand.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
LINT_PATHS := $(wildcard src tests benchmarks scripts fuzz)

.PHONY: demo test system-deps lint typecheck unit audit fuzz kb derive validate bench bench-batch load soak clean

$(PY):
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "immunomod needs Python >= 3.11"'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Re-install when the project metadata changes.
$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	@touch $@

# The suite includes the Spark engine's test (DuckDB and Spark outputs must be identical).
$(VENV)/.installed-dev: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[dev,spark]'
	@touch $@ $(VENV)/.installed

## demo: install and run the main job on the embedded SQLite knowledge base
demo: $(VENV)/.installed
	$(BIN)/immunomod kb stats
	$(BIN)/immunomod info humira
	$(BIN)/immunomod info keytruda --view patient
	$(BIN)/immunomod condition "rheumatoid arthritis"
	$(BIN)/immunomod classes
	$(BIN)/immunomod resolve "Stopped pred in May; MTX 20mg weekly, Amgevita 40mg eow; metformin 500mg bd"
	$(BIN)/immunomod assess examples/regimen.json

## test: dev dependencies (and Chromium/Pango when missing), then lint, type checks, all tests
test: $(VENV)/.installed-dev system-deps lint typecheck unit audit

system-deps:
	@bash scripts/install_system_deps.sh

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy src

unit: $(VENV)/.installed-dev
	$(BIN)/pytest -q

## audit: known vulnerabilities in the installed packages (pip-audit); says so plainly, without
## failing, when no vulnerability database can be reached (AUDIT_STRICT=1 makes that an error)
audit: $(VENV)/.installed-dev
	$(PY) scripts/audit.py

$(VENV)/.installed-fuzz: pyproject.toml | $(VENV)/.installed-dev
	$(PY) -m pip install --quiet -e '.[dev,fuzz]'
	@touch $@

## fuzz: coverage-guided fuzzing (atheris) of the resolver and the sig parser, corpus seeded
## from tests/data/resolver_dev.csv; each target stops at FUZZ_RUNS runs or FUZZ_SECONDS
FUZZ_RUNS ?= 200000
FUZZ_SECONDS ?= 300
fuzz: $(VENV)/.installed-fuzz
	$(PY) fuzz/run.py --runs $(FUZZ_RUNS) --seconds $(FUZZ_SECONDS)

## validate / kb: check the YAML sources; rebuild the shipped SQLite file from them
validate: $(VENV)/.installed-dev
	$(BIN)/immunomod kb validate

kb: $(VENV)/.installed-dev
	$(BIN)/immunomod kb build

## derive: refresh everything derived from ../shared/data, in dependency order, then rebuild.
## Needs ../shared and Debian's wamerican-large (installed here if missing).
SHARED ?= ../shared
derive: $(VENV)/.installed-dev
	@test -f /usr/share/dict/american-english-large || apt-get install -y -q wamerican-large
	$(PY) scripts/derive_scope.py --shared $(SHARED)
	$(PY) scripts/derive_names.py --shared $(SHARED) --out src/immunomod/knowledge/data/derived/names.yaml
	$(PY) scripts/derive_other_drugs.py --shared $(SHARED)
	$(BIN)/immunomod kb build
	$(PY) scripts/derive_near_words.py
	$(PY) scripts/derive_codes.py --shared $(SHARED)
	$(PY) scripts/derive_test_tables.py --shared $(SHARED)
	$(PY) scripts/build_resolver_devset.py --shared $(SHARED)

$(VENV)/.installed-bench: pyproject.toml | $(VENV)/.installed-dev
	$(PY) -m pip install --quiet -e '.[dev,spark,bench]'
	@touch $@

## bench: the figures reported in the README (benchmarks/results/*.json)
bench: $(VENV)/.installed-bench
	$(PY) benchmarks/bench_kb.py
	$(PY) benchmarks/bench_resolver.py
	$(PY) benchmarks/bench_assess.py
	$(PY) benchmarks/bench_web.py
	$(PY) benchmarks/bench_batch.py --rows 1000000

## bench-batch: the batch figures at 1 M and 10 M rows (DuckDB, floor, pandas, Spark); ~15 min
bench-batch: $(VENV)/.installed-bench system-deps
	$(PY) benchmarks/bench_batch.py --rows 1000000 10000000

## load: a real server on 127.0.0.1 under a mixed load (resolve, assess, drug pages, CDS Hooks):
## 60 s at 500 req/s on 2 workers, then the highest rate with p99 < 50 ms for 2 and 1 workers.
## Writes benchmarks/results/load.json and load-1worker.json; fails on any error. ~3 min
load: $(VENV)/.installed-dev
	$(PY) benchmarks/load.py --workers 2 --rate 500 --duration 60 --find-max --step-start 300
	$(PY) benchmarks/load.py --workers 1 --duration 0 --find-max --step-start 150 \
		--out benchmarks/results/load-1worker.json

## soak: 10 min at 300 req/s on 2 workers; fails on any error or server RSS growth >= 10 %
soak: $(VENV)/.installed-dev
	$(PY) benchmarks/load.py --soak --workers 2 --rate 300 --duration 600

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
