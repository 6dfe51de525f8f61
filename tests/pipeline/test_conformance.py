"""The conformance suite: what every registered condition must satisfy, derived from its own declarations.

Nothing here names an area. Each test iterates over the registered conditions (the shipped ones,
and any registered with NHV_CONDITION_MODULES, e.g. `register_third_condition` or
`benchmarks.forty_conditions`) and takes what it expects from the condition: its tables,
indicators, measures, breakdowns, populations, first years and specification versions. A
newcomer's area gets these tests by being registered; a failing one names the condition and
the declaration to fix.

    NHV_CONDITION_MODULES=my_area .venv/bin/python -m pytest -m conformance
"""

from __future__ import annotations

import itertools

import duckdb
import pandas as pd
import pytest

from nhv_pipeline.core import labels
from nhv_pipeline.conditions import registered
from nhv_pipeline.contract.rules import RULES
from nhv_pipeline.contract.schema import model_kinds, model_schema
from nhv_pipeline.indicators.model import CATEGORIES, DIRECTIONS, KINDS, measure_kind, period_for
from nhv_pipeline.orchestration.partitions import FIRST_REPORT_YEAR

pytestmark = pytest.mark.conformance

CONDITIONS = registered()
IDS = [condition.condition_id for condition in CONDITIONS]


def _declarations(condition):
    """(indicator, measure) of every version of every indicator of the condition."""
    return [
        (indicator, measure)
        for indicator_id in condition.indicator_ids
        for indicator in condition.versions_of(indicator_id)
        for measure in indicator.measures
    ]


@pytest.mark.parametrize("condition", CONDITIONS, ids=IDS)
def test_every_measure_names_the_population_its_n_counts(condition):
    """INDICATORS.md 1, PUBLICATION.md 3: each indicator's n (a proportion's denominator) counts a declared population."""
    missing = [f"{indicator.indicator_id}/{measure} ({indicator.spec_version})"
               for indicator, measure in _declarations(condition)
               if condition.counted_population(indicator, measure) is None]
    assert missing == [], (
        f"{condition.condition_id}: declare what these count with Indicator(counts=(Counts(<population>),)) "
        f"and the population in Condition(populations=...)"
    )


@pytest.mark.parametrize("condition", CONDITIONS, ids=IDS)
def test_every_measure_says_what_its_n_counts(condition):
    """SUBMISSION.md 7: the submission template tells the unit what N counts, for every measure."""
    missing = [f"{indicator.indicator_id}/{measure} ({indicator.spec_version})"
               for indicator, measure in _declarations(condition) if not indicator.n_counts_for(measure).strip()]
    assert missing == [], (
        f"{condition.condition_id}: say in Swedish what N counts with Indicator(n_counts=...) "
        f"(or measure_n_counts for one measure): {missing}"
    )


@pytest.mark.parametrize("condition", CONDITIONS, ids=IDS)
def test_every_measure_has_a_kind_and_a_swedish_name(condition):
    for indicator, measure in _declarations(condition):
        assert measure_kind(measure, condition) in KINDS, (
            f"{condition.condition_id}/{indicator.indicator_id}: measure {measure!r} needs a kind "
            "(Condition(measure_kinds={measure: 'count' | 'distribution' | 'proportion'}))"
        )
        assert labels.measure_name(measure, registered()) != measure, (
            f"{condition.condition_id}/{indicator.indicator_id}: measure {measure!r} needs a Swedish name "
            "(Condition(measure_names=...))"
        )
        assert indicator.category in CATEGORIES and indicator.direction in DIRECTIONS, indicator.key


