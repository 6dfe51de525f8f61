"""The pure modules (contract, indicators, publication, submission, sample data) never load Dagster."""

from __future__ import annotations

import subprocess
import sys


def test_pure_modules_do_not_import_dagster():
    code = (
        "import sys\n"
        "import nhv_pipeline.contract, nhv_pipeline.indicators, nhv_pipeline.publication, nhv_pipeline.publication.parts\n"
        "import nhv_pipeline.core.sample_data, nhv_pipeline.orchestration.checks.invariants, nhv_pipeline.operations.runner\n"
        "import nhv_pipeline.submission.cells, nhv_pipeline.submission.contract, nhv_pipeline.submission.intake\n"
        "import nhv_pipeline.submission.combine\n"
        "import nhv_pipeline.submission.workbook, nhv_pipeline.submission.make\n"
        "print(sorted(m for m in sys.modules if m == 'dagster' or m.startswith('dagster.')))\n"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "[]"


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
