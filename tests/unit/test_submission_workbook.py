"""The Excel template of a submission and its safe reader (SUBMISSION.md 7)."""

from __future__ import annotations

import math
import re
import zipfile

import pandas as pd
import pytest
from openpyxl import load_workbook

from nhv_pipeline.conditions import get_condition
from nhv_pipeline.contract import RULES
from nhv_pipeline.contract.rules import RULE_SUMMARIES_SV
from nhv_pipeline.submission.cells import SUBMISSION_COLUMNS, required_cells, write_submission_csv
from nhv_pipeline.submission.workbook import (
    FIRST_ROW,
    HEADER_ROW,
    INSTRUCTIONS_SHEET,
    MAX_ROWS,
    SUBMISSION_SHEET,
    read_submission_workbook,
    write_template,
)

SCT = get_condition("sct_ssc")
SKELETAL = get_condition("skeletal_dysplasia")
#: The template's columns: the four key codes, a label column, then the value columns.
LETTERS = dict(zip(SUBMISSION_COLUMNS, "ABCDFGHIJKLM"))


@pytest.fixture
def template(tmp_path):
    return write_template(SCT, 2026, tmp_path / "mall.xlsx", unit="akademiska")


def _rules(read) -> list[str]:
    return [failure["rule"] for failure in read.failures]


def test_inrapportering_has_one_locked_key_row_per_required_cell_under_the_section_2_header(template):
    sheet = load_workbook(template)[SUBMISSION_SHEET]
    assert [sheet[f"{LETTERS[c]}{HEADER_ROW}"].value for c in SUBMISSION_COLUMNS] == list(SUBMISSION_COLUMNS)
    assert sheet[f"E{HEADER_ROW}"].value is None and sheet["E1"].value  # a Swedish label column, not read
    assert sheet["A1"].value == "Indikator" and sheet["F1"].value == "N (antal)"
    cells = required_cells(SCT, 2026)
    assert sheet.max_row == FIRST_ROW + len(cells) - 1
    assert sheet.protection.sheet
    for row, cell in enumerate(cells, start=FIRST_ROW):
        assert tuple(sheet[f"{LETTERS[c]}{row}"].value for c in SUBMISSION_COLUMNS[:4]) == cell.key
        assert all(sheet[f"{LETTERS[c]}{row}"].protection.locked for c in SUBMISSION_COLUMNS[:4])
        assert cell.indicator.name in sheet[f"E{row}"].value
        # Only the value columns of the measure's statistic are open for typing.
        open_columns = {c for c in SUBMISSION_COLUMNS[4:] if not sheet[f"{LETTERS[c]}{row}"].protection.locked}
        assert open_columns == {"count": {"n"}, "proportion": {"n", "numerator", "denominator"},
                                "distribution": {"n", "mean", "sd", "p10", "median", "p90"}}[cell.kind]
    # B1's home_region rows keep their leading zero (text, not a number).
    assert sheet[f"D{FIRST_ROW + 1}"].value == "01"


def test_value_columns_have_swedish_input_messages_and_validation(template):
    sheet = load_workbook(template)[SUBMISSION_SHEET]
    by_column = {}
    for rule in sheet.data_validations.dataValidation:
        for cell_range in rule.sqref.ranges:
            by_column.setdefault(cell_range.coord.rstrip("0123456789").split(":")[0], []).append(rule)
    n_rule = by_column["F"][0]
    assert (n_rule.type, n_rule.operator, n_rule.formula1) == ("whole", "greaterThanOrEqual", "0")
    assert n_rule.showInputMessage and n_rule.showErrorMessage and "Heltal" in n_rule.prompt
    assert by_column["I"][0].type == "decimal" and "oavrundat" in by_column["I"][0].prompt
    sd_rule = by_column["J"][0]
    assert (sd_rule.type, sd_rule.operator, sd_rule.formula1) == ("decimal", "greaterThanOrEqual", "0")
    for rules in by_column.values():
        assert all(len(rule.prompt) <= 255 and len(rule.promptTitle) <= 32 for rule in rules)  # Excel's limits


