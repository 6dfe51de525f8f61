"""The Excel template of a submission and its safe reader (SUBMISSION.md 7).

`write_template` writes the workbook a unit fills in by hand (and `nhv-pipeline submission`
fills in with its figures): a sheet `Anvisningar` in Swedish from the catalogue, and a sheet
`Inrapportering` with one row per required cell (`cells.required_cells`) under a header row of
SUBMISSION.md 2's column names. `read_submission_workbook` reads a filled-in one back as the
text rows of submission.csv, each with its sheet row and each column with its letter, so a
message can name the cell (`Inrapportering!F12`).

Nothing in a workbook is ever evaluated. Before openpyxl reads a cell, the file's size, the
zip members' declared sizes and compression ratios, the members' XML prologue (no DOCTYPE, so
no entity expansion) and the sheet's declared dimension are looked at; a workbook that fails
one of them is refused before it can fill memory. Python's zipfile never inflates a member past
its declared size, so the declared sizes bound what is read. Pure: no Dagster.
"""

from __future__ import annotations

import math
import os
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import pandas as pd

from nhv_pipeline.core import labels
from nhv_pipeline.core.condition import Condition
from nhv_pipeline.contract import rules
from nhv_pipeline.contract.reader import max_file_bytes, too_large_failure
from nhv_pipeline.indicators.model import Indicator, declared_by, measure_kind, period_for
from nhv_pipeline.submission.cells import (
    DECIMAL_COLUMNS,
    INTEGER_COLUMNS,
    KEY_COLUMNS,
    SUBMISSION_COLUMNS,
    indicators_in_force,
    required_cells,
)

INSTRUCTIONS_SHEET = "Anvisningar"
SUBMISSION_SHEET = "Inrapportering"
SUBMISSION_FILE = "submission.xlsx"

#: Row 1 holds Swedish headings, row 2 the codes of SUBMISSION.md 2, the cells start on row 3.
HEADING_ROW, HEADER_ROW, FIRST_ROW = 1, 2, 3
#: A column of Swedish labels beside the key codes: its header-row cell is empty, so it is not read.
LABEL_HEADING = "Indikator och redovisningsgrupp"
#: The sheet's columns, left to right: the key codes, the label column (None), the values.
LAYOUT: tuple[str | None, ...] = (*KEY_COLUMNS, None, *SUBMISSION_COLUMNS[len(KEY_COLUMNS):])

HEADINGS_SV: dict[str, str] = {
    "indicator_id": "Indikator",
    "measure": "Mått",
    "breakdown": "Redovisningsgrupp",
    "breakdown_value": "Värde",
    "n": "N (antal)",
    "numerator": "Täljare",
    "denominator": "Nämnare",
    "mean": "Medelvärde",
    "sd": "Standardavvikelse",
    "p10": "10:e percentil",
    "median": "Median",
    "p90": "90:e percentil",
}

#: The value columns each statistic fills in (SUBMISSION.md 2); the others stay empty and locked.
VALUE_COLUMNS_OF_KIND: dict[str, tuple[str, ...]] = {
    "count": ("n",),
    "proportion": ("n", "numerator", "denominator"),
    "distribution": ("n", *DECIMAL_COLUMNS),
}

_INPUT_MESSAGES: dict[str, tuple[str, str]] = {
    "n": ("N (antal)", "Heltal ≥ 0: antalet personer, händelser eller transplantationer cellen bygger på "
          "(se Anvisningar, ”N räknar”). Skriv 0 om ingen ingår."),
    "numerator": ("Täljare", "Heltal ≥ 0, högst lika med nämnaren."),
    "denominator": ("Nämnare", "Heltal ≥ 0, lika med N."),
    "mean": ("Medelvärde", "Decimaltal, oavrundat (minst 6 värdesiffror). Lämna tomt när N = 0."),
    "sd": ("Standardavvikelse", "Decimaltal ≥ 0, oavrundat (stickprovets, n − 1). Lämna tomt när N < 2."),
    "p10": ("10:e percentil", "Decimaltal, oavrundat. Lämna tomt när N = 0."),
    "median": ("Median", "Decimaltal, oavrundat. Lämna tomt när N = 0."),
    "p90": ("90:e percentil", "Decimaltal, oavrundat. Lämna tomt när N = 0."),
}

