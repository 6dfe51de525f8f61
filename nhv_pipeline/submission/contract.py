"""The submission contract (SUBMISSION.md 2-3): reading a unit's own figures and checking them.

Generated from the catalogue in force for the report year (`cells.required_cells`), never
written per condition. Pure: no Dagster.

Reading and checking are apart. `read_submission_csv` reads submission.csv with the
extract reader (DATA_CONTRACT.md 2: encoding, BOM, delimiter, size limit, header rules,
identity numbers looked for everywhere) into *text rows*; `validate_submission` checks
text rows, wherever they came from, and says where a failure is through a `Locator`. A
filled-in submission.xlsx is read into the same text rows (one per sheet row, `source_line`
= the sheet's row number) with a `Locator` that knows the sheet and the column letters, so
its messages name the cell (`Inrapportering!F12`); `read_submission_xlsx` is where
`workbook.read_submission_workbook` reads it.

The warehouse tables (asset keys `raw/<condition_id>/submission` and
`staged/<condition_id>/submission`, one slice per report year, every submitting unit):

`raw.<condition_id>_submission` — the rows as delivered, text (VARCHAR, NULL where empty),
identity numbers already redacted (RAW_COLUMNS, in this order):
    indicator_id, measure, breakdown, breakdown_value, n, numerator, denominator,
    mean, sd, p10, median, p90, period_start, period_end   (text; the last two NULL when absent)
    report_year BIGINT, unit_id VARCHAR, source_file VARCHAR (relative to the data root),
    source_line BIGINT (CSV: physical line, header = 1; xlsx: the sheet's row number)

`staged.<condition_id>_submission` — the rows of a round that passed, typed (STAGED_COLUMNS,
in this order; `staged_submission_frame` gives these pandas dtypes to rows read back):
    report_year BIGINT/int64, unit_id VARCHAR/object,
    indicator_id, measure, breakdown, breakdown_value   VARCHAR/object
    n, numerator, denominator                           BIGINT/Int64 (NULL where the measure has none)
    mean, sd, p10, median, p90                          DOUBLE/float64 (NULL/NaN where empty)
    source_file VARCHAR/object, source_line BIGINT/int64
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd

from nhv_pipeline.core.condition import Condition
from nhv_pipeline.contract import rules
from nhv_pipeline.contract.reader import (
    detect_delimiter,
    max_file_bytes,
    parse_contract_csv,
    parse_contract_records,
    read_bytes_limited,
    too_large_failure,
)
from nhv_pipeline.indicators.model import Indicator, measure_kind

from .cells import (
    DECIMAL_COLUMNS,
    INTEGER_COLUMNS,
    KEY_COLUMNS,
    OPTIONAL_COLUMNS,
    SUBMISSION_COLUMNS,
    Cell,
    breakdown_values,
    indicators_in_force,
    required_cells,
)

#: The last part of the submission tables' asset keys: raw/<condition_id>/submission, staged/<condition_id>/submission.
SUBMISSION_TABLE = "submission"
#: SUBMISSION.md 1: the file a submitting unit's folder holds (one of them).
SUBMISSION_CSV = "submission.csv"
SUBMISSION_XLSX = "submission.xlsx"
SUBMISSION_FILES = (SUBMISSION_CSV, SUBMISSION_XLSX)

LINEAGE_COLUMNS = ("report_year", "unit_id", "source_file", "source_line")
RAW_COLUMNS: tuple[str, ...] = (*SUBMISSION_COLUMNS, *OPTIONAL_COLUMNS, *LINEAGE_COLUMNS)
STAGED_COLUMNS: tuple[str, ...] = ("report_year", "unit_id", *SUBMISSION_COLUMNS, "source_file", "source_line")

#: What each column of submission.csv holds (SUBMISSION.md 2), for the assets' column docs.
COLUMN_DESCRIPTIONS: dict[str, str] = {
    "indicator_id": "An indicator in force for the condition in the report year (SUBMISSION.md 2).",
    "measure": "The indicator's measure.",
    "breakdown": "`total` or one of the indicator's breakdowns.",
    "breakdown_value": "`total`, or a value of the breakdown (INDICATORS.md 4).",
    "n": "The number of persons, events, transplants … the cell is based on (the seeds' totalantalet N).",
    "numerator": "A proportion's numerator.",
    "denominator": "A proportion's denominator (= n).",
    "mean": "A distribution's mean, unrounded.",
    "sd": "A distribution's sample standard deviation, unrounded (empty when n < 2).",
    "p10": "A distribution's 10th percentile (type 7), unrounded.",
    "median": "A distribution's median, unrounded.",
    "p90": "A distribution's 90th percentile (type 7), unrounded.",
    "period_start": "Optional: the indicator's first day of its period for the report year.",
    "period_end": "Optional: the indicator's last day of its period for the report year.",
}

#: The oldest age a distribution of ages may hold (SUBMISSION.md 3).
MAX_AGE = 125

_INTEGER = re.compile(r"[0-9]+")
_DECIMAL_POINT = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_DECIMAL_COMMA = re.compile(r"[-+]?(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+)(?:[eE][-+]?[0-9]+)?")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

#: (unit_id, report_year, indicator_id, measure) -> {(breakdown, breakdown_value): n} of the unit's
#: delivery of that earlier year, from whichever kind it was; None when the warehouse does not have it.
EarlierFigures = Callable[[str, int, str, str], "Mapping[tuple[str, str], int] | None"]


@dataclass(frozen=True)
class Locator:
    """Where a submission's rows are, for its failures (SUBMISSION.md 3: file, line or sheet and cell, column).

    A CSV is named by file, line and column. A workbook's rows carry the sheet's row number as
    their line; with `sheet` and the `letters` of its columns a failure's message names the cell too.
    """

    file: str
    sheet: str | None = None
    #: column name -> its column letter on the sheet (a workbook only).
    letters: Mapping[str, str] = field(default_factory=dict)

    def cell(self, column: str, line: int | None) -> str | None:
        """`Inrapportering!F12` for a workbook cell; None for a CSV, or without a line or a letter."""
        if self.sheet is None or line is None or column not in self.letters:
            return None
        return f"{self.sheet}!{self.letters[column]}{line}"

    def failure(self, unit_id: str, line: int | None, column: str, rule: str, message: str) -> dict:
        cell = self.cell(column, line)
        return rules.failure(unit_id, self.file, line, column, rule, f"Cell {cell}: {message}" if cell else message)


@dataclass
class SubmissionRead:
    """What reading one submission file gave: its text rows (None after a format error) and how to check them."""

    rows: pd.DataFrame | None
    locator: Locator
    failures: list[dict] = field(default_factory=list)
    #: SUBMISSION.md 2: a decimal may be written with `,` only in a file delimited by `;`.
    decimal_comma: bool = False
    size_bytes: int = 0
    sha256: str = ""


# --- reading ------------------------------------------------------------------------------


def _header_names(data: bytes) -> tuple[list[str], str]:
    """The header line's names (stripped, lower case) and the file's delimiter, as the reader will see them."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    text = data.decode("utf-8", errors="replace")
    first = re.split(r"\r\n|\n|\r", text, maxsplit=1)[0]
    delimiter = detect_delimiter(first)
    try:
        names = next(csv.reader([first], delimiter=delimiter), [])
    except csv.Error:
        names = []
    return [name.strip().lower() for name in names], delimiter


