"""The indicator catalogue: every indicator of every condition, declared once as data.

Dagster assets, the published indicator_catalogue.json (PUBLICATION.md
section 4), the preview page and the tests all read this one tuple.
"""

from __future__ import annotations

from nhv_pipeline import labels
from nhv_pipeline.indicators import sct_ssc, skeletal_dysplasia
from nhv_pipeline.indicators.model import Indicator


def make_catalogue(*, sct_b2_pooled_years: int = sct_ssc.DEFAULT_B2_POOLED_YEARS) -> tuple[Indicator, ...]:
    """All indicators, sct_ssc first; `sct_b2_pooled_years` configures the B2 pooling."""
    catalogue = sct_ssc.indicators(sct_b2_pooled_years) + skeletal_dysplasia.indicators()
    keys = [indicator.key for indicator in catalogue]
    if len(set(keys)) != len(keys):
        raise ValueError("duplicate (condition_id, indicator_id) in the indicator catalogue")
    return catalogue


CATALOGUE: tuple[Indicator, ...] = make_catalogue()


def indicators_for(condition_id: str, catalogue: tuple[Indicator, ...] = CATALOGUE) -> tuple[Indicator, ...]:
    """The indicators of one condition, in catalogue order."""
    return tuple(indicator for indicator in catalogue if indicator.condition_id == condition_id)


def get_indicator(condition_id: str, indicator_id: str, catalogue: tuple[Indicator, ...] = CATALOGUE) -> Indicator:
    for indicator in catalogue:
        if indicator.condition_id == condition_id and indicator.indicator_id == indicator_id:
            return indicator
    raise KeyError(f"no indicator {indicator_id!r} for condition {condition_id!r}")


def catalogue_entry(indicator: Indicator) -> dict:
    """One JSON-ready indicator_catalogue.json object (PUBLICATION.md section 4)."""
    return {
        "condition_id": indicator.condition_id,
        "condition_name": labels.CONDITION_NAMES[indicator.condition_id],
        "indicator_id": indicator.indicator_id,
        "name": indicator.name,
        "measure_text": indicator.measure_text,
        "unit_of_measure": indicator.unit_of_measure,
        "purpose": indicator.purpose,
        "category": indicator.category,
        "indicator_type": indicator.indicator_type,
        "direction": indicator.direction,
        "data_source": indicator.data_source,
        "first_report_year": indicator.first_report_year,
        "cohort_lag_years": indicator.cohort_lag,
        "pooled_years": indicator.pooled_years,
        # The union over measures, in declaration order; per-measure detail
        # (skeletal P1) is on Indicator.breakdowns_for().
        "breakdowns": list(indicator.breakdowns),
        "measures": list(indicator.measures),
        "spec_version": indicator.spec_version,
        "spec_date": indicator.spec_date,
    }


def catalogue_entries(catalogue: tuple[Indicator, ...] = CATALOGUE) -> list[dict]:
    """Every catalogue entry, JSON-ready, in catalogue order."""
    return [catalogue_entry(indicator) for indicator in catalogue]
