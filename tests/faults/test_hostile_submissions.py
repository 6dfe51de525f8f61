"""Hostile submissions (SUBMISSION.md 1-3, 5), end to end in Dagster: each fails its blocking check with its
rule, file, line and column in the unit's Swedish report, nothing of the report year reaches the staged
layer (tables or submissions), and a full run of the year publishes nothing and leaves earlier
publications as they were. The delivered files are never changed.

The submission of akademiska 2026 is made from its own sample extracts with the engine (it passes as
it is); each case breaks one thing in it.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import duckdb
import pandas as pd
import pytest
from dagster import AssetKey, DagsterEventType, DagsterInstance
from openpyxl import load_workbook

from nhv_pipeline.conditions import get_condition, registered
from nhv_pipeline.contract import read_registry, rules, validate_delivery
from nhv_pipeline.contract.reports import read_unit_report
from nhv_pipeline.definitions import build_definitions
from nhv_pipeline.orchestration.jobs import DELIVERIES, run_tags
from nhv_pipeline.submission.cells import INTEGER_COLUMNS, KEY_COLUMNS, write_submission_csv
from nhv_pipeline.submission.workbook import FIRST_ROW, SUBMISSION_SHEET, write_template
from pipeline_helpers import make_workspace, tree_digest, unhandled_errors, unhandled_errors_in_home
from submission_fixtures import unit_submission

UNIT = "akademiska"
FOLDER = f"2026/sct_ssc/{UNIT}"
FILE = f"{FOLDER}/submission.csv"
SWEDISH = re.compile(r"\b(och|eller|är|ska|rätta|finns|saknar|lägg|ta bort|inte|har|kan|behåll|som|för|med|på)\b", re.IGNORECASE)
ENGLISH = re.compile(r"\b(the|this|must|is|are|correct|add|remove|has|lacks|not|of|and|or)\b", re.IGNORECASE)


@pytest.fixture(scope="module")
def submissions(sample_data, tmp_path_factory) -> dict[int, bytes]:
    """The canonical submission.csv of akademiska for 2025 and 2026, made from its sample extracts."""
    folder = tmp_path_factory.mktemp("submissions")
    made = {}
    for year in (2025, 2026):
        write_submission_csv(unit_submission(sample_data, "sct_ssc", year, UNIT), folder / f"{year}.csv")
        made[year] = (folder / f"{year}.csv").read_bytes()
    return made


def _rows(root: Path) -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(io.StringIO((root / FILE).read_text(encoding="utf-8"))))
    return rows[0], rows[1:]


def _write(root: Path, header: list[str], rows: list[list[str]]) -> None:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([header, *rows])
    (root / FILE).write_text(out.getvalue(), encoding="utf-8")


def _line(rows, indicator_id, breakdown="total", value="total") -> int:
    return next(i + 2 for i, row in enumerate(rows) if (row[0], row[2], row[3]) == (indicator_id, breakdown, value))


def _set(root: Path, indicator_id: str, breakdown: str, value: str, **cells: str) -> int:
    header, rows = _rows(root)
    line = _line(rows, indicator_id, breakdown, value)
    for column, text in cells.items():
        rows[line - 2][header.index(column)] = text
    _write(root, header, rows)
    return line


def _get(root: Path, indicator_id: str, column: str, breakdown: str = "total", value: str = "total") -> str:
    header, rows = _rows(root)
    return rows[_line(rows, indicator_id, breakdown, value) - 2][header.index(column)]


# ---------------------------------------------------------------- the cases


def _missing_row(root):
    header, rows = _rows(root)
    del rows[_line(rows, "B1", "home_region", "13") - 2]
    _write(root, header, rows)
    return UNIT, FILE, None, ""


def _unknown_row(root):
    header, rows = _rows(root)
    rows.append(["B1", "count", "home_region", "02", "0", "", "", "", "", "", "", ""])  # no county 02
    _write(root, header, rows)
    return UNIT, FILE, len(rows) + 1, "breakdown_value"


def _repeated_row(root):
    header, rows = _rows(root)
    rows.append(list(rows[_line(rows, "T1", "sct_offered", "yes") - 2]))
    _write(root, header, rows)
    return UNIT, FILE, len(rows) + 1, "indicator_id"


def _totals(root):
    n = int(_get(root, "B1", "n", "home_region", "03"))
    _set(root, "B1", "home_region", "03", n=str(n + 1))
    header, rows = _rows(root)
    return UNIT, FILE, _line(rows, "B1"), "n"


def _numerator_above_denominator(root):
    denominator = int(_get(root, "Ö1", "denominator"))
    return UNIT, FILE, _set(root, "Ö1", "total", "total", numerator=str(denominator + 1)), "numerator"


def _unordered_percentiles(root):
    return UNIT, FILE, _set(root, "B4", "total", "total", p10="30.0", median="20.0", p90="40.0"), "median"


def _negative(root):
    return UNIT, FILE, _set(root, "B3", "home_region", "03", n="-1"), "n"


def _text_for_a_number(root):
    return UNIT, FILE, _set(root, "T2", "total", "total", mean="tolv"), "mean"


def _identity_number_in_a_key(root):
    return UNIT, FILE, _set(root, "B1", "home_region", "01", breakdown_value="19121212-1212"), "breakdown_value"


def _extra_column(root):
    header, rows = _rows(root)
    _write(root, [*header, "kommentar"], [[*row, "x"] for row in rows])
    return UNIT, FILE, 1, "kommentar"


def _extracts_and_a_submission(root):
    shutil.copy(root / FILE, root / "2026/sct_ssc/karolinska/submission.csv")
    return "karolinska", "2026/sct_ssc/karolinska/submission.csv", None, ""


def _equal_population(root):
    n = int(_get(root, "B1", "n")) + 1
    return UNIT, FILE, _set(root, "Ö1", "total", "total", n=str(n), denominator=str(n)), "n"


def _period(root):
    header, rows = _rows(root)
    line = _line(rows, "B1")
    rows = [[*row, "2025-01-01" if i == line - 2 else ""] for i, row in enumerate(rows)]
    rows[line - 2][-1] = "2024-01-01"  # B1's period for 2026 is 2025-01-01..2025-12-31
    _write(root, [*header, "period_start"], rows)
    return UNIT, FILE, line, "period_start"


def _workbook(root):
    (root / FILE).unlink()
    (root / FOLDER / "submission.xlsx").write_bytes(b"PK\x03\x04 not a workbook yet")
    return UNIT, f"{FOLDER}/submission.xlsx", None, ""


XLSX = f"{FOLDER}/submission.xlsx"


def _as_workbook(root: Path):
    """The submission typed into the template (SUBMISSION.md 7) and delivered as submission.xlsx instead."""
    frame = pd.read_csv(root / FILE, dtype={column: "string" for column in KEY_COLUMNS})
    for column in INTEGER_COLUMNS:
        frame[column] = frame[column].astype("Int64")
    (root / FILE).unlink()
    return write_template(get_condition("sct_ssc"), 2026, root / XLSX, unit=UNIT, values=frame)


def _formula(root):
    workbook = load_workbook(_as_workbook(root))
    workbook[SUBMISSION_SHEET][f"F{FIRST_ROW}"] = "=2+2"
    workbook.save(root / XLSX)
    return UNIT, XLSX, FIRST_ROW, "n"


def _macro(root):
    with zipfile.ZipFile(_as_workbook(root), "a") as archive:
        archive.writestr("xl/vbaProject.bin", b"\x00" * 64)
    return UNIT, XLSX, None, ""


def _hidden_sheet(root):
    workbook = load_workbook(_as_workbook(root))
    hidden = workbook.create_sheet("Egna siffror")
    hidden.sheet_state = "veryHidden"
    hidden["A1"] = 12
    workbook.save(root / XLSX)
    return UNIT, XLSX, None, ""


def _zip_bomb(root):
    with zipfile.ZipFile(_as_workbook(root), "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/media/image1.png", b"\x00" * (8 * 1024 * 1024))
    return UNIT, XLSX, None, ""


def _required(root):
    return UNIT, FILE, _set(root, "B1", "sex", "K", n=""), "n"


def _required_if(root):
    return UNIT, FILE, _set(root, "B3", "total", "total", mean="3.5"), "mean"


@dataclass(frozen=True)
class Case:
    name: str
    rule: str
    break_delivery: Callable[[Path], tuple[str, str, int | None, str]]
    """Breaks the copy; returns (unit_id, file, line, column) expected in the unit's report."""
    #: The unit's 2026 folder holds the submission before breaking (else its extracts stay).
    submits_2026: bool = True


