"""Indicators of the annual follow-up (INDICATORS.md): the catalogue and the rules.

Pure pandas, no Dagster: `compute(indicator, report_year, tables, units)` turns
the staged tables an indicator declares in `inputs` into unsuppressed result
rows with the columns of PUBLICATION.md section 2.
"""

from nhv_pipeline.indicators.catalogue import (
    catalogue_entries,
    catalogue_for,
    indicator_for,
    catalogue_entry,
    get_indicator,
    indicators_for,
    make_catalogue,
)
from nhv_pipeline.indicators.engine import RESULT_COLUMNS, compute, empty_result, units_not_followed_up
from nhv_pipeline.indicators.model import (
    MEASURE_KIND,
    Indicator,
    RuleContext,
    TableInput,
    period_for,
)

__all__ = [
    "MEASURE_KIND",
    "RESULT_COLUMNS",
    "Indicator",
    "RuleContext",
    "TableInput",
    "catalogue_entries",
    "catalogue_entry",
    "catalogue_for",
    "indicator_for",
    "compute",
    "empty_result",
    "get_indicator",
    "indicators_for",
    "make_catalogue",
    "units_not_followed_up",
    "period_for",
]
