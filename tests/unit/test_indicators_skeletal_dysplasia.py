"""skeletal_dysplasia indicators (INDICATORS.md section 3) on hand-computed fixtures.

Units (indicator_fixtures.units): s_a and s_b hold permits from 2025-09-01;
s_c only from 2026-01-01. Unless a test says otherwise R = 2026, the first
report year, so P(R) = 2025-09-01..2025-12-31.
"""

from __future__ import annotations

import math
from datetime import date

import pandas as pd
import pytest

from indicator_fixtures import concat, keyed, row, skel, unit_rows, units
from nhv_pipeline.conditions import registered
from nhv_pipeline.indicators import compute, get_indicator, make_catalogue, period_for


def _compute(indicator_id: str, report_year: int, **tables: pd.DataFrame) -> pd.DataFrame:
    return compute(get_indicator("skeletal_dysplasia", indicator_id, make_catalogue(registered())), report_year, tables, units())


def test_first_period_starts_at_condition_start_then_full_years():
    b1 = get_indicator("skeletal_dysplasia", "B1", make_catalogue(registered()))
    assert period_for(b1, 2026) == (date(2025, 9, 1), date(2025, 12, 31))
    assert period_for(b1, 2027) == (date(2026, 1, 1), date(2026, 12, 31))


# --- B1 Antal patienter ------------------------------------------------------------


def _b1_tables() -> dict[str, pd.DataFrame]:
    contacts = concat(
        skel("contacts", [
            # k1: new visit on the first day of P(R) and a return visit later: counted once.
            {"contact_id": "c1", "patient_id": "k1", "contact_date": "2025-09-01", "contact_type": "new_visit",
             "visit_mode": "physical"},
            {"contact_id": "c2", "patient_id": "k1", "contact_date": "2025-11-01", "contact_type": "return_visit",
             "visit_mode": "digital"},
            # k2: MDK on the last day of P(R).
            {"contact_id": "c3", "patient_id": "k2", "contact_date": "2025-12-31", "contact_type": "mdk"},
            # k3: a digital return visit.
            {"contact_id": "c4", "patient_id": "k3", "contact_date": "2025-10-01", "contact_type": "return_visit",
             "visit_mode": "digital"},
            # k4: only a treatment conference, not an assessment.
            {"contact_id": "c5", "patient_id": "k4", "contact_date": "2025-10-01",
             "contact_type": "treatment_conference"},
            # k5: a day before P(R) (the condition start).
            {"contact_id": "c6", "patient_id": "k5", "contact_date": "2025-08-31", "contact_type": "new_visit",
             "visit_mode": "physical"},
        ], report_year=2026, unit_id="s_a"),
        skel("contacts", [
            {"contact_id": "c1", "patient_id": "k1", "contact_date": "2025-10-10", "contact_type": "new_visit",
             "visit_mode": "physical"},
        ], report_year=2026, unit_id="s_b"),
    )
    patients = concat(
        skel("patients", [
            {"patient_id": "k1", "sex": "M", "home_region": "99"},
            {"patient_id": "k2", "sex": "K", "home_region": "01"},
            {"patient_id": "k3", "sex": "K", "home_region": "01"},
            {"patient_id": "k4", "sex": "K", "home_region": "14"},
            {"patient_id": "k5", "sex": "K", "home_region": "14"},
        ], report_year=2026, unit_id="s_a"),
        skel("patients", [{"patient_id": "k1", "sex": "K", "home_region": "99"}], report_year=2026, unit_id="s_b"),
    )
    return {"contacts": contacts, "patients": patients}


def test_b1_counts_patients_with_an_assessment_in_period():
    result = _compute("B1", 2026, **_b1_tables())
    # s_a: k1 (first day, twice), k2 (MDK, last day), k3 (return visit) = 3;
    # k4 (treatment conference only) and k5 (a day early) are out. s_b: k1 = 1.
    assert row(result, "s_a")["n"] == 3
    assert row(result, "s_b")["n"] == 1
    assert row(result)["n"] == 4
    assert row(result)["period_start"] == date(2025, 9, 1)
    # s_c's permit starts 2026-01-01: no row in the 2025 period.
    assert unit_rows(result) == {"s_a", "s_b"}


