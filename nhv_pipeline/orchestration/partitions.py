"""Report-year partitions and the delivery lags between them.

A partition key is a report year (inrapporteringsår), the year of the March run:
"2024" holds the deliveries D(2024), which describe the measurement year 2023.

An asset has only the report years that can exist for it: a condition's registry-fed
layers (raw, staged) begin at the condition's first report year, an indicator at its
own, and the assets over every condition (the registry, the union of results, the
publication) at the earliest of them. So the UI shows neither a year that stays
"missing" for ever nor an empty materialization of a year before an indicator exists.
"""

from __future__ import annotations

import functools
import os
import warnings
from datetime import date

from dagster import BetaWarning, PreviewWarning, TimeWindowPartitionMapping, TimeWindowPartitionsDefinition

# Partitioned asset checks (each evaluation carries its report year) and mappings to report
# years that do not exist yet are preview/beta in Dagster 1.13; we rely on them knowingly, and
# every asset module imports this one before it declares them, so their warnings are silenced here.
warnings.filterwarnings("ignore", category=BetaWarning)
warnings.filterwarnings("ignore", category=PreviewWarning)

FIRST_REPORT_YEAR = 2024
"""The first March run of the pipeline (measurement year 2023); a condition's own start is in its package.
No asset has a report year before it, whenever its condition started."""


AS_OF_ENV = "NHV_AS_OF"
"""The date the pipeline takes as today (YYYY-MM-DD; default: today): its year is the last report year
that exists. A later date lets a specification version applying from a future report year be run in
tests and in a dress rehearsal; it is read when the definitions are loaded."""


def as_of() -> date:
    """NHV_AS_OF, or today's date when it is unset."""
    raw = os.environ.get(AS_OF_ENV, "").strip()
    if not raw:
        return date.today()
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"{AS_OF_ENV} must be a date written YYYY-MM-DD (got {raw!r})") from None


def last_report_year() -> int:
    """The last report year that exists: the as-of date's year (its March run happens within the year)."""
    return as_of().year


def report_years_from(first_report_year: int) -> TimeWindowPartitionsDefinition:
    """The report years from `first_report_year` (never before FIRST_REPORT_YEAR) through the as-of year."""
    return _report_years(max(first_report_year, FIRST_REPORT_YEAR), last_report_year())


@functools.cache
def _report_years(first_report_year: int, last: int) -> TimeWindowPartitionsDefinition:
    """One object per start: assets that begin in the same year share their partitions definition.

    `end` stops the years after `last`; `end_offset` reaches it when it is after the clock's year
    (Dagster otherwise ends the partitions at the current time).
    """
    return TimeWindowPartitionsDefinition(
        cron_schedule="0 0 1 1 *",
        start=str(first_report_year),
        fmt="%Y",
        end=str(last + 1),
        end_offset=max(1, last - date.today().year + 1),
    )


report_year_partitions = report_years_from(FIRST_REPORT_YEAR)
"""Every report year of the pipeline: the partitions of the assets over all conditions."""


def has_report_year(partitions_def: TimeWindowPartitionsDefinition | None, report_year: int) -> bool:
    """Whether an asset with these partitions has the report year: it has begun by then.

    Only the start counts: the last report year is the as-of year, and a schedule's tick
    or a test may ask for a year before the clock has reached it.
    """
    return partitions_def is None or partitions_def.start.year <= report_year


def delivery_window(start_offset: int, end_offset: int) -> TimeWindowPartitionMapping:
    """Map report year R to the deliveries D(R+start_offset)..D(R+end_offset).

    Lags point backwards (offsets <= 0). A delivery before the first report year
    does not exist; such a window is simply shorter (or empty), never an error.
    """
    return TimeWindowPartitionMapping(
        start_offset=start_offset,
        end_offset=end_offset,
        allow_nonexistent_upstream_partitions=True,
    )
