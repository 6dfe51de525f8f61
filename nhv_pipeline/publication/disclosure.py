"""Disclosure control (röjandekontroll), PUBLICATION.md section 3.

Patient numbers are small; a published figure must not let anyone single out a
patient. Two rules:

* **Primary** (``small_n``): a row with 1 <= n < threshold is withheld. n = 0
  is shown: "nobody" singles out nobody.
* **Secondary** (``complementary``): a withheld cell must not be recomputable
  from the cells it adds up with. The additive relations ("total = sum of
  parts") are

  (a) within one report_year, condition, indicator, measure, level, unit and
      breakdown (other than ``total``): the breakdown values under the
      ``total`` row of that level/unit;
  (b) within one report_year, condition, indicator, measure, breakdown and
      breakdown value: the ``enhet`` rows under the ``riket`` row
      (INDICATORS.md section 1: national counts are sums of unit counts).

Decisions where section 3 is silent (also in the module's tests):

1. A relation with a *published* total must not have exactly one withheld
   part (the spec's rule). The cell given up is the published part with the
   smallest n ("choose the smallest parts to give up"), preferring n > 0:
   section 3 wants zeros shown, and a withheld zero next to a small cell
   protects little (the two together still hold just the small count). A zero
   part is taken only when no part with n > 0 is left. Ties go to the smallest
   ``breakdown_value`` (a) or ``unit_id`` (b).
2. A relation with a published total and a single part (one unit under riket,
   one value of a breakdown): the part equals the total, so withholding the
   part is pointless unless the total goes too; the total is withheld
   (``complementary``). With additive counts this is already the primary rule
   (riket n = 3 when its only unit has n = 3); it matters when the total holds
   more than its one listed part.
3. A *withheld* total whose parts are all published is the sum of those parts,
   so the suppression would be undone by addition: the smallest part (same
   preference as 1.) is withheld too. A withheld total with one or more
   withheld parts is left alone by that relation: neither it nor the parts are
   recoverable from it alone. Put together: in every relation, counting the
   total as a member, the number of withheld cells is never exactly one.
4. Both relation kinds are repaired in turns, kind (a) for all relations at
   once, then kind (b), until a full turn changes nothing. Within one kind no
   two relations share a cell, so "all at once" equals any one-by-one order;
   the rows are first put in the section 2 order, so the result does not
   depend on the input row order. Each turn withholds at least one more cell,
   so the loop ends.
5. A row that arrives already marked ``suppressed`` stays withheld with its
   reason, so applying ``suppress`` twice changes nothing.

The relations are on ``n``: for proportions n is the denominator, and what is
protected is the group size, from which numerators would follow.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .columns import RESULT_COLUMNS
from .export import check_result_columns, sort_results

#: Section 3: "the threshold is configuration, default 5".
DEFAULT_THRESHOLD = 5

REASON_PRIMARY = "small_n"
REASON_SECONDARY = "complementary"

#: Section 3: the columns emptied in a suppressed row (n is withheld too).
WITHHELD_COLUMNS: list[str] = [
    "n",
    "value",
    "numerator",
    "denominator",
    "ci_low",
    "ci_high",
    "mean",
    "sd",
    "p10",
    "median",
    "p90",
]

_INDICATOR_KEY = ["report_year", "condition_id", "indicator_id", "measure"]


@dataclass(frozen=True)
class _Relations:
    """All relations of one kind, as arrays over row positions.

    ``part_row``/``part_rel`` list each part with its relation id, already in
    the order in which parts are given up (decision 1): by relation, n > 0
    before n = 0, smallest n, then the tie-break text. ``total_row[rel]`` is
    the row of the relation's total.
    """

    part_row: np.ndarray
    part_rel: np.ndarray
    total_row: np.ndarray

    def repair(self, withheld: np.ndarray) -> np.ndarray:
        """Rows to withhold so that no relation of this kind has exactly one withheld cell."""
        if len(self.part_row) == 0:
            return np.empty(0, dtype=np.int64)
        part_withheld = withheld[self.part_row]
        n_withheld = np.bincount(self.part_rel, weights=part_withheld, minlength=len(self.total_row))
        total_withheld = withheld[self.total_row]
        violating = (~total_withheld & (n_withheld == 1)) | (total_withheld & (n_withheld == 0))
        if not violating.any():
            return np.empty(0, dtype=np.int64)
        # Decision 1: the first published part of each violating relation.
        open_parts = np.flatnonzero(violating[self.part_rel] & ~part_withheld)
        rels, first = np.unique(self.part_rel[open_parts], return_index=True)
        chosen = self.part_row[open_parts[first]]
        # Decision 2: no published part left (a single-part relation): the total goes.
        no_part_left = np.setdiff1d(np.flatnonzero(violating), rels)
        return np.concatenate([chosen, self.total_row[no_part_left]]).astype(np.int64)


def _relations(df: pd.DataFrame, n: np.ndarray) -> list[_Relations]:
    """The two relation kinds, (a) breakdown values under a total, (b) units under riket.

    Relations without a total row have nothing published to protect and are
    left out; so is a ``total`` row with no parts under it. Keys are joined
    into single strings (unit separator) so each relation is one factorize.
    """
    sep = "\x1f"

    def text(c: str) -> list[str]:
        values = df[c].tolist()
        if df[c].dtype == object and all(type(v) is str or v is None for v in values):
            return ["" if v is None else v for v in values]  # what fillna("").astype(str) gives text and None
        return df[c].fillna("").astype(str).tolist()

    # The keys are joined in Python: the frames are one condition's (or one block's) rows, small
    # enough that a pandas operation costs more than the strings it joins.
    indicator = df["report_year"].astype("int64").astype(str).tolist()
    for c in _INDICATOR_KEY[1:]:
        indicator = [joined + sep + part for joined, part in zip(indicator, text(c), strict=True)]
    level, unit_id, breakdown, value = text("level"), text("unit_id"), text("breakdown"), text("breakdown_value")
    rows = np.arange(len(df))
    is_total_breakdown = np.array([b == "total" for b in breakdown], dtype=bool)

    def keys(*columns: list[str]) -> np.ndarray:
        return np.array([sep.join(parts) for parts in zip(*columns, strict=True)], dtype=object)

    def total_rows(key: np.ndarray, is_total: np.ndarray) -> np.ndarray:
        """The row of each row's total (NaN where none)."""
        total_of = dict(zip(key[is_total].tolist(), rows[is_total].tolist(), strict=True))
        if len(total_of) < int(is_total.sum()):  # two totals of one relation: refused as pandas refuses it
            return pd.Series(key).map(pd.Series(rows[is_total], index=key[is_total])).to_numpy()
        return np.array([total_of.get(k, np.nan) for k in key.tolist()], dtype=np.float64)

    # (a) breakdown values under the total of the same level and unit.
    unit_key = keys(indicator, level, unit_id)
    a = _build(
        part_mask=~is_total_breakdown,
        relation_key=keys(unit_key, breakdown),
        total_row=total_rows(unit_key, is_total_breakdown),
        tiebreak=np.array(value, dtype=object),
        n=n,
    )

    # (b) enhet rows under the riket row of the same breakdown value.
    cell_key = keys(indicator, breakdown, value)
    is_riket = np.array([lv == "riket" for lv in level], dtype=bool)
    b = _build(
        part_mask=np.array([lv == "enhet" for lv in level], dtype=bool),
        relation_key=cell_key,
        total_row=total_rows(cell_key, is_riket),
        tiebreak=np.array(unit_id, dtype=object),
        n=n,
    )
    return [a, b]


