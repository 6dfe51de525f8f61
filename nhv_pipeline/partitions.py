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
import warnings

from dagster import BetaWarning, PreviewWarning, TimeWindowPartitionMapping, TimeWindowPartitionsDefinition

# Partitioned asset checks (each evaluation carries its report year) and mappings to report
# years that do not exist yet are preview/beta in Dagster 1.13; we rely on them knowingly, and
# every asset module imports this one before it declares them, so their warnings are silenced here.
warnings.filterwarnings("ignore", category=BetaWarning)
warnings.filterwarnings("ignore", category=PreviewWarning)

FIRST_REPORT_YEAR = 2024
"""The first March run of the pipeline (measurement year 2023); a condition's own start is in its package.
No asset has a report year before it, whenever its condition started."""


def report_years_from(first_report_year: int) -> TimeWindowPartitionsDefinition:
    """The report years from `first_report_year` (never before FIRST_REPORT_YEAR) through the current year."""
    return _report_years(max(first_report_year, FIRST_REPORT_YEAR))


@functools.cache
def _report_years(first_report_year: int) -> TimeWindowPartitionsDefinition:
    """One object per start: assets that begin in the same year share their partitions definition."""
    return TimeWindowPartitionsDefinition(
        cron_schedule="0 0 1 1 *",
        start=str(first_report_year),
        fmt="%Y",
        end_offset=1,  # include the current year: its March run happens within the year
    )


report_year_partitions = _report_years(FIRST_REPORT_YEAR)
"""Every report year of the pipeline: the partitions of the assets over all conditions."""


def has_report_year(partitions_def: TimeWindowPartitionsDefinition | None, report_year: int) -> bool:
    """Whether an asset with these partitions has the report year: it has begun by then.

    Only the start counts: the last report year is the current one, and a schedule's tick
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
