"""Indicator layer: one asset per condition and indicator, generated from the catalogue.

Each asset reads the staged tables its rule declares, through partition mappings
that are the rule's delivery lags (R1 reads the transplants of D(R-1), R2 of
D(R-2), B2 the pooled D(R-2)..D(R)), so the lineage in the UI shows them.
It writes the unsuppressed result rows (PUBLICATION.md section 2) to the
internal `results` schema, which is never exported.
"""


import pandas as pd
from dagster import (
    AssetExecutionContext,
    AssetIn,
    AssetKey,
    AssetsDefinition,
    Failure,
    MetadataValue,
    asset,
)

from nhv_pipeline.assets.raw import CONDITION_NAMES
from nhv_pipeline.assets.registry import OWNERS, REGISTRY_KEY, registry_frame
from nhv_pipeline.assets.staged import loaded_report_years, staged_key
from nhv_pipeline.indicators import CATALOGUE, Indicator, compute, period_for
from nhv_pipeline.markdown import frame_to_markdown
from nhv_pipeline.partitions import FIRST_REPORT_YEAR, delivery_window, report_year_partitions
from nhv_pipeline.resources import PipelinePaths

CATEGORY_TAGS = {"B": "background", "T": "access", "R": "results", "P": "patient_reported", "Ö": "handover"}


def key_name(indicator_id: str) -> str:
    """Asset key parts allow only ASCII letters: Ö1 is stored as O1."""
    return indicator_id.replace("Ö", "O")


def indicator_key(condition_id: str, indicator_id: str) -> AssetKey:
    return AssetKey(["results", condition_id, key_name(indicator_id)])


def national_preview(results: pd.DataFrame) -> str:
    """The national (riket) rows as a markdown table for the asset's page in the UI."""
    if results.empty:
        return "No rows for this report year."
    columns = ["measure", "breakdown", "breakdown_label", "n", "value", "numerator", "denominator", "mean", "median"]
    return frame_to_markdown(results[results["level"] == "riket"], columns, limit=40)


def _indicator_asset(indicator: Indicator) -> AssetsDefinition:
    condition_id = indicator.condition_id
    ins = {
        spec.table: AssetIn(
            key=staged_key(condition_id, spec.table),
            partition_mapping=None if spec.offsets == (0, 0) else delivery_window(*spec.offsets),
        )
        for spec in indicator.inputs
    }
    ins["registry"] = AssetIn(key=REGISTRY_KEY)
    category = CATEGORY_TAGS[indicator.indicator_id[0]]
    lags = ", ".join(
        f"{spec.table} from D(R{spec.offsets[0]:+d})"
        + ("" if spec.offsets[0] == spec.offsets[1] else f"..D(R{spec.offsets[1]:+d})")
        for spec in indicator.inputs
        if spec.offsets != (0, 0)
    )
    description = (
        f"**{indicator.indicator_id} – {indicator.name}** ({CONDITION_NAMES[condition_id]}).\n\n"
        f"{indicator.measure_text}\n\n"
        f"Unsuppressed result rows of this indicator per report year (internal: never exported), "
        f"at riket and per unit, with the breakdowns {', '.join(indicator.breakdowns)}. "
        f"Produced from report year {indicator.first_report_year}."
        + (f" Reads {lags}." if lags else "")
    )

    @asset(
        key=indicator_key(condition_id, indicator.indicator_id),
        ins=ins,
        partitions_def=report_year_partitions,
        group_name="indicators",
        kinds={"pandas", "duckdb"},
        owners=OWNERS,
        code_version=indicator.rule_version,
        tags={
            "layer": "results",
            "condition": condition_id,
            "indicator": key_name(indicator.indicator_id),
            "category": category,
        },
        description=description,
        metadata={
            "indicator_id": indicator.indicator_id,
            "first_report_year": indicator.first_report_year,
            "cohort_lag": indicator.cohort_lag,
        },
    )
    def indicator_results(context: AssetExecutionContext, paths: PipelinePaths, registry: pd.DataFrame, **tables):
        report_year = int(context.partition_key)
        _require_deliveries_loaded(paths, indicator, report_year)
        results = compute(indicator, report_year, tables, registry_frame(registry))
        if report_year >= indicator.first_report_year:
            start, end = period_for(indicator, report_year)
            period = f"{start}..{end}"
        else:
            period = f"not produced before report year {indicator.first_report_year}"
        context.log.info(
            "%s %s %s: %d result rows (%s).", condition_id, indicator.indicator_id, report_year, len(results), period
        )
        context.add_output_metadata(
            {
                "row_count": len(results),
                "period": period,
                "national_rows": MetadataValue.md(national_preview(results)),
            }
        )
        return results

    return indicator_results


def _require_deliveries_loaded(paths: PipelinePaths, indicator: Indicator, report_year: int) -> None:
    """A lagged input whose delivery exists on disk must have been staged, or the result is silently wrong."""
    if report_year < indicator.first_report_year:
        return
    for spec in indicator.inputs:
        wanted = {
            year
            for year in range(report_year + spec.offsets[0], report_year + spec.offsets[1] + 1)
            if year >= FIRST_REPORT_YEAR and (paths.data_root / str(year) / indicator.condition_id).is_dir()
        }
        missing = sorted(wanted - loaded_report_years(paths, indicator.condition_id, spec.table))
        if missing:
            raise Failure(
                description=(
                    f"{indicator.condition_id} {indicator.indicator_id} for report year {report_year} reads "
                    f"{spec.table} of the deliveries {missing}, which have not been loaded into the warehouse. "
                    f"Run `nhv-pipeline run --report-year {missing[0]}` first (or `nhv-pipeline run "
                    f"--report-year {report_year}`, which loads earlier deliveries it needs)."
                )
            )


indicator_assets = [_indicator_asset(indicator) for indicator in CATALOGUE]
