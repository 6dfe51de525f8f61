"""A filled-in submission.xlsx through the delivery contract (SUBMISSION.md 1-3, 7).

A unit fills in the template by hand (openpyxl, cell by cell, as a person types in Excel) and
places it as `<R>/<condition>/<unit>/submission.xlsx`: it passes the contract, and its rows
typed for the staged layer are the figures of the same submission sent as submission.csv.
"""

from __future__ import annotations

import shutil

import duckdb
import pandas as pd
import pytest

from pipeline_helpers import make_workspace
from submission_fixtures import type_by_hand

from nhv_pipeline.conditions import get_condition, registered
from nhv_pipeline.contract import read_registry, validate_delivery
from nhv_pipeline.submission.cells import DECIMAL_COLUMNS, write_submission_csv
from nhv_pipeline.submission.contract import staged_submission_frame, staged_submission_select
from nhv_pipeline.submission.make import make_submission
from nhv_pipeline.submission.workbook import FIRST_ROW, SUBMISSION_SHEET, write_template

CONDITION, UNIT, YEAR = "skeletal_dysplasia", "karolinska_sd", 2026


@pytest.fixture
def unit_figures(tmp_path, sample_data):
    """The unit's submission rows, made from its own sample extract (SUBMISSION.md 6)."""
    made = make_submission(sample_data, get_condition(CONDITION), UNIT, YEAR, tmp_path / "made", conditions=registered())
    assert made.failures.empty
    return made.frame


def _placed(tmp_path, sample_data, name: str):
    """A copy of the sample whose unit folder is emptied for a submission; the folder."""
    workspace = make_workspace(tmp_path / name, sample_data)
    folder = workspace.data_raw / str(YEAR) / CONDITION / UNIT
    shutil.rmtree(folder)
    folder.mkdir()
    return workspace.data_raw, folder


def _staged(validation) -> pd.DataFrame:
    """The submission rows typed as the staged layer types them (the contract's own select)."""
    with duckdb.connect(":memory:") as con:
        con.register("raw_submission", validation.submission)
        typed = con.execute(staged_submission_select('"raw_submission"') + " order by source_line").df()
    return staged_submission_frame(typed).drop(columns=["source_file", "source_line"])


def test_a_template_filled_in_by_hand_passes_and_stages_the_same_figures_as_submission_csv(
    tmp_path, sample_data, unit_figures
):
    registry_root, folder = _placed(tmp_path, sample_data, "xlsx")
    template = write_template(get_condition(CONDITION), YEAR, folder / "submission.xlsx", unit=UNIT)
    type_by_hand(template, unit_figures)
    by_hand = validate_delivery(registry_root, YEAR, get_condition(CONDITION), read_registry(registry_root, registered()).units, units=[UNIT], conditions=registered())
    assert by_hand.failures.empty, by_hand.failures.to_string()
    assert by_hand.kinds == {UNIT: "submission"}
    assert set(by_hand.submission["source_file"]) == {f"{YEAR}/{CONDITION}/{UNIT}/submission.xlsx"}
    assert by_hand.submission["source_line"].tolist() == list(range(FIRST_ROW, FIRST_ROW + len(unit_figures)))

    csv_root, csv_folder = _placed(tmp_path, sample_data, "csv")
    write_submission_csv(unit_figures, csv_folder / "submission.csv")
    as_csv = validate_delivery(csv_root, YEAR, get_condition(CONDITION), read_registry(csv_root, registered()).units, units=[UNIT], conditions=registered())
    assert as_csv.failures.empty, as_csv.failures.to_string()

    from_xlsx, from_csv = _staged(by_hand), _staged(as_csv)
    assert len(from_xlsx) == len(unit_figures) > 0
    exact = [column for column in from_csv.columns if column not in DECIMAL_COLUMNS]
    pd.testing.assert_frame_equal(from_xlsx[exact], from_csv[exact])
    # A workbook keeps 16 significant digits (openpyxl's writing, as a person's typing would).
    pd.testing.assert_frame_equal(from_xlsx[list(DECIMAL_COLUMNS)], from_csv[list(DECIMAL_COLUMNS)], rtol=1e-15)


def test_a_typed_mistake_in_the_workbook_is_named_by_its_sheet_and_cell(tmp_path, sample_data, unit_figures):
    root, folder = _placed(tmp_path, sample_data, "mistake")
    template = write_template(get_condition(CONDITION), YEAR, folder / "submission.xlsx", unit=UNIT)
    type_by_hand(template, unit_figures, overrides={f"F{FIRST_ROW}": "tolv", f"F{FIRST_ROW + 1}": "=F3-1"})
    result = validate_delivery(root, YEAR, get_condition(CONDITION), read_registry(root, registered()).units, units=[UNIT], conditions=registered())
    failures = result.failures
    formula = failures[failures["rule"] == "formula"]
    assert len(formula) == 1 and formula.iloc[0]["line"] == FIRST_ROW + 1 and formula.iloc[0]["column"] == "n"
    assert f"{SUBMISSION_SHEET}!F{FIRST_ROW + 1}" in formula.iloc[0]["message"]
    assert formula.iloc[0]["file"] == f"{YEAR}/{CONDITION}/{UNIT}/submission.xlsx"
    assert result.submission.empty  # a refused workbook contributes no rows

    root2, folder2 = _placed(tmp_path, sample_data, "text")
    template = write_template(get_condition(CONDITION), YEAR, folder2 / "submission.xlsx", unit=UNIT)
    type_by_hand(template, unit_figures, overrides={f"F{FIRST_ROW}": "tolv"})
    failures = validate_delivery(root2, YEAR, get_condition(CONDITION), read_registry(root2, registered()).units, units=[UNIT], conditions=registered()).failures
    not_a_number = failures[(failures["rule"] == "submission_range") & (failures["line"] == FIRST_ROW)]
    assert len(not_a_number) >= 1 and f"{SUBMISSION_SHEET}!F{FIRST_ROW}" in not_a_number.iloc[0]["message"]
    assert "tolv" not in " ".join(failures["message"])  # a message never repeats a cell value
