"""The disclosure audit in real runs: a differencing attack on the published CSVs recovers nothing.

The attacker (``differencing.py``) reads only the published files; the true
figures come from the warehouse's unsuppressed results, to check that the
attack is sound (the truth is always inside its ranges) and that no range is
narrower than the threshold.
"""

from __future__ import annotations

import functools
import os

import duckdb
import pandas as pd
import pytest
from dagster import DagsterEventType, DagsterInstance

from differencing import attack, read_published
from pipeline_helpers import Workspace, assert_part_not_replaced, make_workspace, tree_digest

THRESHOLD = 5


def _attack_report(workspace: Workspace) -> pd.DataFrame:
    ranges = attack(read_published(workspace.warehouse / "published"))
    with duckdb.connect(str(workspace.warehouse / "nhv.duckdb"), read_only=True) as con:
        truth = con.execute("select * from results.indicator_results").df()
    truth["unit_id"] = truth["unit_id"].fillna("").astype(str)
    key = ["report_year", "condition_id", "indicator_id", "measure", "level", "unit_id", "breakdown", "breakdown_value"]
    merged = ranges.merge(truth[key + ["n"]], on=key, how="left", validate="one_to_one")
    assert merged["n"].notna().all()
    return merged


def _check(merged: pd.DataFrame, label: str) -> None:
    width = merged["high"] - merged["low"]
    # Sound: the true n is inside every range the attacker found.
    assert ((merged["low"] <= merged["n"]) & (merged["n"] <= merged["high"])).all()
    # Nothing recovered, nothing narrowed below the threshold.
    assert not (width == 0).any(), merged[width == 0]
    assert not (width < THRESHOLD).any(), merged[width < THRESHOLD]
    bounded = int((width < float("inf")).sum())
    print(f"{label}: {len(merged)} suppressed cells, {bounded} bounded, narrowest {width.min()}, none recovered")


def test_no_suppressed_cell_can_be_recovered_from_the_sample_publication(full_run):
    workspace, completed = full_run
    assert completed.returncode == 0, completed.stderr
    merged = _attack_report(workspace)
    assert len(merged) > 50
    _check(merged, "sample 1x")


@pytest.fixture(scope="module")
def scaled_run(tmp_path_factory) -> Workspace:
    root = tmp_path_factory.mktemp("scale10")
    raw = root / "generated"
    generator = Workspace(data_raw=raw, warehouse=root / "unused", dagster_home=root)
    made = generator.cli("sample-data", "--out", str(raw), "--scale", "10")
    assert made.returncode == 0, made.stderr
    workspace = make_workspace(root / "run", raw)
    completed = workspace.cli("run", "--all", timeout=900)
    assert completed.returncode == 0, completed.stderr
    return workspace


def test_no_suppressed_cell_can_be_recovered_at_ten_times_the_sample(scaled_run):
    merged = _attack_report(scaled_run)
    assert len(merged) > 50
    _check(merged, "sample 10x")


def test_the_audit_check_is_recorded_per_report_year(full_run, monkeypatch):
    workspace, _ = full_run
    monkeypatch.setenv("DAGSTER_HOME", str(workspace.dagster_home))
    seen, by_reason = {}, {}
    with DagsterInstance.get() as instance:
        for run in instance.get_runs():
            for record in instance.all_logs(run.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION):
                evaluation = record.dagster_event.event_specific_data
                if evaluation.check_name == "disclosure_audit":
                    seen[evaluation.partition] = evaluation
            for record in instance.all_logs(run.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION):
                materialization = record.dagster_event.event_specific_data.materialization
                if materialization.asset_key.to_user_string() == "published/indicator_results":
                    by_reason[materialization.partition] = materialization.metadata["suppressed_by_reason"].value
    assert sorted(seen) == ["2024", "2025", "2026"]
    assert sorted(by_reason) == sorted(seen)
    for year, evaluation in seen.items():
        assert evaluation.passed
        assert evaluation.asset_key.to_user_string() == "published/indicator_results"
        metadata = {k: v.value for k, v in evaluation.metadata.items()}
        assert metadata["cells_audited"] > 0
        assert metadata["narrowest_range"] >= THRESHOLD
        # The cells withheld beyond the primary rule's include every cell marked for the audit; a cell
        # the audit withholds may be marked complementary (a breakdown withheld whole), never small_n.
        reasons = by_reason[year]
        assert reasons.get("audit", 0) <= metadata["extra_cells_suppressed"] <= sum(reasons.values()) - reasons["small_n"]
        assert metadata["cells_not_protected"] == []


def test_an_unmet_audit_fails_the_run_and_leaves_the_publication_untouched(tmp_path, sample_data, monkeypatch):
    """The check fails when the audit cannot be met (here: no extra suppression allowed); sct_ssc keeps
    its part. It is the only shipped condition of 2024, so the publication is not touched (an area the
    session registers may pass its own audit and be published again: `assert_part_not_replaced`)."""
    import nhv_pipeline.publication.parts as parts
    from nhv_pipeline.publication.audit import protect
    from nhv_pipeline.operations.runner import run_report_years

    workspace = make_workspace(tmp_path, sample_data)
    for name, value in {"DAGSTER_HOME": str(workspace.dagster_home), "NHV_DATA_RAW": str(workspace.data_raw),
                        "NHV_WAREHOUSE_DIR": str(workspace.warehouse)}.items():
        monkeypatch.setenv(name, value)
    assert run_report_years(workspace.data_raw, workspace.warehouse, 2024, run_all=False, quiet=True) == 0
    folder = workspace.warehouse / "published" / "2024"
    before = tree_digest(folder)
    sct_ssc_only = "select * from published.indicator_results where condition_id = 'sct_ssc' order by all"
    with duckdb.connect(str(workspace.warehouse / "nhv.duckdb"), read_only=True) as con:
        stored = con.execute(sct_ssc_only).df()

    monkeypatch.setattr(parts, "protect", functools.partial(protect, max_rounds=0, withhold_breakdowns=False))
    assert run_report_years(workspace.data_raw, workspace.warehouse, 2024, run_all=False, quiet=True) == 1

    assert_part_not_replaced(folder, before, "sct_ssc", 2024)
    with duckdb.connect(str(workspace.warehouse / "nhv.duckdb"), read_only=True) as con:
        pd.testing.assert_frame_equal(con.execute(sct_ssc_only).df(), stored)
    with DagsterInstance.get() as instance:
        last = instance.get_runs(limit=1)[0]
        evaluations = [
            r.dagster_event.event_specific_data
            for r in instance.all_logs(last.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION)
            if r.dagster_event.event_specific_data.check_name == "disclosure_audit"
        ]
    assert [(e.passed, e.partition) for e in evaluations] == [(False, "2024")]
    unmet = evaluations[0].metadata["cells_not_protected"].value
    assert unmet and all(cell.startswith("2024 ") for cell in unmet)
    assert os.environ["DAGSTER_HOME"] == str(workspace.dagster_home)
