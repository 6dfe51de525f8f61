"""The fixed vocabulary of validation rules and the shape of a failure row.

Every failure the contract reports names report year, condition, unit, file, line,
column and rule (DATA_CONTRACT.md section 6). Messages say what is wrong and what
to fix, and never repeat a cell value: a value could be an identity number or a
birth date (section 3).
"""

from __future__ import annotations

import pandas as pd

FAILURE_COLUMNS = ["report_year", "condition_id", "unit_id", "file", "line", "column", "rule", "message"]

# --- file format (DATA_CONTRACT.md section 2) -------------------------------------
ENCODING = "encoding"
"""The file is not valid UTF-8 (section 2); the line of the first bad byte is named."""
FILE_TOO_LARGE = "file_too_large"
"""The file is larger than NHV_MAX_FILE_MB (default 100 MB); its size is checked before it is read (section 2)."""
EMPTY_FILE = "empty_file"
"""The file has no header line at all: 0 bytes or only whitespace (section 2)."""
HEADER = "header"
"""A header name is empty or appears twice, or line 1 names no contract column at all (no header line) (section 2)."""
RAGGED_ROW = "ragged_row"
"""A record has another number of fields than the header (section 2)."""
UNTERMINATED_QUOTE = "unterminated_quote"
"""A quoted field is opened and never closed before the end of the file (section 2)."""
FIELD_TOO_LARGE = "field_too_large"
"""A field is longer than the CSV field limit (131072 characters): mostly a quote never closed as intended (section 2)."""
BAD_QUOTE = "bad_quote"
"""A closing quote is followed by other characters than the delimiter (section 2)."""
MISSING_COLUMN = "missing_column"
"""A column of the contract is absent from the header (section 2, 4, 5)."""
EXTRA_COLUMN = "extra_column"
"""The header has a column the contract does not know; it may carry data that must not be there (section 2)."""

# --- values (sections 2-5) ---------------------------------------------------------
REQUIRED = "required"
"""A required cell is empty (sections 4, 5: column `required` = yes)."""
DATE_FORMAT = "date_format"
"""A date is not written YYYY-MM-DD or is no real calendar date (section 2)."""
BOOL_FORMAT = "bool_format"
"""A boolean is not 1 or 0 (section 2)."""
CODE = "code"
"""A coded value is not in the contract's list: sex, home_region, diagnosis, contact type, visit mode, respondent, answer (sections 3-5)."""
NUMBER = "number"
"""A number is not written with digits (an optional minus, a decimal point or comma), or lies outside the column's range (sections 2-5)."""
ID_FORMAT = "id_format"
"""An id starts with = + - @ (a spreadsheet formula) or holds a character outside printable ASCII: a control character
such as a newline, or an invisible or look-alike one (zero-width space, BOM, fullwidth or Cyrillic letters) (section 3)."""
REQUIRED_IF = "required_if"
"""A cell that must be filled exactly when another one is, is filled or empty the wrong way round (sections 4, 5: `iff`)."""
DATE_ORDER = "date_order"
"""Two dates of one event chain are in the wrong order, or an event is dated before the patient's birth (sections 4, 5; INDICATORS.md 2)."""
DATE_AFTER_REPORT_YEAR = "date_after_report_year"
"""A date lies after 31 December of the report year (section 1)."""
UNIQUE = "unique"
"""An id occurs twice in a file where it must be unique, or a referral is answered by two contacts (sections 4, 5)."""
REFERENCE = "reference"
"""A patient_id or referral_id names no row of patients.csv or referrals.csv of the same unit's delivery (sections 3, 5.3)."""
DUPLICATE_ANSWER_DATE = "duplicate_answer_date"
"""A patient has two survey answers on one response_date (INDICATORS.md 3, P1)."""

NOT_CHECKED = "not_checked"
"""A rule across tables could not be checked for a unit: a table it reads could not be read (missing,
or with a format error of its own). Reported once per unit and rule, never as a failure of every row
that refers to that table (section 6)."""