@pytest.mark.parametrize("condition", CONDITIONS, ids=IDS)
def test_every_breakdown_has_a_swedish_name_and_labels(condition):
    for indicator, measure in _declarations(condition):
        for breakdown in indicator.breakdowns_for(measure):
            if breakdown == "total":
                continue
            own = breakdown in condition.breakdown_labels
            assert own or breakdown in labels.SHARED_BREAKDOWN_LABELS, (
                f"{condition.condition_id}/{indicator.indicator_id}: breakdown {breakdown!r} has no labels; "
                "give them in Condition(breakdown_labels={breakdown: {value: label}})"
            )
            assert labels.breakdown_name(breakdown, condition) != breakdown, (
                f"{condition.condition_id}: breakdown {breakdown!r} needs a Swedish name (Condition(breakdown_names=...))"
            )


@pytest.mark.parametrize("condition", CONDITIONS, ids=IDS)
def test_every_indicator_has_a_window_in_every_year_it_is_produced(condition):
    """INDICATORS.md 1: from its first report year on, under each version, every indicator has a window."""
    last = max(spec.from_report_year for spec in condition.specifications) + 1
    for indicator_id in condition.indicator_ids:
        first = condition.first_report_year_of(indicator_id)
        assert first >= condition.first_report_year, f"{condition.condition_id}/{indicator_id} begins before its condition"
        for year in range(max(first, FIRST_REPORT_YEAR), last + 1):
            for indicator in condition.indicators_for(year):
                if indicator.indicator_id == indicator_id and year >= indicator.first_report_year:
                    start, end = period_for(indicator, year)
                    assert condition.start <= start <= end, (condition.condition_id, indicator_id, year)
                    assert end.year < year, f"{indicator.key}: a window of report year {year} ends in {end}"


@pytest.mark.parametrize("condition", CONDITIONS, ids=IDS)
def test_every_column_and_table_rule_is_of_the_contract_vocabulary(condition):
    """DATA_CONTRACT.md 6: every failure names a rule of RULES (its Swedish summary goes to the unit)."""
    for table, model in condition.tables.items():
        assert set(model_kinds(model).values()) <= {"id", "text", "date", "bool", "code", "number"}, (condition.condition_id, table)
        for check in model_schema(model).checks:
            rule = check.name.split(".", 1)[0]
            assert rule in RULES, f"{condition.condition_id}/{table}: table rule {rule!r} is not in contract/rules.py RULES"


@pytest.mark.parametrize("condition", CONDITIONS, ids=IDS)
def test_every_condition_has_sample_units_and_deliveries(condition):
    assert condition.sample_units, f"{condition.condition_id}: list its sample units (Condition(sample_units=...))"
    assert condition.sample_data is not None, f"{condition.condition_id}: give a sample generator (Condition(sample_data=...))"
    assert {unit.condition_id for unit in condition.sample_units} == {condition.condition_id}


@pytest.mark.parametrize("condition", CONDITIONS, ids=IDS)
def test_derived_equal_populations_name_declared_measures(condition):
    measures = {(indicator.indicator_id, measure) for indicator, measure in _declarations(condition)}
    for equal in condition.equal_populations:
        assert equal.condition_id == condition.condition_id
        assert (equal.indicator_id, equal.measure) in measures and (equal.other_indicator_id, equal.other_measure) in measures
        assert equal.year_lag >= 0


# --- on the sample data: one run of every delivered report year --------------------------------------


@pytest.fixture(scope="module")
def sample_results(full_run) -> pd.DataFrame:
    workspace, completed = full_run
    assert completed.returncode == 0, completed.stderr[-3000:]
    with duckdb.connect(str(workspace.warehouse / "nhv.duckdb"), read_only=True) as con:
        return con.execute("select * from results.indicator_results").df()


@pytest.mark.parametrize("condition", CONDITIONS, ids=IDS)
def test_every_indicator_is_computed_in_every_year_it_exists(condition, sample_results, full_run):
    """The run selection holds each indicator from its own first year under the version in force (issue 24)."""
    workspace, _ = full_run
    delivered = sorted(int(p.name) for p in workspace.data_raw.iterdir() if p.is_dir() and p.name.isdigit())
    ours = sample_results[sample_results["condition_id"] == condition.condition_id]
    for year in delivered:
        expected = {i.indicator_id for i in condition.indicators_for(year) if year >= i.first_report_year}
        found = set(ours.loc[ours["report_year"] == year, "indicator_id"])
        assert found == expected, f"{condition.condition_id} {year}: computed {sorted(found)}, declared {sorted(expected)}"


