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

import unicodedata
from collections.abc import Callable

import duckdb
import pandas as pd
from dagster import (
    AssetDep,
    AssetExecutionContext,
    AssetKey,
    AssetOut,
    AssetsDefinition,
    Failure,
    MaterializeResult,
    MetadataValue,
    multi_asset,
)

from nhv_pipeline.orchestration.assets.units import OWNERS, REGISTRY_KEY, registry_frame
from nhv_pipeline.orchestration.assets.staged import loaded_slices, staged_key
from nhv_pipeline.core.condition import Condition
from nhv_pipeline.conditions import get_condition, registered
from nhv_pipeline.indicators import Indicator, compute, empty_result, indicator_for, period_for
from nhv_pipeline.core.markdown import frame_to_markdown
from nhv_pipeline.orchestration.partitions import FIRST_REPORT_YEAR, delivery_window, report_year_partitions, report_years_from
from nhv_pipeline.orchestration.resources import WAREHOUSE_POOL, PipelinePaths, Warehouse, read_rows, table_name
from nhv_pipeline.submission.contract import SUBMISSION_TABLE
from nhv_pipeline.orchestration.verdicts import contract_failure, indicator_stage, record_verdicts, verdicts_of

#: The catalogue's categories (INDICATORS.md 1) as tags (ASCII): taken from the indicator's declared category,
#: never from its id's first letter (a newcomer's ids need not follow B/T/R/P/Ö).
CATEGORY_TAGS = {
    "Bakgrundsmått": "background",
    "Tillgänglighetsmått": "access",
    "Resultatmått": "results",
    "Patientrapporterat mått": "patient_reported",
    "Överrapporteringsmått": "handover",
}


def submitting_units(con, report_year: int) -> dict[str, set[str]]:
    """condition -> the units whose staged delivery for R is a submission (SUBMISSION.md 4); conditions without one left out."""
    units = {}
    for condition in registered():
        rows = read_rows(con, *table_name(staged_key(condition.condition_id, SUBMISSION_TABLE).path), [report_year])
        if len(rows):
            units[condition.condition_id] = set(rows["unit_id"].astype(str))
    return units


def key_name(indicator_id: str) -> str:
    """Asset key parts allow only ASCII letters: Ö1 is stored as O1 (Å and Ä as A)."""
    return unicodedata.normalize("NFKD", indicator_id).encode("ascii", "ignore").decode("ascii")


def indicator_key(condition_id: str, indicator_id: str) -> AssetKey:
    return AssetKey(["results", condition_id, key_name(indicator_id)])


def national_preview(results: pd.DataFrame) -> str:
    """The national (riket) rows as a markdown table for the asset's page in the UI."""
    if results.empty:
        return "No rows for this report year."
    columns = ["measure", "breakdown", "breakdown_label", "n", "value", "numerator", "denominator", "mean", "median"]
    return frame_to_markdown(results[results["level"] == "riket"], columns, limit=40)


def _description(indicator: Indicator, condition: Condition) -> str:
    lags = ", ".join(
        f"{spec.table} from D(R{spec.offsets[0]:+d})"
        + ("" if spec.offsets[0] == spec.offsets[1] else f"..D(R{spec.offsets[1]:+d})")
        for spec in indicator.inputs
        if spec.offsets != (0, 0)
    )
    return (
        f"**{indicator.indicator_id} – {indicator.name}** ({condition.name}).\n\n"
        f"{indicator.measure_text}\n\n"
        f"Unsuppressed result rows of this indicator per report year (internal: never exported), "
        f"at riket and per unit, with the breakdowns {', '.join(indicator.breakdowns)}. "
        f"Produced from report year {indicator.first_report_year}."
        + (f" Reads {lags}." if lags else "")
        + f" Specification versions: {_versions(condition, indicator.indicator_id)}."
    )