def test_b1_home_region_99_is_its_own_value_and_sex_breakdown():
    result = _compute("B1", 2026, **_b1_tables())
    # Region 99: k1@s_a + k1@s_b = 2; 01: k2, k3 = 2; 14 (k4/k5 only) does not occur.
    not_registered = row(result, "", "home_region", "99")
    assert not_registered["n"] == 2
    assert not_registered["breakdown_label"] == "Ej folkbokförd i Sverige"
    assert row(result, "", "home_region", "01")["n"] == 2
    assert ("count", "riket", "", "home_region", "14") not in keyed(result)
    # Sex: K = k2, k3 (s_a) + k1 (s_b) = 3; M = k1 (s_a) = 1.
    assert row(result, "", "sex", "K")["n"] == 3
    assert row(result, "", "sex", "M")["n"] == 1
    assert row(result, "s_b", "sex", "K")["n"] == 1


def test_b1_below_first_report_year_gives_no_rows():
    assert _compute("B1", 2025, **_b1_tables()).empty


def test_b1_empty_population_in_2027_gives_zero_totals_for_all_permit_units():
    # D(2027) holding only contacts dated 2025 (outside P(2027) = 2026): total rows with 0
    # for riket, s_a, s_b and s_c (permit from 2026-01-01).
    tables = {name: frame.assign(report_year=2027) for name, frame in _b1_tables().items()}
    result = _compute("B1", 2027, **tables)
    assert unit_rows(result) == {"s_a", "s_b", "s_c"}
    assert result["n"].tolist() == [0, 0, 0, 0]
    assert set(result["breakdown"]) == {"total"}
    assert row(result, "s_c")["unit_name"] == "Nya skelettenheten"


# --- B2 Antal åtgärder ---------------------------------------------------------------


def test_b2_counts_mdk_new_visits_and_treatment_conferences_not_return_visits():
    contacts = skel("contacts", [
        {"contact_id": "c1", "patient_id": "k1", "contact_date": "2025-12-31", "contact_type": "mdk"},
        {"contact_id": "c2", "patient_id": "k1", "contact_date": "2025-09-01", "contact_type": "new_visit",
         "visit_mode": "physical"},
        {"contact_id": "c3", "patient_id": "k2", "contact_date": "2025-09-15", "contact_type": "new_visit",
         "visit_mode": "digital"},
        {"contact_id": "c4", "patient_id": "k2", "contact_date": "2025-10-01", "contact_type": "return_visit",
         "visit_mode": "physical"},
        {"contact_id": "c5", "patient_id": "k2", "contact_date": "2025-10-01", "contact_type": "treatment_conference"},
        {"contact_id": "c6", "patient_id": "k3", "contact_date": "2025-08-31", "contact_type": "new_visit",
         "visit_mode": "physical"},
        {"contact_id": "c7", "patient_id": "k3", "contact_date": "2026-01-01", "contact_type": "mdk"},
    ], report_year=2026)
    result = _compute("B2", 2026, contacts=contacts)
    # In P(R): c1 mdk, c2 + c3 new visits (physical and digital), c5 treatment conference = 4.
    # c4 return visit is not counted; c6/c7 are a day outside.
    assert row(result, "s_a")["n"] == 4
    assert row(result, "", "contact_type", "mdk")["n"] == 1
    assert row(result, "", "contact_type", "new_visit")["n"] == 2
    assert row(result, "", "contact_type", "new_visit")["breakdown_label"] == "Nybesök"
    assert row(result, "", "contact_type", "treatment_conference")["n"] == 1
    assert set(result.loc[result["breakdown"] == "contact_type", "breakdown_value"]) == {
        "mdk", "new_visit", "treatment_conference",
    }
    assert row(result, "s_b")["n"] == 0


# --- B3 Ålder ------------------------------------------------------------------------


