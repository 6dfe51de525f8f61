"""From the validated text layer to typed staging frames, typed by the pandera models' `kind`."""

from __future__ import annotations

import pandas as pd

from nhv_pipeline.core.condition import Condition

from .schema import NUMBER_PATTERN, column_kinds, parse_dates, parse_numbers

# The text frame's lineage columns and what they become.
LINEAGE_TYPES = {"report_year": "int64", "unit_id": object, "source_file": object, "source_line": "int64"}


def to_staged(condition: Condition, table: str, raw_df: pd.DataFrame) -> pd.DataFrame:
    """Type a raw text frame that passed validation.

    dates -> datetime64[ns] (NaT when empty), booleans -> nullable `boolean`, numbers -> float64
    (NaN when empty), ids, codes and
    text -> str objects (None when empty); lineage columns are kept.
    """
    staged = {}
    for column, kind in column_kinds(condition, table).items():
        values = raw_df[column]
        if kind == "date":
            staged[column] = parse_dates(values).astype("datetime64[ns]")
        elif kind == "bool":
            staged[column] = values.map({"1": True, "0": False}).astype("boolean")
        elif kind == "number":
            staged[column] = parse_numbers(values)
        else:
            staged[column] = values.astype(object).where(values.notna(), None)
    for column, dtype in LINEAGE_TYPES.items():
        if column in raw_df.columns:
            staged[column] = raw_df[column].astype(dtype)
    return pd.DataFrame(staged, index=raw_df.index).reset_index(drop=True)


# The same typing in DuckDB, for the staged step: the raw rows never become Python objects.
# A date is strictly YYYY-MM-DD, a real calendar date and inside the range datetime64[ns]
# holds (what `parse_dates` gives), else NULL; booleans are '1' / '0', else NULL.
_SQL_DATE = (
    "case when regexp_full_match({c}, '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}') "
    "and try_strptime({c}, '%Y-%m-%d') between timestamp '1677-09-22' and timestamp '2262-04-11' "
    "then try_strptime({c}, '%Y-%m-%d')::timestamp_ns end"
)
_SQL_BOOL = "case {c} when '1' then true when '0' then false end"
_SQL_NUMBER = (
    "case when regexp_full_match({c}, '" + NUMBER_PATTERN + "') then try_cast(replace({c}, ',', '.') as double) end"
)
_SQL_LINEAGE = {"report_year": "bigint", "unit_id": "varchar", "source_file": "varchar", "source_line": "bigint"}


def staged_select(condition: Condition, table: str, source: str) -> str:
    """A DuckDB `select` over the raw table `source` (quoted) that types it as `to_staged` does.

    The result has `to_staged`'s columns, in its order, with the types its frame is stored with
    (TIMESTAMP_NS, BOOLEAN, DOUBLE, VARCHAR, BIGINT lineage); filter and order it by appending to it.
    """
    columns = []
    for column, kind in column_kinds(condition, table).items():
        name = _identifier(column)
        if kind == "date":
            columns.append(f"{_SQL_DATE.format(c=name)} as {name}")
        elif kind == "bool":
            columns.append(f"{_SQL_BOOL.format(c=name)} as {name}")
        elif kind == "number":
            columns.append(f"{_SQL_NUMBER.format(c=name)} as {name}")
        else:
            columns.append(f"{name}::varchar as {name}")
    columns += [f"{_identifier(column)}::{type_} as {_identifier(column)}" for column, type_ in _SQL_LINEAGE.items()]
    return f"select {', '.join(columns)} from {source}"


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