def test_anvisningar_gives_period_and_catalogue_texts_of_every_indicator_in_force(tmp_path):
    path = write_template(SCT, 2025, tmp_path / "mall.xlsx", unit="akademiska")
    sheet = load_workbook(path)[INSTRUCTIONS_SHEET]
    rows = [(row[0].value, row[1].value) for row in sheet.iter_rows(max_col=2)]
    text = "\n".join(f"{label}\t{value}" for label, value in rows)
    assert SCT.name in text and "Inrapporteringsår\t2025" in text and "NHV-enhet\takademiska" in text
    headings = [label for label, value in rows if value is None and label and " – " in label]
    # R2 begins in 2026: no heading and no rows in 2025.
    assert [h.split(" – ")[0] for h in headings[1:]] == ["B1", "B2", "B3", "B4", "T1", "T2", "R1", "P1", "Ö1"]
    assert "Mätperiod\t2024-01-01 – 2024-12-31" in text
    assert "Kohortår\t2023-01-01 – 2023-12-31" in text  # R1, lag 2
    assert "Sammanslagna år\t2023-01-01 – 2024-12-31" in text  # B2 pooled, cut at the start
    b4 = SCT.latest("B4")
    for label, value in (("Mått", b4.measure_text), ("Mätenhet", b4.unit_of_measure),
                         ("Teknisk beskrivning", b4.technical_description), ("N räknar", b4.n_counts)):
        assert f"{label}\t{value}" in text
    p1 = write_template(SKELETAL, 2026, tmp_path / "sd.xlsx")
    p1_rows = [(r[0].value, r[1].value) for r in load_workbook(p1)[INSTRUCTIONS_SHEET].iter_rows(max_col=2)]
    assert ("N räknar (svarsfrekvens)", SKELETAL.latest("P1").n_counts_for("response_rate")) in p1_rows


def _filled_by_hand(path, typed: dict[tuple[int, str], object]):
    """Type values cell by cell, as a person does in Excel, and save."""
    workbook = load_workbook(path)
    sheet = workbook[SUBMISSION_SHEET]
    for (row, column), value in typed.items():
        sheet[f"{LETTERS[column]}{row}"] = value
    workbook.save(path)
    return path


def test_a_template_filled_in_by_hand_reads_back_as_text_rows_naming_their_cells(template):
    _filled_by_hand(template, {(FIRST_ROW, "n"): 12, (FIRST_ROW + 1, "n"): 0})
    read = read_submission_workbook(template)
    assert read.failures == []
    assert read.header == list(SUBMISSION_COLUMNS)
    assert read.records[0] == (FIRST_ROW, ["B1", "count", "total", "total", "12"] + [""] * 7)
    assert read.records[1][1][4] == "0"
    assert read.locate(FIRST_ROW, "n") == f"{SUBMISSION_SHEET}!F{FIRST_ROW}"
    frame = read.frame()
    assert list(frame.columns) == [*SUBMISSION_COLUMNS, "source_line"]
    assert frame.loc[0, "n"] == "12" and frame.loc[0, "numerator"] is None and frame.loc[0, "source_line"] == FIRST_ROW
    assert len(frame) == len(required_cells(SCT, 2026))


