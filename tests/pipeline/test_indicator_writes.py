"""The indicator steps store their result tables themselves, with the step's verdicts, in one transaction:
Dagster is handed no rows (no IO manager call, no HANDLED_OUTPUT event per indicator), the materializations
keep their metadata and Dagster's own data versions, an error in one indicator stays with it, and a machine
fault stops the run with nothing of the step stored."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest
from dagster import DagsterInstance

from nhv_pipeline.conditions import get_condition, registered
from nhv_pipeline.definitions import build_definitions
from nhv_pipeline.indicators import make_catalogue
from nhv_pipeline.orchestration.assets.indicators import indicator_key, key_name, step_groups
from nhv_pipeline.orchestration.jobs import FULL, execute_in_process

YEAR = 2024
CONDITION = "sct_ssc"
QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


def _first_step() -> tuple[list[str], str]:
    """The indicator ids of the condition's first step of YEAR, and the one made to fail (not the step's first)."""
    condition = get_condition(CONDITION)
    groups = step_groups(
        [condition.latest(indicator_id) for indicator_id in condition.indicator_ids],
        lambda indicator: condition.first_report_year_of(indicator.indicator_id),
    )
    group = next(g for g in groups if len(g) >= 3 and condition.first_report_year_of(g[0].indicator_id) <= YEAR)
    return [indicator.indicator_id for indicator in group], group[-2].indicator_id


def _stored(warehouse: Path, indicator_id: str) -> pd.DataFrame:
    with duckdb.connect(str(warehouse / "nhv.duckdb"), read_only=True) as con:
        return con.execute(
            f'select * from results."{CONDITION}_{key_name(indicator_id)}" where report_year = ? order by all', [YEAR]
        ).df()


def _verdicts(warehouse: Path) -> pd.DataFrame:
    with duckdb.connect(str(warehouse / "nhv.duckdb"), read_only=True) as con:
        return con.execute(
            "select * from results._verdicts where report_year = ? and condition_id = ? order by stage", [YEAR, CONDITION]
        ).df()


@pytest.fixture
def first_run(tmp_path, sample_data):
    """The definitions, an instance and the warehouse after one successful run of YEAR."""
    warehouse = tmp_path / "warehouse"
    defs = build_definitions(str(sample_data), str(warehouse))
    with DagsterInstance.ephemeral() as instance:
        result = execute_in_process(defs, FULL, YEAR, instance=instance, run_config=QUIET, raise_on_error=False)
        assert result.success
        yield defs, instance, warehouse, result


def test_the_indicator_steps_store_their_tables_and_hand_dagster_no_rows(first_run):
    _, _, warehouse, result = first_run
    materialized = {event.asset_key: event for event in result.get_asset_materialization_events()}
    handled = {(event.step_key, event.event_specific_data.output_name) for event in result.all_events if event.is_handled_output}
    assert not [step for step, _ in handled if step.startswith("indicators_")]
    keys = [
        indicator_key(i.condition_id, i.indicator_id)
        for i in make_catalogue(registered())
        if get_condition(i.condition_id).first_report_year_of(i.indicator_id) <= YEAR
    ]
    assert keys
    with duckdb.connect(str(warehouse / "nhv.duckdb"), read_only=True) as con:
        for key in keys:
            event = materialized[key]
            metadata = event.materialization.metadata
            assert set(metadata) == {"row_count", "period", "spec_version", "national_rows", "warehouse_table"}
            table = f"{key.path[1]}_{key.path[2]}"
            stored = con.execute(f'select count(*) from results."{table}" where report_year = ?', [YEAR]).fetchone()[0]
            assert metadata["row_count"].value == stored
            assert metadata["warehouse_table"].value == f"results.{table}"
            # Dagster's own data version (from the code version and the inputs' versions), as through the IO manager.
            tags = event.materialization.tags or {}
            assert tags.get("dagster/data_version") and "dagster/data_version_is_user_provided" not in tags
            assert not isinstance(result.output_for_node(event.step_key, key_name(key.path[2])), pd.DataFrame)


def _patched_compute(monkeypatch, failing: str, error: Exception) -> None:
    """Every indicator of CONDITION computes other rows (a changed label), `failing` raises `error`."""
    import nhv_pipeline.orchestration.assets.indicators as indicator_assets

    real_compute = indicator_assets.compute

    def compute(indicator, *args, **kwargs):
        if indicator.condition_id != CONDITION:
            return real_compute(indicator, *args, **kwargs)
        if indicator.indicator_id == failing:
            raise error
        return real_compute(indicator, *args, **kwargs).assign(breakdown_label="changed")

    monkeypatch.setattr(indicator_assets, "compute", compute)


def test_a_machine_fault_in_one_indicator_stops_the_run_and_stores_nothing_of_its_step(first_run, monkeypatch):
    defs, instance, warehouse, _ = first_run
    indicator_ids, failing = _first_step()
    before = {indicator_id: _stored(warehouse, indicator_id) for indicator_id in indicator_ids}
    assert any(len(rows) for rows in before.values())
    stages = [f"indicator {indicator_id}" for indicator_id in indicator_ids]
    verdicts = _verdicts(warehouse).set_index("stage").loc[stages]
    _patched_compute(monkeypatch, failing, OSError("No space left on device"))
    result = execute_in_process(defs, FULL, YEAR, instance=instance, run_config=QUIET, raise_on_error=False)
    assert not result.success
    assert [event.step_key for event in result.all_events if event.is_step_failure] == [f"indicators_{CONDITION}_1"]
    # The indicators computed before the fault and after it: none stored, no verdict of the step recorded.
    for indicator_id in indicator_ids:
        pd.testing.assert_frame_equal(_stored(warehouse, indicator_id), before[indicator_id])
    pd.testing.assert_frame_equal(_verdicts(warehouse).set_index("stage").loc[stages], verdicts)


def test_an_error_in_one_indicator_stays_with_it_and_the_others_of_its_step_are_stored(first_run, monkeypatch):
    defs, instance, warehouse, _ = first_run
    indicator_ids, failing = _first_step()
    before = {indicator_id: _stored(warehouse, indicator_id) for indicator_id in indicator_ids}
    _patched_compute(monkeypatch, failing, ZeroDivisionError("a value that must not be shown"))
    result = execute_in_process(defs, FULL, YEAR, instance=instance, run_config=QUIET, raise_on_error=False)
    assert not [event.step_key for event in result.all_events if event.is_step_failure and event.step_key.startswith("indicators_")]
    for indicator_id in indicator_ids:
        stored = _stored(warehouse, indicator_id)
        if indicator_id == failing:
            pd.testing.assert_frame_equal(stored, before[indicator_id])  # left as it was
        else:
            assert len(stored) == len(before[indicator_id])
            assert set(stored["breakdown_label"]) <= {"changed"}
    materialization = next(
        event.materialization for event in result.get_asset_materialization_events()
        if event.asset_key == indicator_key(CONDITION, failing)
    )
    assert set(materialization.metadata) == {"computed", "not_computed_because"}
    assert materialization.metadata["computed"].value is False
    assert "ZeroDivisionError" in materialization.metadata["not_computed_because"].value
    verdicts = _verdicts(warehouse).set_index("stage")
    assert not verdicts.loc[f"indicator {failing}", "passed"]
    assert all(verdicts.loc[f"indicator {indicator_id}", "passed"] for indicator_id in indicator_ids if indicator_id != failing)
