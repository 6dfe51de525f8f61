"""Small markdown tables for asset and check metadata in the Dagster UI."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd


def cell(value) -> str:
    """A table cell: empty for missing values, floats with one decimal but whole numbers without one
    (a count of 102 is 102, even in a float column), pipes escaped."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.1f}".removesuffix(".0")
    return str(value).replace("|", "\\|").replace("\n", " ")


def frame_to_markdown(frame: pd.DataFrame, columns: Sequence[str] | None = None, limit: int = 25) -> str:
    """The first `limit` rows as a markdown table, with a line saying how many were left out."""
    columns = list(columns if columns is not None else frame.columns)
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in frame[columns].head(limit).itertuples(index=False):
        lines.append("| " + " | ".join(cell(value) for value in row) + " |")
    if len(frame) > limit:
        lines.append(f"\n… and {len(frame) - limit} more rows.")
    return "\n".join(lines)