def parse_submission_csv(data: bytes, rel: str) -> SubmissionRead:
    """The bytes of a submission.csv as text rows (see `read_submission_csv`)."""
    header, delimiter = _header_names(data)
    columns = [*SUBMISSION_COLUMNS, *(name for name in OPTIONAL_COLUMNS if name in header)]
    # Cells that may be empty (where the measure has no such value): all but the key and n.
    read = parse_contract_csv(data, rel, columns, list(KEY_COLUMNS), optional_columns=columns[5:])
    return SubmissionRead(
        rows=read.frame, locator=Locator(rel), failures=read.failures, decimal_comma=delimiter == ";",
        size_bytes=read.size_bytes, sha256=read.sha256,
    )


def read_submission_csv(path: Path, rel: str) -> SubmissionRead:
    """submission.csv as text rows (SUBMISSION.md 2; DATA_CONTRACT.md 2 for the file itself).

    The columns are section 2's, plus `period_start`/`period_end` where the header has them;
    any other column is `extra_column`, a missing one `missing_column`. The key cells are read
    as ids (a bare identity number is refused there); every cell is looked at for one.
    """
    limit = max_file_bytes()
    data = read_bytes_limited(path, limit)
    if data is None:
        return SubmissionRead(rows=None, locator=Locator(rel), failures=[too_large_failure(rel, limit)],
                              size_bytes=path.stat().st_size)
    return parse_submission_csv(data, rel)


