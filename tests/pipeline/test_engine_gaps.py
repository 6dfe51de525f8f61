"""What a new area needs of the engine (issue 24): its own windows, measure kinds, number columns,
breakdown labels, a helper for rules over earlier deliveries, and an "as of" date."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

import third_condition
from nhv_pipeline.core import labels
from nhv_pipeline.core.condition import DeliveryContext
from nhv_pipeline.conditions import get_condition, register, registered
from nhv_pipeline.contract import rules
from nhv_pipeline.contract.values import model_failures
from nhv_pipeline.contract.staging import staged_select, to_staged
from nhv_pipeline.indicators.engine import compute
from nhv_pipeline.indicators.model import is_proportion, measure_kind, period_for
from nhv_pipeline.core.periods import RelativeWindow


@pytest.fixture
def area(area_registered):
    return area_registered


# --- an indicator's own window ---------------------------------------------------------------------


def test_a_window_relative_to_r_from_1_december_r_minus_2_to_30_november_r_minus_1():
    window = RelativeWindow((-2, 12, 1), (-1, 11, 30))
    assert window.for_report_year(date(2020, 1, 1), 2026) == (date(2024, 12, 1), date(2025, 11, 30))
    # Cut at the condition start; nothing left is an error.
    assert window.for_report_year(date(2025, 3, 1), 2026) == (date(2025, 3, 1), date(2025, 11, 30))
    with pytest.raises(ValueError, match="no window"):
        window.for_report_year(date(2025, 12, 1), 2026)
    # An end on 29 February is the last day of February in a common year.
    leap = RelativeWindow((-1, 3, 1), (0, 2, 29))
    assert leap.bounds(2024)[1] == date(2024, 2, 29) and leap.bounds(2026)[1] == date(2026, 2, 28)
    with pytest.raises(ValueError, match="after its last"):
        RelativeWindow((-1, 12, 1), (-1, 11, 30))


def test_the_published_period_follows_the_indicators_window(area):
    w1 = area.latest("W1")
    assert period_for(w1, 2026) == (date(2024, 12, 1), date(2025, 11, 30))
    assert period_for(area.latest("B1"), 2026) == (date(2025, 1, 1), date(2025, 12, 31))
    visits = pd.DataFrame({
        "report_year": [2025, 2025, 2026, 2026],
        "unit_id": ["alpha"] * 4,
        "visit_id": ["V1", "V2", "V3", "V4"],
        # the day before, the first day, the last day, the day after
        "visit_date": pd.to_datetime(["2024-11-30", "2024-12-01", "2025-11-30", "2025-12-01"]),
    })
    units = pd.DataFrame({"condition_id": ["test_area"], "unit_id": ["alpha"], "unit_name": ["Alfa"],
                          "permit_start": ["2024-01-01"], "permit_end": [None]})
    rows = compute(w1, 2026, {"visits": visits}, units)
    riket = rows[(rows["level"] == "riket") & (rows["breakdown"] == "total")].iloc[0]
    assert riket["n"] == 2
    assert (riket["period_start"], riket["period_end"]) == (date(2024, 12, 1), date(2025, 11, 30))


# --- measure kinds and breakdown labels of an area's own -----------------------------------------------


def test_an_area_adds_a_measure_kind_and_its_name(area):
    assert measure_kind("score", get_condition("test_area")) == "distribution" and not is_proportion("score")
    assert labels.measure_name("score", registered()) == "Poäng"
    assert is_proportion("response_rate") and measure_kind("count") == "count"
    with pytest.raises(KeyError, match="measure_kinds"):
        measure_kind("no_such_measure")


def test_a_conditions_own_breakdown_labels_win_over_another_areas(area):
    """Both the skeletal area and the third area have an `age_group`; each is worded as its own specification words it."""
    assert labels.breakdown_label("age_group", "young", get_condition("test_area")) == "Yngre än 18 år"
    assert labels.breakdown_label("age_group", "child", get_condition("skeletal_dysplasia")) == "Barn (0–17 år)"
    assert labels.breakdown_name("age_group", get_condition("test_area")) == "Ålder vid första besöket"
    assert labels.breakdown_name("age_group", get_condition("skeletal_dysplasia")) == "Åldersgrupp"
    shadowing = dataclasses.replace(area, breakdown_labels={"sex": {"K": "Flickor och kvinnor", "M": "Pojkar och män"}})
    register(shadowing, replace=True)
    try:
        assert labels.breakdown_label("sex", "K", get_condition("test_area")) == "Flickor och kvinnor"
        assert labels.breakdown_label("sex", "K", get_condition("skeletal_dysplasia")) == "Kvinnor"
    finally:
        register(area, replace=True)


# --- a number column with a range ------------------------------------------------------------------------


def _visits(scores: list[str | None]) -> pd.DataFrame:
    n = len(scores)
    return pd.DataFrame({
        "visit_id": [f"V{i}" for i in range(n)], "patient_id": ["A1"] * n, "visit_date": ["2024-05-01"] * n,
        "improved": ["1"] * n, "score": scores, "unit_id": ["alpha"] * n,
        "source_file": ["2025/test_area/alpha/visits.csv"] * n, "source_line": list(range(2, n + 2)),
        "report_year": [2025] * n,
    })


def test_a_number_column_takes_digits_in_its_range_and_fails_with_its_own_rule(area):
    scores = ["0", "10", "3,5", "2.25", None, "10.5", "-0.5", "1e1", " 4", "sju", "=1+1"]
    failures = model_failures(third_condition.Visits, _visits(scores))
    bad = failures[failures["column"] == "score"]
    assert bad["line"].tolist() == [7, 8, 9, 10, 11, 12]  # 10.5, -0.5, 1e1, " 4", sju, =1+1
    assert set(bad["rule"]) == {rules.NUMBER} and rules.NUMBER in rules.RULES and rules.NUMBER in rules.RULE_SUMMARIES_SV
    assert bad["message"].iloc[0] == (
        "score ska vara ett tal från 0 till 10, skrivet med siffror (decimaler med punkt eller komma); rätta cellen."
    )
    assert not any("sju" in message or "10.5" in message for message in bad["message"]), "messages never repeat a value"


def test_a_number_column_is_staged_as_a_float_in_pandas_and_in_duckdb(area):
    import duckdb

    raw = _visits(["0", "3,5", "10", None])
    staged = to_staged(get_condition("test_area"), "visits", raw)
    assert staged["score"].dtype == "float64"
    assert staged["score"].tolist()[:3] == [0.0, 3.5, 10.0] and pd.isna(staged["score"].iloc[3])
    with duckdb.connect() as con:
        con.register("raw_visits", raw)
        typed = con.execute(staged_select(get_condition("test_area"), "visits", '"raw_visits"')).df()
    assert typed["score"].tolist()[:3] == [0.0, 3.5, 10.0] and pd.isna(typed["score"].iloc[3])


# --- rules over a unit's earlier deliveries -----------------------------------------------------------


def test_the_earlier_deliveries_helper_finds_changes_with_neutral_messages(area, tmp_path):
    for relative, text in {
        "2025/test_area/alpha/patients.csv": "patient_id,sex,birth_date,home_region\nA1,K,1980-05-01,01\nA2,M,1990-01-01,03\n",
        # A row breaking a rule of its own file is not found (A3's birth date is no date).
        "2025/test_area/beta/patients.csv": "patient_id,sex,birth_date,home_region\nB1,K,1970-01-01,12\nB3,K,1970-02-30,12\n",
    }.items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(text, encoding="utf-8")
    now = pd.DataFrame({
        "patient_id": ["A1", "A2", "B1", "B3"], "sex": ["K", "K", "K", "M"],
        "birth_date": ["1980-05-01", "1990-01-01", "1971-01-01", "1970-03-01"], "home_region": ["01", "03", "12", "12"],
        "unit_id": ["alpha", "alpha", "beta", "beta"],
        "source_file": ["2026/test_area/alpha/patients.csv"] * 2 + ["2026/test_area/beta/patients.csv"] * 2,
        "source_line": [2, 3, 2, 3],
    })
    ctx = DeliveryContext(data_root=tmp_path, report_year=2026, condition=area, tables={"patients": now},
                          dated={}, read_units={"patients": {"alpha", "beta"}})
    failures = third_condition.patients_keep_their_facts(ctx)
    found = failures.sort_values(["unit_id", "column"])[["unit_id", "line", "column", "rule"]].values.tolist()
    assert found == [["alpha", 3, "sex", rules.CHANGED_SINCE_EARLIER], ["beta", 2, "birth_date", rules.CHANGED_SINCE_EARLIER]]
    assert set(failures["message"]) == {
        "sex skiljer sig från det som levererades tidigare för samma patient_id; värdet behålls mellan "
        "leveranserna och ett patient_id återanvänds aldrig.",
        "birth_date skiljer sig från det som levererades tidigare för samma patient_id; värdet behålls mellan "
        "leveranserna och ett patient_id återanvänds aldrig.",
    }
    assert not failures["message"].str.contains("transplant").any()


# --- the as-of date -------------------------------------------------------------------------------------


def _partitions_as_of(as_of: str) -> subprocess.CompletedProcess:
    code = (
        "from nhv_pipeline.orchestration.partitions import report_year_partitions, report_years_from;"
        "print(','.join(report_year_partitions.get_partition_keys()));"
        "print(','.join(report_years_from(2027).get_partition_keys()))"
    )
    env = {**os.environ, "NHV_AS_OF": as_of}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)


def test_the_as_of_date_decides_which_report_years_exist():
    later = _partitions_as_of("2028-03-31")
    assert later.returncode == 0, later.stderr
    assert later.stdout.splitlines() == ["2024,2025,2026,2027,2028", "2027,2028"]
    earlier = _partitions_as_of("2025-01-01")
    assert earlier.stdout.splitlines()[0] == "2024,2025"
    wrong = _partitions_as_of("31/3/2028")
    assert wrong.returncode != 0 and "NHV_AS_OF must be a date written YYYY-MM-DD" in wrong.stderr


def test_a_future_specification_version_runs_in_a_dress_rehearsal(area, tmp_path):
    """Version 2.0 of the third area applies from 2027: with NHV_AS_OF in 2027 the CLI runs that year."""
    from nhv_pipeline.core.sample_data import generate

    data_raw = tmp_path / "data_raw"
    generate(data_raw, registered(), seed=3)
    # D(2027): the 2026 deliveries again, dated a year later (a dress rehearsal's made-up round).
    for path in sorted((data_raw / "2026").rglob("*.csv")):
        target = data_raw / "2027" / path.relative_to(data_raw / "2026")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(path.read_text(encoding="utf-8").replace("2025-", "2026-"), encoding="utf-8")
    env = {**os.environ, "NHV_AS_OF": "2027-03-31", "NHV_DATA_RAW": str(data_raw),
           "NHV_WAREHOUSE_DIR": str(tmp_path / "warehouse"), "DAGSTER_HOME": str(tmp_path / "home"),
           "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[1]), os.environ.get("PYTHONPATH", "")]),
           # The session's registered areas (the sample holds theirs too) and the third one.
           "NHV_CONDITION_MODULES": ",".join(dict.fromkeys(
               [*(m.strip() for m in os.environ.get("NHV_CONDITION_MODULES", "").split(",") if m.strip()),
                "register_third_condition"]))}
    (tmp_path / "home").mkdir()
    done = subprocess.run([sys.executable, "-m", "nhv_pipeline.operations.cli", "validate", "--report-year", "2027",
                           "--condition", "test_area", "--unit", "alpha"], env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    refused = subprocess.run([sys.executable, "-m", "nhv_pipeline.operations.cli", "run", "--report-year", "2027"],
                             env={**env, "NHV_AS_OF": "2026-12-31"}, capture_output=True, text=True, timeout=600)
    assert refused.returncode != 0 and "outside the pipeline's report years" in refused.stdout + refused.stderr


def test_version_2_of_the_third_area_computes_its_new_indicator_from_2027(area):
    assert [i.indicator_id for i in area.indicators_for(2026)] == ["B1", "B2", "S1", "R1", "W1"]
    v2 = {i.indicator_id: i for i in area.indicators_for(2027)}
    assert set(v2) == {"B1", "B2", "S1", "R1", "W1", "F1"} and {i.spec_version for i in v2.values()} == {"2.0"}
    followup = pd.DataFrame({
        "report_year": [2027] * 3, "unit_id": ["alpha", "alpha", "beta"], "followup_id": ["F1", "F2", "F3"],
        "followup_date": pd.to_datetime(["2026-01-01", "2026-12-31", "2027-01-01"]),  # the last one is after P(2027)
        "still_improved": pd.array([True, False, True], dtype="boolean"),
    })
    units = pd.DataFrame({"condition_id": ["test_area"] * 2, "unit_id": ["alpha", "beta"], "unit_name": ["Alfa", "Beta"],
                          "permit_start": ["2024-01-01"] * 2, "permit_end": [None, None]})
    rows = compute(v2["F1"], 2027, {"followup": followup}, units)
    riket = rows[rows["level"] == "riket"].iloc[0]
    assert (riket["numerator"], riket["denominator"], riket["value"]) == (1, 2, 50.0)
    assert rows[(rows["level"] == "enhet") & (rows["unit_id"] == "beta")].iloc[0]["n"] == 0


def test_a_second_specification_version_leaves_unchanged_indicators_code_versions_alone(area):
    """Adding version 2.0 (which adds F1 and carries the rest over) makes no other asset stale."""
    from nhv_pipeline.orchestration.assets.indicators import _code_version
    from nhv_pipeline.core.condition import Specification

    assert {_code_version(area, i) for i in area.indicator_ids} == {"1"}
    v1, v2 = area.specifications
    changed = Specification("2.0", v2.date, v2.from_report_year, tuple(
        dataclasses.replace(i, rule_version="2") if i.indicator_id == "B1" else i for i in v2.indicators))
    rule_changed = dataclasses.replace(area, specifications=(v1, changed))
    assert _code_version(rule_changed, "B1") == "1.0:1|2.0:2"
    assert _code_version(rule_changed, "B2") == "1"
