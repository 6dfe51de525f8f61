"""The building blocks of the delivery contract's pandera models (DATA_CONTRACT.md 2-5).

Each condition declares its tables as *text-layer* models in its own package
(`nhv_pipeline/conditions/<condition_id>/contract.py`) with the field helpers and the
table rules of this module: every column is the stripped text the unit delivered (None
for an empty cell). A model is the one source of truth for its table's columns, their
descriptions (shown by the UI as column schemas), the per-cell rules (required, date,
boolean, code), the rules within the table (uniqueness per unit, required-if, date
order: model-level checks) and the typed staging layer (`metadata["kind"]`). Rules
that span tables or deliveries are named functions beside the models.
"""

from __future__ import annotations

import functools
import itertools
import re
from datetime import date
from functools import lru_cache

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from nhv_pipeline.core import periods
from nhv_pipeline.core.condition import Condition
from nhv_pipeline.core.labels import HOME_REGION_CODES, SEX_CODES
from nhv_pipeline.contract import rules
from nhv_pipeline.contract.reader import REDACTED

# DATA_CONTRACT.md 3: SCB county (län) codes plus the project's own 99, and legal sex; stated once in labels.
HOME_REGIONS = HOME_REGION_CODES
SEXES = SEX_CODES

DATE_PATTERN = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"  # ASCII digits only (a regex \d also matches other scripts' digits)


def parse_dates(values: pd.Series) -> pd.Series:
    """Text to datetime64: strictly YYYY-MM-DD and a real calendar date, else NaT (section 2).

    Each distinct text is parsed once (a delivery has few distinct dates and many rows), so
    the cost per row is one hash lookup.
    """
    return pd.Series(_parsed_dates(values)[0], index=values.index, dtype="datetime64[ns]")


