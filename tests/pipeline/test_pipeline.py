"""The whole pipeline as a user runs it: `nhv-pipeline run --all` on the sample deliveries."""

from __future__ import annotations

import json
import re

import duckdb
import pandas as pd
import pytest
from dagster import DagsterInstance, DagsterRunStatus

from nhv_pipeline.conditions import registered
from nhv_pipeline.indicators import make_catalogue
from pipeline_helpers import make_workspace, tree_digest

CATALOGUE = make_catalogue(registered())

PUBLICATION_FILES = {
    "indicator_results.csv",
    "indicator_results.parquet",
    "indicator_results.json",
    "indicator_catalogue.json",
    "datapackage.json",
    "manifest.json",
    "index.html",
}


def test_run_all_succeeds_and_says_where_the_results_are(full_run):
    workspace, completed = full_run
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "report year 2024: succeeded" in completed.stderr
    assert "report year 2026: succeeded" in completed.stderr
    assert str(workspace.warehouse / "published") in completed.stderr


@pytest.mark.parametrize("report_year", [2024, 2025, 2026])
def test_each_delivered_report_year_has_a_complete_publication(full_run, report_year):
    workspace, _ = full_run
    folder = workspace.warehouse / "published" / str(report_year)
    assert {p.name for p in folder.iterdir()} == PUBLICATION_FILES
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["report_year"] == report_year
    assert any(f["path"] == f"{report_year}/sct_ssc/akademiska/patients.csv" for f in manifest["raw_files"])


@pytest.mark.conformance
def test_every_indicator_is_published_from_its_first_report_year(full_run):
    workspace, _ = full_run
    for report_year in (2024, 2025, 2026):
        results = pd.read_csv(workspace.warehouse / "published" / str(report_year) / "indicator_results.csv")
        produced = set(zip(results["condition_id"], results["indicator_id"]))
        expected = {(i.condition_id, i.indicator_id) for i in CATALOGUE if report_year >= i.first_report_year}
        assert produced == expected, report_year


def test_r2_of_2026_reads_the_transplants_delivered_in_2024(full_run):
    """The lag is real: R2's denominator at riket equals the 2023 transplants of D(2024)."""
    workspace, _ = full_run
    with duckdb.connect(str(workspace.warehouse / "nhv.duckdb"), read_only=True) as con:
        cohort = con.execute(
            "select count(*) from staged.sct_ssc_transplants where report_year = 2024 "
            "and reinfusion_date between '2023-01-01' and '2023-12-31'"
        ).fetchone()[0]
        denominator = con.execute(
            "select denominator from results.sct_ssc_R2 where report_year = 2026 "
            "and level = 'riket' and breakdown = 'total'"
        ).fetchone()[0]
    assert cohort > 0
    assert denominator == cohort


def test_validation_reports_exist_for_every_delivering_unit_and_are_empty(full_run):
    workspace, _ = full_run
    report = workspace.warehouse / "validation" / "2026" / "sct_ssc" / "akademiska.csv"
    assert report.read_text(encoding="utf-8-sig").strip() == "fil;rad;kolumn;regel;meddelande"
    assert (workspace.warehouse / "validation" / "2026" / "skeletal_dysplasia" / "karolinska_sd.csv").is_file()


def test_runs_are_recorded_in_the_dagster_home(full_run, monkeypatch):
    workspace, _ = full_run
    monkeypatch.setenv("DAGSTER_HOME", str(workspace.dagster_home))
    with DagsterInstance.get() as instance:
        runs = instance.get_runs()
    finished = [r for r in runs if r.tags.get("nhv/run") == "nhv_full" and r.status == DagsterRunStatus.SUCCESS]
    assert sorted(r.tags.get("dagster/partition") for r in finished) == ["2024", "2025", "2026"]


