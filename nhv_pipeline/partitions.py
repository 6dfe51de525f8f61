"""Report-year partitions and the delivery lags between them.

A partition key is a report year (inrapporteringsår), the year of the March run:
"2024" holds the deliveries D(2024), which describe the measurement year 2023.
"""

from __future__ import annotations

import warnings

from dagster import BetaWarning, PreviewWarning, TimeWindowPartitionMapping, TimeWindowPartitionsDefinition

# Partitioned asset checks (each evaluation carries its report year) and mappings to report
# years that do not exist yet are preview/beta in Dagster 1.13; we rely on them knowingly, and
# every asset module imports this one before it declares them, so their warnings are silenced here.
warnings.filterwarnings("ignore", category=BetaWarning)
warnings.filterwarnings("ignore", category=PreviewWarning)

FIRST_REPORT_YEAR = 2024
"""The first March run of any NHV condition here (measurement year 2023); a condition's own start is in its package."""

report_year_partitions = TimeWindowPartitionsDefinition(
    cron_schedule="0 0 1 1 *",
    start=str(FIRST_REPORT_YEAR),
    fmt="%Y",
    end_offset=1,  # include the current year: its March run happens within the year
)


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