def test_b3_age_at_first_assessment_with_infants_in_days_over_365():
    contacts = skel("contacts", [
        # k1: born 2025-03-01, first assessed 2025-09-01 (again 2025-12-01): 184 days -> 184/365.
        {"contact_id": "c1", "patient_id": "k1", "contact_date": "2025-09-01", "contact_type": "new_visit",
         "visit_mode": "physical"},
        {"contact_id": "c2", "patient_id": "k1", "contact_date": "2025-12-01", "contact_type": "mdk"},
        # k2: born 2007-09-10; a treatment conference at 17 is not an assessment; MDK on the
        # 18th birthday 2025-09-10 -> 18, adult.
        {"contact_id": "c3", "patient_id": "k2", "contact_date": "2025-09-05", "contact_type": "treatment_conference"},
        {"contact_id": "c4", "patient_id": "k2", "contact_date": "2025-09-10", "contact_type": "mdk"},
        # k3: born 2007-12-31, assessed 2025-12-30, a day before turning 18 -> 17, child.
        {"contact_id": "c5", "patient_id": "k3", "contact_date": "2025-12-30", "contact_type": "return_visit",
         "visit_mode": "digital"},
        # k4: born 2024-09-02, assessed 2025-09-01, a day before turning 1: 364 days -> 364/365.
        {"contact_id": "c6", "patient_id": "k4", "contact_date": "2025-09-01", "contact_type": "new_visit",
         "visit_mode": "digital"},
    ], report_year=2026)
    patients = skel("patients", [
        {"patient_id": "k1", "birth_date": "2025-03-01"},
        {"patient_id": "k2", "birth_date": "2007-09-10"},
        {"patient_id": "k3", "birth_date": "2007-12-31"},
        {"patient_id": "k4", "birth_date": "2024-09-02"},
    ], report_year=2026)
    result = _compute("B3", 2026, contacts=contacts, patients=patients)
    # Days 2025-03-01 -> 2025-09-01: 31+30+31+30+31+31 = 184.
    values = [184 / 365, 18.0, 17.0, 364 / 365]
    total = row(result, "s_a")
    assert total["n"] == 4
    assert total["mean"] == pytest.approx(sum(values) / 4)
    # sorted [0.5041, 0.9973, 17, 18]: median (0.9973 + 17)/2.
    assert total["median"] == pytest.approx((364 / 365 + 17) / 2)
    child = row(result, "s_a", "age_group", "child")
    assert child["n"] == 3
    assert child["mean"] == pytest.approx((184 / 365 + 17 + 364 / 365) / 3)
    assert child["breakdown_label"] == "Barn (0–17 år)"
    adult = row(result, "", "age_group", "adult")
    assert adult["n"] == 1 and adult["mean"] == 18.0
    assert adult["breakdown_label"] == "Vuxna (18 år och äldre)"
    # Riket keeps the percentiles for skeletal B3.
    assert row(result)["p90"] == pytest.approx(total["p90"])


def test_b3_29_february_birthday_is_1_march_in_2026():
    # R = 2027, P(R) = 2026. Born 2008-02-29: 17 on 2026-02-28, 18 on 2026-03-01.
    contacts = skel("contacts", [
        {"contact_id": "c1", "patient_id": "k1", "contact_date": "2026-02-28", "contact_type": "mdk"},
        {"contact_id": "c2", "patient_id": "k2", "contact_date": "2026-03-01", "contact_type": "mdk"},
    ], report_year=2027)
    patients = skel("patients", [
        {"patient_id": "k1", "birth_date": "2008-02-29"},
        {"patient_id": "k2", "birth_date": "2008-02-29"},
    ], report_year=2027)
    result = _compute("B3", 2027, contacts=contacts, patients=patients)
    assert row(result, "s_a", "age_group", "child")["mean"] == 17.0
    assert row(result, "s_a", "age_group", "adult")["mean"] == 18.0


# --- T1 Tid från remiss till besök ---------------------------------------------------


def test_t1_days_from_approved_referral_to_visit():
    referrals = skel("referrals", [
        {"referral_id": "ref1", "patient_id": "k1", "referral_date": "2025-08-01", "approved": True},
        {"referral_id": "ref2", "patient_id": "k2", "referral_date": "2025-09-01", "approved": False},
        {"referral_id": "ref3", "patient_id": "k3", "referral_date": "2024-12-31", "approved": True},
        {"referral_id": "ref4", "patient_id": "k4", "referral_date": "2025-08-20", "approved": True},
    ], report_year=2026)
    contacts = skel("contacts", [
        # 2025-08-01 -> 2025-09-01 (first day of P(R)) = 31 days.
        {"contact_id": "c1", "patient_id": "k1", "contact_date": "2025-09-01", "contact_type": "new_visit",
         "visit_mode": "physical", "referral_id": "ref1"},
        # Referral not approved: out.
        {"contact_id": "c2", "patient_id": "k2", "contact_date": "2025-10-01", "contact_type": "new_visit",
         "visit_mode": "digital", "referral_id": "ref2"},
        # 2024-12-31 -> 2025-12-31 (last day) = 365 days; a return visit counts too.
        {"contact_id": "c3", "patient_id": "k3", "contact_date": "2025-12-31", "contact_type": "return_visit",
         "visit_mode": "digital", "referral_id": "ref3"},
        # A visit without a referral: out.
        {"contact_id": "c4", "patient_id": "k3", "contact_date": "2025-10-15", "contact_type": "new_visit",
         "visit_mode": "physical"},
        # A day before P(R): out.
        {"contact_id": "c5", "patient_id": "k4", "contact_date": "2025-08-31", "contact_type": "new_visit",
         "visit_mode": "physical", "referral_id": "ref4"},
    ], report_year=2026)
    result = _compute("T1", 2026, contacts=contacts, referrals=referrals)
    total = row(result, "s_a")
    assert total["n"] == 2
    assert total["mean"] == pytest.approx(198.0)  # (31 + 365) / 2
    assert total["sd"] == pytest.approx(334 / math.sqrt(2))
    assert row(result)["n"] == 2
    assert math.isnan(row(result, "s_b")["mean"])


