"""The periods of INDICATORS.md section 1, stated once for the contract and the indicators.

Every window is cut at the condition start: a report year before the condition
started has no measurement period at all.
"""

from __future__ import annotations

from datetime import date


def year_window(start: date, year: int, years: int = 1) -> tuple[date, date] | None:
    """`years` calendar years ending with `year`, cut at the condition start; None when empty."""
    first = max(date(year - years + 1, 1, 1), start)
    last = date(year, 12, 31)
    return (first, last) if first <= last else None


def measurement_period(start: date, report_year: int) -> tuple[date, date] | None:
    """P(R) = max(1 Jan R-1, condition start)..31 Dec R-1; None when empty."""
    return year_window(start, report_year - 1)


def cohort_window(start: date, report_year: int, lag: int) -> tuple[date, date] | None:
    """The window of cohort year R-lag, cut at the condition start; None when empty."""
    return year_window(start, report_year - lag)


def indicator_window(start: date, report_year: int, cohort_lag: int, pooled_years: int) -> tuple[date, date]:
    """The window every result row of an indicator describes for report year R.

    Lag 0: P(R). Lag k > 0: the cohort year R-k. Pooled over p years: the p years ending
    with that year. Cut at the condition start (for R at or after the first report year
    the window is never empty).
    """
    last_year = report_year - cohort_lag if cohort_lag > 0 else report_year - 1
    window = year_window(start, last_year, pooled_years)
    if window is None:
        raise ValueError(f"report year {report_year} has no window: the condition started on {start}")
    return window
