"""The asset graph materialised in this process, one report year at a time.

`dagster.materialize(partition_key=)` wants one partitions definition for every selected asset,
and the areas of one run begin in different report years (a third area from 2025 beside one
from 2024): `materialize_report_year` runs Dagster's implicit asset job with the year as the
partition tag instead.

No subprocess, no Dagster home: an ephemeral instance and a temporary warehouse, the way
Dagster's own guides test assets. The CLI tests cover the command line; these cover the
graph: what each layer writes for a partition, and that a failed contract check stops the
staged layer of its condition.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import duckdb
import pytest
from dagster import AssetKey, DagsterInstance

from nhv_pipeline.definitions import all_assets
from nhv_pipeline.orchestration.jobs import materialize_report_year
from nhv_pipeline.orchestration.partitions import has_report_year
from nhv_pipeline.orchestration.resources import PipelinePaths, warehouse_resources
from nhv_pipeline.orchestration.settings import NhvSettings


def _resources(data_raw, warehouse):
    return {
        "paths": PipelinePaths(data_raw=str(data_raw), warehouse_dir=str(warehouse)),
        **warehouse_resources(str(warehouse)),
        "settings": NhvSettings(),
    }


@pytest.fixture
def data_raw(tmp_path, sample_data):
    target = tmp_path / "data_raw"
    shutil.copytree(sample_data, target)
    return target


def _selection(assets, *prefixes: str, year: int = 2025):
    """The assets of these layers that have the report year (a condition begun later has none)."""
    return [
        key
        for asset in assets
        for key in asset.keys
        if key.path[0] in prefixes and has_report_year(asset.partitions_def, year)
    ]


def test_registry_raw_and_staged_of_one_report_year(tmp_path, data_raw):
    assets = all_assets()
    with DagsterInstance.ephemeral() as instance:
        result = materialize_report_year(
            assets, _selection(assets, "registry", "raw", "staged"), 2025,
            resources=_resources(data_raw, tmp_path / "warehouse"), instance=instance,
        )
    assert result.success
    evaluations = result.get_asset_check_evaluations()
    assert evaluations and all(evaluation.passed for evaluation in evaluations)
    with duckdb.connect(str(tmp_path / "warehouse" / "nhv.duckdb"), read_only=True) as con:
        years = con.execute("select distinct report_year from staged.sct_ssc_transplants").fetchall()
        units = con.execute("select count(distinct unit_id) from staged.sct_ssc_patients").fetchone()[0]
    assert years == [(2025,)]
    assert units == 2  # akademiska and karolinska; sus holds its permit from 2025, so delivers from D(2026)


def test_a_failed_contract_check_stops_the_staged_layer_in_process(tmp_path, data_raw):
    patients = data_raw / "2025" / "sct_ssc" / "akademiska" / "patients.csv"
    lines = patients.read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].replace(",K,", ",X,").replace(",M,", ",X,")
    patients.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assets = all_assets()
    with DagsterInstance.ephemeral() as instance:
        result = materialize_report_year(
            assets, _selection(assets, "registry", "raw", "staged"), 2025,
            resources=_resources(data_raw, tmp_path / "warehouse"), instance=instance, raise_on_error=False,
        )
        failed = {
            (e.asset_key.to_user_string(), e.check_name) for e in result.get_asset_check_evaluations() if not e.passed
        }
        staged = [
            event for event in result.get_asset_materialization_events()
            if event.asset_key == AssetKey(["staged", "sct_ssc", "patients"])
        ]
    assert ("raw/sct_ssc/patients", "contract") in failed
    assert ("raw/sct_ssc/delivery", "delivery_contract") in failed
    # The staged step goes on without staging (another condition's layers must not wait for it).
    assert [event.materialization.metadata["staged"].value for event in staged] == [False]
    with duckdb.connect(str(tmp_path / "warehouse" / "nhv.duckdb"), read_only=True) as con:
        tables = {row[0] for row in con.execute(
            "select table_name from information_schema.tables where table_schema = 'staged'").fetchall()}
    assert "sct_ssc_patients" not in tables, "a failed contract check must stop the staged layer"


def test_a_run_opens_the_warehouse_once_and_every_step_shares_that_connection(tmp_path, data_raw, monkeypatch):
    """The `warehouse` resource holds one DuckDB connection for the run; the IO manager and the
    assets that query the warehouse use it (no module-level state, no connection per step)."""
    from nhv_pipeline.orchestration import resources

    warehouse = tmp_path / "warehouse"
    opened: list[str] = []
    real_connect = resources.duckdb.connect

    def counting_connect(database=":memory:", *args, **kwargs):
        if str(database).startswith(str(warehouse)):
            opened.append(str(database))
        return real_connect(database, *args, **kwargs)

    monkeypatch.setattr(resources.duckdb, "connect", counting_connect)
    assets = all_assets()
    with DagsterInstance.ephemeral() as instance:
        result = materialize_report_year(
            assets, _selection(assets, "registry", "raw", "staged", "results", year=2024), 2024,
            resources=_resources(data_raw, warehouse), instance=instance,
        )
    assert result.success
    steps = {event.step_key for event in result.all_events if event.is_step_success}
    assert len(steps) > 5, steps  # registry, raw, staged, indicator and results steps all ran in this one run
    assert opened == [str(warehouse / "nhv.duckdb")]
    # Closed when the run ended: another process can take DuckDB's write lock at once.
    opened_elsewhere = subprocess.run(
        [sys.executable, "-c", "import duckdb, sys; duckdb.connect(sys.argv[1]).close()", opened[0]],
        capture_output=True, text=True, timeout=60,
    )
    assert opened_elsewhere.returncode == 0, opened_elsewhere.stderr
