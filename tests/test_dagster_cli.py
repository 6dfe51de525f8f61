"""Dagster's own commands find the code location without -m/-f, as a user runs them from the repository."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DAGSTER = Path(sys.executable).parent / "dagster"


def _dagster(tmp_path, *args):
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "NHV_DATA_RAW": str(REPO_ROOT / "data_raw"),
        "NHV_WAREHOUSE_DIR": str(tmp_path / "warehouse"),
        "DAGSTER_DISABLE_TELEMETRY": "1",
    }
    return subprocess.run([str(DAGSTER), *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_definitions_validate_finds_the_code_location_from_pyproject(tmp_path):
    completed = _dagster(tmp_path, "definitions", "validate")
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert "Validation successful for code location nhv_pipeline" in completed.stdout + completed.stderr


def test_asset_materialize_needs_no_module_option(tmp_path):
    completed = _dagster(tmp_path, "asset", "materialize", "--select", "registry/units", "--partition", "2026")
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert "RUN_SUCCESS" in completed.stderr
    assert (tmp_path / "warehouse" / "nhv.duckdb").is_file()
