"""The published ``indicator_results`` files and the folder they live in.

PUBLICATION.md section 2 fixes the columns, their types, the rounding and the
row order; section 1 says a publication is replaced as a whole and that a failed
run leaves the last good publication in place. Everything here is plain Python
over pandas/pyarrow so the lead engineer's Dagster assets only call it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import os
import secrets
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from nhv_pipeline.core.faults import fault_point
from nhv_pipeline.indicators.engine import key_order, result_sort_keys
from nhv_pipeline.indicators.engine import RESULT_COLUMNS as ENGINE_RESULT_COLUMNS

#: PUBLICATION.md section 2: the values the text columns with a fixed vocabulary may take.
MEASURES: tuple[str, ...] = ("count", "distribution", "proportion", "response_rate", "positive_share")
LEVELS: tuple[str, ...] = ("riket", "enhet")
BREAKDOWNS: tuple[str, ...] = (
    "total", "home_region", "sex", "sct_offered", "age_group", "contact_type", "respondent",
)  # fmt: skip


@dataclass(frozen=True)
class Column:
    """One column of indicator_results, declared once (PUBLICATION.md section 2).

    The CSV header, the Arrow/Parquet schema, the JSON rows and the Table Schema
    of ``datapackage.json`` are all derived from ``COLUMNS``, so they cannot
    drift apart. ``kind`` is a Table Schema type (``integer``, ``number``,
    ``date``, ``boolean``, ``string``). ``published=False`` marks a column that
    stays in the warehouse and is never written to a published file.
    """

    name: str
    kind: str
    description: str
    required: bool = False
    enum: tuple[str, ...] | None = None
    published: bool = True

    @property
    def arrow_type(self) -> pa.DataType:
        return {
            "integer": pa.int64(),
            "number": pa.float64(),
            "date": pa.date32(),
            "boolean": pa.bool_(),
            "string": pa.string(),
        }[self.kind]

    def table_schema_field(self) -> dict[str, Any]:
        """The Frictionless Table Schema field of this column."""
        field: dict[str, Any] = {"name": self.name, "type": self.kind, "description": self.description}
        if self.kind == "date":
            field["format"] = "default"  # ISO 8601, YYYY-MM-DD
        if self.kind == "boolean":
            field["trueValues"], field["falseValues"] = ["true"], ["false"]
        if self.kind == "number":
            field["decimalChar"] = "."
        constraints: dict[str, Any] = {}
        if self.required:
            constraints["required"] = True
        if self.enum is not None:
            constraints["enum"] = list(self.enum)
        if self.kind in ("integer",) and self.name != "report_year":
            constraints["minimum"] = 0
        if constraints:
            field["constraints"] = constraints
        return field


COLUMNS: tuple[Column, ...] = (
    Column("report_year", "integer", "Rapportår (report year R).", required=True),
    Column("condition_id", "string", "Tillstånd (NHV-område), som i indikatorkatalogen.", required=True),
    Column("indicator_id", "string", "Indikator, som i specifikationen (B1 … Ö1).", required=True),
    Column("measure", "string", "Mått: count, distribution, proportion, response_rate, positive_share.",
           required=True, enum=MEASURES),
    Column("period_start", "date", "Mätperiodens första dag.", required=True),
    Column("period_end", "date", "Mätperiodens sista dag.", required=True),
    Column("level", "string", "Nivå: riket eller enhet.", required=True, enum=LEVELS),
    Column("unit_id", "string", "Enhetens id; tomt (null) för riket."),
    Column("unit_name", "string", "Enhetens namn; Riket för riket.", required=True),
    Column("breakdown", "string", "Redovisningsgrupp; total för hela gruppen.", required=True, enum=BREAKDOWNS),
    Column("breakdown_value", "string", "Värde i redovisningsgruppen; total för total.", required=True),
    Column("breakdown_label", "string", "Svensk visningstext för värdet; Totalt för total.", required=True),
    Column("n", "integer", "Antal personer, transplantationer, kontakter eller remisser raden bygger på."),
    Column("value", "number", "Huvudvärdet: antalet, andelen i procent eller medelvärdet."),
    Column("numerator", "integer", "Täljare (andelar)."),
    Column("denominator", "integer", "Nämnare (andelar)."),
    Column("ci_low", "number", "Nedre gräns, 95 % Wilson-intervall, i procent (andelar)."),
    Column("ci_high", "number", "Övre gräns, 95 % Wilson-intervall, i procent (andelar)."),
    Column("mean", "number", "Medelvärde (fördelningar)."),
    Column("sd", "number", "Standardavvikelse (fördelningar)."),
    Column("p10", "number", "10:e percentilen (fördelningar)."),
    Column("median", "number", "Median (fördelningar)."),
    Column("p90", "number", "90:e percentilen (fördelningar)."),
    Column("suppressed", "boolean", "true när värdena är undertryckta (röjandekontroll).", required=True),
    # PUBLICATION.md section 3: why a cell was withheld stays in the warehouse.
    Column("suppression_reason", "string", "small_n or complementary (warehouse only).", published=False),
)

#: Every column of a result frame, warehouse columns included, in order.
RESULT_COLUMNS: list[str] = [c.name for c in COLUMNS]
if RESULT_COLUMNS != list(ENGINE_RESULT_COLUMNS):  # pragma: no cover - a declaration error, caught on import
    raise ImportError("publication COLUMNS and the indicator engine's RESULT_COLUMNS differ")
#: PUBLICATION.md section 2: the columns of every published file, in order.
PUBLISHED_COLUMNS: list[str] = [c.name for c in COLUMNS if c.published]
_COLUMN = {c.name: c for c in COLUMNS}

#: Identifying columns: what a suppressed row keeps (section 3).
IDENTIFYING_COLUMNS: list[str] = RESULT_COLUMNS[: RESULT_COLUMNS.index("breakdown_label") + 1]
#: Counts are integers (section 2); ``n``, ``numerator``, ``denominator`` may be empty.
INTEGER_COLUMNS: list[str] = [c.name for c in COLUMNS if c.kind == "integer"]
NULLABLE_INTEGER_COLUMNS: list[str] = [c.name for c in COLUMNS if c.kind == "integer" and not c.required]
#: Floats are rounded to one decimal, halves away from zero (section 2).
FLOAT_COLUMNS: list[str] = [c.name for c in COLUMNS if c.kind == "number"]
DATE_COLUMNS: list[str] = [c.name for c in COLUMNS if c.kind == "date"]
BOOL_COLUMNS: list[str] = [c.name for c in COLUMNS if c.kind == "boolean"]
TEXT_COLUMNS: list[str] = [c.name for c in COLUMNS if c.kind == "string"]

#: The key of one result row, in the section 2 sort order.
SORT_COLUMNS: list[str] = [
    "report_year",
    "condition_id",
    "indicator_id",
    "measure",
    "level",
    "unit_id",
    "breakdown",
    "breakdown_value",
]
#: The primary key of the published table (one row per key; ``sort_results`` enforces it).
PRIMARY_KEY: list[str] = list(SORT_COLUMNS)

RESULT_FILE_STEM = "indicator_results"
RESULTS_CSV = f"{RESULT_FILE_STEM}.csv"

_ARROW_SCHEMA = pa.schema(
    [pa.field(c.name, c.arrow_type, nullable=not c.required) for c in COLUMNS if c.published]
)


def table_schema(catalogue: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The Frictionless Table Schema of the published indicator_results (derived from ``COLUMNS``).

    With ``catalogue`` (indicator_catalogue.json entries) the vocabularies of ``measure`` and
    ``breakdown`` also take in what the registered conditions declare beyond section 2's lists.
    """
    extra: dict[str, list[str]] = {"measure": [], "breakdown": []}
    for entry in catalogue or []:
        extra["measure"] += [str(m) for m in entry.get("measures", [])]
        extra["breakdown"] += [str(b) for b in entry.get("breakdowns", [])]
    fields = []
    for c in COLUMNS:
        if not c.published:
            continue
        field = c.table_schema_field()
        if c.name in extra and c.enum is not None:
            field["constraints"]["enum"] = list(dict.fromkeys([*c.enum, *extra[c.name]]))
        fields.append(field)
    return {
        "fields": fields,
        "primaryKey": list(PRIMARY_KEY),
        "missingValues": [""],
    }


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


