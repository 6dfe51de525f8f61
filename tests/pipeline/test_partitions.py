"""Only the report years that can exist: every asset begins at its own first report year.

Issue "Only the partitions that can exist": a condition's raw and staged assets begin at
the condition's first report year (the March run after its start), an indicator's at the
first report year it is produced in, and the assets over every condition (the registry,
the union of results, the publication) at the earliest of them. After `run --all` every
report year of every asset up to the last delivered one is materialized: the UI shows no
year "Missing" for ever, and no empty materialization of a year before an indicator exists.
"""

from __future__ import annotations

import pytest
from dagster import AssetKey, DagsterInstance

from nhv_pipeline.conditions import registered
from nhv_pipeline.orchestration.graph import build_definitions
from nhv_pipeline.orchestration.partitions import first_report_year


def _indicator_key(condition_id: str, indicator_id: str) -> AssetKey:
    return AssetKey(["results", condition_id, indicator_id.replace("Ö", "O")])


def expected_first_years() -> dict[AssetKey, int]:
    """asset key -> its first report year, from the conditions' starts and catalogues alone."""
    first: dict[AssetKey, int] = {}
    for condition in registered():
        condition_first = condition.start.year + 1  # the first measurement year is the start's year
        for table in condition.table_names:
            first[AssetKey(["raw", condition.condition_id, table])] = condition_first
            first[AssetKey(["staged", condition.condition_id, table])] = condition_first
        first[AssetKey(["raw", condition.condition_id, "delivery"])] = condition_first
        for layer in ("raw", "staged"):  # the units' own figures (SUBMISSION.md), beside the tables
            first[AssetKey([layer, condition.condition_id, "submission"])] = condition_first
        for spec in condition.specifications:
            for indicator in spec.indicators:
                key = _indicator_key(condition.condition_id, indicator.indicator_id)
                year = max(spec.from_report_year, indicator.first_report_year)
                first[key] = min(first.get(key, year), year)
    earliest = min(condition.start.year + 1 for condition in registered())
    for shared in (["registry", "units"], ["results", "indicator_results"], ["published", "indicator_results"],
                   ["published", "publication"]):
        first[AssetKey(shared)] = earliest
    return first


def _graph(workspace=None):
    if workspace is None:
        return build_definitions("/nonexistent/data_raw", "/nonexistent/warehouse").resolve_asset_graph()
    return build_definitions(str(workspace.data_raw), str(workspace.warehouse)).resolve_asset_graph()


@pytest.mark.conformance
def test_every_asset_begins_at_its_own_first_report_year():
    graph = _graph()
    expected = expected_first_years()
    assert set(graph.materializable_asset_keys) == set(expected)
    # The start, not the first key: an indicator of a version applying from a later year has no key yet.
    starts = {key: first_report_year(graph.get(key).partitions_def) for key in expected}
    wrong = {key.to_user_string(): (starts[key], year) for key, year in expected.items() if starts[key] != year}
    assert wrong == {}, "asset: (first partition, first report year)"


def test_skeletal_dysplasia_and_r2_begin_in_2026():
    """The two cases the issue names: a condition started in 2025 and an indicator produced from 2026."""
    graph = _graph()
    assert graph.get(AssetKey(["staged", "skeletal_dysplasia", "patients"])).partitions_def.get_first_partition_key() == "2026"
    assert graph.get(AssetKey(["raw", "skeletal_dysplasia", "delivery"])).partitions_def.get_first_partition_key() == "2026"
    assert graph.get(AssetKey(["results", "sct_ssc", "R2"])).partitions_def.get_first_partition_key() == "2026"
    assert graph.get(AssetKey(["results", "sct_ssc", "B1"])).partitions_def.get_first_partition_key() == "2024"


@pytest.mark.conformance
def test_after_run_all_every_report_year_of_every_asset_is_materialized_and_no_other(full_run):
    """No permanent gap ("Missing") and no materialization of a year before an asset exists."""
    workspace, completed = full_run
    assert completed.returncode == 0, completed.stderr[-3000:]
    last = max(int(p.name) for p in workspace.data_raw.iterdir() if p.is_dir() and p.name.isdigit())
    graph = _graph(workspace)
    expected = expected_first_years()
    with DagsterInstance.from_config(str(workspace.dagster_home)) as instance:
        problems = {}
        for key, first in expected.items():
            materialized = {int(year) for year in instance.get_materialized_partitions(key)}
            wanted = set(range(first, last + 1))
            if materialized != wanted:
                problems[key.to_user_string()] = (sorted(materialized), sorted(wanted))
            # The UI's "Missing": a partition of the asset up to the last delivered year never materialized.
            missing = {int(k) for k in graph.get(key).partitions_def.get_partition_keys() if int(k) <= last} - materialized
            assert not missing, (key.to_user_string(), sorted(missing))
    assert problems == {}, "asset: (materialized, expected)"


@pytest.mark.conformance
def test_no_indicator_records_an_empty_year_before_it_starts(full_run):
    workspace, completed = full_run
    assert completed.returncode == 0, completed.stderr[-3000:]
    expected = expected_first_years()
    with DagsterInstance.from_config(str(workspace.dagster_home)) as instance:
        early = {}
        for key, first in expected.items():
            if key.path[0] != "results" or len(key.path) != 3:
                continue
            events = instance.fetch_materializations(key, limit=1000).records
            years = sorted({int(e.partition_key) for e in events if int(e.partition_key) < first})
            if years:
                early[key.to_user_string()] = years
    assert early == {}


def test_a_delivery_for_a_year_before_its_condition_begins_fails_that_year(tmp_path, sample_data):
    """No asset of the condition has that year, so the run checks the folder itself: outside the permit."""
    import shutil

    from pipeline_helpers import make_workspace

    workspace = make_workspace(tmp_path, sample_data)
    shutil.copytree(workspace.data_raw / "2026" / "skeletal_dysplasia", workspace.data_raw / "2025" / "skeletal_dysplasia")
    completed = workspace.cli("run", "--report-year", "2025", "--quiet")
    assert completed.returncode == 1, completed.stderr[-3000:]
    assert "FAILED 2025 skeletal_dysplasia karolinska_sd 2025/skeletal_dysplasia/karolinska_sd" in completed.stderr
    assert "[outside_permit]" in completed.stderr
    assert "Report year 2025: FAILED" in completed.stderr
    report = workspace.warehouse / "validation" / "2025" / "skeletal_dysplasia" / "karolinska_sd.csv"
    assert "outside_permit" in report.read_text(encoding="utf-8-sig")
