"""DATA_CONTRACT.md 1 (layout, permits, registry) and the shape of DeliveryValidation."""

from __future__ import annotations

import hashlib
import os

import pandas as pd
import pytest

from contract_fixtures import SCT, SCT_UNIT, SKD, SKD_UNIT, baseline, keys, make_root, run, sct_path, set_cell, skd_path
from nhv_pipeline.conditions import get_condition, registered
from nhv_pipeline.contract import FAILURE_COLUMNS, contract_columns, read_registry, validate_delivery


@pytest.mark.parametrize(("year", "condition"), [(2024, SCT), (2025, SCT), (2026, SCT), (2026, SKD), (2025, SKD)])
def test_valid_baseline_has_no_failures(tmp_path, year, condition):
    validation = run(tmp_path, year=year, condition=condition)
    assert keys(validation) == []
    assert validation.passed
    assert list(validation.failures.columns) == FAILURE_COLUMNS


def test_tables_hold_all_contract_columns_lineage_and_rows(tmp_path):
    validation = run(tmp_path)
    followup = validation.tables["followup"]
    assert list(followup.columns) == [*contract_columns(get_condition(SCT), "followup"), "report_year", "unit_id", "source_file", "source_line"]
    assert followup["transplant_id"].tolist() == ["T1", "T2", "T3"]
    assert followup["source_line"].tolist() == [2, 3, 4]
    assert set(followup["source_file"]) == {"2026/sct_ssc/ks/followup.csv"}
    assert followup["death_date"].isna().all() and followup["death_date"].tolist() == [None, None, None]
    assert followup["report_year"].dtype == "int64"


def test_files_inventory_lists_every_file_read_with_hash(tmp_path):
    root = make_root(tmp_path)
    validation = validate_delivery(root, 2026, get_condition(SKD), read_registry(root, registered()).units, conditions=registered())
    files = validation.files
    assert files["table"].tolist() == ["contacts", "patients", "referrals", "survey"]
    contacts = files.iloc[0]
    data = (root / skd_path("contacts")).read_bytes()
    assert contacts["path"] == skd_path("contacts")
    assert contacts["size_bytes"] == len(data)
    assert contacts["sha256"] == hashlib.sha256(data).hexdigest()
    assert contacts["rows"] == 3


def test_missing_delivery_names_unit_and_every_table(tmp_path):
    files = {path: rows for path, rows in baseline().items() if not path.startswith("2026/sct_ssc/")}
    validation = run(tmp_path, files)
    assert keys(validation) == [
        ("missing_delivery", f"2026/sct_ssc/ks/{table}.csv", None, "")
        for table in ("followup", "patients", "referrals", "survey", "transplants")
    ]
    assert validation.failures["unit_id"].eq(SCT_UNIT).all()
    assert validation.tables["patients"].empty
    assert list(validation.tables["patients"].columns)[:4] == contract_columns(get_condition(SCT), "patients")


def test_missing_table_names_the_file(tmp_path):
    files = baseline()
    del files[sct_path(2026, "survey")]
    assert keys(run(tmp_path, files)) == [("missing_table", "2026/sct_ssc/ks/survey.csv", None, "")]


def test_table_file_names_are_case_sensitive(tmp_path):
    files = baseline()
    files["2026/skeletal_dysplasia/sus/Patients.csv"] = files.pop(skd_path("patients"))
    assert keys(run(tmp_path, files, condition=SKD)) == [
        ("unexpected_file", "2026/skeletal_dysplasia/sus/Patients.csv", None, ""),
        ("missing_table", "2026/skeletal_dysplasia/sus/patients.csv", None, ""),
        ("not_checked", "2026/skeletal_dysplasia/sus/patients.csv", None, ""),  # the patient references (section 6)
    ]