# --------------------------------------------------------------------------
# Replacing a publication as a whole (section 1)
# --------------------------------------------------------------------------

_STAGING_PREFIX = ".staging-"
_RETIRED_PREFIX = ".retired-"


def _fsync_dir(path: Path) -> None:
    """Make a rename durable; best effort (not every platform can open a directory)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def recover_publications(published_root: Path, report_year: int | None = None) -> list[Path]:
    """Undo what a run killed in the middle of a swap left behind.

    Without an atomic exchange a swap renames ``<year>`` to
    ``.retired-<year>-<random>`` and then the staging folder to ``<year>``. A
    crash between the two leaves no ``<year>`` but a retired folder: that is the
    last good publication, so it is renamed back. A retired folder next to a
    present ``<year>`` is a finished swap whose clean-up did not run, and a
    ``.staging-*`` folder is an unfinished publication or, after an exchange,
    the replaced one: both are removed. With ``report_year`` only that year's
    leftovers are touched, so a run publishing another year at the same time
    keeps its staging folder. Returns the year folders restored.
    """
    root = Path(published_root)
    if not root.is_dir():
        return []
    year_glob = "*" if report_year is None else f"{int(report_year)}-*"
    restored: list[Path] = []
    for retired in sorted(root.glob(f"{_RETIRED_PREFIX}{year_glob}")):
        year = retired.name[len(_RETIRED_PREFIX) :].split("-", 1)[0]
        target = root / year
        if not target.exists():
            os.rename(retired, target)
            restored.append(target)
        else:
            shutil.rmtree(retired, ignore_errors=True)
    for staging in sorted(root.glob(f"{_STAGING_PREFIX}{year_glob}")):
        shutil.rmtree(staging, ignore_errors=True)
    _fsync_dir(root)
    return restored


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


PUBLISHED_DIR_MODE = 0o755
PUBLISHED_FILE_MODE = 0o644


def make_world_readable(folder: Path) -> None:
    """Section 5: published folders 0755 and files 0644, so a web server or a publisher's account can read them.

    ``tempfile.mkdtemp`` makes the staging folder 0700; this runs on it (and
    everything below it) before it is swapped in. Symbolic links are left alone.
    """
    folder = Path(folder)
    os.chmod(folder, PUBLISHED_DIR_MODE)
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames:
            p = Path(dirpath) / name
            if not p.is_symlink():
                os.chmod(p, PUBLISHED_DIR_MODE)
        for name in filenames:
            p = Path(dirpath) / name
            if not p.is_symlink():
                os.chmod(p, PUBLISHED_FILE_MODE)


def make_published_root(published_root: Path) -> Path:
    """The publications' folder, created 0755 if missing.

    Section 5: it is for everyone, while a run's umask keeps the warehouse around it owner-only.
    """
    root = Path(published_root)
    if not root.is_dir():
        root.mkdir(parents=True, exist_ok=True)
        os.chmod(root, PUBLISHED_DIR_MODE)
    return root


def _discard(retired: Path) -> None:
    shutil.rmtree(retired)


_RENAME_EXCHANGE = 2  # linux/fs.h
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two existing directory entries in one atomic step: Linux ``renameat2(RENAME_EXCHANGE)``.

    Returns False where the kernel, the C library or the file system cannot
    (another OS, glibc before 2.28, some network file systems); the caller then
    falls back to two renames. Any other error is raised.
    """
    if not sys.platform.startswith("linux"):
        return False
    import ctypes
    import errno

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    renameat2.restype = ctypes.c_int
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    error = ctypes.get_errno()
    if error in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(error, os.strerror(error), str(a), None, str(b))


