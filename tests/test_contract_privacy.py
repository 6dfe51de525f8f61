"""DATA_CONTRACT.md 3: identity numbers in id columns are failures, redacted, and never repeated."""

from __future__ import annotations

import hashlib

import pytest

from contract_fixtures import SCT, SKD, baseline, keys, make_root, sct_path, set_cell, skd_path
from nhv_pipeline.contract import read_registry, validate_delivery
from nhv_pipeline.contract.reader import REDACTED

PERSONNUMMER = "19700505-1234"


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_identity_number_in_patient_id_is_failed_redacted_and_never_repeated(tmp_path):
    files = baseline()
    for table, line in (("patients", 2), ("referrals", 2), ("transplants", 2), ("survey", 2), ("followup", 4)):
        set_cell(files, sct_path(2026, table), line, "patient_id", PERSONNUMMER)  # P3 everywhere
    root = make_root(tmp_path, files)
    on_disk = {p: sha(p) for p in root.rglob("*.csv")}

    validation = validate_delivery(root, 2026, SCT, read_registry(root).units)

    # one failure per cell, nothing cascades from the redacted value (no reference, no unique)
    assert keys(validation) == [
        ("identity_number", sct_path(2026, "followup"), 4, "patient_id"),
        ("identity_number", sct_path(2026, "patients"), 2, "patient_id"),
        ("identity_number", sct_path(2026, "referrals"), 2, "patient_id"),
        ("identity_number", sct_path(2026, "survey"), 2, "patient_id"),
        ("identity_number", sct_path(2026, "transplants"), 2, "patient_id"),
    ]
    digits = PERSONNUMMER.replace("-", "")
    for fragment in (PERSONNUMMER, digits, digits[2:], "700505-1234", "1234"):
        assert fragment not in validation.failures.to_csv(index=False)
        for frame in validation.tables.values():
            assert fragment not in frame.to_csv(index=False)
    assert validation.tables["patients"]["patient_id"].tolist() == [REDACTED, "P1", "P2"]
    assert {p: sha(p) for p in root.rglob("*.csv")} == on_disk  # the delivery is untouched


@pytest.mark.parametrize("value", ["7005051234", "700505-1234", "700505+1234", "197005051234", "19700505-1234"])
def test_identity_number_forms(tmp_path, value):
    files = baseline()
    set_cell(files, skd_path("contacts"), 3, "contact_id", value)
    root = make_root(tmp_path, files)
    validation = validate_delivery(root, 2026, SKD, read_registry(root).units)
    assert keys(validation) == [("identity_number", skd_path("contacts"), 3, "contact_id")]
    assert value not in validation.failures.to_csv(index=False)
    assert value not in validation.tables["contacts"].to_csv(index=False)


@pytest.mark.parametrize("value", ["P7005051234", "70050512345", "700505--1234", "2025-10-01"])
def test_pseudonymous_ids_that_only_resemble_identity_numbers_pass(tmp_path, value):
    files = baseline()
    set_cell(files, skd_path("contacts"), 3, "contact_id", value)
    root = make_root(tmp_path, files)
    assert keys(validate_delivery(root, 2026, SKD, read_registry(root).units)) == []


def test_identity_number_in_earlier_delivery_is_not_found_and_not_repeated(tmp_path):
    files = baseline()
    set_cell(files, sct_path(2025, "transplants"), 2, "patient_id", PERSONNUMMER)
    root = make_root(tmp_path, files)
    validation = validate_delivery(root, 2026, SCT, read_registry(root).units)
    assert keys(validation) == [("earlier_delivery", sct_path(2026, "followup"), 3, "transplant_id")]
    assert PERSONNUMMER not in validation.failures.to_csv(index=False)


def test_messages_never_repeat_cell_values(tmp_path):
    """A wrong birth date and a wrong sex code: the message names the column, never the value."""
    files = baseline()
    set_cell(files, sct_path(2026, "patients"), 3, "birth_date", "1960-02-30")
    set_cell(files, sct_path(2026, "patients"), 4, "sex", "X")
    root = make_root(tmp_path, files)
    validation = validate_delivery(root, 2026, SCT, read_registry(root).units)
    assert [k[0] for k in keys(validation)] == ["date_format", "code"]
    assert not validation.failures["message"].str.contains("1960-02-30").any()
    assert not validation.failures["message"].str.contains("'X'|\"X\"| X ").any()