def _build(
    part_mask: np.ndarray, relation_key: np.ndarray, total_row: np.ndarray, tiebreak: np.ndarray, n: np.ndarray
) -> _Relations:
    keep = part_mask & ~pd.isna(total_row)
    part_row = np.flatnonzero(keep)
    rel, _ = pd.factorize(relation_key[keep], sort=True)
    totals = np.zeros(rel.max() + 1 if len(rel) else 0, dtype=np.int64)
    totals[rel] = total_row[keep].astype(np.int64)
    tie_rank, _ = pd.factorize(tiebreak[keep], sort=True)
    n_part = n[part_row]
    order = np.lexsort((tie_rank, n_part, n_part == 0, rel))
    return _Relations(part_row=part_row[order], part_rel=rel[order], total_row=totals)


def _repair(kinds: list[_Relations], withheld: np.ndarray, reason: np.ndarray) -> None:
    """Decision 4: repair both relation kinds in turns until a full turn changes nothing (in place)."""
    unchanged_turns = 0
    while unchanged_turns < len(kinds):
        for relations in kinds:
            new = relations.repair(withheld)
            new = new[~withheld[new]]
            if len(new):
                withheld[new] = True
                reason[new] = REASON_SECONDARY
                unchanged_turns = 0
            else:
                unchanged_turns += 1
            if unchanged_turns >= len(kinds):
                break


