# reporter: `make report` writes the demo report, `make test` runs the tests. Both set everything up.
VENV ?= .venv
PYTHON ?= python3
RUN ?= examples/iemocap-da
RUNS ?= examples
OUT ?= out
ARGS ?=
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
CLIENTS_VENV ?= .venv-clients
CLIENTS_STAMP := $(CLIENTS_VENV)/.installed

.PHONY: setup report nightly lint test test-clients golden catalogs bench clean

# compileall: pip compiles what it installs, but not an editable package; without it, a machine with
# PYTHONDONTWRITEBYTECODE set compiles ~100 modules again in every process (0.1-0.2 s of CPU per report).
$(STAMP): pyproject.toml scripts/setup-system.sh
	./scripts/setup-system.sh
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[tensorboard,dask]'
	$(BIN)/python -m compileall -q reporter
	touch $(STAMP)

$(TEST_STAMP): $(STAMP)
	./scripts/setup-system.sh --test
	$(BIN)/pip install --quiet -e '.[test,tensorboard]'
	touch $(TEST_STAMP)

setup: $(STAMP)  ## install system packages, the virtualenv and reporter

report: $(STAMP)  ## make report [RUN=dir-or-run-id] [OUT=out] [ARGS='--lang en']
	$(BIN)/reporter report "$(RUN)" --out "$(OUT)" $(ARGS)

nightly: $(STAMP)  ## make nightly RUNS=/data/runs [OUT=out]: every run under RUNS, changed ones only
	$(BIN)/reporter batch "$(RUNS)" --out "$(OUT)" $(ARGS)

lint: $(TEST_STAMP)  ## ruff (lint and import order) and mypy over reporter/
	$(BIN)/ruff check reporter tests tools bench
	$(BIN)/mypy

test: lint  ## lint, then run the test suite (installs Chromium for the browser tests)
	$(BIN)/python -m pytest -q

# torch==2.13.0 first: pip then takes the CPU wheel, and lightning/transformers find torch satisfied.
$(CLIENTS_STAMP): pyproject.toml scripts/setup-system.sh
	./scripts/setup-system.sh
	$(PYTHON) -m venv $(CLIENTS_VENV)
	$(CLIENTS_VENV)/bin/pip install --quiet --upgrade pip
	$(CLIENTS_VENV)/bin/pip install --quiet torch==2.13.0
	$(CLIENTS_VENV)/bin/pip install --quiet -e '.[test-clients,tensorboard]'
	touch $(CLIENTS_STAMP)

test-clients: $(CLIENTS_STAMP)  ## write a run with each real library (MLflow, TensorBoard, Lightning, HF, Keras, W&B) and report on it
	$(CLIENTS_VENV)/bin/python -m pytest -q tests/clients

golden: $(TEST_STAMP)  ## rewrite the golden reports after an intended change; review the diff
	REPORTER_REGENERATE_GOLDEN=1 $(BIN)/python -m pytest -q tests/test_golden.py tests/test_compare.py -k golden

catalogs: $(STAMP)  ## re-extract messages from the templates into the zh/en catalogs
	$(BIN)/python tools/update_catalogs.py

bench: $(STAMP)  ## benchmarks: issue 16's table first, then projection speed, single-report time (not part of the tests)
	$(BIN)/python bench/table.py
	$(BIN)/python bench/projection.py
	$(BIN)/python bench/report.py
	$(BIN)/python bench/parse.py
	$(BIN)/python bench/clustering.py
	$(BIN)/python bench/batch.py
	$(BIN)/python bench/batch.py --memory 5,30,100,500
	$(BIN)/python bench/recorder.py
	$(BIN)/reporter backtest ../shared/curves/curves.jsonl

clean:
	rm -rf $(VENV) $(CLIENTS_VENV) $(OUT) .pytest_cache
