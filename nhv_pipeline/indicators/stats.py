"""Statistics of INDICATORS.md section 1 ("Statistics"), written once.

Every indicator reduces to one of three shapes: a count, a distribution
(N, mean, sample sd, type-7 percentiles) or a proportion (numerator,
denominator, percent with a 95 % Wilson score interval). Values are returned
unrounded; rounding is the publication's job (PUBLICATION.md section 2).
"""

from __future__ import annotations

import math
from typing import Iterable

import numpy as np
import pandas as pd

#: Two-sided 95 % normal quantile, the z of the Wilson score interval.
Z95 = 1.959963984540054


def as_datetime(series: pd.Series) -> pd.Series:
    """A date column as datetime64[ns], whatever datetime64 unit it arrived in."""
    if isinstance(series.dtype, np.dtype) and series.dtype.kind == "M":
        # Already datetime64 (any unit, no time zone): to_datetime would only copy it, element by element.
        return series.astype("datetime64[ns]")
    return pd.to_datetime(series).astype("datetime64[ns]")


def day_difference(later: pd.Series, earlier: pd.Series) -> pd.Series:
    """Calendar days from `earlier` to `later` (section 1: later date minus earlier date)."""
    return (as_datetime(later) - as_datetime(earlier)).dt.days


def _is_leap(year: pd.Series) -> pd.Series:
    return (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))


def age_in_completed_years(birth_date: pd.Series, at_date: pd.Series) -> pd.Series:
    """Birthdays passed on or before `at_date` (section 1).

    Born 2000-03-01: 24 on 2024-03-01, 23 on 2024-02-29. Born on 29 February:
    the birthday in a non-leap year is 1 March.
    """
    birth = as_datetime(birth_date)
    at = as_datetime(at_date)
    birthday_month = birth.dt.month.to_numpy().copy()
    birthday_day = birth.dt.day.to_numpy().copy()
    leapling_in_common_year = (
        (birthday_month == 2) & (birthday_day == 29) & ~_is_leap(at.dt.year).to_numpy()
    )
    birthday_month[leapling_in_common_year] = 3
    birthday_day[leapling_in_common_year] = 1
    at_month = at.dt.month.to_numpy()
    at_day = at.dt.day.to_numpy()
    before_birthday = (at_month < birthday_month) | (
        (at_month == birthday_month) & (at_day < birthday_day)
    )
    years = at.dt.year.to_numpy() - birth.dt.year.to_numpy() - before_birthday.astype(int)
    return pd.Series(years, index=birth_date.index, dtype="int64")


def distribution_summary(values: Iterable[float]) -> dict[str, float | int]:
    """N, mean, sample sd (ddof=1; NaN when N < 2), type-7 p10/median/p90 (section 1).

    With N = 0 every statistic is NaN and n is 0.
    """
    # A column or array as it is; another iterable through a list (iterating a long column is slow).
    array = np.asarray(values if isinstance(values, (np.ndarray, pd.Series)) else list(values), dtype="float64")
    n = int(array.size)
    if n == 0:
        nan = float("nan")
        return {"n": 0, "mean": nan, "sd": nan, "p10": nan, "median": nan, "p90": nan}
    # numpy's default method "linear" is Hyndman & Fan type 7.
    p10, median, p90 = np.percentile(array, [10.0, 50.0, 90.0])
    return {
        "n": n,
        "mean": float(array.mean()),
        "sd": float(array.std(ddof=1)) if n >= 2 else float("nan"),
        "p10": float(p10),
        "median": float(median),
        "p90": float(p90),
    }


def percent(numerator: int, denominator: int) -> float:
    """100 × numerator / denominator; NaN (empty) when the denominator is 0."""
    if denominator == 0:
        return float("nan")
    return 100.0 * numerator / denominator


def wilson_interval(numerator: int, denominator: int, z: float = Z95) -> tuple[float, float]:
    """95 % Wilson score interval in percent (PUBLICATION.md section 2); NaN, NaN when den = 0."""
    if denominator == 0:
        return float("nan"), float("nan")
    n = float(denominator)
    p = numerator / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half_width = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    # Clip the floating-point dust at 0/n and n/n: the exact bounds are 0 and 1.
    low = max(0.0, centre - half_width)
    high = min(1.0, centre + half_width)
    if numerator == 0:
        low = 0.0
    if numerator == denominator:
        high = 1.0
    return 100.0 * low, 100.0 * high


def proportion_summary(numerator: int, denominator: int) -> dict[str, float | int]:
    """Numerator, denominator, n = denominator, percent and its Wilson interval."""
    ci_low, ci_high = wilson_interval(numerator, denominator)
    return {
        "n": int(denominator),
        "numerator": int(numerator),
        "denominator": int(denominator),
        "value": percent(numerator, denominator),
        "ci_low": ci_low,
        "ci_high": ci_high,
    }