def test_unknown_unit_folder_is_reported_and_not_read(tmp_path):
    files = baseline()
    files["2026/skeletal_dysplasia/okand/patients.csv"] = files[skd_path("patients")]
    validation = run(tmp_path, files, condition=SKD)
    assert keys(validation) == [("unknown_unit", "2026/skeletal_dysplasia/okand", None, "")]
    assert validation.failures.loc[0, "unit_id"] == "okand"
    assert set(validation.tables["patients"]["unit_id"]) == {SKD_UNIT}


def test_folder_outside_permit_is_reported(tmp_path):
    files = baseline()
    set_cell(files, "units.csv", 2, "permit_end", "2024-12-31")  # permit ends before P(2026) = 2025
    validation = run(tmp_path, files)
    assert keys(validation) == [("outside_permit", "2026/sct_ssc/ks", None, "")]
    assert validation.tables["patients"].empty


def test_delivery_for_empty_measurement_period_is_outside_permit(tmp_path):
    """skeletal_dysplasia starts 2025-09-01, so P(2025) is empty and nobody may deliver for 2025."""
    files = baseline()
    files[skd_path("patients", year=2025)] = files[skd_path("patients")]
    assert keys(run(tmp_path, files, year=2025, condition=SKD)) == [("outside_permit", "2025/skeletal_dysplasia/sus", None, "")]


def test_permit_starting_inside_the_period_must_deliver(tmp_path):
    files = baseline()
    files["units.csv"].append([SKD, "nyenhet", "Ny enhet", "2025-12-31", ""])
    validation = run(tmp_path, files, condition=SKD)
    assert [k[0] for k in keys(validation)] == ["missing_delivery"] * 4
    assert set(validation.failures["unit_id"]) == {"nyenhet"}


def test_unexpected_file_in_unit_folder(tmp_path):
    files = baseline()
    files["2026/sct_ssc/ks/notes.txt"] = "anteckningar\n"
    files["2026/sct_ssc/ks/extra.csv"] = "patient_id\nP1\n"
    assert keys(run(tmp_path, files)) == [
        ("unexpected_file", "2026/sct_ssc/ks/extra.csv", None, ""),
        ("unexpected_file", "2026/sct_ssc/ks/notes.txt", None, ""),
    ]


def test_symlinked_table_is_path_outside_root_and_not_read(tmp_path):
    root = make_root(tmp_path)
    outside = tmp_path / "elsewhere.csv"
    target = root / sct_path(2026, "survey")
    outside.write_bytes(target.read_bytes())
    target.unlink()
    os.symlink(outside, target)
    validation = validate_delivery(root, 2026, get_condition(SCT), read_registry(root, registered()).units, conditions=registered())
    assert keys(validation) == [("path_outside_root", "2026/sct_ssc/ks/survey.csv", None, "")]
    assert validation.tables["survey"].empty
    assert "survey" not in set(validation.files["table"])


def test_symlinked_unit_folder_is_path_outside_root(tmp_path):
    root = make_root(tmp_path)
    real = root / "2026" / SKD / SKD_UNIT
    moved = tmp_path / "moved_unit"
    real.rename(moved)
    os.symlink(moved, real, target_is_directory=True)
    validation = validate_delivery(root, 2026, get_condition(SKD), read_registry(root, registered()).units, conditions=registered())
    assert keys(validation) == [("path_outside_root", "2026/skeletal_dysplasia/sus", None, "")]


def test_units_argument_restricts_validation_and_tables(tmp_path):
    files = baseline()
    files["units.csv"].append([SKD, "annan", "Annan enhet", "2025-09-01", ""])  # has not delivered
    files["2026/skeletal_dysplasia/okand/patients.csv"] = files[skd_path("patients")]
    validation = run(tmp_path, files, condition=SKD, units=[SKD_UNIT])
    assert keys(validation) == []
    assert set(validation.tables["contacts"]["unit_id"]) == {SKD_UNIT}
    everyone = run(tmp_path / "all", files, condition=SKD)
    assert sorted({k[0] for k in keys(everyone)}) == ["missing_delivery", "unknown_unit"]