def read_submission_xlsx(path: Path, rel: str) -> SubmissionRead:
    """A filled-in submission.xlsx (SUBMISSION.md 7) as the same text rows as a submission.csv.

    `workbook.read_submission_workbook` refuses what must not be read (formulas, macros, hidden
    sheets with values, oversized or malformed workbooks) before a cell is evaluated; the rows of
    the sheet Inrapportering then go through the CSV's header, field and identity-number rules,
    each named by its sheet row, and the Locator names the cell (`Inrapportering!F12`). A decimal
    typed as text may use `,` (Swedish Excel).
    """
    from .workbook import read_submission_workbook

    book = read_submission_workbook(path, rel)
    size = path.stat().st_size
    if book.failures:
        return SubmissionRead(rows=None, locator=Locator(rel), failures=book.failures, size_bytes=size)
    columns = [*SUBMISSION_COLUMNS, *(name for name in OPTIONAL_COLUMNS if name in book.header)]
    read = parse_contract_records(
        [(book.header_row, book.header), *book.records], rel, columns, list(KEY_COLUMNS),
        optional_columns=columns[4:], size_bytes=size, sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
    )
    return SubmissionRead(
        rows=read.frame, locator=Locator(rel, sheet=book.sheet, letters=dict(zip(book.header, book.letters))),
        failures=read.failures, decimal_comma=True, size_bytes=read.size_bytes, sha256=read.sha256,
    )


def read_submission(path: Path, rel: str) -> SubmissionRead:
    """A unit's submission file, by its name (SUBMISSION.md 1): submission.csv or submission.xlsx."""
    if path.name == SUBMISSION_XLSX:
        return read_submission_xlsx(path, rel)
    return read_submission_csv(path, rel)


# --- checking -----------------------------------------------------------------------------


@dataclass
class SubmissionCheck:
    """The outcome of checking one unit's text rows: failures, and the rows typed (STAGED_COLUMNS, no lineage)."""

    failures: pd.DataFrame
    typed: pd.DataFrame


def _cell_name(key: tuple[str, str, str, str]) -> str:
    indicator_id, measure, breakdown, value = key
    return f"{indicator_id} {measure} {breakdown}={value}"


def _is_age(indicator: Indicator) -> bool:
    """Whether a distribution's values are ages in years: its Mätenhet says so ("Ålder …").

    Every distribution of the catalogue is a time in days or an age in years, both >= 0;
    an age is also at most MAX_AGE (SUBMISSION.md 3).
    """
    return indicator.unit_of_measure.strip().lower().startswith("ålder")


def _unknown_reason(condition: Condition, indicators: Mapping[str, Indicator], report_year: int, key) -> tuple[str, str]:
    """(column, Swedish reason) a row names no cell of the catalogue in force."""
    indicator_id, measure, breakdown, value = key
    indicator = indicators.get(indicator_id)
    if indicator is None:
        if indicator_id in condition.indicator_ids:
            return "indicator_id", (f"Indikatorn {indicator_id} rapporteras inte för inrapporteringsår {report_year} "
                                    "(den har inte börjat eller ingår inte i den version av uppföljningen som gäller då); ta bort raden.")
        return "indicator_id", (f"Tillståndsområdet har ingen indikator med detta indicator_id; "
                                f"rätta id:t till en av {', '.join(sorted(indicators))} eller ta bort raden.")
    if measure not in indicator.measures:
        return "measure", f"Indikatorn {indicator_id} har inget sådant mått; dess mått är {', '.join(indicator.measures)}."
    offered = indicator.breakdowns_for(measure)
    if breakdown not in offered:
        return "breakdown", (f"Måttet {indicator_id} {measure} redovisas inte med denna uppdelning; "
                             f"uppdelningarna är {', '.join(offered)}.")
    values = breakdown_values(condition, breakdown) or ()
    return "breakdown_value", (f"Uppdelningen {breakdown} har inget sådant värde; värdena är {', '.join(values)}."
                               if values else f"Uppdelningen {breakdown} har ingen fast värdelista och kan inte rapporteras in.")


def _text(row: Mapping, column: str) -> str | None:
    value = row.get(column)
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    value = str(value).strip()
    return value or None