def _n_by_key(frame: pd.DataFrame) -> dict[tuple, pd.Series]:
    key = ["level", "unit_id", "breakdown", "breakdown_value"]
    out = {}
    for (indicator_id, measure), rows in frame.groupby(["indicator_id", "measure"]):
        index = pd.MultiIndex.from_frame(rows[["report_year", *key]].astype(str).fillna(""))
        out[(indicator_id, measure)] = pd.Series(pd.to_numeric(rows["n"]).to_numpy(), index=index)
    return out


def undeclared_equal_pairs(condition, results: pd.DataFrame) -> list[str]:
    """Pairs of the condition's measures whose n are equal in every row they share (3 rows or more, not all
    zero), every year, while they name no common population (of the same report year)."""
    declared = {}
    for indicator, measure in _declarations(condition):
        counts = condition.counted_population(indicator, measure)
        if counts is not None:
            declared.setdefault((indicator.indicator_id, measure), set()).add((counts.population, counts.year))
    series = _n_by_key(results[results["condition_id"] == condition.condition_id])
    suspicious = []
    for a, b in itertools.combinations(sorted(series), 2):
        joined = pd.concat([series[a], series[b]], axis=1, join="inner").dropna()
        if len(joined) < 3 or (joined == 0).all().all() or not (joined.iloc[:, 0] == joined.iloc[:, 1]).all():
            continue
        if not declared.get(a, set()) & declared.get(b, set()):
            suspicious.append(f"{a[0]}/{a[1]} and {b[0]}/{b[1]} ({len(joined)} rows)")
    return suspicious


@pytest.mark.parametrize("condition", CONDITIONS, ids=IDS)
def test_measures_always_equal_on_the_sample_count_one_declared_population(condition, sample_results):
    """PUBLICATION.md 3: two published n that are equal in every row they share, every year, on the sample
    are most likely one population; the audit knows it only when the catalogue says so."""
    suspicious = undeclared_equal_pairs(condition, sample_results)
    assert suspicious == [], (
        f"{condition.condition_id}: these n are equal in every row of the sample but count populations not "
        f"declared the same; if they are one population, let both name it in `counts` (the audit then knows it), "
        f"else make the sample tell them apart: {suspicious}"
    )


def test_the_equality_finder_flags_undeclared_and_passes_declared_populations():
    """On hand-made rows: sct B3 and T2 count one declared population (not flagged); B3 and B4 are made
    equal everywhere though B4 counts the stays ended in P(R) (flagged); a difference in one row clears it."""
    from nhv_pipeline.conditions import get_condition

    condition = get_condition("sct_ssc")
    rows = []
    for indicator_id, measure in (("B3", "count"), ("T2", "distribution"), ("B4", "distribution")):
        for year in (2024, 2025):
            for level, unit, n in (("riket", None, 7), ("enhet", "a", 3), ("enhet", "b", 4)):
                rows.append({"condition_id": "sct_ssc", "indicator_id": indicator_id, "measure": measure,
                             "report_year": year, "level": level, "unit_id": unit, "breakdown": "total",
                             "breakdown_value": "total", "n": n})
    results = pd.DataFrame(rows)
    assert undeclared_equal_pairs(condition, results) == [
        "B3/count and B4/distribution (6 rows)", "B4/distribution and T2/distribution (6 rows)",
    ]
    results.loc[(results["indicator_id"] == "B4") & (results["unit_id"] == "b") & (results["report_year"] == 2025), "n"] = 5
    assert undeclared_equal_pairs(condition, results) == []