def _parsed_dates(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(the dates as datetime64[ns], NaT where empty or no date; which cells are present)."""
    codes, uniques = pd.factorize(values.to_numpy(dtype=object))  # an empty cell has code -1
    parsed = _parse_date_texts(pd.Series(uniques, dtype=object)).to_numpy(dtype="datetime64[ns]")
    out = np.full(len(values), np.datetime64("NaT", "ns"))
    present = codes >= 0
    out[present] = parsed[codes[present]]
    return out, present


_DATE_TEXT = re.compile(DATE_PATTERN)
_EPOCH = date(1970, 1, 1).toordinal()
# The days datetime64[ns] holds whole (pandas.Timestamp.min is 1677-09-21 00:12:43, max 2262-04-11 23:47:16).
_FIRST_DAY, _LAST_DAY = date(1677, 9, 22), date(2262, 4, 11)
_NS_PER_DAY = 86_400 * 10**9
_NAT = np.iinfo("int64").min
_ONE_BY_ONE = 256
"""Up to this many distinct texts, parsing them one by one beats pandas.to_datetime's cost per call."""


def _date_ns(text) -> int:
    """One text's day as nanoseconds since 1970, or NaT's value: what pandas.to_datetime(format="%Y-%m-%d",
    errors="coerce") makes of a text of DATE_PATTERN's shape, without pandas' cost per call."""
    if not isinstance(text, str) or _DATE_TEXT.fullmatch(text) is None:
        return _NAT
    try:
        day = date.fromisoformat(text)
    except ValueError:  # no such day (2023-02-29, month 13, year 0)
        return _NAT
    if not _FIRST_DAY <= day <= _LAST_DAY:
        return _NAT
    return (day.toordinal() - _EPOCH) * _NS_PER_DAY


def _parse_date_texts(values: pd.Series) -> pd.Series:
    """Distinct texts to datetime64[ns] (see parse_dates): a few one by one, many through pandas (the same days)."""
    if len(values) > _ONE_BY_ONE:
        shaped = values.astype(object).str.fullmatch(DATE_PATTERN).to_numpy(dtype=object) == True  # noqa: E712 - None is no
        text = np.where(shaped, values.to_numpy(dtype=object), None)
        return pd.Series(pd.to_datetime(text, format="%Y-%m-%d", errors="coerce"), index=values.index, dtype="datetime64[ns]")
    days = np.fromiter((_date_ns(text) for text in values.to_numpy(dtype=object)), dtype="int64", count=len(values))
    return pd.Series(days.view("datetime64[ns]"), index=values.index, dtype="datetime64[ns]")


def with_dates(frame: pd.DataFrame, date_columns) -> pd.DataFrame:
    """The frame with its date columns parsed once, for the rules that compare dates.

    Its other columns are `frame`'s own arrays, not copies (a copy of every column of the
    largest delivery was over a hundred MB at the 1000x volume): rules read it, never write to it.
    """
    dated = frame.copy(deep=False)
    for column in date_columns:
        dated[column] = parse_dates(frame[column])  # replaces the column in `dated` only
    return dated


def _register(statistics: list[str]):
    """Make `fn` usable as `pa.Field(<fn name>=...)`: a named check with `statistics` as keyword arguments.

    What `pandera.extensions.register_check_method` does, without its import of pandera's
    data-synthesis strategies (and hypothesis): that import alone costs every command about a
    second of start-up, and this pipeline never synthesises data from its models.
    """

    def decorator(fn):
        def constructor(*args, **kwargs):
            values = dict(zip(statistics, args))
            options = {}
            for key, value in kwargs.items():
                (values if key in statistics else options)[key] = value
            # ignore_na=False, whatever the field says (pa.Field passes its ignore_na, True by default):
            # each of these checks passes an empty cell itself (nullability is pandera's own
            # not_nullable check), so pandera need not look for empty cells and copy the column
            # without them first, two passes over every checked column.
            options["ignore_na"] = False
            return pa.Check(functools.partial(fn, **values), name=fn.__name__, statistics=values, **options)

        pa.Check.REGISTERED_CUSTOM_CHECKS.setdefault(fn.__name__, constructor)
        return fn

    return decorator


@_register(statistics=[])
def date_format(values: pd.Series) -> pd.Series:
    """Dates `YYYY-MM-DD` that exist in the calendar (2023-02-29 does not; section 2); an empty cell passes."""
    parsed, present = _parsed_dates(values)
    return pd.Series(~(present & np.isnat(parsed)), index=values.index)


_EMPTY = (None, np.nan, pd.NA, pd.NaT)
"""What an empty cell of a text frame may be: the reader makes None; `isin` matches each of these as pandas' isna does."""


@_register(statistics=[])
def bool_format(values: pd.Series) -> pd.Series:
    """Booleans are written 1 or 0 (section 2); an empty cell passes."""
    return values.isin(("1", "0", *_EMPTY))


# An id is one line of printable ASCII. A first character = + - @ makes a spreadsheet run the cell
# as a formula (OWASP "CSV injection"), and a control character (tab, newline, NUL) breaks
# every line-based view of the id; neither is a pseudonymous id (DATA_CONTRACT.md 3). Any other
# character outside printable ASCII (a zero-width space, a BOM, a soft hyphen, a no-break space,
# a fullwidth or Cyrillic look-alike letter) would make two patients of one that look the same
# in every view, so an id holds printable ASCII only (README, contract additions): the
# uniqueness and reference rules then compare what a person sees.
ID_FORMULA_START = r"[=+\-@]"
ID_CONTROL_CHARACTER = r"[^\x20-\x7e]"
"""Anything but printable ASCII (space to tilde): control characters and every non-ASCII character."""


@_register(statistics=[])
def id_text(values: pd.Series) -> pd.Series:
    """Ids that no spreadsheet runs as a formula and that hold printable ASCII only (section 3); an empty cell passes."""
    if _no_bad_id(values):
        return pd.Series(True, index=values.index)
    text = values.astype(object).astype("string")
    bad = text.str.match(ID_FORMULA_START) | text.str.contains(ID_CONTROL_CHARACTER, regex=True)
    return ~bad.fillna(False).astype(bool)


_FORMULA_AT_LINE_START = re.compile("\n" + ID_FORMULA_START)
_FORMULA_AT_START = re.compile(ID_FORMULA_START)
_CONTROL_BUT_LINE_BREAK = re.compile(r"[^\x20-\x7e\n]")


def _no_bad_id(values: pd.Series) -> bool:
    """True when no id of the column can fail id_text: checked on the joined text, at C speed.

    Joined with a line break, a value starting like a formula is a line break (or the start)
    and that character; a value holding a line break shows as one line break too many, and
    any other control character is looked for directly. Any hit (or a value that is no str)
    is left to the exact check cell by cell.
    """
    raw = values.to_numpy(dtype=object)
    try:
        joined = "\n".join(raw)  # a column without empty cells, at once
        count = len(raw)
    except TypeError:  # an empty cell (None) or a value that is no str
        present = raw[pd.notna(raw)]
        if not all(type(value) is str for value in present):
            return False
        joined, count = "\n".join(present), len(present)
    if count == 0:
        return True
    if joined.count("\n") != count - 1:  # a value holds a line break, a control character
        return False
    return (_CONTROL_BUT_LINE_BREAK.search(joined) is None and _FORMULA_AT_START.match(joined) is None
            and _FORMULA_AT_LINE_START.search(joined) is None)


@_register(statistics=["allowed"])
def code(values: pd.Series, *, allowed) -> pd.Series:
    """A coded value is one of the contract's codes, exactly as written there (sections 3-5); an empty cell passes."""
    return values.isin([*allowed, *_EMPTY])


NUMBER_PATTERN = r"-?[0-9]+([.,][0-9]+)?"
"""A number as delivered: ASCII digits, an optional minus, a decimal point or comma (Swedish Excel writes a comma)."""


def parse_numbers(values: pd.Series) -> pd.Series:
    """Numbers (float64) from their text; NaN where a cell is empty or no number of NUMBER_PATTERN."""
    text = values.astype(object).astype("string")
    ok = text.str.fullmatch(NUMBER_PATTERN).fillna(False).astype(bool)
    return pd.to_numeric(text.where(ok).str.replace(",", ".", regex=False), errors="coerce").astype("float64")


@_register(statistics=["minimum", "maximum"])
def number(values: pd.Series, *, minimum, maximum) -> pd.Series:
    """A number written with digits (NUMBER_PATTERN), from `minimum` to `maximum` (both included); an empty cell passes."""
    parsed = parse_numbers(values)
    return parsed.between(minimum, maximum, inclusive="both").fillna(False).astype(bool) | values.isna()


def _id(description: str, required: bool = True):
    return pa.Field(nullable=not required, id_text=(), description=description, metadata={"kind": "id"})


def _text(description: str, required: bool = True):
    return pa.Field(nullable=not required, description=description, metadata={"kind": "text"})


def _date(description: str, required: bool = True):
    return pa.Field(nullable=not required, date_format=(), description=description, metadata={"kind": "date"})


def _bool(description: str, required: bool = True):
    return pa.Field(nullable=not required, bool_format=(), description=description, metadata={"kind": "bool"})


def _code(description: str, allowed, required: bool = True):
    return pa.Field(
        nullable=not required, code={"allowed": list(allowed)}, description=description, metadata={"kind": "code"}
    )


def id_field(description: str, required: bool = True):
    """An id column: pseudonymous printable ASCII, never a spreadsheet formula (section 3)."""
    return _id(description, required)


def text_field(description: str, required: bool = True):
    return _text(description, required)


def date_field(description: str, required: bool = True):
    """A date `YYYY-MM-DD` (section 2)."""
    return _date(description, required)


def bool_field(description: str, required: bool = True):
    """A boolean `1`/`0` (section 2)."""
    return _bool(description, required)


def code_field(description: str, allowed, required: bool = True):
    """A coded value, one of `allowed` exactly as written (sections 3-5)."""
    return _code(description, allowed, required)


def number_field(description: str, minimum: float, maximum: float, required: bool = True):
    """A number from `minimum` to `maximum`, both included (a score, a dose): digits, an optional minus and
    a decimal point or comma (rule `number`); staged as a float."""
    if minimum > maximum:
        raise ValueError(f"number_field: minimum {minimum} is above maximum {maximum}")
    return pa.Field(
        nullable=not required, number={"minimum": minimum, "maximum": maximum}, description=description,
        metadata={"kind": "number"},
    )


def home_region_field(description: str = "Two-digit county (län) code of the folkbokföring; 99 = not registered in Sweden."):
    return _code(description, HOME_REGIONS)


def sex_field(description: str = "Legal sex: K (kvinna) or M (man)."):
    return _code(description, SEXES)


class TextModel(pa.DataFrameModel):
    """A delivered table as text. The frame validated also holds the lineage columns (unit_id, source_*),
    which the table rules use (ids are local to a unit); the reader has already checked the header."""

    class Config:
        strict = False
        coerce = False


# --- table rules: model-level checks named `<rule>.<column>`, the message as the check's error ---------


def usable(values: pd.Series) -> pd.Series:
    """Ids that take part in cross-row rules: present and not redacted (its own failure stands)."""
    return values.notna() & values.ne(REDACTED)


_CHECK_NUMBERS = itertools.count(1)


def _table_check(rule: str, column: str, message: str, ok):
    """A model-level pandera check: `ok(frame)` is True for the rows that keep the rule."""

    def check(cls, df: pd.DataFrame) -> pd.Series:
        return ok(df).fillna(True).astype(bool)

    check.__name__ = f"{rule}_{column}_{next(_CHECK_NUMBERS)}"
    # ignore_na=False: pandera's default would also pass a row whose every cell is missing, and finds
    # those with an isna() of the whole frame per check (a second per check at 1000x). A delivered
    # row always has its source_line, so no row is all missing and the outcome is the same.
    return pa.dataframe_check(name=f"{rule}.{column}", error=message, ignore_na=False)(classmethod(check))


def unique_per_unit(column: str, message: str | None = None):
    """Each `column` value occurs once in a unit's file (sections 4, 5); later repeats fail."""
    message = message or f"Detta {column} finns redan på en tidigare rad i filen; varje {column} ska vara unikt."
    return _table_check(
        rules.UNIQUE, column, message,
        lambda df: ~(df.duplicated(["unit_id", column], keep="first") & usable(df[column])),
    )


def present(column: str):
    return lambda df: df[column].notna()


def required_when(column: str, when, condition: str, companion: str):
    """`column` must be filled where `when(frame)` holds (the contract's `iff`, first half)."""
    return _table_check(
        rules.REQUIRED_IF, column, f"{column} är obligatorisk när {condition}; fyll i den eller rätta {companion}.",
        lambda df: ~(when(df) & df[column].isna()),
    )


def empty_unless(column: str, empty_when, condition: str, companion: str):
    """`column` must be empty where `empty_when(frame)` holds (the contract's `iff`, second half)."""
    return _table_check(
        rules.REQUIRED_IF, column, f"{column} ska vara tom om inte {condition}; töm den eller rätta {companion}.",
        lambda df: ~(empty_when(df) & df[column].notna()),
    )


def date_order(reported: str, earlier: str, later: str):
    """`later` is on or after `earlier` on the same row; the failure is reported on `reported`."""
    return _table_check(
        rules.DATE_ORDER, reported, f"{later} ska vara samma dag som eller efter {earlier} på samma rad; rätta datumen.",
        lambda df: ~(parse_dates(df[later]) < parse_dates(df[earlier])),
    )


def table_rule(rule: str, column: str, message: str):
    """A model-level check of a condition's own (decorate a function `frame -> ok Series`)."""

    def decorator(ok):
        return _table_check(rule, column, message, ok)

    return decorator


# --- units.csv (DATA_CONTRACT.md 1) -------------------------------------------------------


@lru_cache(maxsize=None)
def registry_units(condition_ids: tuple[str, ...]) -> type[pa.DataFrameModel]:
    """The model of units.csv for these conditions: `condition_id` is one of their ids."""

    class RegistryUnits(TextModel):
        """units.csv: the registry of units and their NHV permits."""

        condition_id: Series[object] = pa.Field(
            code={"allowed": list(condition_ids)}, description="Condition: one of the registered conditions' ids.",
            metadata={"kind": "code"},
        )
        unit_id: Series[object] = pa.Field(
            description="Unit id `[a-z0-9_]{2,40}`, unique per condition; the unit's folder name.",
            metadata={"kind": "text"},
        )
        unit_name: Series[object] = _text('Display name, e.g. "Akademiska sjukhuset".')
        permit_start: Series[object] = _date("First day the unit holds the NHV permit.")
        permit_end: Series[object] = _date("Last day of the permit; empty = still valid.", required=False)

        permit_order = date_order("permit_end", "permit_start", "permit_end")

    return RegistryUnits


# pandera check name -> (rule, column override); the column comes from the failure case otherwise.
CHECK_RULES = {
    "not_nullable": ("required", None),
    "date_format": ("date_format", None),
    "bool_format": ("bool_format", None),
    "code": ("code", None),
    "id_text": ("id_format", None),
    "number": ("number", None),
}


def table_model(condition: Condition, table: str) -> type[pa.DataFrameModel]:
    """The text-layer pandera model of one table of a condition."""
    try:
        return condition.tables[table]
    except KeyError:
        raise KeyError(f"no contract table {table!r} for condition {condition.condition_id!r}") from None


@lru_cache(maxsize=None)
def model_schema(model: type[pa.DataFrameModel]) -> pa.DataFrameSchema:
    """The model's DataFrameSchema, built once."""
    return model.to_schema()


def model_columns(model: type[pa.DataFrameModel]) -> list[str]:
    """A model's columns in declaration (= contract) order."""
    return list(model_schema(model).columns)


def model_kinds(model: type[pa.DataFrameModel]) -> dict[str, str]:
    """column -> kind (id, text, date, bool, code): drives identity checks and staging types."""
    return {name: col.metadata["kind"] for name, col in model_schema(model).columns.items()}


def contract_columns(condition: Condition, table: str) -> list[str]:
    """The contract's columns of a table, in contract order."""
    return model_columns(table_model(condition, table))


def column_kinds(condition: Condition, table: str) -> dict[str, str]:
    return model_kinds(table_model(condition, table))


def optional_columns(condition: Condition, table: str) -> list[str]:
    """The table's columns whose cells may be empty (`required` = no in the contract)."""
    return [name for name, column in model_schema(table_model(condition, table)).columns.items() if column.nullable]


def measurement_period_of(condition: Condition, report_year: int) -> tuple[date, date] | None:
    """P(R) = max(1 Jan R-1, condition start)..31 Dec R-1 (INDICATORS.md 1); None when empty."""
    return periods.measurement_period(condition.start, report_year)


def cohort_window(condition: Condition, report_year: int, lag: int) -> tuple[date, date] | None:
    """Window of cohort year R-lag, cut at the condition start (INDICATORS.md 1); None when empty."""
    return periods.cohort_window(condition.start, report_year, lag)