def validate_submission(
    rows: pd.DataFrame,
    condition: Condition,
    report_year: int,
    unit_id: str,
    locator: Locator,
    *,
    decimal_comma: bool = False,
    earlier: EarlierFigures | None = None,
) -> SubmissionCheck:
    """Check one unit's submission rows against the catalogue in force for R (SUBMISSION.md 2-3).

    `rows`: text cells (None or "" where empty) under section 2's column names, and
    `source_line`. Failures name `locator`'s file, the row's line, the column and the rule:
    `required`/`required_if` (a cell empty where the measure needs it, or filled where it has
    none), `submission_range`, `date_format`/`submission_period` (optional period columns),
    `submission_unknown_row` (also every row of a breakdown without a fixed value list),
    `duplicate`, `submission_missing_row`, `submission_total`,
    `submission_equal_population` (within the submission, and with `earlier` across years),
    and `extra_column`/`missing_column` for rows that did not come through the CSV reader.
    """
    found: list[dict] = []

    def fail(line: int | None, column: str, rule: str, message: str) -> None:
        found.append(locator.failure(unit_id, line, column, rule, message))

    present = [column for column in rows.columns if column != "source_line"]
    for column in present:
        if column not in SUBMISSION_COLUMNS and column not in OPTIONAL_COLUMNS:
            fail(1, column, rules.EXTRA_COLUMN,
                 "Kolumnen finns inte i inrapporteringens format och kan innehålla uppgifter som inte får lämnas; ta bort den.")
    missing_columns = [column for column in SUBMISSION_COLUMNS if column not in present]
    for column in missing_columns:
        fail(1, column, rules.MISSING_COLUMN,
             "Rubrikraden saknar den här kolumnen i inrapporteringens format; lägg till den (tom där måttet inte har något värde).")
    if missing_columns:
        return SubmissionCheck(_failure_frame(found), _typed_frame([]))

    cells = required_cells(condition, report_year)
    by_key = {cell.key: cell for cell in cells}
    indicators = {indicator.indicator_id: indicator for indicator in indicators_in_force(condition, report_year)}
    decimal = _DECIMAL_COMMA if decimal_comma else _DECIMAL_POINT

    seen: dict[tuple, int] = {}
    typed: list[dict] = []
    lines: dict[tuple, int] = {}
    clean: dict[tuple, set[str]] = {}  # key -> value columns that parsed and passed their range
    for record in rows.to_dict("records"):
        line = int(record["source_line"]) if pd.notna(record.get("source_line")) else None
        key_cells = [_text(record, column) for column in KEY_COLUMNS]
        if all(value is None for value in key_cells) and all(_text(record, c) is None for c in SUBMISSION_COLUMNS[4:]):
            continue  # a blank row carries nothing
        empty_keys = [column for column, value in zip(KEY_COLUMNS, key_cells) if value is None]
        for column in empty_keys:
            fail(line, column, rules.REQUIRED, "Cellen är tom; varje rad anger indikator, mått, uppdelning och värde.")
        if empty_keys:
            continue
        key = tuple(key_cells)
        cell = by_key.get(key)
        if cell is None:
            column, reason = _unknown_reason(condition, indicators, report_year, key)
            fail(line, column, rules.SUBMISSION_UNKNOWN_ROW, f"Raden anger ingen cell i uppföljningen: {reason}")
            continue
        if key in seen:
            fail(line, "indicator_id", rules.DUPLICATE,
                 f"Cellen {_cell_name(key)} har redan en rad (rad {seen[key]}); behåll en av dem.")
            continue
        seen[key] = line
        lines[key] = line
        values, ok = _check_values(record, cell, line, decimal, fail)
        _check_period(record, cell, line, fail)
        clean[key] = ok
        typed.append({**dict(zip(KEY_COLUMNS, key)), **values})

    for cell in cells:
        if cell.key not in seen:
            fail(None, "", rules.SUBMISSION_MISSING_ROW,
                 f"Raden för cellen {_cell_name(cell.key)} saknas; lägg till den (med n = 0 om ingen ingår i den).")

    frame = _typed_frame(typed)
    figures = {tuple(row[c] for c in KEY_COLUMNS): row for row in typed}
    _check_totals(condition, figures, clean, lines, fail)
    _check_equal_populations(condition, report_year, unit_id, figures, clean, lines, earlier, fail)
    return SubmissionCheck(_failure_frame(found), frame)


