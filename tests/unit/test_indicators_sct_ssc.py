"""sct_ssc indicators (INDICATORS.md section 2) on hand-computed fixtures.

Units (indicator_fixtures.units): u_a and u_b hold permits from 2023-01-01;
u_c only from 2024-01-01; u_x from 2023-01-01 to 2023-06-30.
Unless a test says otherwise R = 2025, so P(R) = 2024-01-01..2024-12-31
(2024 is a leap year).
"""

from __future__ import annotations

import math
from datetime import date

import pandas as pd
import pytest

from nhv_pipeline.conditions import registered
from nhv_pipeline.indicators import RESULT_COLUMNS, compute, get_indicator, make_catalogue, period_for
from nhv_pipeline.indicators.stats import wilson_interval
from hypothesis import given, settings
from hypothesis import strategies as st
from indicator_fixtures import concat, keyed, row, sct, unit_rows, units


def _compute(indicator_id: str, report_year: int, **tables: pd.DataFrame) -> pd.DataFrame:
    return compute(get_indicator("sct_ssc", indicator_id, make_catalogue(registered())), report_year, tables, units())


# --- B1 Antal patienter ------------------------------------------------------------


def _b1_tables() -> dict[str, pd.DataFrame]:
    referrals = concat(
        sct("referrals", [
            # p1: assessed on the first day of P(R), and again mid-year: counted once.
            {"referral_id": "r1", "patient_id": "p1", "assessment_date": "2024-01-01", "care_plan": True},
            {"referral_id": "r2", "patient_id": "p1", "assessment_date": "2024-06-01", "care_plan": False},
            # p2: assessed on the last day of P(R).
            {"referral_id": "r3", "patient_id": "p2", "assessment_date": "2024-12-31", "care_plan": False},
            # p3: one day before P(R); p4: one day after; p5: not assessed yet.
            {"referral_id": "r4", "patient_id": "p3", "assessment_date": "2023-12-31", "care_plan": True},
            {"referral_id": "r5", "patient_id": "p4", "assessment_date": "2025-01-01", "care_plan": True},
            {"referral_id": "r6", "patient_id": "p5"},
        ], report_year=2025, unit_id="u_a"),
        # The same local patient_id at another unit is another patient at riket.
        sct("referrals", [
            {"referral_id": "r1", "patient_id": "p1", "assessment_date": "2024-03-01", "care_plan": True},
        ], report_year=2025, unit_id="u_b"),
    )
    patients = concat(
        sct("patients", [
            {"patient_id": "p1", "sex": "K", "home_region": "01"},
            {"patient_id": "p2", "sex": "M", "home_region": "03"},
            {"patient_id": "p3", "sex": "M", "home_region": "03"},
            {"patient_id": "p4", "sex": "M", "home_region": "03"},
            {"patient_id": "p5", "sex": "M", "home_region": "03"},
        ], report_year=2025, unit_id="u_a"),
        sct("patients", [{"patient_id": "p1", "sex": "K", "home_region": "01"}], report_year=2025, unit_id="u_b"),
    )
    return {"referrals": referrals, "patients": patients}


def test_b1_counts_distinct_patients_assessed_on_first_and_last_day_of_period():
    result = _compute("B1", 2025, **_b1_tables())
    # u_a: p1 (2024-01-01, twice) and p2 (2024-12-31); p3/p4 one day outside; p5 unassessed.
    assert row(result, "u_a")["n"] == 2
    assert row(result, "u_a")["value"] == 2.0
    assert row(result, "u_b")["n"] == 1
    # riket = sum of unit counts: 2 + 1 (p1 at u_b is another patient).
    assert row(result)["n"] == 3
    assert row(result)["unit_name"] == "Riket"
    assert row(result, "u_a")["unit_name"] == "Akademiska sjukhuset"


def test_b1_breaks_down_by_home_region_and_sex_with_swedish_labels():
    result = _compute("B1", 2025, **_b1_tables())
    # Region 01: p1@u_a + p1@u_b = 2; region 03: p2@u_a = 1. Sex K: 2, M: 1.
    assert row(result, "", "home_region", "01")["n"] == 2
    assert row(result, "", "home_region", "01")["breakdown_label"] == "Region Stockholm"
    assert row(result, "", "home_region", "03")["n"] == 1
    assert row(result, "", "home_region", "03")["breakdown_label"] == "Region Uppsala"
    assert row(result, "u_a", "home_region", "01")["n"] == 1
    assert row(result, "u_b", "home_region", "01")["n"] == 1
    assert row(result, "", "sex", "K")["n"] == 2
    assert row(result, "", "sex", "K")["breakdown_label"] == "Kvinnor"
    assert row(result, "", "sex", "M")["breakdown_label"] == "Män"
    assert row(result)["breakdown_label"] == "Totalt"
    # Only values that occur: u_b has no region 03 row and no M row.
    keys = keyed(result)
    assert ("count", "enhet", "u_b", "home_region", "03") not in keys
    assert ("count", "enhet", "u_b", "sex", "M") not in keys
    # 1 riket total + 3 unit totals (u_a, u_b, u_c) + regions 2 riket + 3 enhet + sex 2 riket + 3 enhet.
    assert len(result) == 4 + 5 + 5