CASES = [
    Case("missing_row", rules.SUBMISSION_MISSING_ROW, _missing_row),
    Case("unknown_row", rules.SUBMISSION_UNKNOWN_ROW, _unknown_row),
    Case("repeated_row", rules.DUPLICATE, _repeated_row),
    Case("totals_do_not_add_up", rules.SUBMISSION_TOTAL, _totals),
    Case("numerator_above_denominator", rules.SUBMISSION_RANGE, _numerator_above_denominator),
    Case("unordered_percentiles", rules.SUBMISSION_RANGE, _unordered_percentiles),
    Case("negative_number", rules.SUBMISSION_RANGE, _negative),
    Case("text_for_a_number", rules.SUBMISSION_RANGE, _text_for_a_number),
    Case("identity_number_in_a_key_cell", rules.IDENTITY_NUMBER, _identity_number_in_a_key),
    Case("extra_column", rules.EXTRA_COLUMN, _extra_column),
    Case("extracts_and_a_submission", rules.MIXED_DELIVERY, _extracts_and_a_submission),
    Case("equal_population", rules.SUBMISSION_EQUAL_POPULATION, _equal_population),
    Case("period", rules.SUBMISSION_PERIOD, _period),
    Case("workbook_not_readable_yet", rules.UNREADABLE_WORKBOOK, _workbook),
    Case("workbook_formula", rules.FORMULA, _formula),
    Case("workbook_macro", rules.MACRO, _macro),
    Case("workbook_hidden_sheet", rules.HIDDEN_SHEET, _hidden_sheet),
    Case("workbook_zip_bomb", rules.WORKBOOK_TOO_LARGE, _zip_bomb),
    Case("required", rules.REQUIRED, _required),
    Case("required_if", rules.REQUIRED_IF, _required_if),
    Case("earlier_delivery_kind", rules.EARLIER_DELIVERY_KIND,
         lambda root: (UNIT, f"{FOLDER}/transplants.csv", None, ""), submits_2026=False),
]
SUBMISSION_RULES = {case.rule for case in CASES}
"""The rules these cases reach end to end (tests/pipeline/test_pipeline_contract.py counts them)."""


