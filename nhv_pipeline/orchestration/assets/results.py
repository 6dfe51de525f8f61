"""All indicator results of a report year in one internal table, with its invariant checks."""


import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetDep,
    AssetExecutionContext,
    AssetKey,
    MetadataValue,
    Output,
    asset,
)

from nhv_pipeline.orchestration.assets.indicators import indicator_key
from nhv_pipeline.orchestration.assets.units import OWNERS
from nhv_pipeline.orchestration.checks.invariants import (
    breakdowns_sum_to_total,
    implausible_moves,
    numerator_within_denominator,
    riket_equals_sum_of_units,
)
from nhv_pipeline.indicators import RESULT_COLUMNS, make_catalogue
from nhv_pipeline.core.markdown import frame_to_markdown
from nhv_pipeline.orchestration.partitions import delivery_window, report_year_partitions, report_years_from
from nhv_pipeline.conditions import registered
from nhv_pipeline.orchestration.resources import WAREHOUSE_POOL, Warehouse, read_rows, read_rows_of_tables, table_name
from nhv_pipeline.orchestration.verdicts import INVARIANTS, record_verdicts

RESULTS_KEY = AssetKey(["results", "indicator_results"])


# Blocking in meaning, per condition: a condition whose results break one keeps its published part
# (nhv_pipeline.orchestration.verdicts); the step itself goes on, so the other conditions' parts are replaced.
CHECKS = {
    "riket_is_sum_of_units": (
        True,
        "Counts at riket (n, numerator, denominator) equal the sum over the units (INDICATORS.md 1, Levels).",
    ),
    "breakdown_parts_sum_to_total": (
        True,
        "For counts, the values of each breakdown add up to the total row of the same level and unit.",
    ),
    "numerators_within_denominators": (
        True,
        "No proportion has a numerator above its denominator or a numerator without a denominator.",
    ),
    "plausible_change_from_previous_year": (
        False,
        "Warns when a national figure moved more than 50 % (or 25 percentage points) since the previous "
        "report year, for a person to confirm before publishing. Not blocking.",
    ),
}


def results_asset():
    """The union of every indicator asset of the registered conditions, with the invariant checks."""
    conditions = {condition.condition_id: condition for condition in registered()}
    # Each indicator's own report years: year R of the union reads its R, if it has one.
    indicator_years = {
        indicator_key(i.condition_id, i.indicator_id): report_years_from(conditions[i.condition_id].first_report_year_of(i.indicator_id))
        for i in make_catalogue(conditions.values())
    }
    indicator_keys = list(indicator_years)

    @asset(
        key=RESULTS_KEY,
        pool=WAREHOUSE_POOL,
        # Dependencies, not inputs: the seventeen tables are read in one query on the run's connection
        # (an input each would cost Dagster events and a load each). An indicator that begins after
        # the report year has no partition for it: it simply contributes no rows.
        deps=[AssetDep(key, partition_mapping=delivery_window(indicator_years[key], report_year_partitions))
              for key in indicator_keys],
        partitions_def=report_year_partitions,
        group_name="indicators",
        kinds={"pandas", "duckdb"},
        owners=OWNERS,
        tags={"layer": "results"},
        check_specs=[
            AssetCheckSpec(
                name,
                asset=RESULTS_KEY,
                description=text + (" A failure keeps the failing condition's published part of the year; the "
                                    "other conditions' parts are replaced." if blocking else ""),
                partitions_def=report_year_partitions,
            )
            for name, (blocking, text) in CHECKS.items()
        ],
    )
    def indicator_results(context: AssetExecutionContext, warehouse: Warehouse):
        """Every indicator of every condition for the report year, unsuppressed (PUBLICATION.md
        section 2 columns, `suppressed` false). Internal: analysts may read it in the warehouse;
        it is never exported. The publication is made from it after disclosure control."""
        report_year = int(context.partition_key)
        with warehouse.connection() as con:
            # A few queries for all the indicator tables (a thousand at 70 areas), not two or three each.
            rows = read_rows_of_tables(con, [table_name(key.path) for key in indicator_keys], [report_year])
        combined = rows[RESULT_COLUMNS] if len(rows) else pd.DataFrame(columns=RESULT_COLUMNS)
        if combined.empty:
            combined = combined.assign(report_year=pd.Series(dtype="int64"))
        yield Output(
            combined,
            metadata={
                "row_count": len(combined),
                "indicators": MetadataValue.json(
                    sorted(f"{c} {i}" for c, i in combined[["condition_id", "indicator_id"]].drop_duplicates().itertuples(index=False))
                ),
            },
        )
        violations = {
            "riket_is_sum_of_units": riket_equals_sum_of_units(combined),
            "breakdown_parts_sum_to_total": breakdowns_sum_to_total(combined),
            "numerators_within_denominators": numerator_within_denominator(combined),
        }
        for name, bad in violations.items():
            failing = sorted(set(bad["condition_id"])) if len(bad) else []
            yield AssetCheckResult(
                check_name=name,
                passed=bad.empty,
                severity=AssetCheckSeverity.ERROR,
                metadata={**_failed_rows(bad), "conditions_failing": MetadataValue.json(failing)},
            )
        # Each condition's own verdict: a broken invariant keeps that condition's published part only.
        verdicts = []
        for condition in registered():
            if condition.first_report_year > report_year:
                continue
            broken = [
                f"{name} ({int((bad['condition_id'] == condition.condition_id).sum())} rows)"
                for name, bad in violations.items()
                if len(bad) and (bad["condition_id"] == condition.condition_id).any()
            ]
            verdicts.append((
                condition.condition_id, INVARIANTS, not broken,
                "the result invariants failed: " + ", ".join(broken) if broken else "",
            ))
        record_verdicts(warehouse, report_year, verdicts)  # one transaction: a commit waits for the disk
        with warehouse.connection() as con:
            previous = read_rows(con, "results", "indicator_results", [report_year - 1])
        if previous.empty:
            yield AssetCheckResult(
                check_name="plausible_change_from_previous_year",
                passed=True,
                metadata={"compared_with": "no previous report year"},
            )
        else:
            moved = implausible_moves(combined, previous)
            yield AssetCheckResult(
                check_name="plausible_change_from_previous_year",
                passed=moved.empty,
                severity=AssetCheckSeverity.WARN,
                metadata={"compared_with": str(report_year - 1), **_failed_rows(moved)},
            )

    return indicator_results


def _failed_rows(rows: pd.DataFrame, limit: int = 20) -> dict:
    metadata = {"violations": len(rows)}
    if len(rows):
        metadata["first_violations"] = MetadataValue.md(frame_to_markdown(rows, limit=limit))
    return metadata
