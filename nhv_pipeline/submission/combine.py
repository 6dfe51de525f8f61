"""From unit figures to result rows (SUBMISSION.md 4): a submitting unit's `enhet` rows, and `riket` combined.

Pure pandas, no Dagster. A unit that delivers a submission (SUBMISSION.md 2) sends one
row per `enhet` cell: n, and numerator/denominator or mean/sd/p10/median/p90. Here those
cells become the result rows the indicator engine gives an extract unit (INDICATORS.md 4:
a breakdown value nobody falls in has no row; the `total` row is always there), and the
`riket` rows are combined from every unit's `enhet` figures, whatever kind each delivered:

- counts, numerators and denominators are summed (national counts are sums of unit
  counts, INDICATORS.md 1 "Levels"), the percent and its Wilson interval computed from
  the sums with the engine's own code (`indicators/stats.py`);
- a distribution's N is the sum, its mean the n-weighted mean, its sd the exact pooled
  sample sd; p10, median and p90 can only be computed from rows, so they stay empty.

The values are unrounded, like the engine's; rounding is the publication's.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import pandas as pd

from nhv_pipeline.core import labels
from nhv_pipeline.core.condition import Condition
from nhv_pipeline.indicators.model import Indicator, declared_by, measure_kind
from nhv_pipeline.indicators.stats import proportion_summary

#: The figures a submission cell carries (SUBMISSION.md 2), as they become result columns.
DISTRIBUTION_FIGURES = ("mean", "sd", "p10", "median", "p90")

_NAN = float("nan")


def _number(value) -> float:
    """A decimal of a staged row as a float; empty (None, NA, NaN) as NaN."""
    return _NAN if value is None or pd.isna(value) else float(value)


def _whole(value) -> int:
    return 0 if value is None or pd.isna(value) else int(value)


def cell_summary(kind: str, cell: Mapping) -> dict:
    """The result figures of one submitted cell, as the engine's `_summary` gives them for extract rows.

    count: n and value = n; proportion: numerator, denominator, n = denominator, percent and
    Wilson interval (`proportion_summary`); distribution: n, mean, sd, p10, median, p90, value = mean.
    """
    if kind == "count":
        count = _whole(cell["n"])
        return {"n": count, "value": float(count)}
    if kind == "proportion":
        return proportion_summary(_whole(cell["numerator"]), _whole(cell["denominator"]))
    if kind == "distribution":
        figures = {name: _number(cell[name]) for name in DISTRIBUTION_FIGURES}
        return {"n": _whole(cell["n"]), **figures, "value": figures["mean"]}
    raise ValueError(f"unknown measure kind {kind!r}")


def submitted_records(
    submission: pd.DataFrame, indicator: Indicator, unit_names: Mapping[str, str]
) -> list[dict]:
    """The `enhet` result records of every submitting unit for one indicator (SUBMISSION.md 4, INDICATORS.md 4).

    `submission` holds staged submission rows (`unit_id`, the key columns and the figures) of
    one condition and report year. A breakdown value with n = 0 gets no row, as the engine
    gives none for a value that does not occur; the `total` row is kept whatever its n. Only
    the indicator's own measures and breakdowns are read (the contract refused any other row).
    Records carry level, unit, measure, breakdown, label and figures; the caller adds the rest.
    """
    if submission is None or submission.empty:
        return []
    rows = submission[submission["indicator_id"] == indicator.indicator_id]
    records: list[dict] = []
    for cell in rows.to_dict("records"):
        measure, breakdown = cell["measure"], cell["breakdown"]
        if measure not in indicator.measures or breakdown not in indicator.breakdowns_for(measure):
            continue
        if breakdown != "total" and _whole(cell["n"]) == 0:
            continue
        value = "total" if breakdown == "total" else str(cell["breakdown_value"])
        unit_id = str(cell["unit_id"])
        records.append(
            {
                "measure": measure,
                "breakdown": breakdown,
                "breakdown_value": value,
                "breakdown_label": labels.breakdown_label(breakdown, value, declared_by(indicator)),
                "level": "enhet",
                "unit_id": unit_id,
                "unit_name": unit_names.get(unit_id, unit_id),
                **cell_summary(measure_kind(measure, declared_by(indicator)), cell),
            }
        )
    return records


def pooled_distribution(parts: Iterable[tuple[int, float, float]]) -> dict:
    """N, mean and sample sd of a population made of parts given as (nᵢ, mᵢ, sᵢ) (SUBMISSION.md 4).

    N = Σnᵢ; m = Σnᵢmᵢ / N; sd = sqrt((Σ(nᵢ−1)sᵢ² + Σnᵢ(mᵢ−m)²) / (N−1)), the sample sd of the
    pooled rows exactly. A part with nᵢ = 0 adds nothing; one with nᵢ = 1 has no sᵢ and adds 0
    to the first sum. Mean empty when N = 0, sd empty when N < 2 (INDICATORS.md 1).
    """
    parts = [(int(n), float(mean), float(sd)) for n, mean, sd in parts if int(n) > 0]
    total = sum(n for n, _, _ in parts)
    if total == 0:
        return {"n": 0, "mean": _NAN, "sd": _NAN}
    mean = sum(n * m for n, m, _ in parts) / total
    if total < 2:
        return {"n": total, "mean": mean, "sd": _NAN}
    within = sum((n - 1) * s * s for n, _, s in parts if n > 1)
    between = sum(n * (m - mean) ** 2 for n, m, _ in parts)
    return {"n": total, "mean": mean, "sd": math.sqrt((within + between) / (total - 1))}


def riket_records(unit_records: pd.DataFrame, condition: Condition | None = None) -> list[dict]:
    """`riket` records combined from the `enhet` rows of every unit of one indicator (SUBMISSION.md 4).

    `unit_records` holds the unrounded `enhet` rows, of extract and submitting units alike
    (measure, breakdown, breakdown_value and the figures). One `riket` row per measure and
    breakdown value some unit has a row for, and always the `total` row; counts, numerators
    and denominators summed, a distribution pooled (`pooled_distribution`), p10/median/p90 empty.
    """
    records: list[dict] = []
    groups = unit_records.groupby(["measure", "breakdown", "breakdown_value"], sort=False, dropna=False)
    for (measure, breakdown, value), rows in groups:
        kind = measure_kind(measure, condition)
        if kind == "count":
            count = int(pd.to_numeric(rows["n"]).fillna(0).sum())
            summary = {"n": count, "value": float(count)}
        elif kind == "proportion":
            summary = proportion_summary(
                int(pd.to_numeric(rows["numerator"]).fillna(0).sum()),
                int(pd.to_numeric(rows["denominator"]).fillna(0).sum()),
            )
        else:
            pooled = pooled_distribution(
                zip(pd.to_numeric(rows["n"]).fillna(0), rows["mean"].astype("float64"), rows["sd"].astype("float64"))
            )
            summary = {**pooled, "p10": _NAN, "median": _NAN, "p90": _NAN, "value": pooled["mean"]}
        records.append(
            {
                "measure": measure,
                "breakdown": breakdown,
                "breakdown_value": value,
                "breakdown_label": labels.breakdown_label(breakdown, value, condition),
                "level": "riket",
                "unit_id": "",
                "unit_name": labels.RIKET_NAME,
                **summary,
            }
        )
    return records