# --- across deliveries (section 4.3, 4.5; INDICATORS.md 2) ---------------------------
EARLIER_DELIVERY = "earlier_delivery"
"""A followup row names no transplant of the unit in D(R), D(R-1) or D(R-2), or another patient than the transplant's (section 4.5)."""
TRANSPLANT_CHANGED = "transplant_changed"
"""A transplant delivered earlier changed its patient or dates; only an empty discharge_date may be filled in (section 4.3)."""
CHANGED_SINCE_EARLIER = "changed_since_earlier"
"""A row delivered earlier (same key, same unit) changed a field the contract keeps across deliveries (section 1)."""
FOLLOWUP_MISSING = "followup_missing"
"""A transplant of the R1 or R2 cohort has no followup row in the report year's delivery (section 4.5)."""
FOLLOWUP_INCOMPLETE = "followup_incomplete"
"""A followup row of the R1 or R2 cohort does not reach the indicator's horizon (INDICATORS.md 2, follow-up completeness)."""

# --- layout and registry (section 1) ---------------------------------------------------
UNKNOWN_CONDITION = "unknown_condition"
"""An entry of the report-year folder that is no registered condition's folder (a misnamed one, a file, a link); named by position (section 1)."""
UNKNOWN_UNIT = "unknown_unit"
"""A unit folder names no unit of the registry for this condition (section 1)."""
OUTSIDE_PERMIT = "outside_permit"
"""A unit delivered for a report year whose measurement period its permit does not overlap (section 1)."""
MISSING_DELIVERY = "missing_delivery"
"""A unit whose permit overlaps the measurement period has no folder for the report year (section 1)."""
MISSING_TABLE = "missing_table"
"""A unit folder lacks one of the condition's tables (section 1)."""
UNEXPECTED_FILE = "unexpected_file"
"""A file or folder in the delivery that is not one of the condition's tables; it may carry data that must not be there (section 1)."""
PATH_OUTSIDE_ROOT = "path_outside_root"
"""A symlink, or a path resolving outside the data root; it is not read (section 1: the pipeline only reads data_raw)."""
NOT_A_FILE = "not_a_file"
"""A named pipe, socket, device or folder where a file belongs; it is never opened, so a run cannot hang on it (section 1)."""
IDENTITY_NUMBER = "identity_number"
"""An id cell looks like a Swedish personal identity or coordination number (section 3); the value is redacted."""
REGISTRY = "registry"
"""units.csv is missing, has more units of a condition than NHV_MAX_UNITS_PER_CONDITION (default 500; checked before it
is read), or a unit_id does not follow the pattern [a-z0-9_]{2,40} (section 1)."""

# --- aggregated reporting (SUBMISSION.md 1-3, 5) -----------------------------------------
MIXED_DELIVERY = "mixed_delivery"
"""A unit folder holds extract tables and a submission file, or two submission files (SUBMISSION.md 1)."""
SUBMISSION_RANGE = "submission_range"
"""A submission cell is no number, a negative one, an unfinished decimal, numerator > denominator, denominator != n,
an age over 125, or percentiles out of order (SUBMISSION.md 3)."""
SUBMISSION_TOTAL = "submission_total"
"""The rows of a breakdown do not add up to the `total` row (SUBMISSION.md 3)."""
SUBMISSION_EQUAL_POPULATION = "submission_equal_population"
"""Populations the catalogue declares equal have another n, within the submission or against the unit's earlier delivery (SUBMISSION.md 3)."""
SUBMISSION_MISSING_ROW = "submission_missing_row"
"""A cell the catalogue in force defines at level `enhet` has no row (SUBMISSION.md 2)."""
SUBMISSION_UNKNOWN_ROW = "submission_unknown_row"
"""A row names no cell of the catalogue in force: indicator, measure, breakdown or value (SUBMISSION.md 2)."""
DUPLICATE = "duplicate"
"""A submission has two rows for one cell (SUBMISSION.md 2)."""
SUBMISSION_PERIOD = "submission_period"
"""An optional period_start/period_end is not the indicator's period for the report year (SUBMISSION.md 2)."""
UNREADABLE_WORKBOOK = "unreadable_workbook"
"""A submission.xlsx that cannot be read; it is not opened (SUBMISSION.md 7)."""
EARLIER_DELIVERY_KIND = "earlier_delivery_kind"
"""An extract's cohort or cross-delivery rules need an earlier delivery of the unit that was a submission (SUBMISSION.md 5)."""
# --- the Excel template of a submission (SUBMISSION.md 7) ---------------------------------
FORMULA = "formula"
"""A cell of a submission workbook holds a formula; nothing in a workbook is evaluated (SUBMISSION.md 7)."""
MACRO = "macro"
"""A macro-enabled workbook (.xlsm) or one with a VBA part; it is not read (SUBMISSION.md 7)."""
HIDDEN_SHEET = "hidden_sheet"
"""A hidden or very hidden sheet of a submission workbook holds values; hidden sheets are never read (SUBMISSION.md 7)."""
WORKBOOK_TOO_LARGE = "workbook_too_large"
"""A workbook that unpacks far beyond the template (a zip bomb, a huge sheet, too many parts); refused before
its cells are read (SUBMISSION.md 7: a size limit as for CSV files)."""