# --- limits of what is read (SUBMISSION.md 7: "a size limit as for CSV files") --------------
#: More parts than a workbook of two sheets ever has.
MAX_MEMBERS = 200
#: A member that inflates more than this many times is a zip bomb, not a spreadsheet (an
#: Inrapportering sheet compresses about 10-20 times).
MAX_COMPRESSION_RATIO = 100
#: What the parts may unpack to at most (and never more than NHV_MAX_FILE_MB): the template with a
#: unit's values is well under 1 MB, and openpyxl holds a row's cells and the shared strings in memory.
MAX_UNPACKED_BYTES = 20 * 1024 * 1024
#: Below this size a member's ratio is not looked at (tiny XML parts compress very well).
RATIO_FLOOR_BYTES = 1024 * 1024
#: The sheet is far larger than any catalogue's cells (a few hundred rows, 13 columns).
MAX_ROWS = 100_000
MAX_COLUMNS = 64
#: The header row is looked for among the first rows (headings may stand above it).
MAX_HEADER_SEARCH = 10
_PROLOGUE_BYTES = 4096


def _period_name(indicator: Indicator) -> str:
    if indicator.cohort_lag > 0:
        return "Kohortår"
    return "Sammanslagna år" if indicator.pooled_years > 1 else "Mätperiod"


def _cell_label(indicator: Indicator, measure: str, breakdown: str, value: str) -> str:
    condition = declared_by(indicator)
    group = labels.TOTAL_LABEL if breakdown == "total" else (
        f"{labels.breakdown_name(breakdown, condition)}: {labels.breakdown_label(breakdown, value, condition)}"
    )
    return f"{indicator.indicator_id} {indicator.name} – {labels.measure_name(measure, (condition,))} – {group}"


def _instruction_rows(condition: Condition, report_year: int, unit: str | None) -> list[tuple[str, str]]:
    """(label, text) rows of the Anvisningar sheet; a label of "#" starts an indicator's heading."""
    where = f"{report_year}/{condition.condition_id}/{unit or '<enhetens id>'}/{SUBMISSION_FILE}"
    rows: list[tuple[str, str]] = [
        ("#", f"Inrapportering i aggregerad form – {condition.name}"),
        ("Tillståndsområde", f"{condition.name} ({condition.condition_id})"),
        ("Inrapporteringsår", str(report_year)),
    ]
    if unit:
        rows.append(("NHV-enhet", unit))
    rows += [
        ("Så fyller du i", (
            f"Bladet {SUBMISSION_SHEET} har en rad för varje cell som enheten rapporterar: varje indikator och mått, "
            "dess totalrad och varje värde i dess redovisningsgrupper. De grå kolumnerna är låsta; fyll bara i de vita "
            "cellerna. Skriv 0 i N där ingen ingår (och 0 i täljare och nämnare för en andel). Decimaltal skrivs "
            "oavrundade, med minst 6 värdesiffror; lämna dem tomma när N = 0, och standardavvikelsen tom när N < 2."
        )),
        ("Tillåtet", (
            "Bara värden: formler, makron (.xlsm) och dolda blad med innehåll godtas inte, och ingenting i filen "
            "beräknas. Lägg inte till, ta inte bort och ändra inte ordning på rader eller kolumner."
        )),
        ("Leverans", f"Spara filen som {SUBMISSION_FILE} (Excel-arbetsbok) och leverera den som {where}, "
                     "i stället för enhetens tabeller (inte båda)."),
    ]
    for indicator in indicators_in_force(condition, report_year):
        start, end = period_for(indicator, report_year)
        rows.append(("#", f"{indicator.indicator_id} – {indicator.name}"))
        rows += [
            ("Mått", indicator.measure_text),
            ("Mätenhet", indicator.unit_of_measure),
            (_period_name(indicator), f"{start.isoformat()} – {end.isoformat()}"),
        ]
        for measure in indicator.measures:
            name = labels.measure_name(measure, (condition,))
            label = "N räknar" if len(indicator.measures) == 1 else f"N räknar ({name.lower()})"
            rows.append((label, indicator.n_counts_for(measure)))
        rows += [
            ("Teknisk beskrivning", indicator.technical_description),
            ("Felkällor och begränsningar", indicator.limitations),
        ]
    return [(label, text) for label, text in rows if text]