def test_unsuppressed_results_stay_in_the_warehouse(full_run):
    """PUBLICATION.md 3: the published CSV never shows 1 <= n < 5; the internal table does."""
    workspace, _ = full_run
    published = pd.read_csv(workspace.warehouse / "published" / "2026" / "indicator_results.csv")
    assert not ((published["n"] >= 1) & (published["n"] < 5)).any()
    with duckdb.connect(str(workspace.warehouse / "nhv.duckdb"), read_only=True) as con:
        internal = con.execute("select n from results.indicator_results where report_year = 2026").df()
    assert ((internal["n"] >= 1) & (internal["n"] < 5)).any()


def test_rerunning_a_report_year_gives_byte_identical_results_files(tmp_path, sample_data):
    workspace = make_workspace(tmp_path, sample_data)
    first = workspace.cli("run", "--report-year", "2025")
    assert first.returncode == 0, first.stderr[-3000:]
    folder = workspace.warehouse / "published" / "2025"
    before = tree_digest(folder)
    second = workspace.cli("run", "--report-year", "2025")
    assert second.returncode == 0, second.stderr[-3000:]
    after = tree_digest(folder)
    for name in ("indicator_results.csv", "indicator_results.parquet", "indicator_results.json"):
        assert before[name] == after[name], name
    # The earlier delivery R1 reads was loaded first, without a separate command.
    assert "nhv_deliveries for report year 2024" in first.stderr
    assert "nhv_deliveries for report year 2024" not in second.stderr


def test_a_lagged_indicator_refuses_to_run_on_deliveries_never_loaded(tmp_path, sample_data):
    """Running 2026 alone through Dagster (not the CLI, which loads D(2024), D(2025) first) must not
    silently compute R1/R2/B2 on missing deliveries: they are not computed, the run fails and says what
    to run, and sct_ssc has no part in the publication (skeletal_dysplasia, with no lag, has its own)."""
    from dagster import DagsterEventType

    from nhv_pipeline.definitions import build_definitions
    from nhv_pipeline.orchestration.jobs import FULL, execute_in_process

    defs = build_definitions(str(sample_data), str(tmp_path / "warehouse"))
    with DagsterInstance.ephemeral() as instance:
        result = execute_in_process(defs, FULL, 2026, instance=instance, raise_on_error=False)
    failures = [e for e in result.all_events if e.event_type == DagsterEventType.STEP_FAILURE]
    messages = " ".join(e.step_failure_data.user_failure_data.description or "" for e in failures if e.step_failure_data.user_failure_data)
    assert not result.success
    assert "have not been loaded into the warehouse" in messages
    assert "nhv-pipeline run --report-year 2024" in messages
    folder = tmp_path / "warehouse" / "published" / "2026"
    conditions = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["conditions"]
    assert conditions["sct_ssc"]["status"] == "withheld"
    assert "have not been loaded into the warehouse" in conditions["sct_ssc"]["reason"]
    rows = (folder / "indicator_results.csv").read_text(encoding="utf-8").splitlines()[1:]
    assert {row.split(",")[1] for row in rows} == {"skeletal_dysplasia"}


def _events(workspace, event_type):
    from dagster import EventRecordsFilter

    instance = DagsterInstance.from_config(str(workspace.dagster_home))
    try:
        runs = {run.run_id: run for run in instance.get_runs()}
        records = instance.get_event_records(EventRecordsFilter(event_type=event_type), limit=100000)
        return [(runs[r.event_log_entry.run_id], r.event_log_entry.dagster_event) for r in records]
    finally:
        instance.dispose()


@pytest.mark.conformance
def test_every_check_evaluation_carries_the_report_year_of_its_run(full_run):
    """The UI tells a failed 2025 check from a passed 2026 one: each evaluation has its partition."""
    from dagster import DagsterEventType

    workspace, _ = full_run
    evaluations = _events(workspace, DagsterEventType.ASSET_CHECK_EVALUATION)
    checks = {event.asset_check_evaluation_data.check_name for _, event in evaluations}
    assert {"registry_contract", "contract", "delivery_contract", "riket_is_sum_of_units"} <= checks
    for run, event in evaluations:
        assert event.asset_check_evaluation_data.partition == run.tags["dagster/partition"], event.asset_check_evaluation_data