RULES: dict[str, str] = {
    ENCODING: "File is not valid UTF-8; save it as 'CSV UTF-8' (DATA_CONTRACT.md 2).",
    FILE_TOO_LARGE: "File is larger than the size limit (NHV_MAX_FILE_MB, default 100 MB); not read (DATA_CONTRACT.md 2).",
    EMPTY_FILE: "File is empty; it needs at least the header line (DATA_CONTRACT.md 2).",
    HEADER: "Header has an empty or repeated column name, or is missing (DATA_CONTRACT.md 2).",
    RAGGED_ROW: "Row has another number of fields than the header (DATA_CONTRACT.md 2).",
    UNTERMINATED_QUOTE: "A quoted field is never closed (DATA_CONTRACT.md 2).",
    FIELD_TOO_LARGE: "A field is longer than the CSV field limit of 131072 characters (DATA_CONTRACT.md 2).",
    BAD_QUOTE: "A closing quote is followed by other characters than the delimiter (DATA_CONTRACT.md 2).",
    MISSING_COLUMN: "A contract column is missing from the header (DATA_CONTRACT.md 2).",
    EXTRA_COLUMN: "The header has a column outside the contract (DATA_CONTRACT.md 2).",
    REQUIRED: "A required cell is empty (DATA_CONTRACT.md 4, 5).",
    DATE_FORMAT: "Date is not a real calendar date written YYYY-MM-DD (DATA_CONTRACT.md 2).",
    BOOL_FORMAT: "Boolean is not 1 or 0 (DATA_CONTRACT.md 2).",
    CODE: "Value is not one of the contract's codes (DATA_CONTRACT.md 3-5).",
    NUMBER: "Value is not a number written with digits, or is outside the column's range (DATA_CONTRACT.md 2-5).",
    ID_FORMAT: "Id starts like a spreadsheet formula (= + - @) or holds a character outside printable ASCII (DATA_CONTRACT.md 3).",
    REQUIRED_IF: "Cell must be filled exactly when its companion cell is (DATA_CONTRACT.md 4, 5).",
    DATE_ORDER: "Dates are in the wrong order (DATA_CONTRACT.md 4, 5; INDICATORS.md 2).",
    DATE_AFTER_REPORT_YEAR: "Date is after 31 December of the report year (DATA_CONTRACT.md 1).",
    UNIQUE: "Id must be unique in the file (DATA_CONTRACT.md 4, 5).",
    REFERENCE: "Id names no row of the unit's patients.csv or referrals.csv (DATA_CONTRACT.md 3, 5.3).",
    DUPLICATE_ANSWER_DATE: "Patient has two survey answers on one date (INDICATORS.md 3, P1).",
    NOT_CHECKED: "Rule across tables not checked: a table it reads could not be read (DATA_CONTRACT.md 6).",
    EARLIER_DELIVERY: "Followup row names no transplant of the unit in D(R)..D(R-2), or another patient (DATA_CONTRACT.md 4.5).",
    TRANSPLANT_CHANGED: "Earlier delivered transplant changed patient or dates (DATA_CONTRACT.md 4.3).",
    CHANGED_SINCE_EARLIER: "A row delivered earlier changed a field kept across deliveries (DATA_CONTRACT.md 1).",
    FOLLOWUP_MISSING: "R1/R2 cohort transplant has no followup row (DATA_CONTRACT.md 4.5).",
    FOLLOWUP_INCOMPLETE: "Followup does not reach the R1/R2 horizon (INDICATORS.md 2).",
    UNKNOWN_CONDITION: "Entry of the report-year folder is no registered condition's folder; not read (DATA_CONTRACT.md 1).",
    UNKNOWN_UNIT: "Unit folder is not in the registry for the condition (DATA_CONTRACT.md 1).",
    OUTSIDE_PERMIT: "Unit's permit does not overlap the measurement period (DATA_CONTRACT.md 1).",
    MISSING_DELIVERY: "Unit with a permit in the period delivered no folder (DATA_CONTRACT.md 1).",
    MISSING_TABLE: "Unit folder lacks a table of the condition (DATA_CONTRACT.md 1).",
    UNEXPECTED_FILE: "File or folder in the delivery that is not a contract table (DATA_CONTRACT.md 1).",
    PATH_OUTSIDE_ROOT: "Symlink or path outside the data root; not read (DATA_CONTRACT.md 1).",
    NOT_A_FILE: "Named pipe, socket, device or folder where a plain file belongs; never opened (DATA_CONTRACT.md 1).",
    IDENTITY_NUMBER: "Id looks like a personal identity or coordination number (DATA_CONTRACT.md 3).",
    REGISTRY: "units.csv is missing, too long (NHV_MAX_UNITS_PER_CONDITION) or a unit_id breaks the pattern (DATA_CONTRACT.md 1).",
    MIXED_DELIVERY: "Unit folder holds extract tables and a submission, or two submission files (SUBMISSION.md 1).",
    SUBMISSION_RANGE: "Submission value is no number, negative, inconsistent or out of range (SUBMISSION.md 3).",
    SUBMISSION_TOTAL: "Submission rows of a breakdown do not add up to the total row (SUBMISSION.md 3).",
    SUBMISSION_EQUAL_POPULATION: "Populations declared equal have another n in the submission or the unit's earlier delivery (SUBMISSION.md 3).",
    SUBMISSION_MISSING_ROW: "A cell of the catalogue in force has no submission row (SUBMISSION.md 2).",
    SUBMISSION_UNKNOWN_ROW: "Submission row names no cell of the catalogue in force (SUBMISSION.md 2).",
    DUPLICATE: "Submission has two rows for one cell (SUBMISSION.md 2).",
    SUBMISSION_PERIOD: "period_start/period_end is not the indicator's period for the report year (SUBMISSION.md 2).",
    UNREADABLE_WORKBOOK: "submission.xlsx cannot be read; not opened (SUBMISSION.md 7).",
    EARLIER_DELIVERY_KIND: "Extract needs an earlier delivery of the unit that was a submission (SUBMISSION.md 5).",
    FORMULA: "Workbook cell holds a formula; nothing in a workbook is evaluated (SUBMISSION.md 7).",
    MACRO: "Macro-enabled workbook (.xlsm) or a VBA part; not read (SUBMISSION.md 7).",
    HIDDEN_SHEET: "Hidden sheet of the workbook holds values; hidden sheets are never read (SUBMISSION.md 7).",
    WORKBOOK_TOO_LARGE: "Workbook unpacks far beyond the template (zip bomb, huge sheet); not read (SUBMISSION.md 7).",
}