def test_b1_total_rows_for_units_with_permit_in_period_only():
    result = _compute("B1", 2025, **_b1_tables())
    # u_c's permit starts 2024-01-01: a total row with 0; u_x's ended 2023-06-30: none.
    assert unit_rows(result) == {"u_a", "u_b", "u_c"}
    assert row(result, "u_c")["n"] == 0
    assert row(result, "u_c")["value"] == 0.0
    assert unit_rows(result, "sex") == {"u_a", "u_b"}


def test_b1_empty_population_gives_zero_total_rows_only():
    tables = _b1_tables()
    tables["referrals"] = tables["referrals"].iloc[0:0]
    result = _compute("B1", 2025, **tables)
    assert set(result["breakdown"]) == {"total"}
    assert len(result) == 4  # riket, u_a, u_b, u_c
    assert result["n"].tolist() == [0, 0, 0, 0]
    assert result["value"].tolist() == [0.0, 0.0, 0.0, 0.0]


def test_b1_below_first_report_year_gives_no_rows():
    result = _compute("B1", 2023, **_b1_tables())
    assert result.empty
    assert list(result.columns) == RESULT_COLUMNS


def test_result_columns_types_and_period_of_every_row():
    result = _compute("B1", 2025, **_b1_tables())
    assert list(result.columns) == RESULT_COLUMNS
    assert result["report_year"].dtype == "int64"
    assert str(result["n"].dtype) == "Int64"
    assert str(result["numerator"].dtype) == "Int64"
    assert result["value"].dtype == "float64"
    assert result["suppressed"].dtype == bool and not result["suppressed"].any()
    assert (result["suppression_reason"] == "").all()
    assert (result["period_start"] == date(2024, 1, 1)).all()
    assert (result["period_end"] == date(2024, 12, 31)).all()
    assert result["numerator"].isna().all() and result["ci_low"].isna().all()
    assert (result.loc[result["level"] == "riket", "unit_id"] == "").all()


def test_results_do_not_depend_on_input_row_order():
    tables = _b1_tables()
    shuffled = {name: frame.sample(frac=1.0, random_state=3) for name, frame in tables.items()}
    pd.testing.assert_frame_equal(_compute("B1", 2025, **tables), _compute("B1", 2025, **shuffled))


def test_rows_are_sorted_riket_first_then_units_total_first():
    result = _compute("B1", 2025, **_b1_tables())
    assert result.iloc[0]["level"] == "riket" and result.iloc[0]["breakdown"] == "total"
    levels = result["level"].tolist()
    assert levels == sorted(levels, key=lambda level: level != "riket")


# --- B2 Ålder hos patienter (pooled) ---------------------------------------------


def _b2_tables() -> dict[str, pd.DataFrame]:
    """R = 2026: pooled window 2023-01-01..2025-12-31 from D(2024), D(2025), D(2026)."""
    transplants = concat(
        # D(2024): t1 reinfused 2023-12-20, discharged 2024-01-10, so also in D(2025).
        sct("transplants", [
            {"transplant_id": "t1", "patient_id": "a1", "reinfusion_date": "2023-12-20", "discharge_date": "2024-01-10"},
            # Reinfused one day before the window (delivered for its 2023 discharge).
            {"transplant_id": "t0", "patient_id": "a3", "reinfusion_date": "2022-12-31", "discharge_date": "2023-01-05"},
        ], report_year=2024, unit_id="u_a"),
        sct("transplants", [
            {"transplant_id": "t1", "patient_id": "a1", "reinfusion_date": "2023-12-20", "discharge_date": "2024-01-10"},
        ], report_year=2025, unit_id="u_a"),
        sct("transplants", [
            {"transplant_id": "t2", "patient_id": "a2", "reinfusion_date": "2025-02-28", "discharge_date": "2025-03-20"},
            {"transplant_id": "t3", "patient_id": "a2", "reinfusion_date": "2025-06-01", "discharge_date": "2025-06-20"},
            {"transplant_id": "t5", "patient_id": "a4", "reinfusion_date": "2025-12-31"},
        ], report_year=2026, unit_id="u_a"),
        sct("transplants", [
            {"transplant_id": "t1", "patient_id": "b1", "reinfusion_date": "2024-06-15", "discharge_date": "2024-07-01"},
        ], report_year=2025, unit_id="u_b"),
    )
    patients = concat(
        sct("patients", [
            {"patient_id": "a1", "birth_date": "1980-12-21"},
            {"patient_id": "a3", "birth_date": "1990-01-01"},
        ], report_year=2024, unit_id="u_a"),
        sct("patients", [{"patient_id": "a1", "birth_date": "1980-12-21"}], report_year=2025, unit_id="u_a"),
        sct("patients", [
            {"patient_id": "a2", "birth_date": "1972-02-29"},
            {"patient_id": "a4", "birth_date": "2000-03-01"},
        ], report_year=2026, unit_id="u_a"),
        sct("patients", [{"patient_id": "b1", "birth_date": "1960-06-15"}], report_year=2025, unit_id="u_b"),
    )
    return {"transplants": transplants, "patients": patients}