def suppress(results: pd.DataFrame, threshold: int = DEFAULT_THRESHOLD) -> pd.DataFrame:
    """Apply section 3 to unsuppressed result rows; same columns, withheld figures empty.

    Returns the rows in the section 2 order with ``suppressed`` and
    ``suppression_reason`` set; a withheld row keeps its identifying columns
    (``report_year`` … ``breakdown_label``) and has every column of
    ``WITHHELD_COLUMNS`` empty. Rows not withheld are returned unchanged
    (counts as Int64, figures as float64, unrounded: rounding is
    ``format_results``'s job). See the module docstring for the decisions.
    """
    threshold = int(threshold)
    return _suppress_sorted(sorted_results(results, threshold), threshold)


def sorted_results(results: pd.DataFrame, threshold: int) -> pd.DataFrame:
    """``suppress``'s checks (the threshold, the columns), then its rows in the section 2 order (a frame of their own)."""
    if threshold < 1:
        raise ValueError("the suppression threshold must be at least 1")
    check_result_columns(results)
    return sort_results(results[RESULT_COLUMNS])


def _suppress_sorted(df: pd.DataFrame, threshold: int) -> pd.DataFrame:
    """``suppress`` of rows already in the section 2 order (``sorted_results``); ``df`` is changed and returned."""
    for c in ["n", "numerator", "denominator"]:
        if df[c].dtype != "Int64":  # converting an Int64 column would give it back unchanged
            df[c] = pd.to_numeric(df[c]).astype("Int64")
    for c in WITHHELD_COLUMNS[1:]:
        if c not in ("numerator", "denominator") and df[c].dtype != "float64":
            df[c] = pd.to_numeric(df[c]).astype("float64")

    already = df["suppressed"].fillna(False).astype(bool).to_numpy()
    n = df["n"].fillna(0).to_numpy(dtype=np.int64)
    primary = ~already & df["n"].notna().to_numpy() & (n >= 1) & (n < threshold)

    withheld = already | primary
    reason = np.where(
        already, df["suppression_reason"].fillna("").astype(str).to_numpy(dtype=object), ""
    ).astype(object)
    reason[primary] = REASON_PRIMARY

    _repair(_relations(df, n), withheld, reason)

    for c in WITHHELD_COLUMNS:  # what Series.mask gives: NaN in a float column, <NA> in an Int64 one
        if df[c].dtype == "float64":
            df[c] = np.where(withheld, np.nan, df[c].to_numpy())
        else:
            df[c] = df[c].mask(pd.Series(withheld, index=df.index))
    df["suppressed"] = withheld
    df["suppression_reason"] = pd.Series(reason, index=df.index, dtype=object).astype(str)
    return df