def _prepare(case: Case, data_raw: Path, submissions: dict[int, bytes]):
    if case.submits_2026:
        _replace(data_raw / FOLDER, submissions[2026])
    else:  # earlier_delivery_kind: 2025 was a submission, 2026 is an extract
        _replace(data_raw / f"2025/sct_ssc/{UNIT}", submissions[2025])
    return case.break_delivery(data_raw)


def _replace(folder: Path, submission: bytes) -> None:
    shutil.rmtree(folder)
    folder.mkdir()
    (folder / "submission.csv").write_bytes(submission)


def test_the_unbroken_submissions_pass(tmp_path, sample_data, submissions):
    data_raw = tmp_path / "data_raw"
    shutil.copytree(sample_data, data_raw)
    _replace(data_raw / f"2025/sct_ssc/{UNIT}", submissions[2025])
    _replace(data_raw / FOLDER, submissions[2026])
    for year in (2025, 2026):
        assert validate_delivery(data_raw, year, get_condition("sct_ssc"), read_registry(data_raw, registered()).units, conditions=registered()).failures.empty


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_every_hostile_submission_tells_the_unit_in_swedish(case, tmp_path, sample_data, submissions):
    data_raw = tmp_path / "data_raw"
    shutil.copytree(sample_data, data_raw)
    unit_id, file, line, column = _prepare(case, data_raw, submissions)
    before = tree_digest(data_raw)
    failures = validate_delivery(data_raw, 2026, get_condition("sct_ssc"), read_registry(data_raw, registered()).units, conditions=registered()).failures
    assert tree_digest(data_raw) == before
    match = failures[(failures["rule"] == case.rule) & (failures["unit_id"] == unit_id) & (failures["file"] == file)]
    assert len(match) >= 1, failures.to_string()
    first = match.iloc[0]
    assert (None if first["line"] is None or str(first["line"]) == "<NA>" else int(first["line"])) == line
    assert first["column"] == column
    for message in match["message"]:
        assert SWEDISH.search(message) and not ENGLISH.search(message), message
    assert "19121212" not in failures.to_csv()