def _versions(condition: Condition, indicator_id: str) -> str:
    """Which specification versions define the indicator, and from which report year each applies."""
    return ", ".join(
        f"{spec.version} ({spec.date}) from report year {spec.from_report_year}"
        for spec in condition.specifications
        if any(indicator.indicator_id == indicator_id for indicator in spec.indicators)
    )


def _code_version(condition: Condition, indicator_id: str) -> str:
    """The rule version; qualified by specification version only once a version changed the indicator's rule.

    A specification version that carries an indicator over unchanged leaves its code version as it
    was, so adding a version (or an indicator in it) makes no other asset stale.
    """
    versions = condition.versions_of(indicator_id)
    if len({indicator.rule_version for indicator in versions}) == 1:
        return versions[0].rule_version
    return "|".join(f"{indicator.spec_version}:{indicator.rule_version}" for indicator in versions)


def _output_name(indicator: Indicator) -> str:
    return key_name(indicator.indicator_id)


def step_groups(indicators, first_year=lambda indicator: indicator.first_report_year) -> list[list[Indicator]]:
    """Indicators of one condition that can share a step: the same first report year (a step's outputs
    share one set of partitions) and no table read through two different windows."""
    groups: list[tuple[int, dict[str, tuple[int, int]], list[Indicator]]] = []
    for indicator in indicators:
        windows = {spec.table: spec.offsets for spec in indicator.inputs}
        for group_first, group_windows, members in groups:
            if group_first == first_year(indicator) and all(
                group_windows.get(table, offsets) == offsets for table, offsets in windows.items()
            ):
                group_windows.update(windows)
                members.append(indicator)
                break
        else:
            groups.append((first_year(indicator), dict(windows), [indicator]))
    return [members for _, _, members in groups]


def _windows(indicators) -> dict[str, tuple[int, int]]:
    """table -> the widest delivery window any of these declarations reads it through."""
    windows: dict[str, tuple[int, int]] = {}
    for indicator in indicators:
        for spec in indicator.inputs:
            first, last = windows.get(spec.table, spec.offsets)
            windows[spec.table] = (min(first, spec.offsets[0]), max(last, spec.offsets[1]))
    return windows