#: Points per line of wrapped text, and characters per line in the instructions' text column (width 100).
_LINE_HEIGHT = 15
_INSTRUCTION_CHARS = 90


def _wrapped_lines(text: str, width: int) -> int:
    """How many lines a wrapped cell text takes: each of its lines, wrapped at `width` characters."""
    return sum(max(1, math.ceil(len(line) / width)) for line in text.split("\n"))


def _print_to_page_width(sheet, landscape: bool) -> None:
    """A4, every column on one page width (a unit prints the sheet to check it)."""
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.orientation = "landscape" if landscape else "portrait"
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0


def _number(value: object) -> int | float | None:
    """A value of a submission frame as Excel stores it; None for an empty one."""
    if value is None or value is pd.NA:
        return None
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def write_template(condition: Condition, report_year: int, path, unit: str | None = None, values=None) -> Path:
    """The Excel template for one condition and report year (SUBMISSION.md 7), written to `path`.

    `values` (a frame with SUBMISSION_COLUMNS, such as `cells.submission_frame` gives) fills in the
    value cells of the rows it names: that is how `nhv-pipeline submission` writes submission.xlsx.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill, Protection
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    cells = required_cells(condition, report_year)
    given: dict[tuple[str, str, str, str], dict] = {}
    if values is not None:
        for record in values.to_dict("records"):
            given[tuple(str(record[column]) for column in KEY_COLUMNS)] = record
    bold = Font(bold=True)
    grey = PatternFill("solid", fgColor="D9D9D9")
    wrap = Alignment(wrap_text=True, vertical="top")

    workbook = Workbook()
    guide = workbook.active
    guide.title = INSTRUCTIONS_SHEET
    guide.column_dimensions["A"].width = 30
    guide.column_dimensions["B"].width = 100
    for row, (label, text) in enumerate(_instruction_rows(condition, report_year, unit), start=1):
        if label == "#":
            guide.cell(row, 1, text).font = Font(bold=True, size=14 if row == 1 else 12)
            continue
        guide.cell(row, 1, label).font = bold
        guide.cell(row, 1).alignment = wrap
        guide.cell(row, 2, text).alignment = wrap
        # Spreadsheet programs do not grow a row for wrapped text they did not lay out themselves.
        guide.row_dimensions[row].height = _LINE_HEIGHT * _wrapped_lines(text, _INSTRUCTION_CHARS)
    _print_to_page_width(guide, landscape=False)
    guide.protection.sheet = True

    sheet = workbook.create_sheet(SUBMISSION_SHEET)
    for position, code in enumerate(LAYOUT, start=1):
        heading = sheet.cell(HEADING_ROW, position, LABEL_HEADING if code is None else HEADINGS_SV[code])
        heading.font = bold
        heading.alignment = wrap
        if code is not None:
            sheet.cell(HEADER_ROW, position, code).font = bold
        # Unrounded decimals need room for their 16 digits.
        sheet.column_dimensions[get_column_letter(position)].width = 20 if code in DECIMAL_COLUMNS else 14
    sheet.row_dimensions[HEADING_ROW].height = 2 * _LINE_HEIGHT
    letter = {code: get_column_letter(position) for position, code in enumerate(LAYOUT, start=1) if code}
    open_cells: dict[str, list[str]] = {code: [] for code in SUBMISSION_COLUMNS[len(KEY_COLUMNS):]}
    for row, cell in enumerate(cells, start=FIRST_ROW):
        record = given.get(cell.key, {})
        fillable = VALUE_COLUMNS_OF_KIND[measure_kind(cell.measure, declared_by(cell.indicator))]
        for position, code in enumerate(LAYOUT, start=1):
            if code is None:
                target = sheet.cell(row, position, _cell_label(cell.indicator, cell.measure, cell.breakdown,
                                                               cell.breakdown_value))
            elif code in KEY_COLUMNS:
                target = sheet.cell(row, position, cell.key[KEY_COLUMNS.index(code)])
                target.number_format = "@"  # text: a region code 01 stays 01
            elif code in fillable:
                target = sheet.cell(row, position, _number(record.get(code)))
                target.protection = Protection(locked=False)
                open_cells[code].append(f"{letter[code]}{row}")
                continue
            else:
                target = sheet.cell(row, position)
            target.fill = grey
    for code, coordinates in open_cells.items():
        if not coordinates:
            continue
        title, prompt = _INPUT_MESSAGES[code]
        if code in INTEGER_COLUMNS:
            rule = DataValidation(type="whole", operator="greaterThanOrEqual", formula1="0",
                                  error="Skriv ett heltal som är 0 eller större.")
        elif code == "sd":
            rule = DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0",
                                  error="Skriv ett decimaltal som är 0 eller större.")
        else:
            rule = DataValidation(type="decimal", operator="between", formula1="-1E+300", formula2="1E+300",
                                  error="Skriv ett decimaltal.")
        rule.errorTitle, rule.promptTitle, rule.prompt = "Ogiltigt värde", title, prompt
        rule.showErrorMessage = rule.showInputMessage = rule.allow_blank = True
        rule.errorStyle = "stop"
        for coordinate in coordinates:
            rule.add(coordinate)
        sheet.add_data_validation(rule)
    label_width = max((len(_cell_label(c.indicator, c.measure, c.breakdown, c.breakdown_value)) for c in cells), default=40)
    # A column width counts digit widths; a label's letters are narrower on average.
    sheet.column_dimensions[get_column_letter(LAYOUT.index(None) + 1)].width = min(0.8 * label_width + 2, 90)
    _print_to_page_width(sheet, landscape=True)
    sheet.print_title_rows = f"{HEADING_ROW}:{HEADER_ROW}"
    sheet.freeze_panes = f"{get_column_letter(LAYOUT.index(None) + 2)}{FIRST_ROW}"
    sheet.protection.sheet = True
    sheet.protection.formatColumns = False  # a unit may widen a column to read it
    workbook.active = workbook.index(sheet)
    path = Path(path)
    workbook.save(path)
    return path


# --- reading a filled-in workbook -----------------------------------------------------------


@dataclass
class WorkbookRows:
    """The `Inrapportering` rows of one workbook as text, as a person typed them, or its failures.

    `header` holds the header row's names (lower case, stripped) of the columns that are read,
    `letters` each one's column letter; `records` is [(sheet row, [text per header column])],
    empty rows left out. `failures` are contract failure rows (rules.failure); when there are
    any, `records` is empty.
    """

    rel: str
    header_row: int = 0
    header: list[str] = field(default_factory=list)
    letters: list[str] = field(default_factory=list)
    records: list[tuple[int, list[str]]] = field(default_factory=list)
    failures: list[dict] = field(default_factory=list)
    sheet: str = SUBMISSION_SHEET

    def locate(self, row: int, column: str) -> str:
        """`Inrapportering!F12`: where a message points a person to."""
        return f"{self.sheet}!{self.letters[self.header.index(column)]}{row}"

    def frame(self) -> pd.DataFrame:
        """A text frame: the header's columns (stripped, None where empty) and `source_line` (the sheet row)."""
        frame = pd.DataFrame([texts for _, texts in self.records], columns=self.header, dtype=object)
        if frame.empty:
            frame = pd.DataFrame({name: pd.Series([], dtype=object) for name in self.header})
        frame = frame.apply(lambda values: values.str.strip()).astype(object)
        frame = frame.where(frame.ne("") & frame.notna(), None)
        frame["source_line"] = pd.Series([row for row, _ in self.records], dtype="int64")
        return frame


