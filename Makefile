# The two commands a new user runs: `make run` and `make test` (see README.md); `make check` is the
# fast lane while working: the in-process tests (markers unit and contract), no browser or database.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home

AXE := node_modules/axe-core/axe.min.js

.PHONY: run test check ui sample-data env browser axe postgres

env: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is required (found %s)" % sys.version.split()[0])'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@# `dagster asset materialize` (unlike `dagster dev`) does not read [tool.dagster] in pyproject.toml
	@# in Dagster 1.13; default its module option in this environment so it finds the code location too.
	echo "import os; os.environ.setdefault('DAGSTER_CLI_ASSET_MATERIALIZE_MODULE_NAME', 'nhv_pipeline.definitions')" \
	  > "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/nhv_dagster_cli.pth"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/nhv-pipeline run --all

test: $(STAMP) browser axe postgres
	$(BIN)/python -m pytest -q

check: $(STAMP)
	$(BIN)/python -m pytest -q -m "unit or contract"

# axe-core, which the browser tests inject into the preview page, pinned in package-lock.json.
axe: $(AXE)

$(AXE): package.json package-lock.json
	@if ! command -v npm >/dev/null 2>&1; then \
	  echo "Installing Debian's npm for axe-core (browser tests)"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq npm \
	    || { echo "Could not install npm; install Node.js and npm, then re-run." >&2; exit 1; }; \
	fi
	npm ci --no-audit --no-fund
	touch $(AXE)

# The browser tests drive Debian's Chromium through its ChromeDriver; install them when missing.
browser:
	@if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then \
	  echo "Installing Debian's chromium and chromium-driver for the browser tests"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium chromium-driver \
	    || { echo "Could not install chromium; install the Debian packages chromium and chromium-driver, then re-run." >&2; exit 1; }; \
	fi

# The scale-out test starts a throwaway PostgreSQL server; install Debian's when initdb/pg_ctl are missing
# (Debian keeps them in /usr/lib/postgresql/<version>/bin, off the PATH).
postgres:
	@if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then \
	  echo "Installing Debian's postgresql for the PostgreSQL scale-out test"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq postgresql \
	    || { echo "Could not install postgresql; install the Debian package postgresql, then re-run." >&2; exit 1; }; \
	fi

ui: $(STAMP)
	@$(BIN)/python -c 'from nhv_pipeline.operations.runner import dagster_home; dagster_home()'
	$(BIN)/dagster dev --host 127.0.0.1 --port 3000

sample-data: $(STAMP)
	$(BIN)/nhv-pipeline sample-data --out data_raw --seed 20260331