def test_template_with_values_reads_back_as_the_same_numbers_as_submission_csv(tmp_path):
    cells = required_cells(SKELETAL, 2026)
    records = []
    for number, cell in enumerate(cells):
        row = dict(zip(SUBMISSION_COLUMNS, (*cell.key, number, pd.NA, pd.NA, *[math.nan] * 5)))
        if cell.kind == "proportion":
            row.update(numerator=number // 2, denominator=number)
        if cell.kind == "distribution":
            row.update(mean=number / 3, sd=0.1 + number / 7, p10=1.0, median=2.5, p90=1e-7 + number)
        records.append(row)
    frame = pd.DataFrame(records, columns=list(SUBMISSION_COLUMNS))
    for column in ("n", "numerator", "denominator"):
        frame[column] = frame[column].astype("Int64")
    write_submission_csv(frame, tmp_path / "submission.csv")
    path = write_template(SKELETAL, 2026, tmp_path / "submission.xlsx", unit="karolinska_sd", values=frame)
    read = read_submission_workbook(path)
    assert read.failures == []
    from_csv = pd.read_csv(tmp_path / "submission.csv", dtype=str, keep_default_na=False)
    from_xlsx = pd.DataFrame([texts for _, texts in read.records], columns=read.header)
    assert list(from_xlsx.columns) == list(from_csv.columns)
    for column in SUBMISSION_COLUMNS:
        if column in ("mean", "sd", "p10", "median", "p90"):
            # openpyxl writes a number with 16 significant digits (SUBMISSION.md 2 asks for at least 6);
            # submission.csv holds the exact double. Empty stays empty.
            for xlsx_text, csv_text in zip(from_xlsx[column], from_csv[column], strict=True):
                assert (xlsx_text == "") == (csv_text == ""), column
                if csv_text:
                    assert float(xlsx_text) == pytest.approx(float(csv_text), rel=1e-15, abs=0), column
        else:
            assert list(from_xlsx[column]) == list(from_csv[column]), column


# --- what is refused, before anything is evaluated ------------------------------------------


def test_a_formula_cell_is_refused_and_named_by_its_cell(template):
    _filled_by_hand(template, {(FIRST_ROW, "n"): "=2+2", (FIRST_ROW + 4, "n"): 3})
    read = read_submission_workbook(template, rel="2026/sct_ssc/akademiska/submission.xlsx")
    assert _rules(read) == ["formula"]
    failure = read.failures[0]
    assert failure["file"] == "2026/sct_ssc/akademiska/submission.xlsx"
    assert (failure["line"], failure["column"]) == (FIRST_ROW, "n")
    assert failure["message"].startswith(f"{SUBMISSION_SHEET}!F{FIRST_ROW}: ") and "formel" in failure["message"]
    assert read.records == []  # a refused workbook gives no rows


def test_a_formula_on_another_sheet_is_refused_too(template):
    workbook = load_workbook(template)
    workbook.create_sheet("Egna anteckningar")["B2"] = "=SUM(Inrapportering!F3:F60)"
    workbook.save(template)
    read = read_submission_workbook(template)
    assert _rules(read) == ["formula"] and read.failures[0]["message"].startswith("blad 3!B2: ")


def test_a_macro_workbook_is_refused_by_name_and_by_content(tmp_path, template):
    xlsm = tmp_path / "submission.xlsm"
    xlsm.write_bytes(template.read_bytes())
    assert _rules(read_submission_workbook(xlsm)) == ["macro"]
    with zipfile.ZipFile(template, "a") as archive:
        archive.writestr("xl/vbaProject.bin", b"\x00" * 64)
    assert _rules(read_submission_workbook(template)) == ["macro"]


@pytest.mark.parametrize("state", ["hidden", "veryHidden"])
def test_a_hidden_sheet_with_values_is_refused_and_an_empty_one_is_not(template, state):
    workbook = load_workbook(template)
    workbook.create_sheet("Dolt").sheet_state = state
    workbook.save(template)
    assert read_submission_workbook(template).failures == []
    workbook = load_workbook(template)
    workbook["Dolt"]["A1"] = 17
    workbook.save(template)
    read = read_submission_workbook(template)
    assert _rules(read) == ["hidden_sheet"] and "blad 3" in read.failures[0]["message"]


def test_a_file_over_the_csv_size_limit_is_refused_before_it_is_opened(template, monkeypatch):
    monkeypatch.setenv("NHV_MAX_FILE_MB", str(template.stat().st_size / 2 / 1024 / 1024))
    assert _rules(read_submission_workbook(template)) == ["file_too_large"]


def _zip_with(path, name: str, data: bytes, base) -> None:
    """A copy of the template with one more part (a zip member) added."""
    path.write_bytes(base.read_bytes())
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, data)