def _refusal(rel: str, rule: str, message: str, row: int | None = None, column: str = "") -> dict:
    return rules.failure("", rel, row, column, rule, message)


def _text(value: object) -> str:
    """A cell's value as the text a CSV would hold: a whole number without decimals, a decimal exactly (repr)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "SANT" if value else "FALSKT"
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 2**53:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _zip_refusals(path: Path, rel: str, limit: int) -> list[dict]:
    """What the zip container says before anything is inflated: macros, size, ratio, DOCTYPE."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        return [_refusal(rel, rules.UNREADABLE_WORKBOOK, (
            "Filen är ingen Excel-arbetsbok (.xlsx): den går inte att öppna som en sådan. Spara den som "
            "”Excel-arbetsbok (*.xlsx)”, eller leverera submission.csv i stället."
        ))]
    too_large = _refusal(rel, rules.WORKBOOK_TOO_LARGE, (
        f"Arbetsboken består av fler än {MAX_MEMBERS} delar eller packas upp till mer än "
        f"{min(limit, MAX_UNPACKED_BYTES) // (1024 * 1024)} MB, långt mer än mallen med enhetens värden; den lästes "
        "inte. Utgå från mallen och fyll bara i värdena."
    ))
    with archive:
        members = archive.infolist()
        if len(members) > MAX_MEMBERS or sum(member.file_size for member in members) > min(limit, MAX_UNPACKED_BYTES):
            return [too_large]
        if any("vbaproject" in member.filename.lower() for member in members):
            return [_refusal(rel, rules.MACRO, (
                "Arbetsboken innehåller makron (VBA); de körs aldrig och filen lästes inte. Spara den som "
                "”Excel-arbetsbok (*.xlsx)” utan makron."
            ))]
        for member in members:
            if member.file_size > RATIO_FLOOR_BYTES and member.file_size > MAX_COMPRESSION_RATIO * max(member.compress_size, 1):
                return [_refusal(rel, rules.WORKBOOK_TOO_LARGE, (
                    f"En del av arbetsboken packas upp mer än {MAX_COMPRESSION_RATIO} gånger (en så kallad "
                    "zip-bomb); den lästes inte. Utgå från mallen och fyll bara i värdena."
                ))]
        for member in members:
            if not member.filename.lower().endswith((".xml", ".rels", ".vml")):
                continue
            with archive.open(member) as part:
                prologue = part.read(_PROLOGUE_BYTES)
                if member.filename == "[Content_Types].xml":
                    prologue += part.read()  # small: its declared size is bounded above
            if b"<!DOCTYPE" in prologue or b"<!ENTITY" in prologue:
                return [_refusal(rel, rules.UNREADABLE_WORKBOOK, (
                    "Arbetsboken innehåller XML-deklarationer (DOCTYPE) som Excel aldrig skriver; den lästes inte. "
                    "Utgå från mallen och spara den i Excel eller LibreOffice."
                ))]
            if b"macroEnabled" in prologue:
                return [_refusal(rel, rules.MACRO, (
                    "Arbetsboken är en makroaktiverad arbetsbok (.xlsm); den lästes inte. Spara den som "
                    "”Excel-arbetsbok (*.xlsx)”."
                ))]
    return []