RULE_SUMMARIES_SV: dict[str, str] = {
    ENCODING: "Filen är inte UTF-8; spara den som ”CSV UTF-8 (kommaavgränsad)”.",
    FILE_TOO_LARGE: "Filen är större än storleksgränsen och lästes inte.",
    FIELD_TOO_LARGE: "Ett fält är längre än CSV-gränsen på 131072 tecken.",
    EMPTY_FILE: "Filen är tom; den behöver minst rubrikraden.",
    HEADER: "Rubrikraden saknas, eller ett kolumnnamn är tomt eller upprepat.",
    RAGGED_ROW: "Raden har ett annat antal fält än rubrikraden.",
    UNTERMINATED_QUOTE: "Ett citerat fält avslutas aldrig.",
    BAD_QUOTE: "Ett avslutande citattecken följs av annat än avgränsaren.",
    MISSING_COLUMN: "En kolumn i datakontraktet saknas i rubrikraden.",
    EXTRA_COLUMN: "Rubrikraden har en kolumn som inte finns i datakontraktet.",
    REQUIRED: "En obligatorisk cell är tom.",
    DATE_FORMAT: "Datumet är inte ett verkligt datum skrivet ÅÅÅÅ-MM-DD.",
    BOOL_FORMAT: "Ja/nej-värdet är inte 1 eller 0.",
    CODE: "Värdet är inte en av datakontraktets koder.",
    NUMBER: "Värdet är inte ett tal skrivet med siffror, eller ligger utanför kolumnens tillåtna intervall.",
    ID_FORMAT: "Id:t börjar som en kalkylbladsformel (= + - @) eller innehåller ett tecken utanför printbar ASCII (ett styrtecken, ett osynligt tecken eller en förväxlingsbar bokstav).",
    REQUIRED_IF: "Cellen ska vara ifylld precis när den tillhörande cellen är det.",
    DATE_ORDER: "Datumen är i fel ordning.",
    DATE_AFTER_REPORT_YEAR: "Datumet ligger efter 31 december inrapporteringsåret.",
    UNIQUE: "Id:t ska vara unikt i filen.",
    REFERENCE: "Id:t finns inte i enhetens patients.csv eller referrals.csv.",
    DUPLICATE_ANSWER_DATE: "Patienten har två enkätsvar samma datum.",
    NOT_CHECKED: "En regel över flera tabeller kunde inte kontrolleras: en fil den läser gick inte att läsa.",
    EARLIER_DELIVERY: "Uppföljningsraden anger ingen transplantation från enhetens tre senaste leveranser, eller fel patient.",
    TRANSPLANT_CHANGED: "En tidigare levererad transplantation har ändrat patient eller datum.",
    CHANGED_SINCE_EARLIER: "En rad som levererats tidigare har ändrat ett värde som ska behållas mellan leveranserna.",
    FOLLOWUP_MISSING: "En transplantation i R1/R2-kohorten saknar uppföljningsrad.",
    FOLLOWUP_INCOMPLETE: "Uppföljningen når inte fram till R1/R2-indikatorns tidsgräns.",
    UNKNOWN_CONDITION: "Posten i inrapporteringsårets mapp är ingen av tillståndsområdenas mappar; lästes inte.",
    UNKNOWN_UNIT: "Enhetsmappen finns inte i registret för tillståndsområdet.",
    OUTSIDE_PERMIT: "Enhetens tillstånd täcker inte mätperioden.",
    MISSING_DELIVERY: "En enhet med tillstånd under perioden har inte levererat någon mapp.",
    MISSING_TABLE: "Enhetsmappen saknar en av tillståndsområdets tabeller.",
    UNEXPECTED_FILE: "En fil eller mapp i leveransen som inte är en tabell i datakontraktet.",
    PATH_OUTSIDE_ROOT: "En symbolisk länk eller en sökväg utanför dataroten; lästes inte.",
    NOT_A_FILE: "En namngiven rörledning, socket, enhetsfil eller mapp där en vanlig fil ska vara; öppnades aldrig.",
    IDENTITY_NUMBER: "En cell eller ett namn ser ut som ett person- eller samordningsnummer; värdet har tagits bort.",
    REGISTRY: "units.csv saknas eller ett unit_id följer inte mönstret.",
    MIXED_DELIVERY: "Enhetsmappen innehåller både uttag och inrapportering, eller två inrapporteringsfiler.",
    SUBMISSION_RANGE: "Värdet i inrapporteringen är inget tal, är negativt eller stämmer inte med radens andra värden.",
    SUBMISSION_TOTAL: "Raderna för en uppdelning summerar inte till total-raden.",
    SUBMISSION_EQUAL_POPULATION: "Populationer som ska vara lika stora har olika n.",
    SUBMISSION_MISSING_ROW: "En cell som uppföljningen kräver saknar rad i inrapporteringen.",
    SUBMISSION_UNKNOWN_ROW: "Raden anger ingen cell i uppföljningen för inrapporteringsåret.",
    DUPLICATE: "Inrapporteringen har två rader för samma cell.",
    SUBMISSION_PERIOD: "Perioden på raden är inte indikatorns period för inrapporteringsåret.",
    UNREADABLE_WORKBOOK: "Arbetsboken submission.xlsx kan inte läsas in.",
    EARLIER_DELIVERY_KIND: "Uttaget behöver en tidigare leverans från enheten som var en inrapportering.",
    FORMULA: "En cell i arbetsboken innehåller en formel; formler beräknas aldrig, skriv in värdet.",
    MACRO: "Arbetsboken innehåller makron (.xlsm); den lästes inte.",
    HIDDEN_SHEET: "Ett dolt blad i arbetsboken har innehåll; dolda blad läses aldrig.",
    WORKBOOK_TOO_LARGE: "Arbetsboken är mycket större än mallen (zip-bomb eller enormt blad); den lästes inte.",
}
"""The same rules as RULES, in Swedish for the units' reports (DATA_CONTRACT.md 6)."""