# --- R1 Andel som fått diagnos -------------------------------------------------------


def test_r1_specific_diagnosis_in_period_and_diagnosis_before_period_start_excluded():
    contacts = skel("contacts", [
        {"contact_id": f"c{i}", "patient_id": f"d{i}", "contact_date": "2025-10-01", "contact_type": "mdk"}
        for i in range(1, 7)
    ] + [
        # d7 only had a treatment conference: not in the B1 population.
        {"contact_id": "c7", "patient_id": "d7", "contact_date": "2025-10-01", "contact_type": "treatment_conference"},
    ], report_year=2026)
    patients = skel("patients", [
        {"patient_id": "d1", "diagnosis_at_referral": "unclear", "specific_diagnosis_date": "2025-10-01"},  # hit
        {"patient_id": "d2", "diagnosis_at_referral": "none"},  # denominator only
        {"patient_id": "d3", "diagnosis_at_referral": "unclear", "specific_diagnosis_date": "2025-08-31"},  # excluded
        {"patient_id": "d4", "diagnosis_at_referral": "none", "specific_diagnosis_date": "2025-09-01"},  # hit, start
        {"patient_id": "d5", "diagnosis_at_referral": "specific"},  # not in the denominator
        {"patient_id": "d6", "diagnosis_at_referral": "unclear", "specific_diagnosis_date": "2026-01-15"},  # den only
        {"patient_id": "d7", "diagnosis_at_referral": "unclear", "specific_diagnosis_date": "2025-10-02"},
    ], report_year=2026)
    result = _compute("R1", 2026, contacts=contacts, patients=patients)
    total = row(result, "s_a")
    # Denominator d1, d2, d4, d6 = 4; numerator d1, d4 = 2.
    assert (total["numerator"], total["denominator"]) == (2, 4)
    assert total["value"] == pytest.approx(50.0)
    assert row(result)["denominator"] == 4


# --- P1 Patientrapporterad erfarenhet ------------------------------------------------


def _p1_survey() -> pd.DataFrame:
    return skel("survey", [
        # s1 (relative): "Ofta", then "Sällan" later in P(R): the latest answer, not positive.
        {"patient_id": "s1", "respondent": "relative", "sent_date": "2025-09-05", "response_date": "2025-09-10",
         "answer": "Ofta"},
        {"patient_id": "s1", "respondent": "relative", "sent_date": "2025-11-25", "response_date": "2025-12-01",
         "answer": "Sällan"},
        # s2 (patient): no opinion stays in the denominator.
        {"patient_id": "s2", "respondent": "patient", "sent_date": "2025-09-20", "response_date": "2025-10-01",
         "answer": "Ingen uppfattning"},
        # s3 (patient): positive, answered on the last day.
        {"patient_id": "s3", "respondent": "patient", "sent_date": "2025-12-20", "response_date": "2025-12-31",
         "answer": "Ja, helt och hållet"},
        # s4 (relative): "Alltid" on the first day; a later answer outside P(R) does not replace it.
        {"patient_id": "s4", "respondent": "relative", "sent_date": "2025-09-01", "response_date": "2025-09-01",
         "answer": "Alltid"},
        {"patient_id": "s4", "respondent": "relative", "sent_date": "2026-01-05", "response_date": "2026-01-10",
         "answer": "Aldrig"},
        # s5: sent in P(R), no answer.
        {"patient_id": "s5", "respondent": "patient", "sent_date": "2025-11-01"},
        # s6: sent and answered before P(R).
        {"patient_id": "s6", "respondent": "patient", "sent_date": "2025-08-20", "response_date": "2025-08-31",
         "answer": "Ja, i stort sett"},
    ], report_year=2026)


