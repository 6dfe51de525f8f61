"""Corrections: a re-published report year keeps the publication it replaces, and says what changed.

When a unit re-delivers a corrected folder and the year is re-run, the new
publication holds the previous one under `history/<UTC timestamp>/` (the time
the previous one was published) and a `changes.csv` listing every published
figure that changed, from what to what. A re-run that changes no figure keeps
no new copy (the history records corrections, not re-runs).

Only published (suppressed, rounded) figures are compared, so the change
summary discloses nothing the publications themselves do not.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd

from nhv_pipeline.publication.disclosure import WITHHELD_COLUMNS
from nhv_pipeline.publication.columns import PRIMARY_KEY, RESULTS_CSV

HISTORY_DIR = "history"
CHANGES_FILE = "changes.csv"
#: A result row's key within one report year's folder (the published key without the year).
KEY = [column for column in PRIMARY_KEY if column != "report_year"]
#: The published figures compared (only what the published CSV holds: no suppression reason, PUBLICATION.md 3).
FIGURES = [*WITHHELD_COLUMNS, "suppressed", "period_start", "period_end"]
CHANGE_COLUMNS = KEY + ["figure", "before", "after"]


def _read_published_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def figure_changes(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Every published figure that differs, as text exactly as published; rows that came or went too."""
    merged = before.merge(after, on=KEY, how="outer", suffixes=("_before", "_after"), indicator=True)
    changes = []
    for figure in (f for f in FIGURES if f in before.columns and f in after.columns):
        old, new = merged[f"{figure}_before"].fillna(""), merged[f"{figure}_after"].fillna("")
        differs = (old != new) & (merged["_merge"] == "both")
        if differs.any():
            part = merged.loc[differs, KEY].assign(figure=figure, before=old[differs], after=new[differs])
            changes.append(part)
    for side, figure_text in (("left_only", "row removed"), ("right_only", "row added")):
        rows = merged[merged["_merge"] == side]
        if len(rows):
            changes.append(rows[KEY].assign(figure=figure_text, before="", after=""))
    if not changes:
        return pd.DataFrame(columns=CHANGE_COLUMNS)
    return pd.concat(changes, ignore_index=True)[CHANGE_COLUMNS].sort_values(CHANGE_COLUMNS, kind="stable").reset_index(drop=True)


def _published_at(folder: Path) -> str:
    """`2026-03-31T06:00:00Z` in the manifest -> `20260331T060000Z`, a folder name that sorts in time."""
    try:
        stamp = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["published_at_utc"]
    except (OSError, ValueError, KeyError):
        stamp = "unknown"
    return stamp.replace("-", "").replace(":", "")


def carry_history(previous: Path, staging: Path) -> pd.DataFrame | None:
    """Fill `staging` (the new publication being written) with the history of `previous`.

    Returns the figure changes when the results changed (and the previous
    publication was kept under history/), None when nothing changed or there
    was no previous publication. Call after the new results files are written.
    """
    if not (previous / RESULTS_CSV).is_file():
        return None
    history = staging / HISTORY_DIR
    if (previous / HISTORY_DIR).is_dir():
        shutil.copytree(previous / HISTORY_DIR, history)
    if (previous / RESULTS_CSV).read_bytes() == (staging / RESULTS_CSV).read_bytes():
        if (previous / CHANGES_FILE).is_file():
            shutil.copy2(previous / CHANGES_FILE, staging / CHANGES_FILE)
        return None
    changes = figure_changes(_read_published_csv(previous / RESULTS_CSV), _read_published_csv(staging / RESULTS_CSV))
    shutil.copytree(
        previous,
        history / _published_at(previous),
        ignore=shutil.ignore_patterns(HISTORY_DIR),
        dirs_exist_ok=True,
    )
    changes.to_csv(staging / CHANGES_FILE, index=False, lineterminator="\n")
    return changes
