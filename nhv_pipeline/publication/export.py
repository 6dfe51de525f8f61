"""The published ``indicator_results`` files: checked, rounded, sorted, written and read back.

PUBLICATION.md section 2 fixes the columns (declared in ``columns``), their types,
the rounding and the row order. The files are written into the staging folder that
``swap.publish_folder`` swaps in as a whole (section 1). Everything here is plain
Python over pandas/pyarrow so the lead engineer's Dagster assets only call it.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from nhv_pipeline.indicators.engine import key_order, result_sort_keys

from .columns import (
    BOOL_COLUMNS,
    COLUMNS,
    DATE_COLUMNS,
    FLOAT_COLUMNS,
    INTEGER_COLUMNS,
    NULLABLE_INTEGER_COLUMNS,
    PUBLISHED_COLUMNS,
    RESULT_COLUMNS,
    RESULT_FILE_STEM,
    SORT_COLUMNS,
)

_COLUMN = {c.name: c for c in COLUMNS}

_ARROW_SCHEMA = pa.schema(
    [pa.field(c.name, c.arrow_type, nullable=not c.required) for c in COLUMNS if c.published]
)


# A spreadsheet program treats a cell starting with one of these as a formula
# (OWASP "CSV injection"); text cells starting with them get a leading quote.
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


# --------------------------------------------------------------------------
# Checking and ordering
# --------------------------------------------------------------------------


def check_result_columns(results: pd.DataFrame, columns: list[str] | None = None) -> None:
    """Raise ValueError when a column of ``columns`` (default: all, warehouse ones too) is missing.

    Names only, no values.
    """
    missing = [c for c in (RESULT_COLUMNS if columns is None else columns) if c not in results.columns]
    if missing:
        raise ValueError(f"result frame lacks columns {missing}")


def sort_results(results: pd.DataFrame) -> pd.DataFrame:
    """Section 2 row order: ..., level (riket first), unit_id, breakdown (total first), breakdown_value.

    ``report_year`` leads so a frame with several years stays grouped by year;
    a publication holds one year, where it changes nothing. Text is ordered by
    code point (not a locale), so ``Ö1`` sorts after ``T1`` on every machine.
    Raises ValueError when two rows share one key: the relations of section 3
    and the published file both assume one row per key.
    """
    check_result_columns(results, SORT_COLUMNS)
    keys = result_sort_keys(results)
    duplicated = keys.duplicated(keep=False)
    if duplicated.any():
        raise ValueError(
            f"{int(duplicated.sum())} result rows share a key ({', '.join(SORT_COLUMNS)}); "
            "each key must occur once"
        )
    return results.iloc[key_order(keys)].reset_index(drop=True)


# --------------------------------------------------------------------------
# Rounding and typing (section 2)
# --------------------------------------------------------------------------


def round_half_away(x: Any) -> float:
    """Round to one decimal, halves away from zero, on the shortest decimal form of the float.

    "Half" is defined on ``repr(float(x))``, the shortest decimal string that
    reads back as the same float: 0.15 is stored as 0.1499999999999999944...,
    but a reader of the unrounded table sees 0.15 and expects 0.2, which this
    gives (plain ``round`` gives 0.1). -0.0 becomes 0.0 so no "-0.0" is
    published. Empty stays NaN; an infinite value is a bug upstream.
    """
    if x is None or x is pd.NA:
        return math.nan
    f = float(x)
    if math.isnan(f):
        return math.nan
    if math.isinf(f):
        raise ValueError("cannot publish an infinite value")
    rounded = Decimal(repr(f)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return float(rounded) + 0.0


def _as_date(x: Any) -> dt.date | None:
    if x is None or x is pd.NA or x is pd.NaT:
        return None
    if isinstance(x, float) and math.isnan(x):
        return None
    if isinstance(x, pd.Timestamp | np.datetime64 | dt.datetime):
        return pd.Timestamp(x).date()
    if isinstance(x, dt.date):
        return x
    return dt.date.fromisoformat(str(x))


def format_results(results: pd.DataFrame) -> pd.DataFrame:
    """Section 2 form of a result frame: rounded, typed, in column and row order.

    Types of the returned frame: ``report_year`` int64; ``n``, ``numerator``,
    ``denominator`` Int64 (NA = empty); the figure columns float64 rounded to
    one decimal (NaN = empty); the period columns ``datetime.date`` objects;
    ``suppressed`` bool; text columns ``str`` (empty string, never NA).

    Every published column (``PUBLISHED_COLUMNS``) must be there; a warehouse
    column (``suppression_reason``) is kept when present and left out when not
    (a frame read back from a published file has none).
    """
    check_result_columns(results, PUBLISHED_COLUMNS)
    out = pd.DataFrame(index=results.index)
    for c in (c for c in RESULT_COLUMNS if c in PUBLISHED_COLUMNS or c in results.columns):
        s = results[c]
        if c == "report_year":
            out[c] = s.astype("int64")
        elif c in NULLABLE_INTEGER_COLUMNS:
            as_float = pd.to_numeric(s, errors="raise").astype("Float64")
            if ((as_float.round() != as_float) & as_float.notna()).any():
                raise ValueError(f"column {c} holds a non-integer count")
            out[c] = as_float.astype("Int64")
        elif c in FLOAT_COLUMNS:
            out[c] = pd.to_numeric(s, errors="raise").astype("float64").map(round_half_away).astype("float64")
        elif c in DATE_COLUMNS:
            out[c] = pd.Series([_as_date(v) for v in s], index=s.index, dtype="object")
        elif c in BOOL_COLUMNS:
            out[c] = s.fillna(False).astype(bool)
        else:
            out[c] = s.fillna("").astype(str)
    return sort_results(out)


# --------------------------------------------------------------------------
# Writing the three files (sections 1 and 2)
# --------------------------------------------------------------------------


def _python_columns(df: pd.DataFrame) -> dict[str, list[Any]]:
    """Each published column as a list of plain Python values, None for empty.

    An empty optional text cell (``unit_id`` at riket) is None too, so the
    typed files hold null exactly where the CSV has an empty cell.
    """
    cols: dict[str, list[Any]] = {}
    for c in PUBLISHED_COLUMNS:
        s = df[c]
        if c in INTEGER_COLUMNS:
            cols[c] = [None if pd.isna(v) else int(v) for v in s]
        elif c in FLOAT_COLUMNS:
            cols[c] = [None if pd.isna(v) else float(v) for v in s]
        elif c in DATE_COLUMNS:
            cols[c] = [_as_date(v) for v in s]
        elif c in BOOL_COLUMNS:
            cols[c] = [bool(v) for v in s]
        elif _COLUMN[c].required:
            cols[c] = ["" if pd.isna(v) else str(v) for v in s]
        else:
            cols[c] = [None if pd.isna(v) or str(v) == "" else str(v) for v in s]
    return cols


def neutralise_csv_text(text: str) -> str:
    """Prefix a text cell that a spreadsheet would run as a formula with a single quote."""
    return "'" + text if text.startswith(_FORMULA_PREFIXES) else text


def _csv_cell(column: str, v: Any) -> str:
    if v is None:
        return ""
    if column in BOOL_COLUMNS:
        return "true" if v else "false"
    if column in FLOAT_COLUMNS:
        # Values are already rounded to one decimal; ".1f" prints exactly that
        # decimal and never switches to exponent notation.
        return format(v, ".1f")
    if column in INTEGER_COLUMNS:
        return str(v)
    if column in DATE_COLUMNS:
        return v.isoformat()
    return neutralise_csv_text(v)


def _json_cell(column: str, v: Any) -> Any:
    if v is None:
        return None
    if column in DATE_COLUMNS:
        return v.isoformat()
    return v


def results_csv_text(df: pd.DataFrame) -> str:
    """The CSV body: header, comma, ``\\n`` line ends, empty cells for missing, true/false."""
    cols = _python_columns(df)
    lines = [",".join(PUBLISHED_COLUMNS)]
    for i in range(len(df)):
        lines.append(",".join(_csv_quote(_csv_cell(c, cols[c][i])) for c in PUBLISHED_COLUMNS))
    return "\n".join(lines) + "\n"


def _csv_quote(cell: str) -> str:
    """RFC 4180 quoting. Done here because the csv module, told ``\n`` line ends, leaves a bare CR unquoted."""
    if any(ch in cell for ch in ',"\r\n'):
        return '"' + cell.replace('"', '""') + '"'
    return cell


def results_json_text(df: pd.DataFrame) -> str:
    """A list of row objects (keys in column order), one row per line, null where the CSV is empty."""
    cols = _python_columns(df)
    rows = [
        " " + json.dumps(
            {c: _json_cell(c, cols[c][i]) for c in PUBLISHED_COLUMNS}, ensure_ascii=False, allow_nan=False
        )
        for i in range(len(df))
    ]
    if not rows:
        return "[]\n"
    return "[\n" + ",\n".join(rows) + "\n]\n"


def results_arrow_table(df: pd.DataFrame) -> pa.Table:
    """The typed table: int64, float64, date32, bool, string; no pandas index or pandas metadata."""
    cols = _python_columns(df)
    arrays = [pa.array(cols[f.name], type=f.type) for f in _ARROW_SCHEMA]
    return pa.Table.from_arrays(arrays, schema=_ARROW_SCHEMA)


def _write_bytes(path: Path, data: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def write_results(results: pd.DataFrame, folder: Path) -> list[Path]:
    """Write ``indicator_results.csv``, ``.parquet`` and ``.json`` into ``folder``.

    ``results`` should be the published frame, ``format_results(suppress(...))``;
    it is passed through ``format_results`` again (idempotent) so the files are
    always rounded and sorted. The same input gives byte-identical files: the
    writers are told every choice that could vary (line ends, float text,
    compression, no pandas metadata, no timestamps). Returns the paths written.
    """
    df = format_results(results)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)

    csv_path = folder / f"{RESULT_FILE_STEM}.csv"
    _write_bytes(csv_path, results_csv_text(df).encode("utf-8"))

    parquet_path = folder / f"{RESULT_FILE_STEM}.parquet"
    sink = pa.BufferOutputStream()
    pq.write_table(
        results_arrow_table(df),
        sink,
        compression="zstd",
        compression_level=3,
        use_dictionary=False,
        write_statistics=True,
        version="2.6",
        data_page_version="1.0",
    )
    _write_bytes(parquet_path, sink.getvalue().to_pybytes())

    json_path = folder / f"{RESULT_FILE_STEM}.json"
    _write_bytes(json_path, results_json_text(df).encode("utf-8"))
    return [csv_path, parquet_path, json_path]


def read_results(folder: Path) -> pd.DataFrame:
    """Read a published ``indicator_results.parquet`` back in the ``format_results`` form (published columns)."""
    table = pq.read_table(Path(folder) / f"{RESULT_FILE_STEM}.parquet")
    df = table.to_pandas(date_as_object=True, integer_object_nulls=False)
    return format_results(df)


def published_years(published_root: Path) -> list[int]:
    """Report years with a publication under ``published_root``, oldest first."""
    root = Path(published_root)
    if not root.is_dir():
        return []
    return sorted(
        int(p.name)
        for p in root.iterdir()
        if p.is_dir() and p.name.isdigit() and (p / f"{RESULT_FILE_STEM}.parquet").is_file()
    )


def load_history(published_root: Path, before_year: int) -> dict[int, pd.DataFrame]:
    """The published results of every report year before ``before_year``: the trend input of section 6."""
    return {
        y: read_results(Path(published_root) / str(y))
        for y in published_years(published_root)
        if y < before_year
    }
