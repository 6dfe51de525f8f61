"""The report years an operator sees per asset, and the years each dependency reads.

Whatever Dagster class carries them, an asset has the report years from its first one through
the as-of year, and an indicator's dependency on a staged table reads the deliveries of its
catalogue window, R+start..R+end, that exist (a year before the table begins is simply absent).
Every other dependency reads only years its upstream asset has. `dagster definitions validate`
checks these definitions for every asset and dependency; at 70 areas that check must not walk
a calendar (croniter) per asset, which took most of its time.
"""

from __future__ import annotations

import cProfile
import pstats

import pytest
from dagster import AssetKey

from nhv_pipeline.conditions import registered
from nhv_pipeline.definitions import build_definitions
from nhv_pipeline.indicators import make_catalogue
from nhv_pipeline.orchestration.partitions import FIRST_REPORT_YEAR, last_report_year

pytestmark = pytest.mark.unit


def _graph(tmp_path):
    return build_definitions(str(tmp_path), str(tmp_path / "warehouse")).resolve_asset_graph()


def _keys(graph, key: AssetKey) -> list[str]:
    return list(graph.get(key).partitions_def.get_partition_keys())


def _upstream_years(graph, child: AssetKey, parent: AssetKey, year: str) -> set[str]:
    """The upstream years that report year `year` of `child` reads, as Dagster maps them."""
    child_def, parent_def = graph.get(child).partitions_def, graph.get(parent).partitions_def
    mapping = graph.get_partition_mapping(child, parent)
    result = mapping.get_upstream_mapped_partitions_result_for_partitions(
        child_def.empty_subset().with_partition_keys([year]), child_def, parent_def
    )
    assert not result.required_but_nonexistent_subset.get_partition_keys(), (child, parent, year)
    return set(result.partitions_subset.get_partition_keys())


@pytest.fixture
def graph(monkeypatch, tmp_path):
    """Today's graph: an indicator of a specification version applying from next year has no year yet."""
    monkeypatch.delenv("NHV_AS_OF", raising=False)
    return _graph(tmp_path)


def test_every_asset_has_consecutive_report_years_through_the_as_of_year(graph):
    last = last_report_year()
    for key in graph.materializable_asset_keys:
        keys = _keys(graph, key)
        if keys:  # an indicator of a version applying from a later year has none yet
            assert keys == [str(year) for year in range(int(keys[0]), last + 1)], key
            assert int(keys[0]) >= FIRST_REPORT_YEAR, key
    assert _keys(graph, AssetKey(["registry", "units"])) == [str(y) for y in range(FIRST_REPORT_YEAR, last + 1)]


def test_each_indicator_reads_the_deliveries_of_its_window_that_exist(graph):
    checked = 0
    for indicator in make_catalogue(registered()):
        child = AssetKey(["results", indicator.condition_id, indicator.indicator_id.replace("Ö", "O")])
        for spec in indicator.inputs:
            parent = AssetKey(["staged", indicator.condition_id, spec.table])
            existing = set(_keys(graph, parent))
            start, end = spec.offsets
            for year in _keys(graph, child):
                window = {str(int(year) + lag) for lag in range(start, end + 1)}
                reads = _upstream_years(graph, child, parent, year)
                # The widest window of the step's indicators over the table (B2 pools three years).
                assert window & existing <= reads <= existing, (child, parent, year)
                assert all(int(year) + min(start, -2) <= int(y) <= int(year) for y in reads), (child, parent, year)
                checked += 1
    assert checked


def test_r2_of_2026_reads_the_transplants_of_2024_and_the_followup_of_2026(graph):
    r2 = AssetKey(["results", "sct_ssc", "R2"])
    assert _upstream_years(graph, r2, AssetKey(["staged", "sct_ssc", "transplants"]), "2026") == {"2024"}
    assert _upstream_years(graph, r2, AssetKey(["staged", "sct_ssc", "followup"]), "2026") == {"2026"}


def test_no_dependency_asks_for_a_year_its_upstream_asset_does_not_have(graph):
    """Between assets that begin in different years, a year is read from the same year, if it exists."""
    for key in graph.materializable_asset_keys:
        for parent in graph.get(key).parent_keys:
            if graph.get(parent).partitions_def is None:
                continue
            existing = set(_keys(graph, parent))
            windowed = (key.path[0] == "results" and len(key.path) == 3 and parent.path[0] == "staged") or (
                key.path[0] == "published" and parent.path[0] == "raw"  # the publication's delivery inventories
            )
            for year in _keys(graph, key):
                reads = _upstream_years(graph, key, parent, year)
                assert reads <= existing, (key, parent, year)
                if not windowed:
                    assert reads == {year} & existing, (key, parent, year)


def test_the_publication_reads_the_inventories_of_the_oldest_window(graph):
    oldest = min(spec.offsets[0] for indicator in make_catalogue(registered()) for spec in indicator.inputs)
    publication = AssetKey(["published", "publication"])
    delivery = AssetKey(["raw", "sct_ssc", "delivery"])
    assert publication in {child for child in graph.get(delivery).child_keys}
    assert _upstream_years(graph, publication, delivery, "2026") == {str(2026 + lag) for lag in range(oldest, 1)}
    assert _upstream_years(graph, publication, delivery, "2024") == {"2024"}
    # skeletal dysplasia begins in 2026: its deliveries of 2024 and 2025 do not exist.
    assert _upstream_years(graph, publication, AssetKey(["raw", "skeletal_dysplasia", "delivery"]), "2026") == {"2026"}


def test_validating_the_partitions_does_not_walk_a_calendar(graph):
    """`dagster definitions validate`'s partition check: no cron iteration per asset (issue 25)."""
    profile = cProfile.Profile()
    profile.runcall(graph.validate_partitions)
    calls = pstats.Stats(profile).stats  # (file, line, function) -> (calls, ...)
    cron = {function for (file, _, function) in calls if "croniter" in file}
    assert cron == set(), f"croniter called while validating the partitions: {sorted(cron)[:5]}"