def _indicator_step(condition: Condition, indicators: list[Indicator], number: int, pooled_years: int | None) -> AssetsDefinition:
    condition_id = condition.condition_id
    # An indicator's partitions begin at its first report year (step_groups keeps one start per step).
    partitions_def = report_years_from(condition.first_report_year_of(indicators[0].indicator_id))
    declared = {
        indicator.indicator_id: [version.with_pooled_years(pooled_years) if pooled_years else version
                                 for version in condition.versions_of(indicator.indicator_id)]
        for indicator in indicators
    }
    windows = _windows(version for versions in declared.values() for version in versions)
    # Dependencies with their delivery windows as partition mappings (the lineage shows the lags), and the
    # staged submissions of R (SUBMISSION.md 4: a submitting unit's rows of R, cohorts included, come from
    # there); the step reads the staged rows itself, once per table and window, on the run's warehouse connection.
    staged_years = report_years_from(condition.first_report_year)  # the indicator may begin later
    deps = [
        AssetDep(
            staged_key(condition_id, table),
            partition_mapping=delivery_window(staged_years, partitions_def, *offsets),
        )
        for table, offsets in sorted(windows.items())
    ] + [
        AssetDep(staged_key(condition_id, SUBMISSION_TABLE), partition_mapping=delivery_window(staged_years, partitions_def)),
        AssetDep(REGISTRY_KEY, partition_mapping=delivery_window(report_year_partitions, partitions_def)),
    ]
    outs = {
        _output_name(indicator): AssetOut(
            key=indicator_key(condition_id, indicator.indicator_id),
            description=_description(indicator, condition),
            group_name="indicators",
            kinds={"pandas", "duckdb"},
            owners=OWNERS,
            code_version=_code_version(condition, indicator.indicator_id),
            tags={
                "layer": "results",
                "condition": condition_id,
                "indicator": key_name(indicator.indicator_id),
                "category": CATEGORY_TAGS[indicator.category],
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
        _output_name(indicator): {
            staged_key(condition_id, spec.table) for version in declared[indicator.indicator_id] for spec in version.inputs
        } | {staged_key(condition_id, SUBMISSION_TABLE), REGISTRY_KEY}
        for indicator in indicators
    }

    @multi_asset(
        name=f"indicators_{condition_id}_{number}",
        pool=WAREHOUSE_POOL,
        deps=deps,
        outs=outs,
        internal_asset_deps=internal_asset_deps,
        partitions_def=partitions_def,
    )
    def compute_indicators(context: AssetExecutionContext, paths: PipelinePaths, warehouse: Warehouse):
        report_year = int(context.partition_key)
        read: dict[tuple[str, int, int], pd.DataFrame] = {}
        shared: dict = {}  # what the indicators of the step share (engine.compute), made once
        with warehouse.connection() as con:
            units = registry_frame(read_rows(con, *table_name(REGISTRY_KEY.path), [report_year]))

            def rows_of(table: str, offsets: tuple[int, int]) -> pd.DataFrame:
                key = (table, *offsets)
                if key not in read:
                    years = range(report_year + offsets[0], report_year + offsets[1] + 1)
                    # A deep copy keeps one block per column type: the rules copy and filter these rows once per
                    # indicator, several times faster than from the column-per-block frame the read returns.
                    read[key] = read_rows(con, *table_name(staged_key(condition_id, table).path), years).copy()
                return read[key]

            loads = loaded_slices(warehouse)  # one query per step, not per table or indicator
            # The units that delivered their own figures for R (SUBMISSION.md 4): their rows come from here.
            submission = read_rows(con, *table_name(staged_key(condition_id, SUBMISSION_TABLE).path), [report_year])

            def loaded(table: str) -> set[int]:
                """The report years of `table` staged so far."""
                return loads.get((condition_id, table), set())

            # (declaration, rows or None when not computed, metadata): stored together with their verdicts.
            outcomes: list[tuple[Indicator, pd.DataFrame | None, dict]] = []
            refused = contract_failure(verdicts_of(warehouse, report_year), condition_id)
            for declaration in indicators:
                if refused is not None:
                    outcomes.append(_not_computed(declaration, f"not computed: {refused}"))
                    continue
                # The specification version in force for this report year (INDICATORS.md 1).
                indicator = indicator_for(condition, declaration.indicator_id, report_year, pooled_years=pooled_years)
                try:
                    if indicator is None or report_year < indicator.first_report_year:
                        results = empty_result()
                        period = (
                            f"not produced before report year {indicator.first_report_year}"
                            if indicator
                            else "not defined by the specification version in force"
                        )
                        version = indicator.spec_version if indicator else "none"
                    else:
                        _require_deliveries_loaded(paths, loaded, indicator, report_year)
                        needed = {spec.table: rows_of(spec.table, spec.offsets) for spec in indicator.inputs}
                        results = compute(indicator, report_year, needed, units, submission, shared=shared)
                        start, end = period_for(indicator, report_year)
                        period = f"{start}..{end}"
                        version = indicator.spec_version
                except _MACHINE_FAULTS:
                    raise  # the warehouse or the machine, not this condition: the run stops (README, operator guide)
                except Exception as error:  # noqa: BLE001 - confined to this condition (PUBLICATION.md, top)
                    context.log.exception("%s %s %s failed.", condition_id, report_year, declaration.indicator_id)
                    outcomes.append(_not_computed(declaration, _failure_text(error)))
                    continue
                outcomes.append((declaration, results, {
                    "row_count": len(results),
                    "period": period,
                    "spec_version": version,
                    "national_rows": MetadataValue.md(national_preview(results)),
                }))
        # The step's result tables and its verdicts are one transaction (one commit, which waits for the
        # disk): a run stopped before its end (a machine fault, a kill) stores no table and records no
        # verdict of the step, so no part is replaced from its results. An indicator not computed keeps
        # its stored rows of the year; its verdict says why.
        with warehouse.transaction():
            for declaration, results, metadata in outcomes:
                if results is not None:
                    metadata.update(warehouse.store(indicator_key(condition_id, declaration.indicator_id).path, results, report_year))
            # An indicator computed passes its stage; one not computed fails it, saying why.
            record_verdicts(warehouse, report_year, [
                (condition_id, indicator_stage(declaration.indicator_id), results is not None,
                 "" if results is not None else metadata["not_computed_because"])
                for declaration, results, metadata in outcomes
            ])
        for declaration, _, metadata in outcomes:
            # Already written: a MaterializeResult goes to no IO manager; Dagster records the materialization,
            # with the data version it derives from the code version and the inputs' versions, as for an output.
            yield MaterializeResult(asset_key=indicator_key(condition_id, declaration.indicator_id), metadata=metadata)
        produced = [f"{declaration.indicator_id} {len(results)} rows" for declaration, results, _ in outcomes if results is not None]
        context.log.info("%s %s indicators: %s.", condition_id, report_year, ", ".join(produced))

    return compute_indicators


_MACHINE_FAULTS = (OSError, MemoryError, duckdb.Error)


def _failure_text(error: Exception) -> str:
    """Why an indicator was not computed, for its verdict and the manifest.

    A `Failure` of ours says it in words (no figure); any other error is named by its kind only,
    since its text may quote a value: the run's log holds the whole error for the operator.
    """
    if isinstance(error, Failure) and error.description:
        return error.description.strip().splitlines()[0]
    return f"the computation failed ({type(error).__name__}; see the run's log)"


def _not_computed(declaration: Indicator, reason: str) -> tuple[Indicator, None, dict]:
    """An indicator left as it was: its stored rows of the year stay; its metadata (and its verdict) say why."""
    return declaration, None, {"computed": False, "not_computed_because": reason}


def _require_deliveries_loaded(
    paths: PipelinePaths, loaded: Callable[[str], set[int]], indicator: Indicator, report_year: int
) -> None:
    """A lagged input whose delivery exists on disk must have been staged, or the result is silently wrong."""
    if report_year < indicator.first_report_year:
        return
    # Deliveries before the condition's first report year (or the pipeline's) are never staged.
    first_year = max(FIRST_REPORT_YEAR, get_condition(indicator.condition_id).first_report_year)
    for spec in indicator.inputs:
        wanted = {
            year
            for year in range(report_year + spec.offsets[0], report_year + spec.offsets[1] + 1)
            if year >= first_year and (paths.data_root / str(year) / indicator.condition_id).is_dir()
        }
        missing = sorted(wanted - loaded(spec.table))
        if missing:
            raise Failure(
                description=(
                    f"{indicator.condition_id} {indicator.indicator_id} for report year {report_year} reads "
                    f"{spec.table} of the deliveries {missing}, which have not been loaded into the warehouse. "
                    f"Run `nhv-pipeline run --report-year {missing[0]}` first (or `nhv-pipeline run "
                    f"--report-year {report_year}`, which loads earlier deliveries it needs)."
                )
            )


def indicator_assets(pooled_years: int | None = None) -> list[AssetsDefinition]:
    """One asset per condition and indicator id (every specification version's), in steps of shared windows."""
    assets = []
    for condition in registered():
        declarations = [
            condition.latest(indicator_id).with_pooled_years(pooled_years) if pooled_years else condition.latest(indicator_id)
            for indicator_id in condition.indicator_ids
        ]
        groups = step_groups(declarations, lambda indicator: condition.first_report_year_of(indicator.indicator_id))
        for number, group in enumerate(groups, start=1):
            assets.append(_indicator_step(condition, group, number, pooled_years))
    return assets
