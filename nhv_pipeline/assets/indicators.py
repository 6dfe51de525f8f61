"""Indicator layer: one asset per condition and indicator, generated from the catalogue.

Each asset reads the staged tables its rule declares, through partition mappings
that are the rule's delivery lags (R1 reads the transplants of D(R-1), R2 of
D(R-2), B2 the pooled D(R-2)..D(R)), so the lineage in the UI shows them.
It writes the unsuppressed result rows (PUBLICATION.md section 2) to the
internal `results` schema, which is never exported.

Indicators whose inputs use the same delivery windows are computed in one step
(a multi-asset), so each staged table is read once per step and a report year
runs in a handful of steps instead of seventeen; every indicator is still its
own asset, with its own lineage, code version and metadata.
"""

import pandas as pd
from dagster import (
    AssetDep,
    AssetExecutionContext,
    AssetKey,
    AssetOut,
    AssetsDefinition,
    Failure,
    MetadataValue,
    Output,
    multi_asset,
)

from nhv_pipeline.assets.raw import CONDITION_NAMES
from nhv_pipeline.assets.registry import OWNERS, REGISTRY_KEY, registry_frame
from nhv_pipeline.assets.staged import loaded_report_years, staged_key
from nhv_pipeline.indicators import CATALOGUE, Indicator, compute, period_for
from nhv_pipeline.markdown import frame_to_markdown
from nhv_pipeline.partitions import FIRST_REPORT_YEAR, delivery_window, report_year_partitions
from nhv_pipeline.resources import PipelinePaths, connect, read_rows, table_name

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


def _description(indicator: Indicator) -> str:
    lags = ", ".join(
        f"{spec.table} from D(R{spec.offsets[0]:+d})"
        + ("" if spec.offsets[0] == spec.offsets[1] else f"..D(R{spec.offsets[1]:+d})")
        for spec in indicator.inputs
        if spec.offsets != (0, 0)
    )
    return (
        f"**{indicator.indicator_id} – {indicator.name}** ({CONDITION_NAMES[indicator.condition_id]}).\n\n"
        f"{indicator.measure_text}\n\n"
        f"Unsuppressed result rows of this indicator per report year (internal: never exported), "
        f"at riket and per unit, with the breakdowns {', '.join(indicator.breakdowns)}. "
        f"Produced from report year {indicator.first_report_year}."
        + (f" Reads {lags}." if lags else "")
    )


def _output_name(indicator: Indicator) -> str:
    return key_name(indicator.indicator_id)


def step_groups(indicators) -> list[list[Indicator]]:
    """Indicators of one condition that can share a step: no table read through two different windows."""
    groups: list[tuple[dict[str, tuple[int, int]], list[Indicator]]] = []
    for indicator in indicators:
        windows = {spec.table: spec.offsets for spec in indicator.inputs}
        for group_windows, members in groups:
            if all(group_windows.get(table, offsets) == offsets for table, offsets in windows.items()):
                group_windows.update(windows)
                members.append(indicator)
                break
        else:
            groups.append((dict(windows), [indicator]))
    return [members for _, members in groups]


def _indicator_step(condition_id: str, indicators: list[Indicator], number: int) -> AssetsDefinition:
    windows = {spec.table: spec.offsets for indicator in indicators for spec in indicator.inputs}
    # Dependencies with their delivery windows as partition mappings (the lineage shows the lags);
    # the step reads the staged rows itself, once per table, on the run's warehouse connection.
    deps = [
        AssetDep(
            staged_key(condition_id, table),
            partition_mapping=None if offsets == (0, 0) else delivery_window(*offsets),
        )
        for table, offsets in sorted(windows.items())
    ] + [AssetDep(REGISTRY_KEY)]
    outs = {
        _output_name(indicator): AssetOut(
            key=indicator_key(condition_id, indicator.indicator_id),
            description=_description(indicator),
            group_name="indicators",
            kinds={"pandas", "duckdb"},
            owners=OWNERS,
            code_version=indicator.rule_version,
            tags={
                "layer": "results",
                "condition": condition_id,
                "indicator": key_name(indicator.indicator_id),
                "category": CATEGORY_TAGS[indicator.indicator_id[0]],
            },
            metadata={
                "indicator_id": indicator.indicator_id,
                "first_report_year": indicator.first_report_year,
                "cohort_lag": indicator.cohort_lag,
            },
        )
        for indicator in indicators
    }
    internal_asset_deps = {
        _output_name(indicator): {staged_key(condition_id, spec.table) for spec in indicator.inputs} | {REGISTRY_KEY}
        for indicator in indicators
    }

    @multi_asset(
        name=f"indicators_{condition_id}_{number}",
        deps=deps,
        outs=outs,
        internal_asset_deps=internal_asset_deps,
        partitions_def=report_year_partitions,
    )
    def compute_indicators(context: AssetExecutionContext, paths: PipelinePaths):
        report_year = int(context.partition_key)
        with connect(paths.database) as con:
            units = registry_frame(read_rows(con, *table_name(REGISTRY_KEY.path), [report_year]))
            tables = {
                table: read_rows(
                    con,
                    *table_name(staged_key(condition_id, table).path),
                    range(report_year + offsets[0], report_year + offsets[1] + 1),
                )
                for table, offsets in windows.items()
            }
        produced = []
        for indicator in indicators:
            _require_deliveries_loaded(paths, indicator, report_year)
            needed = {spec.table: tables[spec.table] for spec in indicator.inputs}
            results = compute(indicator, report_year, needed, units)
            if report_year >= indicator.first_report_year:
                start, end = period_for(indicator, report_year)
                period = f"{start}..{end}"
            else:
                period = f"not produced before report year {indicator.first_report_year}"
            produced.append(f"{indicator.indicator_id} {len(results)} rows")
            yield Output(
                results,
                output_name=_output_name(indicator),
                metadata={
                    "row_count": len(results),
                    "period": period,
                    "national_rows": MetadataValue.md(national_preview(results)),
                },
            )
        context.log.info("%s %s indicators: %s.", condition_id, report_year, ", ".join(produced))

    return compute_indicators


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


indicator_assets = [
    _indicator_step(condition_id, group, number)
    for condition_id in CONDITION_NAMES
    for number, group in enumerate(step_groups(i for i in CATALOGUE if i.condition_id == condition_id), start=1)
]
