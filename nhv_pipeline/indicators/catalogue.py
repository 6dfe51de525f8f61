"""The indicator catalogue: every indicator of the given conditions, read from their packages.

Each condition declares its indicators per specification version
(`nhv_pipeline/conditions/<condition_id>/catalogue.py`); a report year is computed with
the version in force for it. Dagster assets, the published indicator_catalogue.json
(PUBLICATION.md section 4), the preview page and the tests all read these functions.
"""

from __future__ import annotations

from collections.abc import Iterable

from nhv_pipeline.core.condition import Condition
from nhv_pipeline.indicators.model import Indicator, declared_by


def _configured(indicators, pooled_years: int | None) -> tuple[Indicator, ...]:
    if pooled_years is None:
        return tuple(indicators)
    return tuple(indicator.with_pooled_years(pooled_years) for indicator in indicators)


def make_catalogue(conditions: Iterable[Condition], *, pooled_years: int | None = None) -> tuple[Indicator, ...]:
    """One declaration per (condition, indicator): the newest version of each, in the conditions' order.

    `pooled_years` configures the window of the indicators whose pooling is configuration
    (INDICATORS.md 2, sct B2: default 3). This is the set of indicator assets; a report
    year's figures come from `catalogue_for`.
    """
    catalogue = tuple(
        condition.latest(indicator_id) for condition in conditions for indicator_id in condition.indicator_ids
    )
    return _configured(catalogue, pooled_years)


def catalogue_for(
    conditions: Iterable[Condition], report_year: int, *, pooled_years: int | None = None
) -> tuple[Indicator, ...]:
    """The indicators in force for report year R: each condition's specification version for R."""
    return _configured(
        (indicator for condition in conditions for indicator in condition.indicators_for(report_year)), pooled_years
    )


def indicator_for(condition: Condition, indicator_id: str, report_year: int, *, pooled_years: int | None = None) -> Indicator | None:
    """The declaration of one indicator in force for R, or None when that version does not define it."""
    for indicator in condition.indicators_for(report_year):
        if indicator.indicator_id == indicator_id:
            return _configured((indicator,), pooled_years)[0]
    return None


def indicators_for(condition_id: str, catalogue: tuple[Indicator, ...]) -> tuple[Indicator, ...]:
    """The indicators of one condition, in catalogue order."""
    return tuple(indicator for indicator in catalogue if indicator.condition_id == condition_id)


def get_indicator(condition_id: str, indicator_id: str, catalogue: tuple[Indicator, ...]) -> Indicator:
    for indicator in catalogue:
        if indicator.condition_id == condition_id and indicator.indicator_id == indicator_id:
            return indicator
    raise KeyError(f"no indicator {indicator_id!r} for condition {condition_id!r}")


def catalogue_entry(indicator: Indicator) -> dict:
    """One JSON-ready indicator_catalogue.json object (PUBLICATION.md section 4)."""
    return {
        "condition_id": indicator.condition_id,
        "condition_name": declared_by(indicator).name,
        "indicator_id": indicator.indicator_id,
        "name": indicator.name,
        "measure_text": indicator.measure_text,
        "unit_of_measure": indicator.unit_of_measure,
        "purpose": indicator.purpose,
        # Paragraphs separated by a blank line; empty where the seed leaves the text empty.
        "technical_description": indicator.technical_description,
        "limitations": indicator.limitations,
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
        "target_level": indicator.target_level,
    }


def catalogue_entries(catalogue: tuple[Indicator, ...]) -> list[dict]:
    """Every catalogue entry, JSON-ready, in catalogue order."""
    return [catalogue_entry(indicator) for indicator in catalogue]
