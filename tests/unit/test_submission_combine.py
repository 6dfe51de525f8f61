"""Units' own figures beside extracts (SUBMISSION.md 4), on hand-computed fixtures.

Skeletal dysplasia, report year 2027 (P(R) = 2026-01-01..2026-12-31, every unit of
`indicator_fixtures.units` holds its permit): s_a delivers an extract, s_b a submission
with one person (n = 1), s_c a submission where nobody falls in (n = 0).
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from indicator_fixtures import concat, keyed, row, skel, unit_rows, units
from nhv_pipeline.orchestration.checks.invariants import breakdowns_sum_to_total, riket_equals_sum_of_units
from nhv_pipeline.conditions import registered
from nhv_pipeline.indicators import compute, get_indicator, make_catalogue, RESULT_COLUMNS
from nhv_pipeline.indicators.stats import wilson_interval
from nhv_pipeline.submission.combine import pooled_distribution, riket_records, submitted_records

R = 2027
NAN = float("nan")


def _cell(unit_id, indicator_id, measure, breakdown, value, n, numerator=None, denominator=None, mean=NAN, sd=NAN,
          p10=NAN, median=NAN, p90=NAN) -> dict:
    return {
        "report_year": R, "unit_id": unit_id, "indicator_id": indicator_id, "measure": measure,
        "breakdown": breakdown, "breakdown_value": value, "n": n, "numerator": numerator,
        "denominator": denominator, "mean": mean, "sd": sd, "p10": p10, "median": median, "p90": p90,
    }  # fmt: skip


def _b1_by_sex(unit_id: str, women: int, men: int) -> list[dict]:
    """A unit's B1 cells of `total` and `sex` (home_region left out)."""
    return [
        _cell(unit_id, "B1", "count", "total", "total", women + men),
        _cell(unit_id, "B1", "count", "sex", "K", women),
        _cell(unit_id, "B1", "count", "sex", "M", men),
    ]


def _submission(*cells: dict) -> pd.DataFrame:
    """Staged submission rows as the staged layer types them (integers Int64, decimals float64)."""
    frame = pd.DataFrame.from_records(list(cells))
    for column in ("n", "numerator", "denominator"):
        frame[column] = pd.array(frame[column].tolist(), dtype="Int64")
    for column in ("mean", "sd", "p10", "median", "p90"):
        frame[column] = frame[column].astype("float64")
    return frame


def _compute(indicator_id: str, submission: pd.DataFrame | None, **tables: pd.DataFrame) -> pd.DataFrame:
    return compute(get_indicator("skeletal_dysplasia", indicator_id, make_catalogue(registered())), R, tables, units(), submission)


def _assessed(patients: list[dict], unit_id: str = "s_a") -> dict[str, pd.DataFrame]:
    """One new visit in P(R) for each patient, with their attributes; contact date 2026-03-01."""
    contacts = skel("contacts", [
        {"contact_id": f"c{i}", "patient_id": p["patient_id"], "contact_date": "2026-03-01",
         "contact_type": "new_visit", "visit_mode": "physical", "care_plan": p.pop("care_plan", False)}
        for i, p in enumerate(patients)
    ], report_year=R, unit_id=unit_id)  # fmt: skip
    return {"contacts": contacts, "patients": skel("patients", patients, report_year=R, unit_id=unit_id)}


# --- pooled mean and sd --------------------------------------------------------------


def test_pooled_sd_equals_sample_sd_of_the_pooled_rows():
    # Parts [1, 2, 3] (m 2, s 1) and [10] (n = 1: no s), and an empty part (n = 0).
    # N = 4, m = (3·2 + 10) / 4 = 4; Σ(nᵢ−1)sᵢ² = 2·1 = 2; Σnᵢ(mᵢ−m)² = 3·4 + 36 = 48;
    # sd = sqrt(50 / 3) = 4.0825, the sd of [1, 2, 3, 10] (deviations −3 −2 −1 6: 50 / 3).
    pooled = pooled_distribution([(3, 2.0, 1.0), (1, 10.0, NAN), (0, NAN, NAN)])
    assert pooled["n"] == 4
    assert pooled["mean"] == 4.0
    assert pooled["sd"] == pytest.approx(math.sqrt(50 / 3), rel=1e-12)
    assert pooled["sd"] == pytest.approx(pd.Series([1.0, 2.0, 3.0, 10.0]).std(ddof=1), rel=1e-12)