def test_b2_pools_three_years_and_counts_a_transplant_once_across_deliveries():
    result = _compute("B2", 2026, **_b2_tables())
    assert row(result)["period_start"] == date(2023, 1, 1)
    assert row(result)["period_end"] == date(2025, 12, 31)
    u_a = row(result, "u_a")
    # Ages at the first reinfusion in the window:
    #   a1: born 1980-12-21, t1 2023-12-20 (in D(2024) and D(2025), once) -> 42 (birthday tomorrow)
    #   a2: born 1972-02-29, t2 2025-02-28, 2025 not a leap year -> birthday 1 March -> 52;
    #       t3 2025-06-01 is a2's second transplant: a2 counts once, at the first.
    #   a4: born 2000-03-01, t5 on the window's last day 2025-12-31 -> 25
    #   a3: t0 2022-12-31, one day before the window: out.
    assert u_a["n"] == 3
    # mean (42+52+25)/3 = 39.667; squared deviations 5.444+152.111+215.111 = 372.667; sd = sqrt(186.333)
    assert u_a["mean"] == pytest.approx(119 / 3)
    assert u_a["value"] == pytest.approx(119 / 3)
    assert u_a["sd"] == pytest.approx(math.sqrt(372.6666667 / 2))
    # sorted [25, 42, 52]: p10 h=0.2 -> 25+0.2*17 = 28.4; median 42; p90 h=1.8 -> 42+0.8*10 = 50.
    assert (u_a["p10"], u_a["median"], u_a["p90"]) == pytest.approx((28.4, 42.0, 50.0))
    u_b = row(result, "u_b")
    # b1: born 1960-06-15, reinfused on the 64th birthday 2024-06-15 -> 64; one value: sd empty.
    assert u_b["n"] == 1 and u_b["mean"] == 64.0 and math.isnan(u_b["sd"])
    assert u_b["median"] == 64.0


def test_b2_takes_birth_date_from_the_delivery_of_the_kept_transplant_row():
    # t1 is in D(2024) and D(2025); it is counted once, from the latest delivery, and its
    # patient's birth date comes from patients.csv of that same delivery (D(2025)).
    tables = _b2_tables()
    patients = tables["patients"]
    corrected = (patients["report_year"] == 2025) & (patients["patient_id"] == "a1")
    patients.loc[corrected, "birth_date"] = pd.Timestamp("1980-12-19")
    result = _compute("B2", 2026, **tables)
    # a1 is now 43 on 2023-12-20 (birthday 12-19 passed): u_a ages [43, 52, 25].
    assert row(result, "u_a")["n"] == 3
    assert row(result, "u_a")["mean"] == pytest.approx(120 / 3)


def test_b2_riket_pools_units_and_publishes_only_n_mean_sd():
    result = _compute("B2", 2026, **_b2_tables())
    riket = row(result)
    # [42, 52, 25, 64]: mean 183/4 = 45.75; squared deviations
    # 14.0625 + 39.0625 + 430.5625 + 333.0625 = 816.75; sd = sqrt(816.75/3) = sqrt(272.25) = 16.5
    assert riket["n"] == 4
    assert riket["mean"] == pytest.approx(45.75)
    assert riket["sd"] == pytest.approx(16.5)
    assert math.isnan(riket["p10"]) and math.isnan(riket["median"]) and math.isnan(riket["p90"])


def test_b2_window_is_cut_at_condition_start_and_pooling_is_configuration():
    catalogue = make_catalogue(registered(), pooled_years=2)
    b2 = next(i for i in catalogue if i.condition_id == "sct_ssc" and i.indicator_id == "B2")
    assert b2.pooled_years == 2
    assert [(i.table, i.offsets) for i in b2.inputs] == [("transplants", (-1, 0)), ("patients", (-1, 0))]
    assert period_for(b2, 2027) == (date(2025, 1, 1), date(2026, 12, 31))
    default_b2 = get_indicator("sct_ssc", "B2", make_catalogue(registered()))
    # R = 2024: R-3 = 2021 is before the start 2023-01-01.
    assert period_for(default_b2, 2024) == (date(2023, 1, 1), date(2023, 12, 31))
    assert period_for(default_b2, 2027) == (date(2024, 1, 1), date(2026, 12, 31))


