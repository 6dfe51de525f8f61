"""Invariants every result table must satisfy, as plain functions over result frames.

Each returns the offending rows (empty when the invariant holds), with only the
identifying columns and aggregate figures, never patient data.
"""

from __future__ import annotations

import pandas as pd

from nhv_pipeline.conditions import registered
from nhv_pipeline.indicators.model import is_proportion, measure_kind

def is_count(measure: str) -> bool:
    """Whether a measure is a count (additive over breakdown values and units), shared or a condition's own."""
    try:
        return measure_kind(str(measure), conditions=registered()) == "count"
    except KeyError:
        return False


KEY = ["report_year", "condition_id", "indicator_id", "measure"]
ADDITIVE_MEASURES = ("count",)
"""Measures whose `value` adds up over units and breakdown values (INDICATORS.md 1: national counts are sums)."""


def _int(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series, errors="coerce").astype("Float64")


def riket_equals_sum_of_units(results: pd.DataFrame) -> pd.DataFrame:
    """`n` (and numerator/denominator) at riket equal the sum over the units, per breakdown value."""
    group = KEY + ["breakdown", "breakdown_value"]
    frame = results.assign(n=_int(results["n"]), numerator=_int(results["numerator"]), denominator=_int(results["denominator"]))
    units = frame[frame["level"] == "enhet"].groupby(group, dropna=False)[["n", "numerator", "denominator"]].sum(min_count=1)
    riket = frame[frame["level"] == "riket"].set_index(group)[["n", "numerator", "denominator"]]
    joined = riket.join(units, rsuffix="_units", how="outer")
    bad = pd.Series(False, index=joined.index)
    for column in ("n", "numerator", "denominator"):
        national = joined[column].fillna(0)
        summed = joined[f"{column}_units"].fillna(0)
        bad |= national != summed
    return joined[bad].reset_index()


def breakdowns_sum_to_total(results: pd.DataFrame) -> pd.DataFrame:
    """For additive measures, the values of one breakdown add up to the `total` row's value.

    Only for counts: a patient may appear in several contact types, but every
    breakdown of a count indicator partitions its population (INDICATORS.md 2-3).
    """
    frame = results[results["measure"].map(is_count).astype(bool)].assign(n=_int(results["n"]))
    group = KEY + ["level", "unit_id"]
    totals = frame[frame["breakdown"] == "total"].set_index(group)["n"].rename("total_n")
    parts = (
        frame[frame["breakdown"] != "total"].groupby(group + ["breakdown"], dropna=False)["n"].sum().rename("parts_n")
    )
    joined = parts.reset_index().join(totals, on=group)
    return joined[joined["parts_n"] != joined["total_n"].fillna(0)]


def numerator_within_denominator(results: pd.DataFrame) -> pd.DataFrame:
    numerator, denominator = _int(results["numerator"]), _int(results["denominator"])
    bad = numerator.notna() & (denominator.isna() | (numerator > denominator) | (numerator < 0))
    return results.loc[bad.fillna(False).astype(bool), KEY + ["level", "unit_id", "breakdown", "breakdown_value"]]


def implausible_moves(
    current: pd.DataFrame, previous: pd.DataFrame, max_relative_change: float = 0.5, min_n: int = 10
) -> pd.DataFrame:
    """National total rows whose value moved more than `max_relative_change` since the previous report year.

    A warning, not an error: small populations move a lot. Rows with fewer than
    `min_n` in either year are left out, and for proportions the move is
    measured in percentage points (more than 25 points).
    """
    columns = ["condition_id", "indicator_id", "measure"]
    def national(frame: pd.DataFrame) -> pd.DataFrame:
        rows = frame[(frame["level"] == "riket") & (frame["breakdown"] == "total")]
        return rows.set_index(columns)[["n", "value"]].astype("Float64")
    joined = national(current).join(national(previous), rsuffix="_previous", how="inner")
    joined = joined[(joined["n"] >= min_n) & (joined["n_previous"] >= min_n)].dropna(subset=["value", "value_previous"])
    measures = joined.index.get_level_values("measure")
    is_share = pd.Series([is_proportion(m, registered()) for m in measures], index=joined.index)
    change = (joined["value"] - joined["value_previous"]).abs()
    relative = change / joined["value_previous"].abs().where(joined["value_previous"] != 0)
    flagged = (is_share & (change > 25)) | (~is_share & (relative > max_relative_change))
    return joined[flagged.fillna(False).astype(bool)].reset_index()