@contextlib.contextmanager
def publish_folder(
    published_root: Path,
    report_year: int,
    on_replaced: Callable[[Path], None] | None = None,
) -> Iterator[Path]:
    """Yield an empty staging folder; on success it becomes ``published_root/<report_year>``.

    Section 1: readers never see a mix of an old and a new publication, and a
    failed run leaves the last good one in place. So every file is written into
    ``.staging-<year>-<random>`` beside the target (same file system, so the
    renames are atomic) and only a block that finishes swaps it in:

    1. staging and ``<year>`` are exchanged in one step (``renameat2`` with
       ``RENAME_EXCHANGE``): at every instant ``<year>`` is the old folder or the
       new one, even under ``kill -9``; the staging name then holds the old one.
       With no previous publication, staging is simply renamed to ``<year>``.
    2. ``on_replaced(previous)`` — the hook for keeping old publications; by
       default the previous folder is deleted.

    Where no atomic exchange exists, two renames are used instead:
    ``<year>`` -> ``.retired-<year>-<random>``, then staging -> ``<year>``; between
    them ``<year>`` is briefly absent (never mixed), and a crash right there
    leaves the old publication as ``.retired-*``, which ``recover_publications``
    (run on entry here, for this year, and at the start of every CLI run for all
    years) renames back.
    On an exception inside the block the staging folder is removed, the
    previous publication is not touched, and the exception propagates.
    """
    root = make_published_root(published_root)
    recover_publications(root, report_year)
    staging = Path(tempfile.mkdtemp(prefix=f"{_STAGING_PREFIX}{int(report_year)}-", dir=root))
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise

    target = root / str(int(report_year))
    previous: Path | None = None
    try:
        make_world_readable(staging)
        _fsync_dir(staging)
        if target.exists() and _exchange(staging, target):
            previous = staging  # the staging name now holds the previous publication
            _fsync_dir(root)
            fault_point("publish_swap")
        else:
            if target.exists():
                previous = root / f"{_RETIRED_PREFIX}{int(report_year)}-{secrets.token_hex(6)}"
                os.rename(target, previous)
                fault_point("publish_swap_gap")
            try:
                os.rename(staging, target)
            except BaseException:
                if previous is not None:
                    os.rename(previous, target)
                raise
            _fsync_dir(root)
            fault_point("publish_swap")
    except BaseException:
        if previous is not staging:
            shutil.rmtree(staging, ignore_errors=True)
        raise
    if previous is not None:
        (on_replaced or _discard)(previous)