def test_pooled_sd_is_empty_below_two_and_everything_empty_at_zero():
    one = pooled_distribution([(1, 7.5, NAN), (0, NAN, NAN)])
    assert one["n"] == 1 and one["mean"] == 7.5 and math.isnan(one["sd"])
    nobody = pooled_distribution([(0, NAN, NAN)])
    assert nobody["n"] == 0 and math.isnan(nobody["mean"]) and math.isnan(nobody["sd"])


# --- enhet rows of a submitting unit -------------------------------------------------


def test_submitted_rows_drop_empty_breakdown_values_but_keep_the_total():
    b1 = get_indicator("skeletal_dysplasia", "B1", make_catalogue(registered()))
    submission = _submission(*_b1_by_sex("s_c", 0, 0), *_b1_by_sex("s_b", 3, 0))
    records = submitted_records(submission, b1, {"s_b": "Sahlgrenska universitetssjukhuset"})
    keys = {(r["unit_id"], r["breakdown"], r["breakdown_value"]): r for r in records}
    assert set(keys) == {("s_c", "total", "total"), ("s_b", "total", "total"), ("s_b", "sex", "K")}
    assert keys[("s_c", "total", "total")]["n"] == 0
    assert keys[("s_b", "sex", "K")]["breakdown_label"] == "Kvinnor"
    assert keys[("s_b", "total", "total")]["unit_name"] == "Sahlgrenska universitetssjukhuset"
    # A unit outside the names falls back to its id, as the engine does.
    assert keys[("s_c", "total", "total")]["unit_name"] == "s_c"


def test_count_breakdown_value_at_one_unit_only_and_riket_sums():
    # s_a (extract): k1 M region 01, k2 K region 01 -> total 2, K 1, M 1, 01: 2.
    # s_b (submission): 3 persons, all K, all region 14 -> rows total 3, K 3, 14: 3 (M and 01 have n = 0).
    # s_c (submission): nobody -> its total row only, n = 0.
    tables = _assessed([
        {"patient_id": "k1", "sex": "M", "home_region": "01"},
        {"patient_id": "k2", "sex": "K", "home_region": "01"},
    ])  # fmt: skip
    submission = _submission(
        _cell("s_b", "B1", "count", "total", "total", 3),
        _cell("s_b", "B1", "count", "home_region", "01", 0),
        _cell("s_b", "B1", "count", "home_region", "14", 3),
        _cell("s_b", "B1", "count", "sex", "K", 3),
        _cell("s_b", "B1", "count", "sex", "M", 0),
        _cell("s_c", "B1", "count", "total", "total", 0),
        _cell("s_c", "B1", "count", "home_region", "01", 0),
        _cell("s_c", "B1", "count", "home_region", "14", 0),
        _cell("s_c", "B1", "count", "sex", "K", 0),
        _cell("s_c", "B1", "count", "sex", "M", 0),
    )
    result = _compute("B1", submission, **tables)
    assert list(result.columns) == RESULT_COLUMNS
    assert unit_rows(result) == {"s_a", "s_b", "s_c"}
    assert row(result, "s_b")["n"] == 3 and row(result, "s_b")["value"] == 3.0
    assert row(result, "s_c")["n"] == 0
    assert unit_rows(result, "home_region") == {"s_a", "s_b"}
    assert row(result, "s_b", "home_region", "14")["n"] == 3
    assert ("count", "enhet", "s_b", "sex", "M") not in keyed(result)
    # riket: total 2 + 3 + 0 = 5; K 1 + 3 = 4; M 1; region 01 only at s_a (2), 14 only at s_b (3).
    assert row(result)["n"] == 5 and row(result)["value"] == 5.0
    assert row(result, "", "sex", "K")["n"] == 4
    assert row(result, "", "sex", "M")["n"] == 1
    assert row(result, "", "home_region", "01")["n"] == 2
    assert row(result, "", "home_region", "14")["n"] == 3
    assert row(result, "", "home_region", "14")["breakdown_label"] == row(result, "s_b", "home_region", "14")["breakdown_label"]
    assert row(result)["unit_name"] == "Riket" and row(result)["period_start"] == row(result, "s_b")["period_start"]
    assert riket_equals_sum_of_units(result).empty
    assert breakdowns_sum_to_total(result).empty