def test_numbers_in_metadata_keep_their_type_and_years_are_not_plotted(full_run):
    """A count is an int (never 102.0), and a report year is text, so no plot draws a year axis as 2,024.8."""
    from dagster import DagsterEventType, FloatMetadataValue, IntMetadataValue, MarkdownMetadataValue

    workspace, _ = full_run
    entries = []
    for _, event in _events(workspace, DagsterEventType.ASSET_CHECK_EVALUATION):
        entries += event.asset_check_evaluation_data.metadata.items()
    for _, event in _events(workspace, DagsterEventType.ASSET_MATERIALIZATION):
        entries += event.step_materialization_data.materialization.metadata.items()
    assert any(isinstance(value, IntMetadataValue) for _, value in entries)
    tables = [value.value for _, value in entries if isinstance(value, MarkdownMetadataValue)]
    assert any("| 102 |" in table for table in tables)  # B1's count at riket, in n and in value
    assert not [table for table in tables if re.search(r"\| -?\d+\.0 \|", table)]
    for name, value in entries:
        if isinstance(value, FloatMetadataValue):
            assert value.value is None or not float(value.value).is_integer(), (name, value)
        if isinstance(value, IntMetadataValue):
            assert not (2000 <= value.value <= 2100 and ("year" in name or name == "compared_with")), name


@pytest.fixture(scope="module")
def ended_permit(tmp_path_factory, sample_data):
    """akademiska's permit ends on 2023-12-31 and it delivers no more: D(2024) is its last delivery."""
    import shutil

    workspace = make_workspace(tmp_path_factory.mktemp("ended_permit"), sample_data)
    units = workspace.data_raw / "units.csv"
    # sct_ssc's line only (an area the session registers may have a unit of the same id).
    line = "\nsct_ssc,akademiska,Akademiska sjukhuset,2023-01-01,\n"
    text = units.read_text(encoding="utf-8")
    assert text.count(line) == 1
    units.write_text(text.replace(line, line[:-1] + "2023-12-31\n"), encoding="utf-8")
    for year in ("2025", "2026"):
        shutil.rmtree(workspace.data_raw / year / "sct_ssc" / "akademiska")
    completed = workspace.cli("run", "--all")
    return workspace, completed


def test_a_unit_whose_permit_ended_blocks_no_later_year(ended_permit):
    """INDICATORS.md 1, Units in a report year: its cohorts are not followed up after its permit ended."""
    workspace, completed = ended_permit
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "Traceback" not in completed.stderr and "ValueError" not in completed.stderr
    for year in (2025, 2026):
        results = pd.read_csv(workspace.warehouse / "published" / str(year) / "indicator_results.csv", dtype=str)
        assert "akademiska" not in set(results.loc[results["condition_id"] == "sct_ssc", "unit_id"].dropna()), year
        manifest = json.loads((workspace.warehouse / "published" / str(year) / "manifest.json").read_text(encoding="utf-8"))
        notes = manifest["units_not_followed_up"]
        assert len(notes) == 1 and notes[0]["unit_id"] == "akademiska" and notes[0]["permit_end"] == "2023-12-31"
        assert "2023-12-31" in notes[0]["note"]
    lines = [line for line in completed.stderr.splitlines() if "akademiska" in line and "permit ended" in line]
    assert len(lines) >= 2, completed.stderr[-3000:]  # one line per report year in the log
    results_2024 = pd.read_csv(workspace.warehouse / "published" / "2024" / "indicator_results.csv", dtype=str)
    # its own year is published as before
    assert "akademiska" in set(results_2024.loc[results_2024["condition_id"] == "sct_ssc", "unit_id"].dropna())
    manifest_2024 = json.loads((workspace.warehouse / "published" / "2024" / "manifest.json").read_text(encoding="utf-8"))
    assert "units_not_followed_up" not in manifest_2024
