"""DATA_CONTRACT.md 2-5: per-cell types and codes, required-if, date order, uniqueness, references."""

from __future__ import annotations

import pytest

from contract_fixtures import SCT, SKD, baseline, keys, run, sct_path, set_cell, skd_path

REFERRALS = sct_path(2026, "referrals")  # line 2: R3,P3,2025-01-10,2025-01-20,2025-02-01,1,1
TRANSPLANTS = sct_path(2026, "transplants")  # line 2: T3,P3,2025-02-01,2025-03-01,2025-04-01,2025-04-20
FOLLOWUP = sct_path(2026, "followup")  # lines 2-4: T1, T2, T3


def broken(path: str, line: int, column: str, value: str):
    files = baseline()
    set_cell(files, path, line, column, value)
    return files


def condition_of(path: str) -> str:
    return SCT if path.split("/")[1] == SCT else SKD


@pytest.mark.parametrize(
    ("rule", "path", "line", "column", "value"),
    [
        ("required", REFERRALS, 2, "referral_date", ""),
        ("required", skd_path("contacts"), 3, "care_plan", ""),
        ("date_format", TRANSPLANTS, 2, "discharge_date", "2025-02-29"),  # 2025 is no leap year
        ("date_format", REFERRALS, 2, "assessment_date", "2025-1-20"),
        ("date_format", skd_path("referrals"), 3, "referral_date", "10/09/2025"),
        ("bool_format", REFERRALS, 2, "sct_offered", "yes"),
        ("bool_format", skd_path("referrals"), 2, "approved", "2"),
        ("code", sct_path(2026, "patients"), 2, "sex", "F"),
        ("code", sct_path(2026, "patients"), 3, "home_region", "02"),  # no county has code 02
        ("code", skd_path("patients"), 2, "diagnosis_at_referral", "Unclear"),
        ("code", skd_path("contacts"), 3, "contact_type", "visit"),
        ("code", skd_path("contacts"), 2, "visit_mode", "video"),
        ("code", skd_path("survey"), 2, "respondent", "parent"),
        ("code", skd_path("survey"), 2, "answer", "Ja, helt och hållet"),  # patient scale, respondent relative
    ],
)
def test_cell_rule(tmp_path, rule, path, line, column, value):
    validation = run(tmp_path, broken(path, line, column, value), condition=condition_of(path))
    assert keys(validation) == [(rule, path, line, column)]


def test_leap_day_is_a_valid_date(tmp_path):
    assert keys(run(tmp_path, broken(sct_path(2026, "survey"), 2, "sent_date", "2024-02-29"))) == []


def test_code_message_lists_codes_but_not_the_value(tmp_path):
    validation = run(tmp_path, broken(sct_path(2026, "patients"), 2, "sex", "Kvinna"))
    message = validation.failures.loc[0, "message"]
    assert "K, M" in message and "Kvinna" not in message


@pytest.mark.parametrize(
    ("path", "line", "column", "value", "reported"),
    [
        (REFERRALS, 2, "sct_offered", "", "sct_offered"),  # decision_date filled, sct_offered empty
        (REFERRALS, 2, "decision_date", "", "sct_offered"),  # sct_offered filled without a decision
        (REFERRALS, 2, "care_plan", "", "care_plan"),
        (REFERRALS, 2, "assessment_date", "", "care_plan"),
        (FOLLOWUP, 4, "death_date", "2025-06-01", "death_transplant_related"),
        (FOLLOWUP, 4, "death_transplant_related", "0", "death_transplant_related"),
        (skd_path("patients"), 3, "specific_diagnosis_date", "2025-10-01", "specific_diagnosis_date"),  # S2 is `specific`
        (skd_path("contacts"), 2, "visit_mode", "", "visit_mode"),  # new_visit without mode
        (skd_path("contacts"), 3, "visit_mode", "physical", "visit_mode"),  # mdk with a mode
        (skd_path("survey"), 2, "answer", "", "answer"),  # response without answer
        (skd_path("survey"), 3, "answer", "Ingen uppfattning", "answer"),  # answer without response
    ],
)
def test_required_if(tmp_path, path, line, column, value, reported):
    validation = run(tmp_path, broken(path, line, column, value), condition=condition_of(path))
    assert keys(validation) == [("required_if", path, line, reported)]


def test_specific_diagnosis_date_allowed_for_none(tmp_path):
    files = broken(skd_path("patients"), 2, "diagnosis_at_referral", "none")
    assert keys(run(tmp_path, files, condition=SKD)) == []


@pytest.mark.parametrize(
    ("path", "line", "column", "value"),
    [
        (REFERRALS, 2, "assessment_date", "2025-01-09"),  # before referral_date 2025-01-10
        (REFERRALS, 2, "decision_date", "2025-01-09"),
        (TRANSPLANTS, 2, "mobilization_date", "2025-01-31"),  # before decision 2025-02-01
        (TRANSPLANTS, 2, "reinfusion_date", "2025-02-28"),  # before mobilization 2025-03-01
        (TRANSPLANTS, 2, "discharge_date", "2025-03-31"),  # before reinfusion 2025-04-01
        (sct_path(2026, "survey"), 2, "response_date", "2025-04-30"),  # before sent 2025-05-01
        (skd_path("survey"), 2, "response_date", "2025-10-19"),
        (FOLLOWUP, 4, "kidney_failure_date", "2025-12-16"),  # after last_followup 2025-12-15
        (skd_path("patients"), 2, "specific_diagnosis_date", "2015-05-31"),  # before birth 2015-06-01
    ],
)
def test_date_order_within_row(tmp_path, path, line, column, value):
    validation = run(tmp_path, broken(path, line, column, value), condition=condition_of(path))
    assert keys(validation) == [("date_order", path, line, column)]


