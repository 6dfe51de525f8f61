"""From the validated text layer to typed staging frames, typed by the pandera models' `kind`."""

from __future__ import annotations

import pandas as pd

from .schema import column_kinds, parse_dates

# The text frame's lineage columns and what they become.
LINEAGE_TYPES = {"report_year": "int64", "unit_id": object, "source_file": object, "source_line": "int64"}


def to_staged(condition_id: str, table: str, raw_df: pd.DataFrame) -> pd.DataFrame:
    """Type a raw text frame that passed validation.

    dates -> datetime64[ns] (NaT when empty), booleans -> nullable `boolean`, ids, codes and
    text -> str objects (None when empty); lineage columns are kept.
    """
    staged = {}
    for column, kind in column_kinds(condition_id, table).items():
        values = raw_df[column]
        if kind == "date":
            staged[column] = parse_dates(values).astype("datetime64[ns]")
        elif kind == "bool":
            staged[column] = values.map({"1": True, "0": False}).astype("boolean")
        else:
            staged[column] = values.astype(object).where(values.notna(), None)
    for column, dtype in LINEAGE_TYPES.items():
        if column in raw_df.columns:
            staged[column] = raw_df[column].astype(dtype)
    return pd.DataFrame(staged, index=raw_df.index).reset_index(drop=True)