def failure(unit_id: str, file: str, line: int | None, column: str, rule: str, message: str) -> dict:
    """One failure row without report year and condition (filled in by the caller)."""
    return {"unit_id": unit_id, "file": file, "line": line, "column": column, "rule": rule, "message": message}


ROW_FAILURE_COLUMNS = ["unit_id", "file", "line", "column", "rule", "message"]
_NO_ROWS = pd.DataFrame(columns=ROW_FAILURE_COLUMNS)


def failures_at(rows: pd.DataFrame, column: str, rule: str, message: str) -> pd.DataFrame:
    """Failure rows for every row of a raw table frame (vectorised over its lineage columns)."""
    if rows.empty:
        return _NO_ROWS
    return pd.DataFrame(
        {
            "unit_id": rows["unit_id"].astype(object),
            "file": rows["source_file"].astype(object),
            "line": rows["source_line"].astype("Int64"),
            "column": column,
            "rule": rule,
            "message": message,
        }
    ).reset_index(drop=True)


def failures_where(frame: pd.DataFrame, mask, column: str, rule: str, message: str) -> pd.DataFrame:
    """`failures_at(frame[mask], ...)`, without selecting from the frame when no row fails (most rules find nothing)."""
    if not mask.any():
        return _NO_ROWS
    return failures_at(frame[mask], column, rule, message)


