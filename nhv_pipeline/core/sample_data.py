"""Seeded synthetic sample deliveries: a complete ``data_raw/`` tree.

Everything written here is invented. No row describes a real person: identifiers are
``P`` + digits, dates and codes are drawn from a seeded ``numpy`` generator, so the
same ``seed`` and ``scale`` always give byte-identical files.

The tree follows ``DATA_CONTRACT.md`` (layout §1, file format §2, identifiers §3, the
tables of each condition) and is shaped so that every indicator of ``INDICATORS.md`` has
something to count, including the edge cases the rules single out. This module writes the
registry and the files and holds the small helpers; each condition's package generates its
own units' deliveries (``Condition.sample_data``); ``generate`` is given the conditions
(``sample-data`` gives every registered condition).
"""

from __future__ import annotations

import csv
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from nhv_pipeline.core import labels
from nhv_pipeline.core.condition import Condition

DEFAULT_SEED = 20260331

DAY = np.timedelta64(1, "D")
NAT = np.datetime64("NaT", "D")


def d(text: str) -> np.datetime64:
    return np.datetime64(text, "D")


# ---------------------------------------------------------------------------
# Registry (DATA_CONTRACT.md §1, units.csv); each condition's package has its units and tables
# ---------------------------------------------------------------------------

#: Two-digit county codes of DATA_CONTRACT.md §3 (from the shared labels); ``99`` = not registered in Sweden.
REGION_CODES = labels.REGION_CODES
NOT_REGISTERED = "99"


@dataclass(frozen=True)
class SampleUnit:
    """One NHV unit of the sample registry and how its synthetic extracts look."""

    condition_id: str
    unit_id: str
    unit_name: str
    permit_start: str
    permit_end: str | None
    #: ``;`` for a unit that exports from Swedish Excel (DATA_CONTRACT.md §2).
    delimiter: str
    #: home regions of the unit's catchment, most frequent first
    catchment: tuple[str, ...]


def sample_units(conditions: Iterable[Condition]) -> tuple[SampleUnit, ...]:
    """The sample registry: the conditions' sample units, in their order."""
    return tuple(unit for condition in conditions for unit in condition.sample_units)


@dataclass(frozen=True)
class GenerationSummary:
    """What :func:`generate` wrote."""

    out_dir: Path
    seed: int
    scale: float
    #: every file written, relative to ``out_dir``, sorted
    files: tuple[Path, ...]
    #: data rows (header excluded) per (condition_id, report_year, table), all units summed
    rows: Mapping[tuple[str, int, str], int]
    #: data rows per (condition_id, report_year, unit_id, table)
    unit_rows: Mapping[tuple[str, int, str, str], int]

    @property
    def files_written(self) -> int:
        return len(self.files)

    def __str__(self) -> str:
        """One line for the CLI: files, rows per condition, seed and scale."""
        totals: dict[str, int] = {}
        for (condition_id, _report_year, _table), count in self.rows.items():
            totals[condition_id] = totals.get(condition_id, 0) + count
        rows = ", ".join(f"{condition_id} {count} rows" for condition_id, count in sorted(totals.items()))
        return f"{self.files_written} files; {rows}; seed {self.seed}, scale {self.scale:g}"


# ---------------------------------------------------------------------------
# Small vectorised helpers
# ---------------------------------------------------------------------------

def scaled(n: int, scale: float) -> int:
    return max(1, int(round(int(n) * scale)))


def days(rng: np.random.Generator, lo: int, hi: int, size: int) -> np.ndarray:
    """Whole-day offsets drawn uniformly from lo..hi, both included."""
    return rng.integers(lo, hi + 1, size).astype("timedelta64[D]")


def between(rng: np.random.Generator, lo, hi, size: int) -> np.ndarray:
    """Dates drawn uniformly from lo..hi (scalars or arrays), both included."""
    lo = np.broadcast_to(np.asarray(lo, dtype="datetime64[D]"), (size,))
    hi = np.broadcast_to(np.asarray(hi, dtype="datetime64[D]"), (size,))
    span = (hi - lo).astype(np.int64) + 1
    return lo + (rng.random(size) * span).astype(np.int64).astype("timedelta64[D]")


def year(dates: np.ndarray) -> np.ndarray:
    """Calendar year of each date; NaT gives -1."""
    years = dates.astype("datetime64[Y]").astype(np.int64) + 1970
    return np.where(np.isnat(dates), -1, years)


def jan1(year: int) -> np.datetime64:
    return d(f"{year}-01-01")


def dec31(year: int) -> np.datetime64:
    return d(f"{year}-12-31")


def extract_date(report_year: int) -> np.datetime64:
    """The day a unit cuts its extract for the March delivery of ``report_year``.

    Events after it are not yet known to the delivery (a decision taken later is
    empty, an unanswered survey has no response date).
    """
    return d(f"{report_year}-02-15")


def flag(values: np.ndarray, present: np.ndarray | None = None) -> pd.arrays.IntegerArray:
    """A 1/0 column; empty where ``present`` is False (the contract's "iff" columns).

    An array, not a Series, so that assigning it never aligns on a filtered index.
    """
    values = np.asarray(values, dtype=np.int8)
    missing = np.zeros(len(values), dtype=bool) if present is None else ~np.asarray(present, dtype=bool)
    return pd.arrays.IntegerArray(values, missing)


def regions(rng: np.random.Generator, unit: SampleUnit, size: int) -> np.ndarray:
    """Home regions: mostly the catchment, some from the whole country, a few ``99``."""
    weights = 1.0 / np.arange(1, len(unit.catchment) + 1)
    local = rng.choice(np.array(unit.catchment), size, p=weights / weights.sum())
    national = rng.choice(np.array(REGION_CODES), size)
    draw = rng.random(size)
    return np.where(draw < 0.84, local, np.where(draw < 0.965, national, NOT_REGISTERED))