def test_death_after_last_followup_is_reported_on_death_date(tmp_path):
    files = broken(FOLLOWUP, 4, "death_date", "2025-12-16")
    set_cell(files, FOLLOWUP, 4, "death_transplant_related", "0")
    assert keys(run(tmp_path, files)) == [("date_order", FOLLOWUP, 4, "death_date")]


def test_birth_date_after_an_event_of_the_patient(tmp_path):
    """P3 born 2025-01-15 would be referred on 2025-01-10, five days before birth; later events are fine."""
    validation = run(tmp_path, broken(sct_path(2026, "patients"), 2, "birth_date", "2025-01-15"))
    assert keys(validation) == [("date_order", REFERRALS, 2, "referral_date")]


def test_contact_before_the_referral_it_answers(tmp_path):
    files = broken(skd_path("contacts"), 2, "contact_date", "2025-09-04")  # Q1 referred 2025-09-05
    assert keys(run(tmp_path, files, condition=SKD)) == [("date_order", skd_path("contacts"), 2, "contact_date")]


def test_date_after_report_year(tmp_path):
    validation = run(tmp_path, broken(FOLLOWUP, 4, "last_followup_date", "2027-01-05"))
    assert keys(validation) == [("date_after_report_year", FOLLOWUP, 4, "last_followup_date")]


def test_dates_in_the_report_year_and_before_the_measurement_year_are_allowed(tmp_path):
    files = broken(FOLLOWUP, 4, "last_followup_date", "2026-12-31")
    files[sct_path(2026, "survey")].append(["P3", "2019-05-01", "2019-05-02"])
    assert keys(run(tmp_path, files)) == []


@pytest.mark.parametrize(
    ("path", "row", "line", "column"),
    [
        (sct_path(2026, "patients"), ["P1", "M", "1960-01-01", "12"], 5, "patient_id"),
        (REFERRALS, ["R3", "P3", "2025-03-01", "", "", "", ""], 3, "referral_id"),
        (FOLLOWUP, ["T3", "P3", "2025-12-20", "", "", "", "", ""], 5, "transplant_id"),
        (skd_path("contacts"), ["C2", "S2", "2025-11-01", "mdk", "", "", "0"], 5, "contact_id"),
        (skd_path("referrals"), ["Q2", "S1", "2025-11-01", "0"], 4, "referral_id"),
    ],
)
def test_unique_in_file(tmp_path, path, row, line, column):
    files = baseline()
    files[path].append(row)
    assert keys(run(tmp_path, files, condition=condition_of(path))) == [("unique", path, line, column)]


def test_transplant_id_unique_in_file(tmp_path):
    files = baseline()
    files[TRANSPLANTS].append(["T3", "P3", "2025-05-01", "2025-05-02", "2025-06-01", ""])
    assert keys(run(tmp_path, files)) == [("unique", TRANSPLANTS, 3, "transplant_id")]


def test_referral_answered_by_at_most_one_contact(tmp_path):
    files = broken(skd_path("contacts"), 3, "referral_id", "Q1")  # C2 (mdk, 2025-10-15) also answers Q1
    assert keys(run(tmp_path, files, condition=SKD)) == [("unique", skd_path("contacts"), 3, "referral_id")]


def test_two_answers_on_one_date_is_duplicate_answer_date(tmp_path):
    files = baseline()
    files[skd_path("survey")].append(["S1", "relative", "2025-10-21", "2025-10-25", "Alltid"])
    assert keys(run(tmp_path, files, condition=SKD)) == [("duplicate_answer_date", skd_path("survey"), 4, "response_date")]


def test_two_answers_on_different_dates_are_fine(tmp_path):
    files = baseline()
    files[skd_path("survey")].append(["S1", "relative", "2025-11-01", "2025-11-05", "Alltid"])
    assert keys(run(tmp_path, files, condition=SKD)) == []


@pytest.mark.parametrize(
    ("path", "line", "column", "value"),
    [
        (REFERRALS, 2, "patient_id", "P9"),
        (sct_path(2026, "survey"), 2, "patient_id", "P1x"),
        (skd_path("contacts"), 4, "patient_id", "S3"),
        (skd_path("survey"), 3, "patient_id", "s2"),  # ids are case-sensitive
        (skd_path("contacts"), 2, "referral_id", "Q9"),
    ],
)
def test_reference_within_unit_delivery(tmp_path, path, line, column, value):
    validation = run(tmp_path, broken(path, line, column, value), condition=condition_of(path))
    assert keys(validation) == [("reference", path, line, column)]


def test_followup_patient_must_be_in_patients_of_the_delivery(tmp_path):
    files = baseline()
    del files[sct_path(2026, "patients")][2]  # P1, patient of the followup row of T1
    assert keys(run(tmp_path, files)) == [("reference", FOLLOWUP, 2, "patient_id")]