def test_distribution_pools_mean_and_sd_and_leaves_riket_percentiles_empty():
    # s_a (extract), ages at the assessment 2026-03-01: 10, 20, 30 -> N 3, mean 20, sd 10;
    #   child (≤ 17): [10]; adult: [20, 30] mean 25, sd 7.0711.
    # s_b (submission): one adult aged 50 (n = 1: sd empty; p10 = median = p90 = 50); child n = 0.
    # s_c (submission): nobody.
    # riket total: N 4, mean (60 + 50) / 4 = 27.5, Σ(nᵢ−1)sᵢ² = 2·100 = 200,
    #   Σnᵢ(mᵢ−m)² = 3·7.5² + 22.5² = 168.75 + 506.25 = 675, sd = sqrt(875 / 3) = 17.0783
    #   (= sd of 10, 20, 30, 50). riket adult: N 3, mean (50 + 50) / 3 = 33.333,
    #   sd = sqrt((1·50 + 2·8.333² + 16.667²) / 2) = sqrt(466.667 / 2) = 15.2753 (= sd of 20, 30, 50).
    #   riket child: only s_a's, N 1: mean 10, sd empty.
    tables = _assessed([
        {"patient_id": "k1", "birth_date": "2016-03-01"},
        {"patient_id": "k2", "birth_date": "2006-03-01"},
        {"patient_id": "k3", "birth_date": "1996-03-01"},
    ])  # fmt: skip
    submission = _submission(
        _cell("s_b", "B3", "distribution", "total", "total", 1, mean=50.0, p10=50.0, median=50.0, p90=50.0),
        _cell("s_b", "B3", "distribution", "age_group", "child", 0),
        _cell("s_b", "B3", "distribution", "age_group", "adult", 1, mean=50.0, p10=50.0, median=50.0, p90=50.0),
        _cell("s_c", "B3", "distribution", "total", "total", 0),
        _cell("s_c", "B3", "distribution", "age_group", "child", 0),
        _cell("s_c", "B3", "distribution", "age_group", "adult", 0),
    )
    result = _compute("B3", submission, **tables)
    s_b = row(result, "s_b")
    assert (s_b["n"], s_b["mean"], s_b["value"], s_b["median"]) == (1, 50.0, 50.0, 50.0) and math.isnan(s_b["sd"])
    s_c = row(result, "s_c")
    assert s_c["n"] == 0 and math.isnan(s_c["mean"]) and math.isnan(s_c["value"])
    assert row(result, "s_a")["sd"] == pytest.approx(10.0)
    total = row(result)
    assert total["n"] == 4
    assert total["mean"] == pytest.approx(27.5, rel=1e-12) and total["value"] == total["mean"]
    assert total["sd"] == pytest.approx(math.sqrt(875 / 3), rel=1e-12)
    assert all(math.isnan(total[p]) for p in ("p10", "median", "p90"))
    adult = row(result, "", "age_group", "adult")
    assert adult["n"] == 3 and adult["mean"] == pytest.approx(100 / 3, rel=1e-12)
    assert adult["sd"] == pytest.approx(pd.Series([20.0, 30.0, 50.0]).std(ddof=1), rel=1e-12)
    child = row(result, "", "age_group", "child")
    assert child["n"] == 1 and child["mean"] == 10.0 and math.isnan(child["sd"])
    assert unit_rows(result, "age_group") == {"s_a", "s_b"}
    assert riket_equals_sum_of_units(result).empty


