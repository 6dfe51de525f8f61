"""Every contract rule, end to end in Dagster: a broken delivery fails its contract check with a
failure naming file, line, column and rule; nothing of it is staged (the staged step says so and
writes nothing); the warehouse rows of the other report years are untouched (DATA_CONTRACT.md
section 6)."""

from __future__ import annotations

import csv
import hashlib
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import duckdb
import pandas as pd
import pytest
from dagster import AssetKey, DagsterEventType, DagsterInstance

from nhv_pipeline.conditions import get_condition, registered
from nhv_pipeline.contract import RULES
from nhv_pipeline.contract.reports import read_unit_report
from nhv_pipeline.definitions import build_definitions
from nhv_pipeline.orchestration.jobs import DELIVERIES, run_tags

SCT_UNIT = "2026/sct_ssc/akademiska"
SKD_UNIT = "2026/skeletal_dysplasia/karolinska_sd"


# ---------------------------------------------------------------- editing a copy of the sample


def read_table(path: Path) -> tuple[str, list[str], list[list[str]]]:
    text = path.read_text(encoding="utf-8")
    delimiter = ";" if ";" in text.splitlines()[0] else ","
    rows = list(csv.reader(text.splitlines(), delimiter=delimiter))
    return delimiter, rows[0], rows[1:]


