"""DATA_CONTRACT.md 4.3, 4.5 and INDICATORS.md 2: rules across a unit's sct_ssc deliveries.

Baseline: T1 (P1) reinfused 2023-05-10 in D(2024), the R2 cohort of 2026, horizon
2025-05-09; T2 (P2) reinfused 2024-03-01 in D(2025), the R1 cohort of 2026, horizon
2024-06-09; T3 (P3) reinfused 2025-04-01 in D(2026). followup.csv of D(2026): line 2
T1, line 3 T2, line 4 T3.
"""

from __future__ import annotations

import pytest

from contract_fixtures import baseline, keys, run, sct_path, set_cell

FOLLOWUP = sct_path(2026, "followup")
TRANSPLANTS = sct_path(2026, "transplants")
T2_IN_2025 = ["T2", "P2", "2024-01-20", "2024-02-01", "2024-03-01", "2024-03-20"]


def test_followup_of_unknown_transplant_is_earlier_delivery(tmp_path):
    files = baseline()
    files[FOLLOWUP].append(["T9", "P3", "2025-12-01", "", "", "", "", ""])
    assert keys(run(tmp_path, files)) == [("earlier_delivery", FOLLOWUP, 5, "transplant_id")]


def test_followup_of_transplant_from_three_deliveries_back_is_earlier_delivery(tmp_path):
    """T1 is in D(2024) = D(R-3) for R = 2027; a followup row may only name D(R)..D(R-2)."""
    files = baseline()
    files["units.csv"][1][4] = ""
    for table in ("patients", "referrals", "transplants", "survey"):
        files[sct_path(2027, table)] = [list(row) for row in files[sct_path(2026, table)]]
    files[sct_path(2027, "followup")] = [
        files[FOLLOWUP][0],
        ["T1", "P1", "2026-06-01", "", "", "", "", ""],
        ["T2", "P2", "2026-06-01", "", "", "", "", ""],
        ["T3", "P3", "2026-06-01", "", "", "", "", ""],
    ]
    assert keys(run(tmp_path, files, year=2027)) == [("earlier_delivery", sct_path(2027, "followup"), 2, "transplant_id")]


def test_followup_patient_must_be_the_transplants_patient(tmp_path):
    files = baseline()
    set_cell(files, FOLLOWUP, 3, "patient_id", "P1")  # T2 belongs to P2
    assert keys(run(tmp_path, files)) == [("earlier_delivery", FOLLOWUP, 3, "patient_id")]


def test_invalid_row_of_earlier_delivery_is_not_found(tmp_path):
    """T2's row in D(2025) has an impossible date, so T2 is unknown in 2026 (and no R1 cohort member)."""
    files = baseline()
    set_cell(files, sct_path(2025, "transplants"), 2, "reinfusion_date", "2024-13-01")
    assert keys(run(tmp_path, files)) == [("earlier_delivery", FOLLOWUP, 3, "transplant_id")]


def test_organ_failure_before_reinfusion_is_date_order(tmp_path):
    files = baseline()
    set_cell(files, FOLLOWUP, 4, "heart_failure_date", "2025-03-31")  # T3 reinfused 2025-04-01
    assert keys(run(tmp_path, files)) == [("date_order", FOLLOWUP, 4, "heart_failure_date")]


def test_organ_failure_on_reinfusion_day_is_fine(tmp_path):
    files = baseline()
    set_cell(files, FOLLOWUP, 4, "lung_failure_date", "2025-04-01")
    assert keys(run(tmp_path, files)) == []


@pytest.mark.parametrize(
    ("column", "value"),
    [("decision_date", "2024-01-21"), ("mobilization_date", "2024-02-02"), ("reinfusion_date", "2024-03-02"),
     ("discharge_date", "2024-03-21"), ("discharge_date", "")],
)
def test_transplant_delivered_again_must_keep_dates(tmp_path, column, value):
    files = baseline()
    row = list(T2_IN_2025)
    row[files[TRANSPLANTS][0].index(column)] = value
    files[TRANSPLANTS].append(row)
    assert keys(run(tmp_path, files)) == [("transplant_changed", TRANSPLANTS, 3, column)]


def test_transplant_id_is_never_reused_for_another_patient(tmp_path):
    """T2 of P2 in D(2025) appears for P3 in D(2026); the followup row of T2 (P2) then disagrees too."""
    files = baseline()
    files[TRANSPLANTS].append(["T2", "P3", *T2_IN_2025[2:]])
    assert keys(run(tmp_path, files)) == [
        ("earlier_delivery", FOLLOWUP, 3, "patient_id"),
        ("transplant_changed", TRANSPLANTS, 3, "patient_id"),
    ]


def test_discharge_date_may_be_filled_in_later(tmp_path):
    files = baseline()
    set_cell(files, sct_path(2025, "transplants"), 2, "discharge_date", "")  # still admitted in D(2025)
    files[TRANSPLANTS].append(list(T2_IN_2025))  # discharged, delivered in D(2026)
    assert keys(run(tmp_path, files)) == []


def test_r1_cohort_transplant_without_followup_row(tmp_path):
    files = baseline()
    del files[FOLLOWUP][2]  # T2
    validation = run(tmp_path, files)
    assert keys(validation) == [("followup_missing", FOLLOWUP, None, "")]
    message = validation.failures.loc[0, "message"]
    assert "T2" in message and "R1" in message and "P2" not in message


def test_r2_cohort_transplant_without_followup_row(tmp_path):
    files = baseline()
    del files[FOLLOWUP][1]  # T1
    validation = run(tmp_path, files)
    assert keys(validation) == [("followup_missing", FOLLOWUP, None, "")]
    assert "T1" in validation.failures.loc[0, "message"]


def test_r1_cohort_of_2025_comes_from_d2024(tmp_path):
    files = baseline()
    del files[sct_path(2025, "followup")][1]  # T1 reinfused 2023, cohort year 2023 of R1 for 2025
    assert keys(run(tmp_path, files, year=2025)) == [("followup_missing", sct_path(2025, "followup"), None, "")]


@pytest.mark.parametrize(
    ("last_followup", "death", "expected"),
    [
        ("2024-06-08", "", [("followup_incomplete", FOLLOWUP, 3, "last_followup_date")]),  # 99 days
        ("2024-06-09", "", []),  # exactly reinfusion + 100 days
        ("2024-04-01", "2024-04-01", []),  # a death date answers R1 whatever its date
    ],
)
def test_r1_followup_must_reach_100_days(tmp_path, last_followup, death, expected):
    files = baseline()
    set_cell(files, FOLLOWUP, 3, "last_followup_date", last_followup)
    set_cell(files, FOLLOWUP, 3, "death_date", death)
    set_cell(files, FOLLOWUP, 3, "death_transplant_related", "1" if death else "")
    assert keys(run(tmp_path, files)) == expected


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"last_followup_date": "2025-05-08"}, [("followup_incomplete", FOLLOWUP, 2, "last_followup_date")]),
        ({"last_followup_date": "2025-05-09"}, []),  # exactly reinfusion + 730 days
        ({"last_followup_date": "2025-01-01", "kidney_failure_date": "2024-12-01"}, []),  # progression before h
        ({"last_followup_date": "2025-01-01", "death_date": "2025-01-01", "death_transplant_related": "0"}, []),
    ],
)
def test_r2_followup_must_reach_the_two_year_horizon(tmp_path, changes, expected):
    files = baseline()
    for column, value in changes.items():
        set_cell(files, FOLLOWUP, 2, column, value)
    assert keys(run(tmp_path, files)) == expected
