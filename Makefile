# The two commands a new user runs: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home

.PHONY: run test ui sample-data clean-warehouse env

env: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is required (found %s)" % sys.version.split()[0])'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

run: $(STAMP)
	@mkdir -p "$(DAGSTER_HOME)"
	$(BIN)/nhv-pipeline run --all

test: $(STAMP)
	$(BIN)/python -m pytest -q

ui: $(STAMP)
	@mkdir -p "$(DAGSTER_HOME)"
	$(BIN)/dagster dev --host 127.0.0.1 --port 3000

sample-data: $(STAMP)
	$(BIN)/nhv-pipeline sample-data --out data_raw --seed 20260331
