"""What a unit gets back: one clear failure per broken file, never phantom follow-on errors
(DATA_CONTRACT.md 6), and messages that say exactly what to fix."""

from __future__ import annotations

import warnings

from contract_fixtures import SCT_UNIT, SKD, SKD_UNIT, baseline, keys, run, sct_path, set_cell, skd_path
from nhv_pipeline.conditions import get_condition

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


def test_a_failure_without_a_line_beside_failures_with_lines_is_gathered_without_a_pandas_warning(tmp_path):
    """A rule not checked (no line) beside a repeated key (line 3) of one delivery: gathering them warned
    (pandas' FutureWarning on concatenating an all-empty column, printed by `nhv-pipeline validate`),
    and a later pandas would give the gathered `line` another dtype."""
    files = _without_column(baseline(), TRANSPLANTS_2026, "mobilization_date")
    set_cell(files, sct_path(2026, "patients"), 3, "patient_id", "P3")  # P1 becomes a second P3
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        validation = run(tmp_path, files)
    assert sorted(keys(validation), key=str) == [
        ("missing_column", TRANSPLANTS_2026, 1, "mobilization_date"),
        ("not_checked", TRANSPLANTS_2026, None, ""),
        ("reference", sct_path(2026, "followup"), 2, "patient_id"),
        ("unique", sct_path(2026, "patients"), 3, "patient_id"),
    ]
    assert str(validation.failures["line"].dtype) == "Int64"


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


# ---------------------------------------------------------------- the report a unit opens


def _failing_report(tmp_path):
    from contract_fixtures import set_cell

    from nhv_pipeline.contract import write_unit_reports

    files = _without_column(baseline(), TRANSPLANTS_2026, "mobilization_date")
    set_cell(files, sct_path(2026, "survey"), 2, "sent_date", "2025-02-30")
    validation = run(tmp_path, files)
    write_unit_reports(validation.failures, tmp_path / "validation", 2026, get_condition("sct_ssc"), [SCT_UNIT])
    return validation, tmp_path / "validation" / "2026" / "sct_ssc"


def test_the_csv_report_opens_in_swedish_excel_utf8_with_bom_and_semicolons(tmp_path):
    import codecs
    import csv
    import io

    validation, folder = _failing_report(tmp_path)
    data = (folder / f"{SCT_UNIT}.csv").read_bytes()
    assert data.startswith(codecs.BOM_UTF8)
    text = data.decode("utf-8-sig")
    assert text.splitlines()[0] == "fil;rad;kolumn;regel;meddelande"
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    assert all(len(row) == 5 for row in rows)
    assert [row[3] for row in rows[1:]] == validation.failures["rule"].tolist()  # rule ids stay English
    assert [row[4] for row in rows[1:]] == validation.failures["message"].tolist()


def test_beside_the_csv_an_html_summary_counts_failures_per_rule_and_file_and_says_what_to_do(tmp_path):
    _, folder = _failing_report(tmp_path)
    page = (folder / f"{SCT_UNIT}.html").read_text(encoding="utf-8")
    assert '<html lang="sv">' in page
    assert "3 fel hittades" in page
    assert "<code>missing_column</code></td><td data-label=\"Fil\">transplants.csv</td><td class=\"num\" data-label=\"Antal\">1</td>" in page
    assert "<code>date_format</code></td><td data-label=\"Fil\">survey.csv</td><td class=\"num\" data-label=\"Antal\">1</td>" in page
    assert "Så här gör ni" in page and f"{SCT_UNIT}.csv" in page
    assert "http://" not in page and "https://" not in page and "<script" not in page


def test_the_html_summary_escapes_what_it_shows_and_says_when_all_is_well(tmp_path):
    import pandas as pd

    from nhv_pipeline.contract.reports import render_unit_summary

    hostile = pd.DataFrame([{"file": "2026/x/<b>/a.csv", "line": 2, "column": "<img src=x>", "rule": "code", "message": "<script>alert(1)</script>"}])
    page = render_unit_summary(hostile, 2026, "sct_ssc", "Namn", "<u>", "u.csv", created="2026-03-31 06:00 UTC")
    assert "<script>alert" not in page and "<img" not in page and "<u>" not in page
    assert "&lt;script&gt;" in page
    passed = render_unit_summary(hostile.iloc[0:0], 2026, "sct_ssc", "Namn", "ks", "ks.csv", created="x")
    assert "Inga fel" in passed
