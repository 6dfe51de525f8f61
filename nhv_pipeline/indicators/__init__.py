"""Indicators of the annual follow-up (INDICATORS.md): the catalogue and the rules.

Pure pandas, no Dagster: `compute(indicator, report_year, tables, units)` turns
the staged tables an indicator declares in `inputs` into unsuppressed result
rows with the columns of PUBLICATION.md section 2.
"""

from nhv_pipeline.indicators.catalogue import (
    CATALOGUE,
    catalogue_entries,
    catalogue_entry,
    get_indicator,
    indicators_for,
    make_catalogue,
)
from nhv_pipeline.indicators.engine import RESULT_COLUMNS, compute, empty_result
from nhv_pipeline.indicators.model import (
    CONDITION_START,
    MEASURE_KIND,
    Indicator,
    RuleContext,
    TableInput,
    period_for,
)

__all__ = [
    "CATALOGUE",
    "CONDITION_START",
    "MEASURE_KIND",
    "RESULT_COLUMNS",
    "Indicator",
    "RuleContext",
    "TableInput",
    "catalogue_entries",
    "catalogue_entry",
    "compute",
    "empty_result",
    "get_indicator",
    "indicators_for",
    "make_catalogue",
    "period_for",
]