def read_submission_workbook(path, rel: str | None = None) -> WorkbookRows:
    """A filled-in template's `Inrapportering` rows as text (SUBMISSION.md 7), or why it is refused.

    Refused, each with its rule: a file over NHV_MAX_FILE_MB (`file_too_large`), a macro-enabled
    workbook or one with a VBA part (`macro`), a zip bomb, a huge sheet or too many parts
    (`workbook_too_large`), a file that is no xlsx or lacks the sheet (`unreadable_workbook`), a hidden
    sheet that holds values (`hidden_sheet`) and every formula cell (`formula`, named by its cell).
    Read with openpyxl in read-only mode, formulas as written (never their cached results).
    """
    path = Path(path)
    rel = rel or path.name
    result = WorkbookRows(rel=rel)
    limit = max_file_bytes()
    if path.suffix.lower() in (".xlsm", ".xltm"):
        result.failures.append(_refusal(rel, rules.MACRO, (
            "Filen är en makroaktiverad arbetsbok (.xlsm); makron körs aldrig och filen lästes inte. Spara den som "
            f"”Excel-arbetsbok (*.xlsx)” med namnet {SUBMISSION_FILE}."
        )))
        return result
    if os.stat(path).st_size > limit:
        result.failures.append(too_large_failure(rel, limit))
        return result
    result.failures.extend(_zip_refusals(path, rel, limit))
    if result.failures:
        return result

    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=False, keep_vba=False, keep_links=False)
    except Exception:  # openpyxl raises many kinds for a damaged file; none of them is looked into further
        result.failures.append(_refusal(rel, rules.UNREADABLE_WORKBOOK, (
            "Arbetsboken går inte att läsa som en Excel-arbetsbok (.xlsx); spara den på nytt från mallen."
        )))
        return result
    try:
        _read_sheets(workbook, result)
    finally:
        workbook.close()
    if result.failures:
        result.records = []
    return result