def test_failures_for_splits_by_table_file(tmp_path):
    files = baseline()
    set_cell(files, sct_path(2026, "survey"), 2, "sent_date", "2025-13-01")
    files["2026/sct_ssc/ks/notes.txt"] = "x\n"
    validation = run(tmp_path, files)
    assert keys(validation.failures_for("survey")) == [
        ("date_format", "2026/sct_ssc/ks/survey.csv", 2, "sent_date")
    ]
    assert validation.failures_for(None)["rule"].tolist() == ["unexpected_file"]
    assert validation.failures_for("patients").empty


def test_data_root_is_never_modified(tmp_path):
    files = baseline()
    set_cell(files, sct_path(2026, "referrals"), 2, "referral_date", "")
    root = make_root(tmp_path, files)

    def snapshot():
        return {p.relative_to(root): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
                for p in sorted(root.rglob("*")) if p.is_file()}

    before = snapshot()
    validate_delivery(root, 2026, get_condition(SCT), read_registry(root, registered()).units, conditions=registered())
    assert snapshot() == before


# --- units.csv (DATA_CONTRACT.md 1) ---------------------------------------------------------


def test_registry_types_units(tmp_path):
    registry = read_registry(make_root(tmp_path), registered())
    assert registry.failures.empty
    units = registry.units
    assert units["unit_id"].tolist() == [SCT_UNIT, SKD_UNIT]
    assert units["unit_name"].tolist() == ["Karolinska universitetssjukhuset", "Skånes universitetssjukhus"]
    assert str(units["permit_start"].dtype) == "datetime64[ns]"
    assert units["permit_start"].tolist() == [pd.Timestamp("2023-01-01"), pd.Timestamp("2025-09-01")]
    assert units["permit_end"].isna().all()


@pytest.mark.parametrize(
    ("column", "value", "rule"),
    [
        ("unit_id", "Karolinska!", "registry"),
        ("condition_id", "sct", "code"),
        ("permit_start", "2023-1-1", "date_format"),
        ("permit_end", "2022-12-31", "date_order"),
        ("unit_name", "", "required"),
    ],
)
def test_registry_rule(tmp_path, column, value, rule):
    files = baseline()
    set_cell(files, "units.csv", 2, column, value)
    registry = read_registry(make_root(tmp_path, files), registered())
    assert keys(registry) == [(rule, "units.csv", 2, column)]
    assert registry.failures.loc[0, "unit_id"] == ""
    assert registry.units["unit_id"].tolist() == [SKD_UNIT]  # the broken row is left out


def test_registry_unit_unique_per_condition(tmp_path):
    files = baseline()
    files["units.csv"].append([SCT, SCT_UNIT, "Dubblett", "2023-01-01", ""])
    files["units.csv"].append([SKD, SCT_UNIT, "Samma id, annat tillstånd", "2025-09-01", ""])
    assert keys(read_registry(make_root(tmp_path, files), registered())) == [("unique", "units.csv", 4, "unit_id")]


def test_registry_failures_are_part_of_every_validation(tmp_path):
    files = baseline()
    set_cell(files, "units.csv", 2, "unit_id", "KS")
    validation = run(tmp_path, files, condition=SKD)
    assert keys(validation) == [("registry", "units.csv", 2, "unit_id")]
    assert validation.failures.loc[0, "report_year"] == 2026
    assert validation.failures.loc[0, "condition_id"] == SKD
    assert validation.failures_for(None).shape[0] == 1


def test_missing_registry_is_a_registry_failure(tmp_path):
    files = baseline()
    del files["units.csv"]
    registry = read_registry(make_root(tmp_path, files), registered())
    assert keys(registry) == [("registry", "units.csv", None, "")]
    assert registry.units.empty and list(registry.units.columns) == [
        "condition_id", "unit_id", "unit_name", "permit_start", "permit_end",
    ]
