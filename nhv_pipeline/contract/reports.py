"""Per-unit validation reports: the full failure list a unit gets back (DATA_CONTRACT.md 6)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from nhv_pipeline.faults import fault_point

REPORT_COLUMNS = ["file", "line", "column", "rule", "message"]
REGISTRY_REPORT = "_registry.csv"


def _write_atomically(frame: pd.DataFrame, target: Path) -> None:
    """Write next to the target, then os.replace: a reader never sees half a report."""
    handle, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.stem}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            frame.to_csv(out, index=False)
            out.flush()
            fault_point("validation_report")
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def write_unit_reports(
    failures: pd.DataFrame, validation_dir: Path, report_year: int, condition_id: str, unit_ids: Iterable[str]
) -> list[Path]:
    """Write `<validation_dir>/<report_year>/<condition_id>/<unit_id>.csv` for every unit in unit_ids.

    A unit without failures gets a header-only report, so it sees that it passed. Failures
    without a unit (the registry) go to `_registry.csv`; that file is written when there
    are such failures and removed otherwise, so no stale registry report survives a re-run.
    """
    folder = Path(validation_dir) / str(report_year) / condition_id
    folder.mkdir(parents=True, exist_ok=True)
    scoped = failures[(failures["report_year"] == report_year) & (failures["condition_id"] == condition_id)]
    scoped = scoped.sort_values(["unit_id", "file", "line", "column", "rule"], na_position="first", kind="stable")
    written = []
    for unit_id in sorted(set(unit_ids)):
        target = folder / f"{unit_id}.csv"
        _write_atomically(scoped.loc[scoped["unit_id"] == unit_id, REPORT_COLUMNS], target)
        written.append(target)
    registry = scoped.loc[scoped["unit_id"].fillna("") == "", REPORT_COLUMNS]
    target = folder / REGISTRY_REPORT
    if registry.empty:
        target.unlink(missing_ok=True)
    else:
        _write_atomically(registry, target)
        written.append(target)
    return written


def failure_summary_lines(failures: pd.DataFrame) -> list[str]:
    """One line per (condition, unit, file, rule) for a terminal: the first failure and how many more.

    DATA_CONTRACT.md section 6: the failure names report year, condition, unit,
    file, line, column, the rule, and a count of further failures of the same rule.
    """
    lines = []
    if failures.empty:
        return lines
    keys = ["report_year", "condition_id", "unit_id", "file", "rule"]
    ordered = failures.sort_values(keys + ["line", "column"], na_position="first", kind="stable")
    for key, group in ordered.groupby(keys, sort=False, dropna=False):
        first = group.iloc[0]
        report_year, condition_id, unit_id, file, rule = key
        where = f"line {int(first['line'])}" if pd.notna(first["line"]) else "no line"
        column = f", column {first['column']}" if _cell(first["column"]) else ""
        more = f" (+{len(group) - 1} more of this rule)" if len(group) > 1 else ""
        lines.append(
            f"{report_year} {condition_id} {_cell(unit_id) or '(registry)'} {file} {where}{column}: "
            f"[{rule}] {first['message']}{more}"
        )
    return lines


def _cell(value) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return str(value)
