"""How contract failures are shown in the Dagster UI (the terminal summary is in contract.reports).

The failure rows come from `nhv_pipeline.contract`; they name report year,
condition, unit, file, line, column and rule, never a cell value, so they are
safe for metadata and logs (DATA_CONTRACT.md sections 3 and 6).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd
from dagster import MetadataValue

from nhv_pipeline.core.markdown import frame_to_markdown

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
