"""Submissions made from the sample extracts with the engine itself, for the submission tests.

A unit's figures are what the central pipeline computes for it: its deliveries validated,
typed as the staged layer types them, each indicator in force computed over the deliveries
its inputs declare, and the unit's unrounded `enhet` rows turned into submission rows.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
from openpyxl import load_workbook

from nhv_pipeline.conditions import get_condition, registered
from nhv_pipeline.contract import read_registry, validate_delivery
from nhv_pipeline.submission.cells import INTEGER_COLUMNS, submission_frame, write_submission_csv
from nhv_pipeline.submission.make import delivery_years, unit_figures
from nhv_pipeline.submission.workbook import FIRST_ROW, SUBMISSION_SHEET


def unit_result_rows(data_raw: Path, condition_id: str, report_year: int, unit_id: str) -> pd.DataFrame:
    """The unit's unrounded `enhet` result rows of every indicator in force for R, as `nhv-pipeline
    submission` computes them (SUBMISSION.md 6), from deliveries that must pass the contract."""
    condition = get_condition(condition_id)
    registry = read_registry(data_raw, registered()).units
    raw_tables = {}
    for year in delivery_years(condition, report_year):
        validation = validate_delivery(data_raw, year, get_condition(condition_id), registry, units=[unit_id], conditions=registered())
        assert validation.failures.empty, validation.failures.to_string()
        raw_tables[year] = validation.tables
    return unit_figures(condition, unit_id, report_year, raw_tables, registry)


def unit_submission(data_raw: Path, condition_id: str, report_year: int, unit_id: str) -> pd.DataFrame:
    """The unit's submission rows (SUBMISSION_COLUMNS), made from its extracts."""
    rows = unit_result_rows(data_raw, condition_id, report_year, unit_id)
    return submission_frame(rows, get_condition(condition_id), report_year)


def replace_with_submission(data_raw: Path, condition_id: str, report_year: int, unit_id: str) -> Path:
    """Replace the unit's extract folder of R by the submission made from it; returns the submission.csv path."""
    frame = unit_submission(data_raw, condition_id, report_year, unit_id)
    folder = data_raw / str(report_year) / condition_id / unit_id
    for table in folder.iterdir():
        table.unlink()
    path = folder / "submission.csv"
    write_submission_csv(frame, path)
    return path


#: The value columns of the template's sheet Inrapportering, by their letter (SUBMISSION.md 7).
LETTERS = dict(zip(("n", "numerator", "denominator", "mean", "sd", "p10", "median", "p90"), "FGHIJKLM"))


def type_by_hand(path, figures: pd.DataFrame, overrides: dict[str, object] | None = None) -> None:
    """Type every value into the template, one cell at a time; empty figures are left empty."""
    workbook = load_workbook(path)
    sheet = workbook[SUBMISSION_SHEET]
    for row, record in enumerate(figures.to_dict("records"), start=FIRST_ROW):
        assert sheet[f"A{row}"].value == record["indicator_id"] and sheet[f"D{row}"].value == record["breakdown_value"]
        for column, letter in LETTERS.items():
            value = record[column]
            if value is pd.NA or value is None or (isinstance(value, float) and math.isnan(value)):
                continue
            sheet[f"{letter}{row}"] = int(value) if column in INTEGER_COLUMNS else float(value)
    for coordinate, value in (overrides or {}).items():
        sheet[coordinate] = value
    workbook.save(path)