def write_table(path: Path, delimiter: str, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def set_cell(path: Path, line: int, column: str, value: str) -> None:
    delimiter, header, rows = read_table(path)
    rows[line - 2][header.index(column)] = value
    write_table(path, delimiter, header, rows)


def line_of(path: Path, column: str, value: str) -> int:
    _, header, rows = read_table(path)
    return next(i + 2 for i, row in enumerate(rows) if row[header.index(column)] == value)


def first_line_where(path: Path, predicate: Callable[[dict], bool]) -> int:
    _, header, rows = read_table(path)
    return next(i + 2 for i, row in enumerate(rows) if predicate(dict(zip(header, row))))


@dataclass(frozen=True)
class Case:
    rule: str
    condition_id: str
    break_delivery: Callable[[Path], tuple[str, str, int | None, str]]
    """Breaks the copy; returns (unit_id, file relative to the data root, line, column) expected."""


def _encoding(root: Path):
    path = root / SCT_UNIT / "patients.csv"
    lines = path.read_bytes().split(b"\n")
    lines[2] = lines[2].replace(b",K,", b",K,").replace(b"P", "Ö".encode("cp1252"), 1)
    path.write_bytes(b"\n".join(lines))
    return "akademiska", f"{SCT_UNIT}/patients.csv", 3, ""


def _empty_file(root: Path):
    (root / SCT_UNIT / "survey.csv").write_bytes(b"")
    return "akademiska", f"{SCT_UNIT}/survey.csv", 1, ""


def _header(root: Path):
    path = root / SCT_UNIT / "survey.csv"
    delimiter, header, rows = read_table(path)
    write_table(path, delimiter, header + ["sent_date"], [r + [r[1]] for r in rows])
    return "akademiska", f"{SCT_UNIT}/survey.csv", 1, "sent_date"


def _ragged_row(root: Path):
    path = root / SCT_UNIT / "referrals.csv"
    lines = path.read_text(encoding="utf-8").split("\n")
    lines[2] += ",extra"
    path.write_text("\n".join(lines), encoding="utf-8")
    return "akademiska", f"{SCT_UNIT}/referrals.csv", 3, ""


def _unterminated_quote(root: Path):
    path = root / SCT_UNIT / "survey.csv"
    lines = path.read_text(encoding="utf-8").split("\n")
    lines[3] = '"' + lines[3]
    path.write_text("\n".join(lines), encoding="utf-8")
    return "akademiska", f"{SCT_UNIT}/survey.csv", 4, ""


def _bad_quote(root: Path):
    path = root / SCT_UNIT / "survey.csv"
    lines = path.read_text(encoding="utf-8").split("\n")
    first, rest = lines[3].split(",", 1)
    lines[3] = f'"{first}"x,{rest}'
    path.write_text("\n".join(lines), encoding="utf-8")
    return "akademiska", f"{SCT_UNIT}/survey.csv", 4, ""


def _missing_column(root: Path):
    path = root / SCT_UNIT / "patients.csv"
    delimiter, header, rows = read_table(path)
    keep = [i for i, name in enumerate(header) if name != "sex"]
    write_table(path, delimiter, [header[i] for i in keep], [[r[i] for i in keep] for r in rows])
    return "akademiska", f"{SCT_UNIT}/patients.csv", 1, "sex"


def _not_checked(root: Path):
    """A transplants.csv without mobilization_date: transplant_history is not checked for the unit, once."""
    path = root / SCT_UNIT / "transplants.csv"
    delimiter, header, rows = read_table(path)
    keep = [i for i, name in enumerate(header) if name != "mobilization_date"]
    write_table(path, delimiter, [header[i] for i in keep], [[r[i] for i in keep] for r in rows])
    return "akademiska", f"{SCT_UNIT}/transplants.csv", None, ""


def _extra_column(root: Path):
    path = root / SCT_UNIT / "patients.csv"
    delimiter, header, rows = read_table(path)
    write_table(path, delimiter, header + ["namn"], [r + ["x"] for r in rows])
    return "akademiska", f"{SCT_UNIT}/patients.csv", 1, "namn"


def _required(root: Path):
    set_cell(root / SCT_UNIT / "patients.csv", 4, "sex", "")
    return "akademiska", f"{SCT_UNIT}/patients.csv", 4, "sex"


def _date_format(root: Path):
    set_cell(root / SCT_UNIT / "patients.csv", 5, "birth_date", "1971-02-29")
    return "akademiska", f"{SCT_UNIT}/patients.csv", 5, "birth_date"


def _bool_format(root: Path):
    path = root / SCT_UNIT / "referrals.csv"
    line = first_line_where(path, lambda r: r["decision_date"] != "")
    set_cell(path, line, "sct_offered", "ja")
    return "akademiska", f"{SCT_UNIT}/referrals.csv", line, "sct_offered"


def _code(root: Path):
    set_cell(root / SCT_UNIT / "patients.csv", 3, "home_region", "02")
    return "akademiska", f"{SCT_UNIT}/patients.csv", 3, "home_region"


def _required_if(root: Path):
    path = root / SCT_UNIT / "referrals.csv"
    line = first_line_where(path, lambda r: r["decision_date"] != "")
    set_cell(path, line, "sct_offered", "")
    return "akademiska", f"{SCT_UNIT}/referrals.csv", line, "sct_offered"


def _date_order(root: Path):
    path = root / SCT_UNIT / "transplants.csv"
    set_cell(path, 3, "mobilization_date", "2020-01-01")
    return "akademiska", f"{SCT_UNIT}/transplants.csv", 3, "mobilization_date"


def _date_after_report_year(root: Path):
    path = root / SCT_UNIT / "survey.csv"
    line = first_line_where(path, lambda r: r["response_date"] == "")
    set_cell(path, line, "sent_date", "2027-01-04")
    return "akademiska", f"{SCT_UNIT}/survey.csv", line, "sent_date"


def _unique(root: Path):
    path = root / SCT_UNIT / "referrals.csv"
    _, header, rows = read_table(path)
    set_cell(path, 4, "referral_id", rows[0][header.index("referral_id")])
    return "akademiska", f"{SCT_UNIT}/referrals.csv", 4, "referral_id"


def _reference(root: Path):
    set_cell(root / SCT_UNIT / "survey.csv", 3, "patient_id", "P999999")
    return "akademiska", f"{SCT_UNIT}/survey.csv", 3, "patient_id"


def _earlier_delivery(root: Path):
    set_cell(root / SCT_UNIT / "followup.csv", 2, "transplant_id", "T999999")
    return "akademiska", f"{SCT_UNIT}/followup.csv", 2, "transplant_id"


def _transplant_changed(root: Path):
    # T100011 was reinfused in December 2024 and discharged in January 2025: it is in D(2025) and D(2026).
    path = root / SCT_UNIT / "transplants.csv"
    line = line_of(path, "transplant_id", "T100011")
    set_cell(path, line, "reinfusion_date", "2024-12-22")
    return "akademiska", f"{SCT_UNIT}/transplants.csv", line, "reinfusion_date"


def _r1_cohort_transplant(root: Path) -> str:
    _, header, rows = read_table(root / "2025/sct_ssc/akademiska/transplants.csv")
    at = header.index("reinfusion_date")
    return next(r[0] for r in rows if r[at].startswith("2024") and r[at] < "2024-09-01")


def _followup_missing(root: Path):
    transplant = _r1_cohort_transplant(root)
    path = root / SCT_UNIT / "followup.csv"
    delimiter, header, rows = read_table(path)
    write_table(path, delimiter, header, [r for r in rows if r[0] != transplant])
    return "akademiska", f"{SCT_UNIT}/followup.csv", None, ""


def _followup_incomplete(root: Path):
    transplant = _r1_cohort_transplant(root)
    _, header, rows = read_table(root / "2025/sct_ssc/akademiska/transplants.csv")
    reinfusion = pd.Timestamp(next(r[header.index("reinfusion_date")] for r in rows if r[0] == transplant))
    path = root / SCT_UNIT / "followup.csv"
    line = line_of(path, "transplant_id", transplant)
    for column in ("death_date", "death_transplant_related", "heart_failure_date", "lung_failure_date", "kidney_failure_date"):
        set_cell(path, line, column, "")
    set_cell(path, line, "last_followup_date", (reinfusion + pd.Timedelta(days=99)).strftime("%Y-%m-%d"))
    return "akademiska", f"{SCT_UNIT}/followup.csv", line, "last_followup_date"


def _duplicate_answer_date(root: Path):
    path = root / SKD_UNIT / "survey.csv"
    delimiter, header, rows = read_table(path)
    answered = next(r for r in rows if r[header.index("response_date")])
    twin = list(answered)
    twin[header.index("sent_date")] = answered[header.index("sent_date")]
    rows.append(twin)
    write_table(path, delimiter, header, rows)
    return "karolinska_sd", f"{SKD_UNIT}/survey.csv", len(rows) + 1, "response_date"


def _unknown_unit(root: Path):
    shutil.copytree(root / SCT_UNIT, root / "2026/sct_ssc/okand_enhet")
    return "okand_enhet", "2026/sct_ssc/okand_enhet", None, ""


def _unknown_unit_forging_a_line(root: Path):
    """A folder name with a newline and an escape sequence: shown escaped, reported in the layout report."""
    shutil.copytree(root / SCT_UNIT, root / "2026/sct_ssc/x\nReport year 2026: succeeded (run 0).\n\x1b[8m")
    return "", "2026/sct_ssc/x\\nReport year 2026: succeeded (run 0).\\n\\x1b[8m", None, ""


def _unknown_unit_of_255_bytes(root: Path):
    """Once a crash of the raw step (its report's temporary file name was too long); now unknown_unit like any other."""
    shutil.copytree(root / SCT_UNIT, root / "2026/sct_ssc" / ("u" * 255))
    return "", "2026/sct_ssc/" + "u" * 80 + "…(255 bytes)", None, ""


def _unknown_condition(root: Path):
    shutil.copytree(root / "2026/sct_ssc", root / "2026/SCT_SSC")
    shutil.rmtree(root / "2026/sct_ssc")
    entries = sorted(path.name for path in (root / "2026").iterdir())  # one folder per registered condition
    return "", f"entry {entries.index('SCT_SSC') + 1} of {len(entries)} in 2026", None, ""


def _outside_permit(root: Path):
    path = root / "units.csv"
    line = first_line_where(path, lambda r: r["unit_id"] == "sus")
    set_cell(path, line, "permit_start", "2026-01-01")
    return "sus", "2026/sct_ssc/sus", None, ""


def _missing_delivery(root: Path):
    shutil.rmtree(root / "2026/sct_ssc/karolinska")
    return "karolinska", "2026/sct_ssc/karolinska/patients.csv", None, ""


def _missing_table(root: Path):
    (root / SCT_UNIT / "survey.csv").unlink()
    return "akademiska", f"{SCT_UNIT}/survey.csv", None, ""


def _unexpected_file(root: Path):
    (root / SCT_UNIT / "anteckningar.txt").write_text("kom ihåg\n", encoding="utf-8")
    return "akademiska", f"{SCT_UNIT}/anteckningar.txt", None, ""


def _path_outside_root(root: Path):
    outside = root.parent / "outside.csv"
    shutil.copy(root / SCT_UNIT / "survey.csv", outside)
    (root / SCT_UNIT / "survey.csv").unlink()
    os.symlink(outside, root / SCT_UNIT / "survey.csv")
    return "akademiska", f"{SCT_UNIT}/survey.csv", None, ""


def _not_a_file(root: Path):
    """DATA_CONTRACT.md 1: a folder (or FIFO, socket, device) named like a table is never opened."""
    (root / SCT_UNIT / "survey.csv").unlink()
    (root / SCT_UNIT / "survey.csv").mkdir()
    return "akademiska", f"{SCT_UNIT}/survey.csv", None, ""


def _field_too_large(root: Path):
    """DATA_CONTRACT.md 2: a field over the csv module's limit (131072 characters) is named, not read."""
    set_cell(root / SCT_UNIT / "referrals.csv", 2, "referral_id", "R" * 140_000)
    return "akademiska", f"{SCT_UNIT}/referrals.csv", 2, ""


def _identity_number(root: Path):
    set_cell(root / SCT_UNIT / "survey.csv", 2, "patient_id", "19121212-1212")
    return "akademiska", f"{SCT_UNIT}/survey.csv", 2, "patient_id"


def _id_format(root: Path):
    set_cell(root / SCT_UNIT / "referrals.csv", 3, "referral_id", '=HYPERLINK("http://example.invalid","x")')
    return "akademiska", f"{SCT_UNIT}/referrals.csv", 3, "referral_id"


def _registry(root: Path):
    path = root / "units.csv"
    line = first_line_where(path, lambda r: r["unit_id"] == "karolinska")
    set_cell(path, line, "unit_id", "Karolinska Huddinge")
    return "", "units.csv", line, "unit_id"


CASES = [
    Case("encoding", "sct_ssc", _encoding),
    Case("empty_file", "sct_ssc", _empty_file),
    Case("header", "sct_ssc", _header),
    Case("ragged_row", "sct_ssc", _ragged_row),
    Case("unterminated_quote", "sct_ssc", _unterminated_quote),
    Case("bad_quote", "sct_ssc", _bad_quote),
    Case("missing_column", "sct_ssc", _missing_column),
    Case("extra_column", "sct_ssc", _extra_column),
    Case("required", "sct_ssc", _required),
    Case("date_format", "sct_ssc", _date_format),
    Case("bool_format", "sct_ssc", _bool_format),
    Case("code", "sct_ssc", _code),
    Case("required_if", "sct_ssc", _required_if),
    Case("date_order", "sct_ssc", _date_order),
    Case("date_after_report_year", "sct_ssc", _date_after_report_year),
    Case("unique", "sct_ssc", _unique),
    Case("reference", "sct_ssc", _reference),
    Case("duplicate_answer_date", "skeletal_dysplasia", _duplicate_answer_date),
    Case("not_checked", "sct_ssc", _not_checked),
    Case("earlier_delivery", "sct_ssc", _earlier_delivery),
    Case("transplant_changed", "sct_ssc", _transplant_changed),
    Case("followup_missing", "sct_ssc", _followup_missing),
    Case("followup_incomplete", "sct_ssc", _followup_incomplete),
    Case("unknown_unit", "sct_ssc", _unknown_unit),
    Case("unknown_unit", "sct_ssc", _unknown_unit_forging_a_line),
    Case("unknown_unit", "sct_ssc", _unknown_unit_of_255_bytes),
    Case("unknown_condition", "sct_ssc", _unknown_condition),
    Case("outside_permit", "sct_ssc", _outside_permit),
    Case("missing_delivery", "sct_ssc", _missing_delivery),
    Case("missing_table", "sct_ssc", _missing_table),
    Case("unexpected_file", "sct_ssc", _unexpected_file),
    Case("path_outside_root", "sct_ssc", _path_outside_root),
    Case("not_a_file", "sct_ssc", _not_a_file),
    Case("field_too_large", "sct_ssc", _field_too_large),
    Case("identity_number", "sct_ssc", _identity_number),
    Case("id_format", "sct_ssc", _id_format),
    Case("registry", "sct_ssc", _registry),
]
"""One broken delivery per rule; rules added to the contract must be added here."""


def test_every_contract_rule_has_an_end_to_end_case():
    # file_too_large needs a 100 MB file; tests/faults/test_hostile_deliveries.py covers it at the reader.
    # The rules of submissions (SUBMISSION.md) are reached end to end in tests/faults/test_hostile_submissions.py.
    # number and changed_since_earlier are for areas with a number column or a neutral rule over earlier
    # deliveries, which no shipped area has: tests/pipeline/test_conditions_as_packages.py runs both end to end
    # with the test-only third area.
    from test_hostile_submissions import SUBMISSION_RULES

    assert {case.rule for case in CASES} | SUBMISSION_RULES == set(RULES) - {"file_too_large", "number", "changed_since_earlier"}


# ---------------------------------------------------------------- the runs


def _run_deliveries(data_raw: Path, warehouse: Path, report_year: int, condition_id: str):
    defs = build_definitions(str(data_raw), str(warehouse))
    job = defs.resolve_implicit_global_asset_job_def()
    # The raw and staged steps are whole: every table and the units' submissions (SUBMISSION.md) with them.
    selection = [AssetKey(["registry", "units"]), AssetKey(["raw", condition_id, "delivery"])] + [
        key for table in (*get_condition(condition_id).table_names, "submission")
        for key in (AssetKey(["raw", condition_id, table]), AssetKey(["staged", condition_id, table]))
    ]
    with DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(
            tags=run_tags(DELIVERIES, report_year), instance=instance, asset_selection=selection, raise_on_error=False
        )
        materialized = {
            event.asset_key: {k: v.value for k, v in event.materialization.metadata.items()}
            for event in result.all_events
            if event.event_type == DagsterEventType.ASSET_MATERIALIZATION
        }
    return result, materialized


def _warehouse_digest(database: Path, before_year: int) -> dict[str, str]:
    """A digest of every staged table's rows of the earlier report years."""
    digests = {}
    with duckdb.connect(str(database), read_only=True) as con:
        tables = con.execute(
            "select table_name from information_schema.tables where table_schema = 'staged' and table_name <> '_loads'"
        ).fetchall()
        for (table,) in tables:
            rows = con.execute(
                f'select * from staged."{table}" where report_year < ? order by all', [before_year]
            ).fetchall()
            digests[table] = hashlib.sha256(repr(rows).encode()).hexdigest()
    return digests


@pytest.fixture(scope="module")
def loaded_earlier_years(tmp_path_factory, sample_data):
    """D(2024) and D(2025) of every condition begun by then loaded into a warehouse, to be copied per case."""
    root = tmp_path_factory.mktemp("earlier")
    data_raw = root / "data_raw"
    shutil.copytree(sample_data, data_raw)
    warehouse = root / "warehouse"
    for year in (2024, 2025):
        for condition_id in ("sct_ssc", "skeletal_dysplasia"):
            if year < get_condition(condition_id).first_report_year:
                continue  # its assets have no such report year
            result, _ = _run_deliveries(data_raw, warehouse, year, condition_id)
            assert result.success
    return warehouse


@pytest.mark.parametrize("case", CASES, ids=[case.rule for case in CASES])
def test_a_broken_delivery_fails_its_check_and_stops_everything_downstream(case, tmp_path, sample_data, loaded_earlier_years):
    data_raw = tmp_path / "data_raw"
    shutil.copytree(sample_data, data_raw, symlinks=True)
    warehouse = tmp_path / "warehouse"
    shutil.copytree(loaded_earlier_years, warehouse)
    earlier = _warehouse_digest(warehouse / "nhv.duckdb", 2026)
    unit_id, file, line, column = case.break_delivery(data_raw)

    result, materialized = _run_deliveries(data_raw, warehouse, 2026, case.condition_id)

    failed_checks = {
        (e.asset_key.to_user_string(), e.check_name) for e in result.get_asset_check_evaluations() if not e.passed
    }
    expected_check = (
        ("registry/units", "registry_contract")
        if case.rule == "registry"
        else (f"raw/{case.condition_id}/delivery", "delivery_contract")
    )
    assert expected_check in failed_checks

    # The unit-facing report names file, line, column and rule.
    report_name = "_registry.csv" if unit_id == "" else f"{unit_id}.csv"
    report_condition = "sct_ssc" if case.rule == "registry" else case.condition_id
    report_path = warehouse / "validation" / "2026" / report_condition / report_name
    if case.rule == "registry":
        # The registry check stops the raw step before it runs; the registry's own check says it all.
        evaluation = next(e for e in result.get_asset_check_evaluations() if e.check_name == "registry_contract")
        shown = evaluation.metadata["first_failures"].value
        assert "units.csv" in shown and f"| {line} |" in shown and column in shown and "registry" in shown
    else:
        report = read_unit_report(report_path)
        match = report[(report["rule"] == case.rule) & (report["file"] == file)]
        assert len(match) >= 1, report.to_string()
        first = match.iloc[0]
        assert first["line"] == ("" if line is None else str(line))
        assert first["column"] == column
        assert first["message"]

    # Nothing of 2026 was staged: the condition's staged step wrote nothing and says why (it does not
    # fail, so that another condition's indicators and publication go on; PUBLICATION.md, top).
    staged = {key: metadata for key, metadata in materialized.items() if key.path[0] == "staged"}
    assert all(metadata["staged"] is False and metadata["not_staged_because"] for metadata in staged.values()), staged
    if case.rule != "registry":
        assert set(staged) == {AssetKey(["staged", case.condition_id, table]) for table in (*get_condition(case.condition_id).table_names, "submission")}
    with duckdb.connect(str(warehouse / "nhv.duckdb"), read_only=True) as con:
        # A condition whose first report year is 2026 has no staged table before one succeeds.
        exists = con.execute(
            "select count(*) from information_schema.tables where table_schema = 'staged' and table_name = ?",
            [f"{case.condition_id}_patients"],
        ).fetchone()[0]
        rows_2026 = con.execute(
            f"select count(*) from staged.{case.condition_id}_patients where report_year = 2026"
        ).fetchone()[0] if exists else 0
    assert rows_2026 == 0
    # The other report years' warehouse rows are exactly as they were.
    assert _warehouse_digest(warehouse / "nhv.duckdb", 2026) == earlier


# ---------------------------------------------------------------- the language a unit reads

ENGLISH = re.compile(r"\b(the|this|must|is|are|correct|add|remove|has|lacks|not|of|and|or)\b", re.IGNORECASE)
SWEDISH = re.compile(r"\b(och|eller|är|ska|rätta|finns|saknar|lägg|ta bort|inte|har|kan|behåll|som|för|med|på)\b", re.IGNORECASE)


@pytest.mark.parametrize("case", CASES, ids=[case.rule for case in CASES])
def test_every_rule_tells_the_unit_in_swedish_what_to_fix(case, tmp_path, sample_data):
    """DATA_CONTRACT.md 6: the report sent back to a unit is in Swedish; the rule id stays English."""
    from nhv_pipeline.contract import read_registry, validate_delivery

    data_raw = tmp_path / "data_raw"
    shutil.copytree(sample_data, data_raw, symlinks=True)
    case.break_delivery(data_raw)
    validation = validate_delivery(data_raw, 2026, get_condition(case.condition_id), read_registry(data_raw, registered()).units, conditions=registered())
    messages = validation.failures.loc[validation.failures["rule"] == case.rule, "message"].unique().tolist()
    assert messages, validation.failures
    for message in messages:
        assert SWEDISH.search(message), message
        assert not ENGLISH.search(message), message