def _run_2026(data_raw: Path, warehouse: Path, year: int = 2026):
    """The raw and staged steps of sct_ssc for a report year (2026), as a run of the deliveries job selection."""
    defs = build_definitions(str(data_raw), str(warehouse))
    job = defs.resolve_implicit_global_asset_job_def()
    condition = get_condition("sct_ssc")
    selection = [AssetKey(["registry", "units"]), AssetKey(["raw", "sct_ssc", "delivery"])] + [
        AssetKey([layer, "sct_ssc", table]) for table in (*condition.table_names, "submission") for layer in ("raw", "staged")
    ]
    with DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(
            tags=run_tags(DELIVERIES, year), instance=instance, asset_selection=selection, raise_on_error=False
        )
        materialized = {e.asset_key for e in result.all_events if e.event_type == DagsterEventType.ASSET_MATERIALIZATION}
        metadata = {
            e.asset_key.to_user_string(): e.event_specific_data.materialization.metadata
            for e in result.all_events if e.event_type == DagsterEventType.ASSET_MATERIALIZATION
        }
    result.materialization_metadata = metadata
    return result, materialized


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_a_hostile_submission_fails_its_checks_and_stages_nothing(case, tmp_path, sample_data, submissions):
    data_raw = tmp_path / "data_raw"
    shutil.copytree(sample_data, data_raw)
    warehouse = tmp_path / "warehouse"
    unit_id, file, line, column = _prepare(case, data_raw, submissions)

    result, materialized = _run_2026(data_raw, warehouse)
    assert unhandled_errors(result.all_events, warehouse) == []  # each error is a contract failure with its rule

    failed = {(e.asset_key.to_user_string(), e.check_name) for e in result.get_asset_check_evaluations() if not e.passed}
    assert ("raw/sct_ssc/delivery", "delivery_contract") in failed
    if file.endswith(("submission.csv", "submission.xlsx")) and unit_id == UNIT:
        assert ("raw/sct_ssc/submission", "contract") in failed
    report = read_unit_report(warehouse / "validation" / "2026" / "sct_ssc" / f"{unit_id}.csv")
    match = report[(report["rule"] == case.rule) & (report["file"] == file)]
    assert len(match) >= 1, report.to_string()
    assert match.iloc[0]["line"] == ("" if line is None else str(line))
    assert match.iloc[0]["column"] == column
    assert (warehouse / "validation" / "2026" / "sct_ssc" / f"{unit_id}.html").is_file()
    # Nothing of 2026 was staged, neither the tables nor the submissions: the condition's staged step
    # wrote nothing and says why (it does not fail the run, so that another condition goes on;
    # PUBLICATION.md, top).
    staged = {key: value for key, value in result.materialization_metadata.items() if key.startswith("staged/")}
    assert set(staged) == {f"staged/sct_ssc/{table}" for table in (*get_condition("sct_ssc").table_names, "submission")}
    assert all(value["staged"].value is False and value["not_staged_because"].value for value in staged.values()), staged
    with duckdb.connect(str(warehouse / "nhv.duckdb"), read_only=True) as con:
        staged = con.execute("select count(*) from information_schema.tables where table_schema = 'staged' "
                             "and table_name <> '_loads'").fetchone()[0]
        raw_text = " ".join(str(row) for row in con.execute("select * from raw.sct_ssc_submission").fetchall())
    assert staged == 0
    assert "19121212" not in raw_text  # an identity number never reaches the warehouse


def test_a_run_with_a_hostile_submission_publishes_nothing_of_its_area_and_keeps_earlier_publications(
    tmp_path, sample_data, submissions
):
    """The whole pipeline: 2024 and 2025 publish; 2026 with a submission that does not add up fails, and
    its area has no part of 2026 (none published before) while the other area's is published
    (PUBLICATION.md, top); the earlier publications are byte for byte as they were."""
    workspace = make_workspace(tmp_path, sample_data)
    for year in ("2024", "2025"):
        assert workspace.cli("run", "--report-year", year, "--quiet").returncode == 0
    published = workspace.warehouse / "published"
    before = {year: tree_digest(published / year) for year in ("2024", "2025")}
    _replace(workspace.data_raw / FOLDER, submissions[2026])
    _totals(workspace.data_raw)
    completed = workspace.cli("run", "--report-year", "2026", "--quiet")
    assert completed.returncode == 1
    assert f"{FILE} line" in completed.stderr and "[submission_total]" in completed.stderr
    conditions = json.loads((published / "2026" / "manifest.json").read_text(encoding="utf-8"))["conditions"]
    assert conditions["sct_ssc"]["status"] == "withheld" and "submission_total" in conditions["sct_ssc"]["reason"]
    assert conditions["skeletal_dysplasia"]["status"] == "updated"
    rows = (published / "2026" / "indicator_results.csv").read_text(encoding="utf-8").splitlines()[1:]
    # The updated parts are what is published: skeletal_dysplasia's, and any other registered area's, never sct_ssc's.
    updated = {condition for condition, entry in conditions.items() if entry["status"] == "updated"}
    assert rows and {row.split(",")[1] for row in rows} == updated
    assert "skeletal_dysplasia" in updated and "sct_ssc" not in updated
    assert {year: tree_digest(published / year) for year in ("2024", "2025")} == before
    assert unhandled_errors_in_home(workspace.dagster_home, workspace.warehouse) == []


# ---------------------------------------------------------------- valid submissions in the warehouse