# --- B3 Antal stamcellstransplantationer, B4 Vårdtid, T2 ---------------------------


def _transplants_2025() -> dict[str, pd.DataFrame]:
    """D(2025) transplants for B3, B4 and T2 (P(R) = 2024)."""
    transplants = concat(
        sct("transplants", [
            # Reinfused on the first and the last day of P(R); same patient, two transplants.
            {"transplant_id": "t1", "patient_id": "a1", "decision_date": "2023-12-01", "mobilization_date": "2023-12-31",
             "reinfusion_date": "2024-01-01", "discharge_date": "2024-02-28"},
            {"transplant_id": "t2", "patient_id": "a1", "decision_date": "2024-10-01", "mobilization_date": "2024-11-15",
             "reinfusion_date": "2024-12-31", "discharge_date": "2025-01-20"},
            # Reinfused a day before P(R), discharged 2024-01-01 (first day): B4 only.
            {"transplant_id": "t3", "patient_id": "a2", "decision_date": "2023-10-01", "mobilization_date": "2023-11-01",
             "reinfusion_date": "2023-12-31", "discharge_date": "2024-01-01"},
            # Over the leap day: 2024-02-28 -> 2024-03-01 is 2 days.
            {"transplant_id": "t4", "patient_id": "a2", "decision_date": "2024-01-30", "mobilization_date": "2024-02-01",
             "reinfusion_date": "2024-02-28", "discharge_date": "2024-03-01"},
            # Still admitted: in B3/T2, not in B4.
            {"transplant_id": "t5", "patient_id": "a3", "decision_date": "2024-09-01", "mobilization_date": "2024-10-01",
             "reinfusion_date": "2024-11-01"},
        ], report_year=2025, unit_id="u_a"),
        sct("transplants", [
            {"transplant_id": "t1", "patient_id": "b1", "decision_date": "2024-01-01", "mobilization_date": "2024-01-31",
             "reinfusion_date": "2024-02-29", "discharge_date": "2024-03-30"},
        ], report_year=2025, unit_id="u_b"),
    )
    patients = concat(
        sct("patients", [
            {"patient_id": "a1", "home_region": "01"},
            {"patient_id": "a2", "home_region": "12"},
            {"patient_id": "a3", "home_region": "99"},
        ], report_year=2025, unit_id="u_a"),
        sct("patients", [{"patient_id": "b1", "home_region": "12"}], report_year=2025, unit_id="u_b"),
    )
    return {"transplants": transplants, "patients": patients}


def test_b3_counts_transplants_reinfused_in_period_by_patient_home_region():
    result = _compute("B3", 2025, **_transplants_2025())
    # u_a: t1 (2024-01-01), t2 (2024-12-31), t4, t5; t3 (2023-12-31) is outside. u_b: t1 (2024-02-29).
    assert row(result, "u_a")["n"] == 4
    assert row(result, "u_b")["n"] == 1
    assert row(result)["n"] == 5
    # Both of a1's transplants count: region 01 = 2. Region 12: t4@u_a + t1@u_b = 2. 99: t5.
    assert row(result, "", "home_region", "01")["n"] == 2
    assert row(result, "", "home_region", "12")["n"] == 2
    assert row(result, "", "home_region", "99")["breakdown_label"] == "Ej folkbokförd i Sverige"
    assert row(result, "u_a", "home_region", "12")["n"] == 1


def test_b4_length_of_stay_for_stays_ended_in_period():
    result = _compute("B4", 2025, **_transplants_2025())
    u_a = row(result, "u_a")
    # Discharged in 2024 at u_a: t1 2024-01-01 -> 2024-02-28 = 58 days; t3 2023-12-31 -> 2024-01-01
    # = 1 day (discharged on the first day of P(R)); t4 over 29 Feb = 2 days.
    # t2 discharged 2025-01-20 and t5 still admitted are out.
    assert u_a["n"] == 3
    assert u_a["mean"] == pytest.approx(61 / 3)
    # sorted [1, 2, 58]: p10 h=0.2 -> 1.2; median 2; p90 h=1.8 -> 2+0.8*56 = 46.8
    assert (u_a["p10"], u_a["median"], u_a["p90"]) == pytest.approx((1.2, 2.0, 46.8))
    # u_b: 2024-02-29 -> 2024-03-30 = 30 days. Riket pools [1, 2, 58, 30] and keeps percentiles.
    assert row(result, "u_b")["mean"] == 30.0
    riket = row(result)
    assert riket["n"] == 4 and riket["mean"] == pytest.approx(91 / 4)
    assert riket["median"] == pytest.approx(16.0)  # (2 + 30) / 2