def _failure_frame(found: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(found, columns=rules.ROW_FAILURE_COLUMNS)
    return frame.astype({"line": "Int64"})


def _typed_frame(records: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(records, columns=list(SUBMISSION_COLUMNS))
    for column in KEY_COLUMNS:
        frame[column] = frame[column].astype(object)
    for column in INTEGER_COLUMNS:
        frame[column] = pd.array(frame[column], dtype="Int64")
    for column in DECIMAL_COLUMNS:
        frame[column] = frame[column].astype("float64")
    return frame


_NEEDED_BY = {"count": ("n",), "proportion": ("n", "numerator", "denominator"), "distribution": ("n",)}


def _check_values(record: Mapping, cell: Cell, line: int | None, decimal: re.Pattern, fail) -> tuple[dict, set[str]]:
    """The row's value cells typed, and those that passed; failures for the others (SUBMISSION.md 2-3)."""
    values: dict[str, object] = {column: pd.NA for column in INTEGER_COLUMNS} | {c: math.nan for c in DECIMAL_COLUMNS}
    ok: set[str] = set()
    kind = cell.kind
    for column in INTEGER_COLUMNS:
        text = _text(record, column)
        if column not in _NEEDED_BY[kind]:
            if text is not None:
                fail(line, column, rules.REQUIRED_IF,
                     f"Måttet {cell.measure} har ingen {column}; lämna cellen tom (täljare och nämnare hör till andelar).")
            continue
        if text is None:
            fail(line, column, rules.REQUIRED, f"Cellen är tom; ange {column} som ett heltal (0 om ingen ingår i cellen).")
        elif not _INTEGER.fullmatch(text):
            fail(line, column, rules.SUBMISSION_RANGE,
                 "Värdet är inget heltal större än eller lika med 0; skriv antalet med siffror (0, 1, 2 …) utan decimaler.")
        else:
            values[column] = int(text)
            ok.add(column)
    n = values["n"] if "n" in ok else None
    if kind == "proportion" and {"numerator", "denominator"} <= ok:
        if values["numerator"] > values["denominator"]:
            fail(line, "numerator", rules.SUBMISSION_RANGE,
                 "Täljaren är större än nämnaren; täljaren räknar de av nämnarens personer som uppfyller måttet.")
            ok.discard("numerator")
        if n is not None and values["denominator"] != n:
            fail(line, "denominator", rules.SUBMISSION_RANGE,
                 "Nämnaren är inte lika med n; för en andel är n antalet i nämnaren.")
            ok.discard("denominator")
    for column in DECIMAL_COLUMNS:
        text = _text(record, column)
        if kind != "distribution":
            if text is not None:
                fail(line, column, rules.REQUIRED_IF,
                     f"Måttet {cell.measure} har inget {column}; lämna cellen tom (medelvärde, spridning och percentiler hör till fördelningar).")
            continue
        needed = n is not None and (n >= 2 if column == "sd" else n >= 1)
        if text is None:
            if needed:
                fail(line, column, rules.REQUIRED,
                     f"Cellen är tom; ange {column} beräknat på cellens {n} värden, oavrundat (minst 6 värdesiffror).")
            continue
        if not decimal.fullmatch(text):
            comma = " (decimalkomma bara i en fil med semikolon som avgränsare)" if "," in text else ""
            fail(line, column, rules.SUBMISSION_RANGE, f"Värdet är inget decimaltal{comma}; skriv det med siffror, t.ex. 12.5.")
            continue
        number = float(text.replace(",", "."))
        if not math.isfinite(number):
            fail(line, column, rules.SUBMISSION_RANGE, "Värdet är inget ändligt tal; skriv det med siffror, t.ex. 12.5.")
            continue
        if n is not None and not needed:
            fail(line, column, rules.REQUIRED_IF,
                 "Cellen ska vara tom: standardavvikelsen anges först när n är minst 2." if column == "sd" else
                 "Cellen ska vara tom när n är 0: det finns inga värden att beräkna den på.")
            continue
        values[column] = number
        if number < 0:
            what = "Standardavvikelsen" if column == "sd" else "Tider i dagar och åldrar"
            fail(line, column, rules.SUBMISSION_RANGE, f"{what} kan inte vara negativa; rätta värdet.")
            continue
        if column != "sd" and _is_age(cell.indicator) and number > MAX_AGE:
            fail(line, column, rules.SUBMISSION_RANGE, f"En ålder över {MAX_AGE} år är inte rimlig; rätta värdet.")
            continue
        ok.add(column)
    percentiles = [column for column in ("p10", "median", "p90") if column in ok]
    for lower, upper in (("p10", "median"), ("median", "p90")):
        if lower in percentiles and upper in percentiles and values[lower] > values[upper]:
            fail(line, upper, rules.SUBMISSION_RANGE,
                 f"{upper} är mindre än {lower}; percentilerna ska vara i ordningen p10 ≤ median ≤ p90.")
            ok.discard(upper)
    return values, ok


def _check_period(record: Mapping, cell: Cell, line: int | None, fail) -> None:
    """Optional period_start/period_end: where filled, the indicator's period for R (SUBMISSION.md 2)."""
    for column, expected in zip(OPTIONAL_COLUMNS, (cell.period_start, cell.period_end)):
        text = _text(record, column)
        if text is None:
            continue
        try:
            given = date.fromisoformat(text) if _ISO_DATE.fullmatch(text) else None
        except ValueError:
            given = None
        if given is None:
            fail(line, column, rules.DATE_FORMAT, "Datumet är inte ett verkligt datum skrivet ÅÅÅÅ-MM-DD.")
        elif given != expected:
            fail(line, column, rules.SUBMISSION_PERIOD,
                 f"Perioden för {cell.indicator.indicator_id} är {cell.period_start}–{cell.period_end} för detta "
                 "inrapporteringsår; rätta datumet eller lämna kolumnen tom.")


_PARTITIONED = {"count": ("n",), "proportion": ("numerator", "denominator"), "distribution": ("n",)}


def _check_totals(condition: Condition, figures: Mapping, clean: Mapping, lines: Mapping, fail) -> None:
    """submission_total: each breakdown's values add up to the `total` row (SUBMISSION.md 3).

    Every breakdown of the catalogue partitions its population, so a distribution's N adds up
    too. A breakdown is summed only when all its rows are there and their values passed.
    """
    groups: dict[tuple, dict[str, list[tuple]]] = {}
    for key in figures:
        indicator_id, measure, breakdown, _ = key
        groups.setdefault((indicator_id, measure), {}).setdefault(breakdown, []).append(key)

    for (indicator_id, measure), breakdowns in groups.items():
        total = (indicator_id, measure, "total", "total")
        if total not in figures:
            continue
        for breakdown, keys in breakdowns.items():
            if breakdown == "total":
                continue
            fixed = breakdown_values(condition, breakdown)
            if fixed is not None and len(keys) != len(fixed):
                continue  # a row is missing: that is the failure to fix first
            for column in _PARTITIONED[measure_kind(measure, condition)]:
                if column not in clean[total] or any(column not in clean[key] for key in keys):
                    continue
                summed = sum(int(figures[key][column]) for key in keys)
                if summed != int(figures[total][column]):
                    # The sum is the pipeline's own figure; no cell value of the file is repeated (DATA_CONTRACT.md 3).
                    shown = (f"till {summed}, inte till total-radens värde" if summed < 10**9
                             else "till ett annat värde än total-radens")
                    fail(lines[total], column, rules.SUBMISSION_TOTAL,
                         f"Raderna för uppdelningen {breakdown} av {indicator_id} {measure} summerar {column} {shown}; "
                         "uppdelningen delar upp hela populationen, så raderna ska summera till total-raden.")


def _check_equal_populations(
    condition: Condition, report_year: int, unit_id: str, figures: Mapping, clean: Mapping, lines: Mapping,
    earlier: EarlierFigures | None, fail,
) -> None:
    """submission_equal_population: populations the catalogue declares equal have the same n (SUBMISSION.md 3).

    Within the submission for a lag of 0; across report years against the unit's delivery of
    R - lag when `earlier` has it, whatever kind that delivery was. Compared for every
    (breakdown, value) the two share.
    """
    for equal in condition.equal_populations:
        own = _n_of(figures, clean, equal.indicator_id, equal.measure, equal.part)
        if not own:
            continue
        if equal.year_lag == 0:
            other = _n_of(figures, clean, equal.other_indicator_id, equal.other_measure, equal.other_part)
            where = "i denna inrapportering (rad {line})"
        else:
            year = report_year - equal.year_lag
            # The unit's earlier figures give each cell's n (`earlier_figures`).
            if earlier is None or year < condition.first_report_year or equal.other_part != "n":
                continue
            other = earlier(unit_id, year, equal.other_indicator_id, equal.other_measure)
            where = f"i enhetens leverans för inrapporteringsår {year}"
        if not other:
            continue
        for shared in sorted(set(own) & set(other)):
            if own[shared] != other[shared]:
                key = (equal.indicator_id, equal.measure, *shared)
                there = where.format(line=lines.get((equal.other_indicator_id, equal.other_measure, *shared)))
                # Which rows disagree, never their values (DATA_CONTRACT.md 3: messages repeat no cell value).
                fail(lines[key], "n", rules.SUBMISSION_EQUAL_POPULATION,
                     f"{equal.indicator_id} {equal.measure} ({shared[0]}={shared[1]}) räknar samma population som "
                     f"{equal.other_indicator_id} {equal.other_measure} {there}, men n skiljer sig mellan dem; "
                     "rätta den siffra som är fel.")


def _n_of(
    figures: Mapping, clean: Mapping, indicator_id: str, measure: str, part: str = "n"
) -> dict[tuple[str, str], int]:
    """The `part` ("n", or a proportion's "numerator") of a measure's rows, per (breakdown, value)."""
    return {
        key[2:]: int(row[part])
        for key, row in figures.items()
        if key[:2] == (indicator_id, measure) and part in clean[key]
    }


# --- the staged layer -----------------------------------------------------------------------


def staged_submission_select(source: str) -> str:
    """A DuckDB `select` over the raw submission table `source` (quoted) giving STAGED_COLUMNS, typed.

    Only rows of a round that passed are staged, so every cell is a number of its column's type; a
    decimal comma (allowed in a `;` file) becomes a point. Filter and order by appending to it.
    """
    columns = ["report_year::bigint as report_year", "unit_id::varchar as unit_id"]
    columns += [f"{column}::varchar as {column}" for column in KEY_COLUMNS]
    columns += [f"cast({column} as bigint) as {column}" for column in INTEGER_COLUMNS]
    columns += [f"cast(replace({column}, ',', '.') as double) as {column}" for column in DECIMAL_COLUMNS]
    columns += ["source_file::varchar as source_file", "source_line::bigint as source_line"]
    return f"select {', '.join(columns)} from {source}"


def staged_submission_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Staged submission rows read back from the warehouse with the dtypes of the module docstring."""
    out = frame[list(STAGED_COLUMNS)].copy()
    out["report_year"] = out["report_year"].astype("int64")
    out["source_line"] = out["source_line"].astype("int64")
    for column in ("unit_id", *KEY_COLUMNS, "source_file"):
        out[column] = out[column].astype(object)
    for column in INTEGER_COLUMNS:
        out[column] = pd.array(out[column].astype("Float64").round(), dtype="Int64") if len(out) else pd.array([], dtype="Int64")
    for column in DECIMAL_COLUMNS:
        out[column] = out[column].astype("float64")
    return out.reset_index(drop=True)


def empty_raw_submission() -> pd.DataFrame:
    """The raw submission table with no rows (RAW_COLUMNS, text and lineage dtypes)."""
    frame = pd.DataFrame({column: pd.Series([], dtype=object) for column in RAW_COLUMNS})
    return frame.astype({"report_year": "int64", "source_line": "int64"})


def raw_submission_rows(read: SubmissionRead, report_year: int, unit_id: str) -> pd.DataFrame:
    """One unit's text rows as raw table rows (RAW_COLUMNS): absent optional columns empty, lineage added."""
    rows = read.rows if read.rows is not None else empty_raw_submission()
    out = pd.DataFrame(index=rows.index)
    for column in (*SUBMISSION_COLUMNS, *OPTIONAL_COLUMNS):
        out[column] = rows[column].astype(object) if column in rows.columns else None
    out["report_year"] = report_year
    out["unit_id"] = unit_id
    out["source_file"] = read.locator.file
    out["source_line"] = rows["source_line"].astype("int64") if "source_line" in rows.columns else 0
    out = out.astype({"report_year": "int64", "source_line": "int64"})
    return out[list(RAW_COLUMNS)].reset_index(drop=True)