def test_proportion_sums_numerators_and_denominators_with_the_wilson_interval():
    # Ö1: s_a (extract) 1 of 2 with a care plan; s_b (submission) 7 of 9; s_c 0 of 0.
    # riket 8 / 11 = 72.727 %, its Wilson interval from 8 and 11 (not from the units' intervals).
    # p = 8/11, z² / n = 3.841459 / 11 = 0.349224; centre (0.727273 + 0.174612) / 1.349224 = 0.668447;
    # half width 1.959964 · sqrt(0.0180316 + 0.0079369) / 1.349224 = 0.234094 -> 43.4353 %..90.2541 %.
    tables = _assessed([
        {"patient_id": "k1", "care_plan": True},
        {"patient_id": "k2"},
    ])  # fmt: skip
    submission = _submission(
        _cell("s_b", "Ö1", "proportion", "total", "total", 9, numerator=7, denominator=9),
        _cell("s_c", "Ö1", "proportion", "total", "total", 0, numerator=0, denominator=0),
    )
    result = _compute("Ö1", submission, **tables)
    s_b = row(result, "s_b")
    assert (s_b["numerator"], s_b["denominator"], s_b["n"]) == (7, 9, 9)
    assert s_b["value"] == pytest.approx(700 / 9)
    assert (s_b["ci_low"], s_b["ci_high"]) == wilson_interval(7, 9)
    s_c = row(result, "s_c")
    assert s_c["denominator"] == 0 and math.isnan(s_c["value"]) and math.isnan(s_c["ci_low"])
    total = row(result)
    assert (total["numerator"], total["denominator"], total["n"]) == (8, 11, 11)
    assert total["value"] == pytest.approx(800 / 11)
    assert (total["ci_low"], total["ci_high"]) == wilson_interval(8, 11)
    assert total["ci_low"] == pytest.approx(43.4355, abs=1e-4) and total["ci_high"] == pytest.approx(90.2539, abs=1e-4)


def test_no_submission_keeps_the_engine_rows_exactly():
    tables = _assessed([{"patient_id": "k1", "birth_date": "2016-03-01"}, {"patient_id": "k2"}])
    plain = _compute("B3", None, **{name: frame.copy() for name, frame in tables.items()})
    empty = _submission(_cell("s_b", "B3", "distribution", "total", "total", 1, mean=1.0)).iloc[0:0]
    pd.testing.assert_frame_equal(plain, _compute("B3", empty, **tables))
    # The engine's riket keeps its percentiles when every unit delivered an extract.
    assert not math.isnan(row(plain)["median"])


def test_a_submitting_units_extract_rows_are_not_read():
    # s_b has an extract in the tables too (an earlier delivery a lag would read): its figures come
    # from the submission alone, and s_a's riket share is unchanged.
    tables = _assessed([{"patient_id": "k1", "sex": "M"}])
    other = _assessed([{"patient_id": "k9", "sex": "M"}, {"patient_id": "k8", "sex": "M"}], unit_id="s_b")
    merged = {name: concat(tables[name], other[name]) for name in tables}
    submission = _submission(*_b1_by_sex("s_b", 1, 0))
    result = _compute("B1", submission, **merged)
    assert row(result, "s_b")["n"] == 1
    assert row(result)["n"] == 2
    assert row(result, "", "sex", "M")["n"] == 1
    # s_c holds its permit but delivered neither: a total row with n = 0, as today.
    assert row(result, "s_c")["n"] == 0


def test_riket_records_from_unit_rows_alone():
    b1 = get_indicator("skeletal_dysplasia", "B1", make_catalogue(registered()))
    submission = _submission(*_b1_by_sex("s_a", 2, 0), *_b1_by_sex("s_b", 0, 1))
    records = riket_records(pd.DataFrame.from_records(submitted_records(submission, b1, {})))
    by_value = {(r["breakdown"], r["breakdown_value"]): r["n"] for r in records}
    assert by_value == {("total", "total"): 3, ("sex", "K"): 2, ("sex", "M"): 1}
    assert {r["level"] for r in records} == {"riket"}


# --- a published riket row from one extract unit and one submission unit ---------------