def test_t2_time_from_decision_to_mobilization_for_transplants_reinfused_in_period():
    result = _compute("T2", 2025, **_transplants_2025())
    # u_a: t1 2023-12-01 -> 2023-12-31 = 30; t2 2024-10-01 -> 2024-11-15 = 45;
    # t4 2024-01-30 -> 2024-02-01 = 2; t5 2024-09-01 -> 2024-10-01 = 30. t3 reinfused 2023: out.
    u_a = row(result, "u_a")
    assert u_a["n"] == 4
    assert u_a["mean"] == pytest.approx(107 / 4)
    # u_b: 2024-01-01 -> 2024-01-31 = 30.
    assert row(result, "u_b")["mean"] == 30.0
    assert row(result)["n"] == 5 and row(result)["mean"] == pytest.approx(137 / 5)


def test_b3_population_at_a_unit_without_permit_in_the_report_year_is_left_out():
    # INDICATORS.md 1, Units in a report year: a unit has results for R only when its permit overlaps
    # P(R); u_x's ended 2023-06-30, before P(2025), so its rows count neither for it nor for riket.
    tables = _transplants_2025()
    tables["transplants"].loc[tables["transplants"]["unit_id"] == "u_b", "unit_id"] = "u_x"
    tables["patients"].loc[tables["patients"]["unit_id"] == "u_b", "unit_id"] = "u_x"
    result = _compute("B3", 2025, **tables)
    assert unit_rows(result) == {"u_a", "u_b", "u_c"}
    assert row(result, "u_b")["n"] == 0
    everyone = _compute("B3", 2025, **_transplants_2025())
    riket = result[(result["level"] == "riket") & (result["breakdown"] == "total")]["n"].item()
    assert riket == everyone[(everyone["level"] == "riket") & (everyone["breakdown"] == "total")]["n"].item() - 1


# --- T1 Tid till beslut ------------------------------------------------------------


def test_t1_time_to_decision_by_sct_offered():
    referrals = sct("referrals", [
        # 2024-01-10 -> 2024-03-10 over 29 Feb: 21 + 29 + 10 = 60 days; offered.
        {"referral_id": "r1", "patient_id": "p1", "referral_date": "2024-01-10", "assessment_date": "2024-02-01",
         "decision_date": "2024-03-10", "sct_offered": True, "care_plan": False},
        # Assessed on the first day of P(R): 2023-11-01 -> 2024-01-31 = 30 + 31 + 30 = 91 days; not offered.
        {"referral_id": "r2", "patient_id": "p2", "referral_date": "2023-11-01", "assessment_date": "2024-01-01",
         "decision_date": "2024-01-31", "sct_offered": False, "care_plan": False},
        # Assessed in P(R) but no decision yet: out.
        {"referral_id": "r3", "patient_id": "p3", "referral_date": "2024-04-01", "assessment_date": "2024-05-01",
         "care_plan": False},
        # Assessed a day before P(R): out even though decided in it.
        {"referral_id": "r4", "patient_id": "p4", "referral_date": "2023-12-01", "assessment_date": "2023-12-31",
         "decision_date": "2024-01-15", "sct_offered": True, "care_plan": False},
    ], report_year=2025)
    result = _compute("T1", 2025, referrals=referrals)
    u_a = row(result, "u_a")
    assert u_a["n"] == 2
    assert u_a["mean"] == pytest.approx(75.5)
    assert u_a["sd"] == pytest.approx(31 / math.sqrt(2))  # two values: |91-60|/sqrt(2)
    offered = row(result, "u_a", "sct_offered", "yes")
    assert offered["n"] == 1 and offered["mean"] == 60.0
    assert offered["breakdown_label"] == "Erbjuden SCT"
    not_offered = row(result, "", "sct_offered", "no")
    assert not_offered["n"] == 1 and not_offered["mean"] == 91.0
    assert not_offered["breakdown_label"] == "Ej erbjuden SCT"
    # u_b and u_c have no referrals: total rows with N 0 and empty statistics.
    assert row(result, "u_b")["n"] == 0
    assert math.isnan(row(result, "u_b")["value"]) and math.isnan(row(result, "u_b")["mean"])


# --- R1 Transplantationsrelaterad överlevnad ---------------------------------------


