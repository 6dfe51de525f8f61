"""The layers of the package: the pure ones (core, contract, indicators, publication, submission) never
load Dagster; the Dagster layer is `orchestration/` (with `definitions.py`, the code location), the
command line and its operations are `operations/`."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import nhv_pipeline

PURE_PACKAGES = ("nhv_pipeline.core", "nhv_pipeline.contract", "nhv_pipeline.indicators", "nhv_pipeline.publication",
                 "nhv_pipeline.submission")
#: Modules of the other layers that are pure as well: the command line runs them before loading Dagster.
ALSO_PURE = ("nhv_pipeline.orchestration.checks.invariants", "nhv_pipeline.operations.runner")


def test_pure_modules_do_not_import_dagster():
    code = (
        "import importlib, json, pkgutil, sys\n"
        "names = []\n"
        f"for package in {PURE_PACKAGES!r}:\n"
        "    module = importlib.import_module(package)\n"
        "    names += [package, *(info.name for info in pkgutil.walk_packages(module.__path__, package + '.'))]\n"
        f"names += {ALSO_PURE!r}\n"
        "for name in names:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps([names, sorted(m for m in sys.modules if m == 'dagster' or m.startswith('dagster.'))]))\n"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    imported, dagster = json.loads(completed.stdout)
    assert dagster == []
    assert {"nhv_pipeline.core.condition", "nhv_pipeline.core.labels", "nhv_pipeline.core.periods",
            "nhv_pipeline.core.sample_data", "nhv_pipeline.contract.delivery", "nhv_pipeline.indicators.engine",
            "nhv_pipeline.publication.parts", "nhv_pipeline.submission.make", *ALSO_PURE} <= set(imported)


def test_the_package_root_holds_the_layers_and_the_code_location_only():
    root = Path(nhv_pipeline.__file__).parent
    modules = {info.name for info in pkgutil.iter_modules([str(root)])}
    # dagster_storage: the storage class's old module, which the dagster.yaml of an older Dagster home names.
    assert modules == {"core", "orchestration", "operations", "definitions", "conditions", "contract", "indicators",
                       "publication", "submission", "dagster_storage"}


def test_a_dagster_home_made_before_the_layout_changed_still_finds_its_storage_class():
    import importlib

    from nhv_pipeline.orchestration.storage import SqliteStorage

    old_name = "nhv_pipeline." + "dagster_storage"  # as an older dagster.yaml spells it
    assert importlib.import_module(old_name).SqliteStorage is SqliteStorage


def test_loading_the_definitions_leaves_the_publication_and_scipy_to_the_step():
    """`dagster dev`, the daemon and every run load the definitions: the audit's SciPy is loaded by the publish step."""
    code = (
        "import sys\n"
        "from nhv_pipeline.definitions import defs\n"
        "defs.resolve_asset_graph()\n"
        "print(sorted(m for m in ('scipy', 'openpyxl', 'nhv_pipeline.publication') if m in sys.modules))\n"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "[]"


def test_the_sensor_names_the_results_file_as_the_publication_does():
    """The sensor spells the file's name (it may not load the publication package); the two must agree."""
    from nhv_pipeline.orchestration.sensors import RESULTS_FILE
    from nhv_pipeline.publication.columns import RESULTS_CSV

    assert RESULTS_FILE == RESULTS_CSV