def test_published_riket_row_combined_from_an_extract_unit_and_a_submission_unit():
    """Skeletal dysplasia, report year 2027, threshold 5. s_a delivers an extract, s_b a submission;
    s_c holds its permit and delivered nothing (its total rows have n = 0).

    s_a (extract): six patients, all K, region 01, specific diagnosis, assessed 2026-03-01, aged
    20, 22, 24, 26, 28 and 30; four of them with a care plan.
      B1 n = 6.  Ö1 4 / 6.  B3 N = 6, mean 25, sd = sqrt((25+9+1+1+9+25) / 5) = sqrt(14) = 3.741657.
    s_b (submission): B1 n = 9; Ö1 numerator 7, denominator 9; B3 n = 9, mean 31, sd 4
      (p10 26, median 31, p90 36: its own, unused at riket).

    riket, combined (SUBMISSION.md 4):
      B1 count: n = 6 + 9 + 0 = 15, published 15.
      Ö1 proportion: 11 / 15 = 73.333 % -> 73.3. Wilson, z = 1.959964, z² = 3.841459, n = 15:
        centre = (0.733333 + 3.841459/30) / (1 + 3.841459/15) = 0.861382 / 1.256097 = 0.685761;
        half = z·sqrt(0.733333·0.266667/15 + 3.841459/900) / 1.256097
             = 1.959964·sqrt(0.0130370 + 0.0042683) / 1.256097 = 0.205264;
        interval 48.0496 %..89.1025 % -> 48.0..89.1.
      B3 distribution: N = 15; mean = (6·25 + 9·31) / 15 = 429 / 15 = 28.6;
        Σ(nᵢ−1)sᵢ² = 5·14 + 8·16 = 198; Σnᵢ(mᵢ−m)² = 6·3.6² + 9·2.4² = 77.76 + 51.84 = 129.6;
        sd = sqrt((198 + 129.6) / 14) = sqrt(23.4) = 4.837355 -> 4.8; p10, median, p90 empty.
    """
    from nhv_pipeline.publication import format_results, protect

    ages = [20, 22, 24, 26, 28, 30]
    tables = _assessed([
        {"patient_id": f"k{i}", "birth_date": f"{2026 - age}-03-01", "care_plan": i < 4}
        for i, age in enumerate(ages)
    ])  # fmt: skip
    submission = _submission(
        _cell("s_b", "B1", "count", "total", "total", 9),
        _cell("s_b", "B1", "count", "home_region", "01", 9),
        _cell("s_b", "B1", "count", "sex", "K", 9),
        _cell("s_b", "B1", "count", "sex", "M", 0),
        _cell("s_b", "Ö1", "proportion", "total", "total", 9, numerator=7, denominator=9),
        _cell("s_b", "B3", "distribution", "total", "total", 9, mean=31.0, sd=4.0, p10=26.0, median=31.0, p90=36.0),
        _cell("s_b", "B3", "distribution", "age_group", "child", 0),
        _cell("s_b", "B3", "distribution", "age_group", "adult", 9, mean=31.0, sd=4.0, p10=26.0, median=31.0,
              p90=36.0),
    )
    results = concat(*(_compute(i, submission, **tables) for i in ("B1", "Ö1", "B3")))
    protected, audit = protect(results, threshold=5, conditions=registered())  # disclosure control and its audit (PUBLICATION.md 3)
    published = format_results(protected)  # rounding and order (PUBLICATION.md 2)
    assert audit.passed
    riket = published[(published["level"] == "riket") & (published["breakdown"] == "total")].set_index("indicator_id")

    count = riket.loc["B1"]
    assert (count["n"], count["value"], bool(count["suppressed"])) == (15, 15.0, False)

    share = riket.loc["Ö1"]
    assert (share["numerator"], share["denominator"], share["n"]) == (11, 15, 15)
    assert (share["value"], share["ci_low"], share["ci_high"]) == (73.3, 48.0, 89.1)
    assert wilson_interval(11, 15) == pytest.approx((48.0496, 89.1025), abs=1e-4)

    spread = riket.loc["B3"]
    assert (spread["n"], spread["mean"], spread["value"], spread["sd"]) == (15, 28.6, 28.6, 4.8)
    assert all(pd.isna(spread[p]) for p in ("p10", "median", "p90"))
    unrounded = row(results[results["indicator_id"] == "B3"])
    assert unrounded["sd"] == pytest.approx(math.sqrt(23.4), rel=1e-12)
    # The submitting unit's own row is its figures, percentiles included.
    own = published[(published["unit_id"] == "s_b") & (published["indicator_id"] == "B3")
                     & (published["breakdown"] == "total")].iloc[0]
    assert (own["n"], own["mean"], own["sd"], own["median"]) == (9, 31.0, 4.0, 31.0)