def _r1_tables() -> dict[str, pd.DataFrame]:
    """R = 2025: cohort year 2023 from D(2024); outcomes from followup of D(2025)."""
    transplants = concat(
        sct("transplants", [
            {"transplant_id": "t1", "patient_id": "a1", "reinfusion_date": "2023-01-01"},  # first day
            {"transplant_id": "t2", "patient_id": "a2", "reinfusion_date": "2023-03-01"},
            {"transplant_id": "t3", "patient_id": "a3", "reinfusion_date": "2023-03-01"},
            {"transplant_id": "t4", "patient_id": "a4", "reinfusion_date": "2023-03-01"},
            {"transplant_id": "t5", "patient_id": "a5", "reinfusion_date": "2023-12-31"},  # last day
            {"transplant_id": "t6", "patient_id": "a6", "reinfusion_date": "2023-04-01"},
            {"transplant_id": "t7", "patient_id": "a7", "reinfusion_date": "2023-06-01"},
            # A day before the cohort window (delivered for its 2023 discharge).
            {"transplant_id": "t8", "patient_id": "a8", "reinfusion_date": "2022-12-31", "discharge_date": "2023-01-10"},
        ], report_year=2024, unit_id="u_a"),
        sct("transplants", [
            {"transplant_id": "t1", "patient_id": "b1", "reinfusion_date": "2023-07-01"},
        ], report_year=2024, unit_id="u_b"),
    )
    # 2023-03-01 + 100 days = 2023-06-09 (30 + 30 + 31 + 9).
    followup = concat(
        sct("followup", [
            {"transplant_id": "t1", "last_followup_date": "2024-12-31"},
            # Death on day 100 exactly, related: stays in the denominator, not alive "after 100 days".
            {"transplant_id": "t2", "death_date": "2023-06-09", "death_transplant_related": True},
            # Death on day 101, related: alive at 100 days.
            {"transplant_id": "t3", "death_date": "2023-06-10", "death_transplant_related": True},
            # Death on day 100, unrelated: excluded.
            {"transplant_id": "t4", "death_date": "2023-06-09", "death_transplant_related": False},
            # Unrelated death well within 100 days: excluded.
            {"transplant_id": "t5", "death_date": "2024-01-15", "death_transplant_related": False},
            # Related death within 100 days: denominator only.
            {"transplant_id": "t6", "death_date": "2023-05-01", "death_transplant_related": True},
            # Unrelated death after day 100: not excluded, alive at 100 days.
            {"transplant_id": "t7", "death_date": "2023-12-01", "death_transplant_related": False},
            {"transplant_id": "t8", "last_followup_date": "2024-12-31"},
        ], report_year=2025, unit_id="u_a"),
        sct("followup", [{"transplant_id": "t1", "last_followup_date": "2024-12-31"}], report_year=2025, unit_id="u_b"),
    )
    return {"transplants": transplants, "followup": followup}


def test_r1_survival_at_100_days_with_exclusions_and_day_100_boundary():
    result = _compute("R1", 2025, **_r1_tables())
    assert row(result)["period_start"] == date(2023, 1, 1)
    assert row(result)["period_end"] == date(2023, 12, 31)
    u_a = row(result, "u_a")
    # Cohort t1..t7 (t8 reinfused 2022); excluded t4, t5 (unrelated death by day 100).
    # Denominator t1, t2, t3, t6, t7 = 5; alive after day 100: t1, t3, t7 = 3.
    assert (u_a["numerator"], u_a["denominator"], u_a["n"]) == (3, 5, 5)
    assert u_a["value"] == pytest.approx(60.0)
    assert (u_a["ci_low"], u_a["ci_high"]) == pytest.approx(wilson_interval(3, 5))
    assert math.isnan(u_a["mean"])
    # u_b: 1/1. Riket: sums 4/6.
    assert (row(result, "u_b")["numerator"], row(result, "u_b")["denominator"]) == (1, 1)
    riket = row(result)
    assert (riket["numerator"], riket["denominator"]) == (4, 6)
    assert riket["value"] == pytest.approx(200 / 3)


def test_r1_excludes_unrelated_death_within_100_days():
    tables = _r1_tables()
    only_t5 = tables["transplants"]["transplant_id"].isin(["t5"]) & (tables["transplants"]["unit_id"] == "u_a")
    tables["transplants"] = tables["transplants"][only_t5]
    result = _compute("R1", 2025, **tables)
    u_a = row(result, "u_a")
    assert (u_a["numerator"], u_a["denominator"]) == (0, 0)
    assert math.isnan(u_a["value"]) and math.isnan(u_a["ci_low"]) and math.isnan(u_a["ci_high"])


def test_r1_unit_without_permit_in_cohort_year_gets_no_total_row():
    result = _compute("R1", 2025, **_r1_tables())
    # Cohort year 2023: u_c's permit starts 2024-01-01 (no row); u_x held one until 2023-06-30, before
    # P(2025): its cohort is no longer followed up and it has no row (INDICATORS.md 1).
    assert unit_rows(result) == {"u_a", "u_b"}