def ids(prefix: str, unit_no: int, count: int, start: int = 0) -> np.ndarray:
    """Pseudonymous ids ``<prefix><6+ digits>``: letters first, so never a personnummer (§3)."""
    numbers = unit_no * 100_000 + start + np.arange(1, count + 1)
    return np.char.add(prefix, np.char.zfill(numbers.astype(str), 6))


def drop_same_day_answers(survey: pd.DataFrame) -> pd.DataFrame:
    """Keep one answer per patient and response date (INDICATORS.md §3 P1: two is an error)."""
    duplicate = survey["response_date"].notna() & survey.duplicated(["patient_id", "response_date"])
    return survey.loc[~duplicate].reset_index(drop=True)


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------

def _as_text(values: pd.Series) -> list[str]:
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.strftime("%Y-%m-%d").fillna("").tolist()
    return values.astype("string").fillna("").tolist()


def _write_csv(path: Path, frame: pd.DataFrame, delimiter: str) -> None:
    """UTF-8, ``\\n`` line ends, minimal quoting (DATA_CONTRACT.md §2)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = [_as_text(frame[name]) for name in frame.columns]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        writer.writerow(list(frame.columns))
        writer.writerows(zip(*columns))


README_TEXT = """\
# Synthetic sample deliveries

**Everything in this folder is synthetic.** It was generated by

    nhv-pipeline sample-data --out data_raw --seed {seed}{scale_option}

from a seeded random generator (`nhv_pipeline/core/sample_data.py`). No row describes a
real patient: identifiers are invented (`P` + digits), dates, sexes and home regions
are random draws. Never put real patient data in this repository.

{layout}

Re-running the command with the same seed and scale gives byte-identical files.
"""


def _coverage(rows: Mapping[tuple[str, int, str], int]) -> str:
    """"`a` report years 2024-2026 and `b` report year 2026": what the tree holds, in the conditions' order."""
    years: dict[str, list[int]] = {}
    for condition_id, report_year, _table in rows:
        years.setdefault(condition_id, [])
        if report_year not in years[condition_id]:
            years[condition_id].append(report_year)
    parts = []
    for condition_id, found in years.items():
        found = sorted(found)
        span = f"report year {found[0]}" if len(found) == 1 else f"report years {found[0]}-{found[-1]}"
        parts.append(f"`{condition_id}` {span}")
    return " and ".join([", ".join(parts[:-1]), parts[-1]] if len(parts) > 1 else parts)


def generate(
    out_dir: Path, conditions: Iterable[Condition], seed: int = DEFAULT_SEED, scale: float = 1.0
) -> GenerationSummary:
    """Write a complete synthetic ``data_raw/`` tree under ``out_dir`` for ``conditions`` (in their order).

    ``scale`` multiplies the row volumes of every condition's generator (1 = the sample volume).
    Files the generator owns are overwritten; nothing else in ``out_dir`` is touched.
    """
    if scale <= 0:
        raise ValueError("scale must be positive")
    out_dir = Path(out_dir)
    conditions = tuple(conditions)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    rows: dict[tuple[str, int, str], int] = {}
    unit_rows: dict[tuple[str, int, str, str], int] = {}

    def write(relative: Path, frame: pd.DataFrame, delimiter: str = ",") -> None:
        _write_csv(out_dir / relative, frame, delimiter)
        written.append(relative)

    units = sample_units(conditions)
    write(Path("units.csv"), pd.DataFrame({
        "condition_id": [u.condition_id for u in units],
        "unit_id": [u.unit_id for u in units],
        "unit_name": [u.unit_name for u in units],
        "permit_start": [u.permit_start for u in units],
        "permit_end": [u.permit_end or "" for u in units],
    }))

    # Seeds per condition (its registration order) and unit (its place in the sample registry):
    # adding a condition after the others leaves their files byte-identical.
    unit_no = 0
    for condition_no, condition in enumerate(conditions):
        for unit in condition.sample_units:
            unit_no += 1
            if condition.sample_data is None:
                continue
            tables_by_year = condition.sample_data(condition, [seed, condition_no, unit_no], unit, unit_no, scale)
            for report_year, tables in sorted(tables_by_year.items()):
                for table, frame in tables.items():
                    write(Path(str(report_year), unit.condition_id, unit.unit_id, f"{table}.csv"),
                          frame, unit.delimiter)
                    key = (unit.condition_id, report_year, table)
                    rows[key] = rows.get(key, 0) + len(frame)
                    unit_rows[(unit.condition_id, report_year, unit.unit_id, table)] = len(frame)

    scale_option = "" if scale == 1 else f" --scale {scale:g}"
    readme = out_dir / "README.md"
    layout = textwrap.fill(
        "The tree follows `DATA_CONTRACT.md`: `units.csv`, then `<report_year>/<condition_id>/<unit_id>/<table>.csv`, "
        f"for {_coverage(rows)}. Some units write `;` as the delimiter (Swedish Excel style), the rest `,`.",
        width=84, break_on_hyphens=False, break_long_words=False,
    )
    readme.write_text(README_TEXT.format(seed=seed, scale_option=scale_option, layout=layout),
                      encoding="utf-8", newline="\n")
    written.append(Path("README.md"))

    return GenerationSummary(out_dir=out_dir, seed=seed, scale=scale, files=tuple(sorted(written)),
                             rows=rows, unit_rows=unit_rows)
