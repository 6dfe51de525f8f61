"""How contract failures are shown in the Dagster UI and on the command line.

The failure rows come from `nhv_pipeline.contract`; they name report year,
condition, unit, file, line, column and rule, never a cell value, so they are
safe for metadata and logs (DATA_CONTRACT.md sections 3 and 6).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd
from dagster import MetadataValue

from nhv_pipeline.markdown import cell, frame_to_markdown

SAMPLE_ROWS = 25
"""How many failures a check shows in the UI; the unit reports hold them all."""


def failures_markdown(failures: pd.DataFrame, limit: int = SAMPLE_ROWS) -> str:
    shown = failures.assign(line=failures["line"].astype("Int64").astype("string"))
    return frame_to_markdown(shown, ["unit_id", "file", "line", "column", "rule", "message"], limit)


def failure_check_metadata(failures: pd.DataFrame, report_paths: Iterable[Path]) -> dict:
    """Check metadata a person can act on: counts per rule and unit, the first failures, the reports."""
    metadata: dict = {"failure_count": len(failures)}
    if len(failures):
        metadata["failures_by_rule"] = {
            str(rule): int(n) for rule, n in failures.groupby("rule").size().sort_index().items()
        }
        metadata["failures_by_unit"] = {
            (str(unit) or "(registry)"): int(n)
            for unit, n in failures.groupby("unit_id").size().sort_index().items()
        }
        metadata["first_failures"] = MetadataValue.md(failures_markdown(failures))
    reports = sorted(str(p) for p in report_paths)
    if reports:
        metadata["validation_reports"] = MetadataValue.json(reports)
    return metadata


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
        column = f", column {first['column']}" if cell(first["column"]) else ""
        more = f" (+{len(group) - 1} more of this rule)" if len(group) > 1 else ""
        lines.append(
            f"{report_year} {condition_id} {cell(unit_id) or '(registry)'} {file} {where}{column}: "
            f"[{rule}] {first['message']}{more}"
        )
    return lines
