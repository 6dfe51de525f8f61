"""The periods of INDICATORS.md section 1, stated once for the contract and the indicators.

Every window is cut at the condition start: a report year before the condition
started has no measurement period at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

REPORT_YEAR_FOLDER = re.compile(r"[0-9]{4}")
"""A delivery round's folder: the report year in four ASCII digits (DATA_CONTRACT.md 1), nothing else.

The one definition the runner and the delivery sensor share: `02026`, `2026 ` or `２０２６`
(full-width digits) are no report year, though `str.isdigit()` would take the last two.
"""


def delivered_report_years(data_raw: Path) -> list[int]:
    """The report years with a delivery round folder under the data root, oldest first."""
    return sorted(int(p.name) for p in data_raw.iterdir() if p.is_dir() and REPORT_YEAR_FOLDER.fullmatch(p.name))


def misnamed_year_folders(data_raw: Path) -> list[Path]:
    """Folders under the data root that are no report year (`2026 `, `02026`, `abc`).

    Section 1 allows only `units.csv` and `<report_year>/` there; a misnamed round
    would otherwise be skipped without a word and its year never run.
    """
    return sorted(p for p in data_raw.iterdir() if p.is_dir() and not REPORT_YEAR_FOLDER.fullmatch(p.name))


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


@dataclass(frozen=True)
class RelativeWindow:
    """A window an indicator's specification sets relative to the report year R (INDICATORS.md 1).

    Each end is (year offset from R, month, day): 1 December R-2 to 30 November R-1 is
    ``RelativeWindow((-2, 12, 1), (-1, 11, 30))``. Both ends are included; the window is cut at
    the condition start like every other.
    """

    first: tuple[int, int, int]
    last: tuple[int, int, int]

    def __post_init__(self) -> None:
        probe = 2000  # a leap year: 29 February is a valid end
        if self.bounds(probe)[0] > self.bounds(probe)[1]:
            raise ValueError(f"window {self.first}..{self.last}: its first day is after its last")

    def bounds(self, report_year: int) -> tuple[date, date]:
        (first_offset, first_month, first_day), (last_offset, last_month, last_day) = self.first, self.last
        return (
            date(report_year + first_offset, first_month, first_day),
            _day_or_month_end(report_year + last_offset, last_month, last_day),
        )

    def for_report_year(self, start: date, report_year: int) -> tuple[date, date]:
        """The window of report year R, cut at the condition start; an error when nothing is left."""
        first, last = self.bounds(report_year)
        first = max(first, start)
        if first > last:
            raise ValueError(f"report year {report_year} has no window: the condition started on {start}")
        return first, last


def _day_or_month_end(year: int, month: int, day: int) -> date:
    """The date, or the last day of its month when the day does not exist that year (29 February)."""
    while True:
        try:
            return date(year, month, day)
        except ValueError:
            day -= 1