def test_r1_a_cohort_of_a_unit_whose_permit_ended_needs_no_followup_row():
    """Once the crash of every later year: u_x's 2023 transplant has no followup row in D(2025), and need not."""
    tables = _r1_tables()
    transplant = tables["transplants"][tables["transplants"]["unit_id"] == "u_a"].iloc[[0]].assign(
        unit_id="u_x", transplant_id="tx")
    tables["transplants"] = pd.concat([tables["transplants"], transplant], ignore_index=True)
    patient = tables["transplants"]["patient_id"].iloc[-1]
    if "patients" in tables:
        tables["patients"] = pd.concat([tables["patients"], tables["patients"][tables["patients"]["patient_id"] == patient]
                                        .iloc[[0]].assign(unit_id="u_x")], ignore_index=True)
    result = _compute("R1", 2025, **tables)
    assert unit_rows(result) == {"u_a", "u_b"}
    assert result.equals(_compute("R1", 2025, **_r1_tables()))


def test_r1_reads_transplants_of_previous_delivery_and_followup_of_current():
    r1 = get_indicator("sct_ssc", "R1", make_catalogue(registered()))
    assert [(i.table, i.offsets) for i in r1.inputs] == [("transplants", (-1, -1)), ("followup", (0, 0))]
    assert r1.cohort_lag == 2 and r1.first_report_year == 2025
    assert _compute("R1", 2024, **_r1_tables()).empty


def test_r1_rejects_transplants_from_an_undeclared_delivery():
    # Transplants of D(R) instead of D(R-1) are a wiring mistake, not data: it raises.
    tables = _r1_tables()
    tables["transplants"] = tables["transplants"].assign(report_year=2025)
    with pytest.raises(ValueError, match="outside its declared offsets"):
        _compute("R1", 2025, **tables)
    del tables["transplants"]
    with pytest.raises(KeyError, match="transplants"):
        _compute("R1", 2025, **tables)


def test_r1_missing_followup_row_raises_without_row_values():
    tables = _r1_tables()
    tables["followup"] = tables["followup"][tables["followup"]["transplant_id"] != "t2"]
    with pytest.raises(ValueError, match="1 cohort transplant") as error:
        _compute("R1", 2025, **tables)
    assert "t2" not in str(error.value) and "a2" not in str(error.value)


# --- R2 Sjukdomsfri överlevnad -----------------------------------------------------


def _r2_tables() -> dict[str, pd.DataFrame]:
    """R = 2026: cohort year 2023 from D(2024), outcomes from D(2026).

    2023-01-01 + 730 days = 2024-12-31 (365 days of 2023, then 365 of leap year 2024).
    """
    ids = ["t1", "t2", "t3", "t4", "t5", "t6", "t7"]
    reinfusion = ["2023-01-01"] * 5 + ["2023-06-01", "2023-06-01"]
    transplants = sct(
        "transplants",
        [{"transplant_id": t, "patient_id": "a" + t, "reinfusion_date": d} for t, d in zip(ids, reinfusion)]
        + [{"transplant_id": "t9", "patient_id": "a9", "reinfusion_date": "2024-01-01"}],  # a day after the window
        report_year=2024,
    )
    followup = sct("followup", [
        {"transplant_id": "t1", "last_followup_date": "2025-01-01"},  # alive, no failure
        {"transplant_id": "t2", "death_date": "2024-12-31", "death_transplant_related": True},  # death on h
        {"transplant_id": "t3", "death_date": "2025-01-01", "death_transplant_related": True},  # death on h+1
        {"transplant_id": "t4", "heart_failure_date": "2024-12-31"},  # heart failure on h
        {"transplant_id": "t5", "kidney_failure_date": "2025-01-01"},  # kidney failure on h+1
        {"transplant_id": "t6", "death_date": "2023-07-01", "death_transplant_related": False},  # no exclusion in R2
        {"transplant_id": "t7", "lung_failure_date": "2023-09-01"},
        {"transplant_id": "t9", "last_followup_date": "2026-01-01"},
    ], report_year=2026)
    return {"transplants": transplants, "followup": followup}


def test_r2_progression_free_survival_at_exactly_two_years():
    result = _compute("R2", 2026, **_r2_tables())
    assert row(result)["period_start"] == date(2023, 1, 1)
    u_a = row(result, "u_a")
    # Whole cohort t1..t7 = 7 (an unrelated death is not excluded). Numerator: t1, t3 (death h+1),
    # t5 (failure h+1) = 3. t2 (death on h), t4 (heart failure on h), t6, t7 are not.
    assert (u_a["numerator"], u_a["denominator"]) == (3, 7)
    assert u_a["value"] == pytest.approx(300 / 7)
    assert get_indicator("sct_ssc", "R2", make_catalogue(registered())).inputs[0].offsets == (-2, -2)


def test_r2_first_report_year_is_2026():
    assert _compute("R2", 2025, **_r2_tables()).empty


