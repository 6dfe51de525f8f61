"""The result invariants behind the blocking checks on `results/indicator_results`."""

from __future__ import annotations

import pandas as pd

from nhv_pipeline.orchestration.checks.invariants import (
    breakdowns_sum_to_total,
    implausible_moves,
    numerator_within_denominator,
    riket_equals_sum_of_units,
)


def row(level, unit, breakdown, value, n, numerator=None, denominator=None, measure="count", indicator="B1", year=2026):
    return {
        "report_year": year,
        "condition_id": "sct_ssc",
        "indicator_id": indicator,
        "measure": measure,
        "level": level,
        "unit_id": unit,
        "breakdown": breakdown,
        "breakdown_value": value,
        "n": n,
        "value": float(n) if measure == "count" else (100.0 * numerator / denominator if denominator else None),
        "numerator": numerator,
        "denominator": denominator,
    }


def frame(rows):
    result = pd.DataFrame(rows)
    for column in ("n", "numerator", "denominator"):
        result[column] = result[column].astype("Int64")
    return result


CONSISTENT = [
    row("riket", "", "total", "total", 7),
    row("riket", "", "sex", "K", 4),
    row("riket", "", "sex", "M", 3),
    row("enhet", "a", "total", "total", 5),
    row("enhet", "a", "sex", "K", 3),
    row("enhet", "a", "sex", "M", 2),
    row("enhet", "b", "total", "total", 2),
    row("enhet", "b", "sex", "K", 1),
    row("enhet", "b", "sex", "M", 1),
]


def test_consistent_results_pass_every_invariant():
    results = frame(CONSISTENT)
    assert riket_equals_sum_of_units(results).empty
    assert breakdowns_sum_to_total(results).empty
    assert numerator_within_denominator(results).empty


def test_riket_not_equal_to_the_sum_of_units_is_caught():
    rows = [dict(r) for r in CONSISTENT]
    rows[0]["n"] = 8
    bad = riket_equals_sum_of_units(frame(rows))
    assert bad[["breakdown", "breakdown_value"]].values.tolist() == [["total", "total"]]


def test_a_unit_row_without_a_riket_row_is_caught():
    rows = CONSISTENT + [row("enhet", "b", "home_region", "01", 2)]
    bad = riket_equals_sum_of_units(frame(rows))
    assert bad["breakdown"].tolist() == ["home_region"]


def test_breakdown_parts_that_do_not_add_up_to_the_total_are_caught():
    rows = [dict(r) for r in CONSISTENT]
    rows[5]["n"] = 1  # unit a: K 3 + M 1 = 4, total 5
    bad = breakdowns_sum_to_total(frame(rows))
    assert bad[["level", "unit_id", "breakdown"]].values.tolist() == [["enhet", "a", "sex"]]


def test_numerator_above_denominator_is_caught():
    rows = [
        row("riket", "", "total", "total", 4, numerator=3, denominator=4, measure="proportion", indicator="R1"),
        row("enhet", "a", "total", "total", 4, numerator=5, denominator=4, measure="proportion", indicator="R1"),
    ]
    rows[1]["value"] = 125.0
    bad = numerator_within_denominator(frame(rows))
    assert bad["unit_id"].tolist() == ["a"]


def test_a_national_count_that_doubles_is_flagged_but_a_small_one_is_not():
    previous = frame([row("riket", "", "total", "total", 20, year=2025), row("riket", "", "total", "total", 4, indicator="B3", year=2025)])
    current = frame([row("riket", "", "total", "total", 40), row("riket", "", "total", "total", 9, indicator="B3")])
    flagged = implausible_moves(current, previous)
    assert flagged["indicator_id"].tolist() == ["B1"]


def test_a_proportion_moving_more_than_25_points_is_flagged():
    previous = frame([row("riket", "", "total", "total", 20, numerator=18, denominator=20, measure="proportion", indicator="R1", year=2025)])
    current = frame([row("riket", "", "total", "total", 20, numerator=12, denominator=20, measure="proportion", indicator="R1")])
    assert implausible_moves(current, previous)["indicator_id"].tolist() == ["R1"]  # 90 % -> 60 %
    steady = frame([row("riket", "", "total", "total", 20, numerator=16, denominator=20, measure="proportion", indicator="R1")])
    assert implausible_moves(steady, previous).empty  # 90 % -> 80 %