def test_a_valid_submission_is_staged_typed_and_the_raw_metadata_names_each_units_kind(tmp_path, sample_data, submissions):
    data_raw = tmp_path / "data_raw"
    shutil.copytree(sample_data, data_raw)
    _replace(data_raw / FOLDER, submissions[2026])
    warehouse = tmp_path / "warehouse"
    result, materialized = _run_2026(data_raw, warehouse)
    assert result.success
    kinds = {"akademiska": "submission", "karolinska": "extract", "sus": "extract"}
    metadata = result.materialization_metadata
    assert metadata["raw/sct_ssc/delivery"]["delivery_kinds"].value == kinds
    assert metadata["raw/sct_ssc/submission"]["delivery_kinds"].value == kinds
    assert metadata["raw/sct_ssc/submission"]["rows_per_unit"].value == {UNIT: 58}
    assert AssetKey(["staged", "sct_ssc", "submission"]) in materialized
    with duckdb.connect(str(warehouse / "nhv.duckdb"), read_only=True) as con:
        types = dict(con.execute("select column_name, data_type from information_schema.columns "
                                 "where table_schema = 'staged' and table_name = 'sct_ssc_submission'").fetchall())
        staged = con.execute("select * from staged.sct_ssc_submission order by source_line").df()
        patients = con.execute("select distinct unit_id from staged.sct_ssc_patients").fetchall()
    assert (types["n"], types["numerator"], types["mean"], types["unit_id"]) == ("BIGINT", "BIGINT", "DOUBLE", "VARCHAR")
    assert len(staged) == 58 and set(staged["unit_id"]) == {UNIT} and set(staged["report_year"]) == {2026}
    # The staged decimals are the file's exactly (written with repr, read back as doubles).
    frame = unit_submission(sample_data, "sct_ssc", 2026, UNIT)
    b4 = staged[staged["indicator_id"] == "B4"].iloc[0]
    assert b4["mean"] == frame.loc[frame["indicator_id"] == "B4", "mean"].iloc[0]
    assert sorted(unit for (unit,) in patients) == ["karolinska", "sus"]  # no extract rows for a submitting unit


def _r2_off_by_one(root: Path) -> int:
    n = int(_get(root, "R2", "n")) + 1
    numerator = _get(root, "R2", "numerator")
    return _set(root, "R2", "total", "total", n=str(n), denominator=str(n), numerator=numerator)


@pytest.mark.parametrize("kind_2024", ["extract", "submission"])
def test_r2_is_checked_against_b3_of_2024_in_the_warehouse_whatever_its_kind(kind_2024, tmp_path, sample_data, submissions):
    """SUBMISSION.md 3: R2 of 2026 counts the B3 population of 2024, checked against the unit's 2024 delivery
    in the warehouse: its enhet results when it sent extracts, its staged submission when it sent figures."""
    from nhv_pipeline.orchestration.assets.raw import earlier_figures
    from nhv_pipeline.orchestration.resources import Warehouse

    workspace = make_workspace(tmp_path, sample_data)
    if kind_2024 == "extract":
        assert workspace.cli("run", "--report-year", "2024", "--quiet").returncode == 0
    else:
        _replace(workspace.data_raw / f"2024/sct_ssc/{UNIT}", _made(sample_data, tmp_path, 2024))
        result, _ = _run_2026(workspace.data_raw, workspace.warehouse, 2024)
        assert result.success
    _replace(workspace.data_raw / FOLDER, submissions[2026])
    condition = get_condition("sct_ssc")
    earlier = earlier_figures(Warehouse(warehouse_dir=str(workspace.warehouse)), condition)
    b3 = earlier(UNIT, 2024, "B3", "count")
    assert b3 is not None and b3[("total", "total")] == int(_get(workspace.data_raw, "R2", "n"))

    def validate():
        return validate_delivery(workspace.data_raw, 2026, get_condition("sct_ssc"), read_registry(workspace.data_raw, registered()).units,
                                 earlier=earlier, conditions=registered()).failures

    assert validate().empty
    line = _r2_off_by_one(workspace.data_raw)
    failures = validate()
    assert failures[["unit_id", "line", "column", "rule"]].astype(str).values.tolist() == [
        [UNIT, str(line), "n", rules.SUBMISSION_EQUAL_POPULATION]
    ]
    assert "inrapporteringsår 2024" in failures.iloc[0]["message"]


def _made(sample_data: Path, tmp_path: Path, year: int) -> bytes:
    path = tmp_path / f"made_{year}.csv"
    write_submission_csv(unit_submission(sample_data, "sct_ssc", year, UNIT), path)
    return path.read_bytes()