# --- P1 Patientnöjdhet (response rate) ----------------------------------------------


def test_p1_response_rate_of_distinct_recipients_sent_in_period():
    survey = sct("survey", [
        # p1: answered the first survey (sent on the first day), not the second: a responder.
        {"patient_id": "p1", "sent_date": "2024-01-01", "response_date": "2024-01-10"},
        {"patient_id": "p1", "sent_date": "2024-06-01"},
        # p2: sent on the last day, no answer; an answer to a survey sent a day before P(R) does not count.
        {"patient_id": "p2", "sent_date": "2024-12-31"},
        {"patient_id": "p2", "sent_date": "2023-12-31", "response_date": "2024-01-02"},
        # p3: sent a day after P(R): not a recipient.
        {"patient_id": "p3", "sent_date": "2025-01-01", "response_date": "2025-01-03"},
        # p4: sent in P(R), answered after it: a responder.
        {"patient_id": "p4", "sent_date": "2024-12-31", "response_date": "2025-01-05"},
    ], report_year=2025)
    result = _compute("P1", 2025, survey=survey)
    assert set(result["measure"]) == {"response_rate"}
    u_a = row(result, "u_a")
    # Recipients p1, p2, p4 = 3; responders p1, p4 = 2.
    assert (u_a["numerator"], u_a["denominator"], u_a["n"]) == (2, 3, 3)
    assert u_a["value"] == pytest.approx(200 / 3)
    assert _compute("P1", 2024, survey=survey).empty


# --- Ö1 Individuell vårdplan ---------------------------------------------------------


def test_o1_care_plan_among_the_b1_population():
    referrals = sct("referrals", [
        # p1: two referrals assessed in P(R), one with a care plan: numerator.
        {"referral_id": "r1", "patient_id": "p1", "assessment_date": "2024-02-01", "care_plan": False},
        {"referral_id": "r2", "patient_id": "p1", "assessment_date": "2024-12-31", "care_plan": True},
        # p2: care plan only on a referral assessed a day before P(R): denominator only.
        {"referral_id": "r3", "patient_id": "p2", "assessment_date": "2024-03-01", "care_plan": False},
        {"referral_id": "r4", "patient_id": "p2", "assessment_date": "2023-12-31", "care_plan": True},
        # p3: no care plan.
        {"referral_id": "r5", "patient_id": "p3", "assessment_date": "2024-01-01", "care_plan": False},
        # p4: not assessed in P(R): not in the B1 population.
        {"referral_id": "r6", "patient_id": "p4", "assessment_date": "2025-01-01", "care_plan": True},
    ], report_year=2025)
    result = _compute("Ö1", 2025, referrals=referrals)
    u_a = row(result, "u_a")
    assert (u_a["numerator"], u_a["denominator"]) == (1, 3)
    assert u_a["value"] == pytest.approx(100 / 3)
    assert set(result["indicator_id"]) == {"Ö1"}
    assert row(result, "u_b")["denominator"] == 0


# --- shared machinery invariants -------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["u_a", "u_b", "u_c"]), st.sampled_from(["01", "12", "99"]),
                  st.integers(min_value=-3, max_value=370)),
        max_size=12,
    )
)
def test_riket_is_the_sum_of_units_and_breakdowns_sum_to_totals(transplants):
    """B3 over generated transplants: counts at riket are sums of unit counts (section 1),
    and one-way breakdown values add up to their total, at both levels."""
    start = pd.Timestamp("2024-01-01")
    rows = [
        {"transplant_id": f"t{i}", "patient_id": f"p{i}", "unit_id": unit,
         "reinfusion_date": str((start + pd.Timedelta(days=day)).date())}
        for i, (unit, _region, day) in enumerate(transplants)
    ]
    patients = [
        {"patient_id": f"p{i}", "unit_id": unit, "home_region": region}
        for i, (unit, region, _day) in enumerate(transplants)
    ]
    result = _compute(
        "B3", 2025,
        transplants=sct("transplants", rows, report_year=2025),
        patients=sct("patients", patients, report_year=2025),
    )
    totals = result[result["breakdown"] == "total"]
    riket_total = int(totals.loc[totals["level"] == "riket", "n"].iloc[0])
    assert riket_total == int(totals.loc[totals["level"] == "enhet", "n"].sum())
    # Days 0..365 of 2024 (a leap year) are in P(R); -3..-1 and 366..370 are not.
    assert riket_total == sum(1 for _unit, _region, day in transplants if 0 <= day <= 365)
    regions = result[result["breakdown"] == "home_region"]
    for level, group in regions.groupby("level"):
        assert int(group["n"].sum()) == int(totals.loc[totals["level"] == level, "n"].sum())
    assert (regions["n"] > 0).all()