def test_a_zip_bomb_is_refused_from_the_declared_sizes_before_anything_is_inflated(tmp_path, template):
    bomb = tmp_path / "bomb.xlsx"
    _zip_with(bomb, "xl/media/image1.png", b"\x00" * (8 * 1024 * 1024), template)  # 8 MB of zeros, ~8 kB packed
    assert bomb.stat().st_size < 100 * 1024
    read = read_submission_workbook(bomb)
    assert _rules(read) == ["workbook_too_large"] and "zip-bomb" in read.failures[0]["message"]
    huge = tmp_path / "huge.xlsx"
    _zip_with(huge, "xl/media/image1.png", b"\x00" * (30 * 1024 * 1024), template)  # over what a workbook may unpack to
    assert _rules(read_submission_workbook(huge)) == ["workbook_too_large"]


def _with_sheet_xml(path, replace) -> None:
    """Rewrite the Inrapportering sheet's XML (sheet2.xml) of a workbook."""
    with zipfile.ZipFile(path) as archive:
        parts = {info: archive.read(info) for info in archive.infolist()}
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for info, data in parts.items():
            archive.writestr(info.filename, replace(data) if info.filename == "xl/worksheets/sheet2.xml" else data)


def test_a_sheet_declaring_a_huge_dimension_is_refused_before_its_rows_are_read(template):
    _with_sheet_xml(template, lambda xml: re.sub(rb'<dimension ref="[A-Z0-9:]+"', b'<dimension ref="A1:M2000000"', xml))
    read = read_submission_workbook(template)
    assert _rules(read) == ["workbook_too_large"] and "Inrapportering" in read.failures[0]["message"]


def test_a_sheet_whose_rows_run_past_the_limit_is_refused_whatever_it_declares(template):
    far = MAX_ROWS + 5
    _with_sheet_xml(template, lambda xml: re.sub(rb'<dimension ref="[A-Z0-9:]+" ?/>', b"", xml).replace(
        b"</sheetData>", f'<row r="{far}"><c r="F{far}"><v>1</v></c></row></sheetData>'.encode()))
    assert _rules(read_submission_workbook(template)) == ["workbook_too_large"]


def test_xml_declarations_and_files_that_are_no_workbook_are_refused(tmp_path, template):
    _with_sheet_xml(template, lambda xml: b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>' + xml)
    assert _rules(read_submission_workbook(template)) == ["unreadable_workbook"]
    not_zip = tmp_path / "submission.xlsx"
    not_zip.write_text("indicator_id,measure\n", encoding="utf-8")
    assert _rules(read_submission_workbook(not_zip)) == ["unreadable_workbook"]


def test_a_workbook_without_the_inrapportering_sheet_or_its_header_is_refused(tmp_path, template):
    workbook = load_workbook(template)
    workbook[SUBMISSION_SHEET].title = "Blad1"
    workbook.save(tmp_path / "renamed.xlsx")
    assert _rules(read_submission_workbook(tmp_path / "renamed.xlsx")) == ["unreadable_workbook"]
    workbook = load_workbook(template)
    workbook[SUBMISSION_SHEET].delete_rows(1, 2)
    workbook.save(template)
    assert _rules(read_submission_workbook(template)) == ["header"]


def test_the_workbook_rules_are_registered_with_their_section_and_a_swedish_summary():
    for rule in ("formula", "macro", "hidden_sheet", "workbook_too_large", "unreadable_workbook"):
        assert "SUBMISSION.md 7" in RULES[rule]
        assert RULE_SUMMARIES_SV[rule]