def concat(parts) -> pd.DataFrame:
    """Concatenate failure parts, skipping empty ones (most rules find nothing).

    A part with no line at all (failures of a file or of a rule as a whole) has its `line` made
    Int64 first: pandas leaves an all-empty object column out of the result's dtype, a behaviour it
    deprecates (with a FutureWarning that `nhv-pipeline validate` would print).
    """
    parts = [_lines_typed(part) for part in parts if part is not None and not part.empty]
    return pd.concat(parts, ignore_index=True) if parts else _NO_ROWS.copy()


def _lines_typed(part: pd.DataFrame) -> pd.DataFrame:
    line = part.get("line")
    if line is None or isinstance(line.dtype, pd.Int64Dtype) or not line.isna().all():
        return part
    return part.astype({"line": "Int64"})


def normalise_failures(frame: pd.DataFrame, report_year: int | None = None, condition_id: str | None = None) -> pd.DataFrame:
    """Give a failure frame FAILURE_COLUMNS, their dtypes and the contract's sort order."""
    out = frame.copy()
    for col in FAILURE_COLUMNS:
        if col not in out.columns:
            out[col] = pd.NA
    if report_year is not None:
        out["report_year"] = report_year
    if condition_id is not None:
        out["condition_id"] = condition_id
    out["report_year"] = out["report_year"].astype("Int64" if out["report_year"].isna().any() else "int64")
    out["line"] = out["line"].astype("Int64")
    for col in ("condition_id", "unit_id", "file", "column", "rule", "message"):
        out[col] = out[col].fillna("").astype(str).astype(object)
    out = out[FAILURE_COLUMNS].drop_duplicates()
    return out.sort_values(["unit_id", "file", "line", "column", "rule"], na_position="first", kind="stable").reset_index(drop=True)
