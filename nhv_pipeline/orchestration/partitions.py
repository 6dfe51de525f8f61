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

from dagster import BetaWarning, PreviewWarning, StaticPartitionMapping, StaticPartitionsDefinition

# Partitioned asset checks (each evaluation carries its report year) are preview in Dagster 1.13;
# we rely on them knowingly, and every asset module imports this one before it declares them, so
# their warnings are silenced here.
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


def report_years_from(first_report_year: int) -> StaticPartitionsDefinition:
    """The report years from `first_report_year` (never before FIRST_REPORT_YEAR) through the as-of year.

    Static keys ("2024", "2025", ...), not a yearly time window: Dagster validates and maps a
    time window by walking its cron for every asset (most of `dagster definitions validate` at
    70 areas), and the years need no calendar. An asset that begins after the as-of year has no
    report year yet (an empty definition); `first_report_year` still knows when it begins.
    """
    return _report_years(max(first_report_year, FIRST_REPORT_YEAR), last_report_year())


_FIRST_YEARS: dict[int, int] = {}
"""id of a definition made by _report_years -> its first report year (kept alive by the cache)."""


@functools.cache
def _report_years(first_report_year: int, last: int) -> StaticPartitionsDefinition:
    """One object per (start, last): assets that begin in the same year share their partitions definition."""
    definition = StaticPartitionsDefinition([str(year) for year in range(first_report_year, last + 1)])
    _FIRST_YEARS[id(definition)] = first_report_year
    return definition


report_year_partitions = report_years_from(FIRST_REPORT_YEAR)
"""Every report year of the pipeline: the partitions of the assets over all conditions."""


def first_report_year(partitions_def: StaticPartitionsDefinition) -> int:
    """The first report year of an asset with these partitions, also when it has none yet.

    A definition from `report_years_from` knows its start; any other one (the same years read
    back from Dagster's storage, say) begins at its first key, or after the as-of year if it has none.
    """
    known = _FIRST_YEARS.get(id(partitions_def))
    if known is not None:
        return known
    keys = partitions_def.get_partition_keys()
    return int(keys[0]) if keys else last_report_year() + 1


def has_report_year(partitions_def: StaticPartitionsDefinition | None, report_year: int) -> bool:
    """Whether an asset with these partitions has the report year: it has begun by then.

    Only the start counts: the last report year is the as-of year, and a schedule's tick
    or a test may ask for a year before the clock has reached it.
    """
    return partitions_def is None or first_report_year(partitions_def) <= report_year


def delivery_window(
    upstream: StaticPartitionsDefinition,
    downstream: StaticPartitionsDefinition,
    start_offset: int = 0,
    end_offset: int = 0,
) -> StaticPartitionMapping | None:
    """Map report year R of `downstream` to the deliveries D(R+start_offset)..D(R+end_offset) of `upstream`.

    Lags point backwards (offsets <= 0). A year that `upstream` does not have (before it begins)
    is simply absent: such a window is shorter (or empty), never an error. None (Dagster's
    default, the same year) when both have the same years and the window is the year itself.
    """
    return _window(upstream, downstream, start_offset, end_offset)


@functools.cache
def _window(upstream, downstream, start_offset: int, end_offset: int) -> StaticPartitionMapping | None:
    upstream_keys = upstream.get_partition_keys()
    downstream_keys = downstream.get_partition_keys()
    if (start_offset, end_offset) == (0, 0) and list(upstream_keys) == list(downstream_keys):
        return None
    readers: dict[str, list[str]] = {}
    for year in downstream_keys:
        for lag in range(start_offset, end_offset + 1):
            delivery = str(int(year) + lag)
            if delivery in upstream_keys:
                readers.setdefault(delivery, []).append(year)
    return StaticPartitionMapping({delivery: years[0] if len(years) == 1 else years for delivery, years in readers.items()})
