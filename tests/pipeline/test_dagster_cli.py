"""Dagster's own commands find the code location without -m/-f, as a user runs them from the repository."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
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


def test_asset_materialize_of_the_registry_refuses_a_fifo_units_csv_instead_of_hanging(tmp_path):
    import shutil

    data_raw = tmp_path / "data_raw"
    shutil.copytree(REPO_ROOT / "data_raw", data_raw)
    (data_raw / "units.csv").unlink()
    os.mkfifo(data_raw / "units.csv")
    home = tmp_path / "home"
    home.mkdir()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "NHV_DATA_RAW": str(data_raw),
        "NHV_WAREHOUSE_DIR": str(tmp_path / "warehouse"),
        "DAGSTER_DISABLE_TELEMETRY": "1",
    }
    command = [str(DAGSTER), "asset", "materialize", "--select", "registry/units", "--partition", "2026"]
    process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _, stderr = process.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.close(os.open(data_raw / "units.csv", os.O_WRONLY | os.O_NONBLOCK))  # let the blocked reader go
        process.kill()
        process.communicate()
        raise AssertionError("dagster asset materialize waited on a FIFO named units.csv") from None
    from dagster import DagsterEventType, DagsterInstance

    with DagsterInstance.from_config(str(home)) as instance:
        (run,) = instance.get_runs()
        evaluations = [
            entry.dagster_event.event_specific_data
            for entry in instance.all_logs(run.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION)
        ]
    (evaluation,) = evaluations
    assert evaluation.check_name == "registry_contract" and not evaluation.passed, stderr[-3000:]
    assert evaluation.metadata["failures_by_rule"].value == {"not_a_file": 1}