def _read_sheets(workbook, result: WorkbookRows) -> None:
    if SUBMISSION_SHEET not in workbook.sheetnames:
        result.failures.append(_refusal(result.rel, rules.UNREADABLE_WORKBOOK, (
            f"Arbetsboken saknar bladet {SUBMISSION_SHEET}; utgå från mallen (nhv-pipeline template) och behåll "
            "bladets namn."
        )))
        return
    for position, name in enumerate(workbook.sheetnames, start=1):
        # A sheet name is typed by a person and may hold anything: only the template's own are repeated.
        shown = name if name in (SUBMISSION_SHEET, INSTRUCTIONS_SHEET) else f"blad {position}"
        _read_sheet(workbook[name], shown, result)


def _read_sheet(sheet, shown: str, result: WorkbookRows) -> None:
    """One pass over a sheet: its size, hidden content, formulas and, for Inrapportering, its rows."""
    from openpyxl.utils import get_column_letter

    too_large = _refusal(result.rel, rules.WORKBOOK_TOO_LARGE, (
        f"Bladet {shown} har fler än {MAX_ROWS} rader eller {MAX_COLUMNS} kolumner, långt fler än mallen; "
        "arbetsboken lästes inte. Utgå från mallen och fyll bara i värdena."
    ))
    # The declared dimension, before any row is read; then every row is read, whatever it declared.
    if (sheet.max_row or 0) > MAX_ROWS or (sheet.max_column or 0) > MAX_COLUMNS:
        result.failures.append(too_large)
        return
    sheet.reset_dimensions()
    hidden = sheet.sheet_state in ("hidden", "veryHidden")
    rows_wanted = shown == SUBMISSION_SHEET
    columns: list[tuple[int, str]] = []
    header_row = 0
    formulas: list[tuple[int, str]] = []
    for number, row in enumerate(sheet.iter_rows(min_row=1), start=1):
        cells = [cell for cell in row if cell.value is not None]
        if number > MAX_ROWS or any(cell.column > MAX_COLUMNS for cell in cells):
            result.failures.append(too_large)
            return
        if not cells:
            continue
        if hidden:
            result.failures.append(_refusal(result.rel, rules.HIDDEN_SHEET, (
                f"Arbetsboken har ett dolt blad ({shown}) med innehåll; dolda blad läses aldrig. Ta bort bladet, "
                f"eller flytta värdena till bladet {SUBMISSION_SHEET}."
            )))
            return
        formulas.extend((number, cell.column_letter) for cell in cells if cell.data_type == "f")
        if not rows_wanted:
            continue
        by_column = {cell.column: _text(cell.value) for cell in cells}
        if not columns:
            if "indicator_id" in (text.strip().lower() for text in by_column.values()):
                header_row = number
                columns = [(column, text.strip().lower()) for column, text in sorted(by_column.items()) if text.strip()]
            elif number >= MAX_HEADER_SEARCH:
                rows_wanted = False
                result.failures.append(_refusal(result.rel, rules.HEADER, (
                    f"Bladet {SUBMISSION_SHEET} har ingen rubrikrad med kolumnnamnen ({', '.join(SUBMISSION_COLUMNS)}) "
                    f"bland de {MAX_HEADER_SEARCH} första raderna; utgå från mallen."
                )))
            continue
        texts = [by_column.get(column, "") for column, _ in columns]
        if any(text.strip() for text in texts):
            result.records.append((number, texts))
    if rows_wanted and columns:
        result.header_row = header_row
        result.header = [name for _, name in columns]
        result.letters = [get_column_letter(column) for column, _ in columns]
    elif rows_wanted:
        result.failures.append(_refusal(result.rel, rules.HEADER, (
            f"Bladet {SUBMISSION_SHEET} har ingen rubrikrad med kolumnnamnen ({', '.join(SUBMISSION_COLUMNS)}); "
            "utgå från mallen."
        )))
    named = dict(zip(result.letters, result.header)) if shown == SUBMISSION_SHEET else {}
    for number, letter in formulas:
        result.failures.append(_refusal(
            result.rel, rules.FORMULA,
            f"{shown}!{letter}{number}: cellen innehåller en formel; formler beräknas aldrig. Skriv in värdet som ett tal.",
            row=number if shown == SUBMISSION_SHEET else None, column=named.get(letter, letter),
        ))
