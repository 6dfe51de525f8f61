"""What a unit gets back: one clear failure per broken file, never phantom follow-on errors
(DATA_CONTRACT.md 6), and messages that say exactly what to fix."""

from __future__ import annotations

from contract_fixtures import SCT_UNIT, SKD, SKD_UNIT, baseline, keys, run, sct_path, skd_path

TRANSPLANTS_2026 = sct_path(2026, "transplants")


def _without_column(files, path: str, column: str):
    rows = files[path]
    index = rows[0].index(column)
    files[path] = [[cell for i, cell in enumerate(row) if i != index] for row in rows]
    return files


def test_a_missing_required_column_is_reported_once_and_its_dependent_rule_once_as_not_checked(tmp_path):
    """Dropping mobilization_date from transplants.csv used to fail every followup row with earlier_delivery."""
    validation = run(tmp_path, _without_column(baseline(), TRANSPLANTS_2026, "mobilization_date"))
    assert sorted(keys(validation), key=str) == [
        ("missing_column", TRANSPLANTS_2026, 1, "mobilization_date"),
        ("not_checked", TRANSPLANTS_2026, None, ""),
    ]
    not_checked = validation.failures[validation.failures["rule"] == "not_checked"].iloc[0]
    assert not_checked["unit_id"] == SCT_UNIT
    assert "transplants.csv" in not_checked["message"]
    assert "transplant_history" in not_checked["message"]


def test_an_unreadable_patients_file_makes_the_patient_references_not_checked_once(tmp_path):
    files = baseline()
    files[sct_path(2026, "patients")] = b""
    validation = run(tmp_path, files)
    assert sorted(keys(validation), key=str) == [
        ("empty_file", sct_path(2026, "patients"), 1, ""),
        ("not_checked", sct_path(2026, "patients"), None, ""),
    ]
    assert "patients.csv" in validation.failures.loc[validation.failures["rule"] == "not_checked", "message"].item()


def test_a_missing_referrals_table_makes_the_contact_referral_rule_not_checked_once(tmp_path):
    files = baseline()
    del files[skd_path("referrals")]
    validation = run(tmp_path, files, condition=SKD)
    assert keys(validation) == [
        ("missing_table", skd_path("referrals"), None, ""),
        ("not_checked", skd_path("referrals"), None, ""),
    ]
    assert validation.failures.loc[1, "unit_id"] == SKD_UNIT
    assert "contact_referrals" in validation.failures.loc[1, "message"]


def test_a_missing_required_column_asks_for_it_without_saying_cells_may_be_empty(tmp_path):
    validation = run(tmp_path, _without_column(baseline(), TRANSPLANTS_2026, "reinfusion_date"))
    required = validation.failures[validation.failures["rule"] == "missing_column"].iloc[0]
    assert required["column"] == "reinfusion_date"
    optional = run(tmp_path / "optional", _without_column(baseline(), TRANSPLANTS_2026, "discharge_date")).failures
    optional = optional[optional["rule"] == "missing_column"].iloc[0]
    assert optional["column"] == "discharge_date"
    assert required["message"] != optional["message"]
    assert "empty" not in required["message"] and "tom" not in required["message"]
