"""Rules that read a unit's earlier deliveries (DATA_CONTRACT.md 1, 4.3, 6): one helper for every condition.

An earlier delivery D(y) is read with the same reader and the same model as in its own year;
rows that are unreadable, break a rule of their own file, or whose key is repeated or redacted
are simply not found. Deliveries are never modified (section 1). The messages name columns and
rules, never a value (section 3).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from . import rules
from .values import date_columns, model_failures, table_rule_failures
from .reader import is_inside_root, is_regular_file, parse_contract_csv, read_bytes_limited
from .schema import model_columns, model_kinds, usable, with_dates


def earlier_rows(
    data_root: Path, condition, table: str, year: int, unit_ids: Iterable[str], key: str,
    parsed: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """The valid rows of `table` in the delivery D(year) of the given units.

    Text columns as delivered, `unit_id`, `delivery_year`, and for each `parsed` name -> date
    column that date parsed (datetime64). `key` is the column that identifies a row across
    deliveries (a transplant_id, an operation_id): a row whose key is repeated or empty is not found.
    """
    model = condition.tables[table]
    parsed = dict(parsed or {})
    files = []
    for unit_id in sorted(unit_ids):
        path = data_root / str(year) / condition.condition_id / unit_id / f"{table}.csv"
        if not is_regular_file(path) or not is_inside_root(path, data_root) or not is_inside_root(path.parent, data_root):
            continue
        data = read_bytes_limited(path)  # read-only, section 1; a too large file was reported in its own year
        if data is None:
            continue
        files.append((data, path.relative_to(data_root).as_posix(), unit_id))
    empty = _no_rows(model, parsed)
    if not files:
        return empty
    return pd.concat([empty, _valid_rows(model, tuple(files), year, key, tuple(parsed.items()))], ignore_index=True)


@lru_cache(maxsize=16)
def _valid_rows(model, files: tuple[tuple[bytes, str, str], ...], year: int, key: str, parsed: tuple) -> pd.DataFrame:
    """The valid rows of the files (data, path, unit_id), every unit's together: their rules run once for all of them.

    Content-keyed: every validation of later years re-reads the same immutable deliveries (section 1).
    """
    columns = model_columns(model)
    ids = [c for c, kind in model_kinds(model).items() if kind == "id"]
    frames = []
    for data, rel, unit_id in files:
        read = parse_contract_csv(data, rel, columns, ids)
        if read.frame is not None:
            frames.append(read.frame.assign(unit_id=unit_id, source_file=rel))
    if not frames:
        return _no_rows(model, dict(parsed))
    frame = pd.concat(frames, ignore_index=True)
    dated = with_dates(frame, date_columns(model))
    broken = rules.concat([model_failures(model, frame), table_rule_failures(model, frame, year, dated)])
    ok = pd.Series(True, index=frame.index)
    if not broken.empty:  # a file's rows are told apart by their line, the units' files by their path
        lines = broken.dropna(subset=["line"])
        at = set(zip(lines["file"], lines["line"].astype("int64"), strict=True))
        ok &= np.array([pair not in at for pair in zip(frame["source_file"], frame["source_line"], strict=True)], dtype=bool)
    ok &= ~frame.duplicated(["unit_id", key], keep=False) & usable(frame[key])
    for column in ids:
        ok &= usable(frame[column]) | frame[column].isna()
    out = frame.loc[ok, [*columns, "unit_id"]]
    out = out.assign(**{name: dated.loc[ok, column] for name, column in parsed}, delivery_year=year)
    return out.reset_index(drop=True)


def _no_rows(model, parsed: Mapping[str, str]) -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series([], dtype=object) for c in [*model_columns(model), "unit_id"]})
    return frame.assign(**{name: pd.Series([], dtype="datetime64[ns]") for name in parsed},
                        delivery_year=pd.Series([], dtype="int64"))


def latest_earlier(deliveries: Iterable[pd.DataFrame], key: str) -> pd.DataFrame:
    """Each row once per (unit, key): from the latest delivery that holds it."""
    frames = [frame for frame in deliveries if not frame.empty]
    if not frames:
        return pd.DataFrame(columns=["unit_id", key, "delivery_year"])
    latest = pd.concat(frames, ignore_index=True).sort_values("delivery_year", ascending=False, kind="stable")
    return latest.drop_duplicates(["unit_id", key])


def neutral_change_message(column: str, key: str, may_fill: bool) -> str:
    """What the unit reads when a kept field changed since an earlier delivery (no value is named)."""
    if may_fill:
        return (f"{column} skiljer sig från det som levererades tidigare för samma {key}; "
                f"bara ett tomt {column} får fyllas i senare.")
    return (f"{column} skiljer sig från det som levererades tidigare för samma {key}; "
            f"värdet behålls mellan leveranserna och ett {key} återanvänds aldrig.")


def changed_since_earlier(
    now: pd.DataFrame, earlier: pd.DataFrame, key: str, fields: Iterable[str], rule: str = rules.CHANGED_SINCE_EARLIER,
    may_fill: Iterable[str] = (), message: Callable[[str, str, bool], str] = neutral_change_message,
) -> pd.DataFrame:
    """Failures for rows of this delivery whose kept `fields` differ from the latest earlier delivery.

    A field in `may_fill` may go from empty to filled, never back or to another value; an
    empty required field is the `required` rule's failure, not a change. `message(column, key,
    may_fill)` words the failure (the neutral wording by default).
    """
    may_fill = set(may_fill)
    fields = list(fields)
    current = now[usable(now[key])]
    before = current[["unit_id", key]].merge(
        earlier[["unit_id", key, *fields]], on=["unit_id", key], how="left", indicator=True
    ).set_axis(current.index)
    parts = []
    for column in fields:
        known = (before["_merge"] == "both") & before[column].notna()
        if column in may_fill:
            changed = known & (current[column].isna() | (current[column] != before[column]))
        elif column.endswith("_id"):  # a redacted or unusable id is another rule's failure, not a change
            changed = known & usable(current[column]) & (current[column] != before[column])
        else:
            changed = known & current[column].notna() & (current[column] != before[column])
        parts.append(rules.failures_where(current, changed.fillna(False).astype(bool), column, rule,
                                          message(column, key, column in may_fill)))
    return rules.concat(parts)