def test_p1_positive_share_uses_latest_answer_and_keeps_no_opinion_in_denominator():
    result = _compute("P1", 2026, survey=_p1_survey())
    share = row(result, "s_a", measure="positive_share")
    # Respondents s1 (Sällan), s2 (Ingen uppfattning), s3 (Ja, helt och hållet), s4 (Alltid) = 4;
    # positive s3, s4 = 2.
    assert (share["numerator"], share["denominator"]) == (2, 4)
    assert share["value"] == pytest.approx(50.0)
    relative = row(result, "s_a", "respondent", "relative", measure="positive_share")
    assert (relative["numerator"], relative["denominator"]) == (1, 2)  # s4 of s1, s4
    assert relative["breakdown_label"] == "Närstående till barn"
    patient = row(result, "", "respondent", "patient", measure="positive_share")
    assert (patient["numerator"], patient["denominator"]) == (1, 2)  # s3 of s2, s3
    assert patient["breakdown_label"] == "Patienter (vuxna)"


def test_p1_response_rate_is_total_only():
    result = _compute("P1", 2026, survey=_p1_survey())
    rate = row(result, "s_a", measure="response_rate")
    # Sent in P(R): s1, s2, s3, s4, s5 = 5 recipients; s1..s4 answered such a survey = 4.
    assert (rate["numerator"], rate["denominator"]) == (4, 5)
    assert rate["value"] == pytest.approx(80.0)
    breakdowns = set(result.loc[result["measure"] == "response_rate", "breakdown"])
    assert breakdowns == {"total"}
    assert set(result["measure"]) == {"positive_share", "response_rate"}


# --- Ö1 Andel som fått en individuell vårdplan ---------------------------------------


def test_o1_care_plan_among_diagnosed_b1_population():
    contacts = skel("contacts", [
        {"contact_id": "c1", "patient_id": "e1", "contact_date": "2025-10-01", "contact_type": "new_visit",
         "visit_mode": "physical", "care_plan": True},
        {"contact_id": "c2", "patient_id": "e2", "contact_date": "2025-10-01", "contact_type": "mdk"},
        {"contact_id": "c3", "patient_id": "e3", "contact_date": "2025-10-01", "contact_type": "mdk",
         "care_plan": True},
        # e4: the care plan was handed out a day before P(R).
        {"contact_id": "c4", "patient_id": "e4", "contact_date": "2025-08-31", "contact_type": "new_visit",
         "visit_mode": "physical", "care_plan": True},
        {"contact_id": "c5", "patient_id": "e4", "contact_date": "2025-10-01", "contact_type": "mdk"},
        # e5: assessed, and the care plan came with a treatment conference in P(R).
        {"contact_id": "c6", "patient_id": "e5", "contact_date": "2025-09-01", "contact_type": "mdk"},
        {"contact_id": "c7", "patient_id": "e5", "contact_date": "2025-12-31", "contact_type": "treatment_conference",
         "care_plan": True},
    ], report_year=2026)
    patients = skel("patients", [
        {"patient_id": "e1", "diagnosis_at_referral": "specific"},
        # Specific diagnosis on the last day of P(R): in the denominator.
        {"patient_id": "e2", "diagnosis_at_referral": "unclear", "specific_diagnosis_date": "2025-12-31"},
        # Diagnosed a day after P(R): not in the denominator despite the care plan.
        {"patient_id": "e3", "diagnosis_at_referral": "none", "specific_diagnosis_date": "2026-01-01"},
        {"patient_id": "e4", "diagnosis_at_referral": "specific"},
        {"patient_id": "e5", "diagnosis_at_referral": "specific"},
    ], report_year=2026)
    result = _compute("Ö1", 2026, contacts=contacts, patients=patients)
    total = row(result, "s_a")
    # Denominator e1, e2, e4, e5 = 4; numerator e1, e5 = 2.
    assert (total["numerator"], total["denominator"]) == (2, 4)
    assert total["value"] == pytest.approx(50.0)


# --- robustness ------------------------------------------------------------------------


def test_dates_in_other_datetime_units_give_the_same_result():
    tables = _b1_tables()
    coarse = {name: frame.copy() for name, frame in tables.items()}
    for frame in coarse.values():
        for column in frame.columns:
            if pd.api.types.is_datetime64_any_dtype(frame[column]):
                frame[column] = frame[column].astype("datetime64[s]")
    pd.testing.assert_frame_equal(_compute("B1", 2026, **tables), _compute("B1", 2026, **coarse))


def test_results_do_not_depend_on_input_row_order():
    survey = _p1_survey()
    pd.testing.assert_frame_equal(
        _compute("P1", 2026, survey=survey),
        _compute("P1", 2026, survey=survey.sample(frac=1.0, random_state=7)),
    )
