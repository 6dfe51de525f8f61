"""Raw layer: every unit's files of one report year, read as delivered and checked
against the data contract.

Values stay text here, exactly as the unit wrote them (trimmed), so that a value
that breaks the contract is still there to be reported on; the staged layer
holds the typed tables. Identity numbers are replaced before anything is
stored (DATA_CONTRACT.md section 3).

One step per condition reads the whole delivery round once and yields one
asset per table plus the delivery inventory, with their contract checks: a
unit gets every failure of its delivery in one report, not one rule at a time.
Units that send their own figures (SUBMISSION.md) are read in the same step into
the `submission` asset, with the same checks; the metadata names each unit's kind.
"""


import hashlib

import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetDep,
    AssetExecutionContext,
    AssetKey,
    AssetOut,
    AssetsDefinition,
    DataVersion,
    MaterializeResult,
    MetadataValue,
    Output,
    TableColumn,
    TableSchema,
    multi_asset,
)

from nhv_pipeline.orchestration.assets.units import OWNERS, REGISTRY_KEY, registry_frame
from nhv_pipeline.orchestration.checks.contract import failure_check_metadata
from nhv_pipeline.core.condition import Condition
from nhv_pipeline.conditions import get_condition, registered
from nhv_pipeline.contract.schema import model_schema
from nhv_pipeline.contract import (
    column_kinds,
    measurement_period_of,
    permitted_units,
    table_model,
    validate_delivery,
    write_unit_reports,
)
from nhv_pipeline.orchestration.partitions import delivery_window, report_year_partitions, report_years_from
from nhv_pipeline.orchestration.resources import (
    WAREHOUSE_POOL, PipelinePaths, Warehouse, quoted, read_rows, table_exists, table_name,
)
from nhv_pipeline.submission.cells import DECIMAL_COLUMNS, INTEGER_COLUMNS
from nhv_pipeline.submission.contract import (
    COLUMN_DESCRIPTIONS,
    RAW_COLUMNS,
    STAGED_COLUMNS,
    SUBMISSION_TABLE,
    EarlierFigures,
)
from nhv_pipeline.orchestration.verdicts import CONTRACT, record_verdict

TRACE_COLUMNS = {
    "report_year": ("int", "Report year of the delivery D(R) the row came from."),
    "unit_id": ("text", "The delivering NHV unit (units.csv)."),
    "source_file": ("text", "The file, relative to the data root."),
    "source_line": ("int", "Line in the file (header = 1) where the row starts."),
}


def raw_key(condition_id: str, table: str) -> AssetKey:
    return AssetKey(["raw", condition_id, table])


def delivery_key(condition_id: str) -> AssetKey:
    return AssetKey(["raw", condition_id, "delivery"])


def submission_column_schema(typed: bool = False) -> TableSchema:
    """Column docs of the submission tables (SUBMISSION.md 2), raw text or staged types."""
    kinds = {column: "int" for column in INTEGER_COLUMNS} | {column: "float" for column in DECIMAL_COLUMNS}
    names = [c for c in STAGED_COLUMNS if c not in TRACE_COLUMNS] if typed else [c for c in RAW_COLUMNS if c not in TRACE_COLUMNS]
    columns = [TableColumn(name, type=kinds.get(name, "text") if typed else "text", description=COLUMN_DESCRIPTIONS[name])
               for name in names]
    columns += [TableColumn(name, type=kind, description=text) for name, (kind, text) in TRACE_COLUMNS.items()]
    return TableSchema(columns=columns)


def submission_key(condition_id: str) -> AssetKey:
    return AssetKey(["raw", condition_id, SUBMISSION_TABLE])


def column_schema(condition_id: str, table: str, typed: bool = False) -> TableSchema:
    """Column docs for the UI, straight from the pandera model of the contract."""
    condition = get_condition(condition_id)
    schema = model_schema(table_model(condition, table))
    kinds = column_kinds(condition, table)
    columns = [
        TableColumn(name, type=(kinds[name] if typed else "text"), description=column.description)
        for name, column in schema.columns.items()
    ]
    columns += [TableColumn(name, type=kind, description=text) for name, (kind, text) in TRACE_COLUMNS.items()]
    return TableSchema(columns=columns)


def raw_assets_for(condition: Condition) -> AssetsDefinition:
    """One step per condition: read and check the whole delivery round, one asset per table plus the inventory."""
    condition_id, name = condition.condition_id, condition.name
    tables = condition.table_names
    outs = {
        table: AssetOut(
            key=raw_key(condition_id, table),
            description=f"{name}: `{table}.csv` of every unit of the report year, "
            "as delivered (text values), with unit and source line.",
            metadata={"dagster/column_schema": column_schema(condition_id, table)},
            owners=OWNERS,
            kinds={"csv", "pandas", "pandera", "duckdb"},
            tags={"layer": "raw", "condition": condition_id},
        )
        for table in tables
    }
    outs[SUBMISSION_TABLE] = AssetOut(
        key=submission_key(condition_id),
        description=f"{name}: the figures of every unit of the report year that reported them itself "
        "(submission.csv/.xlsx, SUBMISSION.md 2), one row per result cell, as delivered (text values), "
        "with unit and source line. Empty when every unit delivered extracts.",
        metadata={"dagster/column_schema": submission_column_schema()},
        owners=OWNERS,
        kinds={"csv", "pandas", "duckdb"},
        tags={"layer": "raw", "condition": condition_id},
    )
    outs["delivery"] = AssetOut(
        key=delivery_key(condition_id),
        description=f"{name}: inventory of the report year's delivery round "
        "(unit, table, file, size, SHA-256, rows). Its check holds every contract rule that spans "
        "files, units or report years, and stops the staged layer when any rule of the delivery fails.",
        owners=OWNERS,
        kinds={"csv", "pandas", "duckdb"},
        tags={"layer": "raw", "condition": condition_id},
    )

    def contract_check(name: str, key: AssetKey, description: str) -> AssetCheckSpec:
        # Not Dagster-blocking: a failure stops this condition only (its verdict), while the
        # other conditions go on to the publication (PUBLICATION.md, top).
        return AssetCheckSpec(name, asset=key, description=description,
                              partitions_def=report_years_from(condition.first_report_year))

    kept = (" A failure keeps the condition's staged tables, indicators and published part of the year "
            "as they were.")
    check_specs = [
        contract_check("contract", raw_key(condition_id, table),
                       f"Every unit's {table}.csv follows DATA_CONTRACT.md: file format, columns, "
                       "types and codes, required-if rules, date order, uniqueness, privacy." + kept)
        for table in tables
    ] + [
        contract_check("contract", submission_key(condition_id),
                       "Every unit's submission follows SUBMISSION.md 2-3: file format, columns, one row per "
                       "result cell of the catalogue in force, numbers in range, totals and equal populations, "
                       "privacy." + kept),
        contract_check("delivery_contract", delivery_key(condition_id),
                       "The whole delivery round passes DATA_CONTRACT.md: registry and permits, "
                       "missing deliveries and tables, references between tables and to earlier deliveries, "
                       "follow-up completeness, and every per-file rule. A failure stops this condition only: its "
                       "staged tables, indicators and published part of the year stay as they were, while the other "
                       "conditions go on (PUBLICATION.md, top)."),
    ]

    @multi_asset(
        name=f"raw_{condition_id}",
        pool=WAREHOUSE_POOL,
        outs=outs,
        # A dependency, not an input: the step reads the registry's year itself (no load and input events).
        deps=[AssetDep(REGISTRY_KEY, partition_mapping=delivery_window(
            report_year_partitions, report_years_from(condition.first_report_year)))],
        check_specs=check_specs,
        partitions_def=report_years_from(condition.first_report_year),
        group_name="raw",
    )
    def read_and_validate(context: AssetExecutionContext, paths: PipelinePaths, warehouse: Warehouse):
        report_year = int(context.partition_key)
        with warehouse.connection() as con:
            registry = read_rows(con, *table_name(REGISTRY_KEY.path), [report_year])
        period = measurement_period_of(condition, report_year)
        context.log.info(
            "Reading %s deliveries for report year %s (measurement period %s).",
            condition_id,
            report_year,
            f"{period[0]}..{period[1]}" if period else "none: the condition had not started",
        )
        result = validate_delivery(
            paths.data_root, report_year, condition, registry_frame(registry),
            progress=_progress_log(context, f"{condition_id} {report_year}"),
            earlier=earlier_figures(warehouse, condition),
            conditions=registered(),
        )
        expected_units = _units_to_report(result, registry, condition)
        reports = write_unit_reports(
            result.failures, paths.validation_dir, report_year, condition, expected_units, replace=True
        )
        context.log.info(
            "%s %s: %d units, %d files, %d failures.",
            condition_id,
            report_year,
            result.files["unit_id"].nunique() if len(result.files) else 0,
            len(result.files),
            len(result.failures),
        )
        # The round's tables are one transaction (one commit, which waits for the disk); Dagster hears of
        # each once all are committed.
        written = []
        with warehouse.transaction():
            for table in tables:
                # Written here and then dropped: one raw table in memory at a time. Handed to Dagster as
                # an output, every table would stay in memory until the run ends (an in-process run keeps
                # each step's output values), through the staged and indicator steps after it.
                frame = result.tables.pop(table)
                metadata = {
                    **warehouse.store(raw_key(condition_id, table).path, frame, report_year),
                    "rows_per_unit": MetadataValue.json({str(u): int(n) for u, n in frame.groupby("unit_id").size().items()}),
                }
                del frame
                written.append((raw_key(condition_id, table), content_version(result.files, table), metadata))
            kinds = MetadataValue.json(result.kinds)
            frame = result.submission
            metadata = {
                **warehouse.store(submission_key(condition_id).path, frame, report_year),
                "rows_per_unit": MetadataValue.json({str(u): int(n) for u, n in frame.groupby("unit_id").size().items()}),
                "delivery_kinds": kinds,
            }
            written.append((submission_key(condition_id), content_version(result.files, SUBMISSION_TABLE), metadata))
        for key, data_version, metadata in written:
            # Already written: a MaterializeResult goes to no IO manager; Dagster records the materialization.
            yield MaterializeResult(asset_key=key, data_version=data_version, metadata=metadata)
        yield Output(
            result.files.assign(report_year=report_year),
            output_name="delivery",
            data_version=content_version(result.files, None),
            metadata={
                "files": len(result.files),
                "units": MetadataValue.json(sorted(result.files["unit_id"].unique().tolist()))
                if len(result.files)
                else MetadataValue.json([]),
                # SUBMISSION.md 4: each unit's kind, extract or submission (or mixed: refused).
                "delivery_kinds": kinds,
            },
        )
        for table in (*tables, SUBMISSION_TABLE):
            failures = result.failures_for(table)
            yield AssetCheckResult(
                asset_key=submission_key(condition_id) if table == SUBMISSION_TABLE else raw_key(condition_id, table),
                check_name="contract",
                passed=failures.empty,
                severity=AssetCheckSeverity.ERROR,
                metadata=failure_check_metadata(failures, report_paths=[]),
            )
        # A stray entry beside the condition folders fails the check (and the run), not the condition's part.
        refusing = result.refusing_failures
        record_verdict(warehouse, report_year, condition_id, CONTRACT, refusing.empty, contract_reason(refusing))
        yield AssetCheckResult(
            asset_key=delivery_key(condition_id),
            check_name="delivery_contract",
            passed=result.failures.empty,
            severity=AssetCheckSeverity.ERROR,
            metadata=failure_check_metadata(result.failures, report_paths=reports),
        )

    return read_and_validate


PROGRESS_SECONDS = 10.0
"""How often a long read of a delivery round says how far it has come."""


def _progress_log(context: AssetExecutionContext, what: str):
    """A `progress(done, total)` that logs at most once every PROGRESS_SECONDS: a round of hundreds of units takes minutes."""
    import time

    last = [time.monotonic()]

    def progress(done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_SECONDS:
            last[0] = now
            context.log.info("%s: %d of %d unit folders read.", what, done, total)

    return progress


def contract_reason(failures: pd.DataFrame) -> str:
    """Why a delivery round failed, for the verdict and the manifest: counts per rule, no value."""
    if failures.empty:
        return ""
    by_rule = ", ".join(f"{rule} {n}" for rule, n in failures.groupby("rule").size().sort_index().items())
    units = sorted(set(failures["unit_id"].dropna()) - {""})
    return (
        f"its delivery failed the contract (delivery_contract): {len(failures)} "
        f"{'failure' if len(failures) == 1 else 'failures'} ({by_rule})"
        + (f" from {', '.join(units)}" if units else "")
    )


def content_version(files: pd.DataFrame, table: str | None) -> DataVersion:
    """The data version of a raw asset: the SHA-256 of the files it was read from.

    A corrected re-delivery changes it, so the UI marks what is downstream of the
    corrected delivery round (staged tables, the condition's indicators, the
    publication) as stale until re-run; re-reading unchanged files keeps it.
    """
    rows = files if table is None or files.empty else files[files["table"] == table]
    digest = hashlib.sha256()
    for path, sha in sorted(zip(rows.get("path", []), rows.get("sha256", []))):
        digest.update(f"{path}\t{sha}\n".encode())
    return DataVersion(digest.hexdigest()[:32])


def earlier_figures(warehouse: Warehouse, condition: Condition) -> EarlierFigures:
    """A unit's figures of an earlier report year from the warehouse, whichever kind it delivered (SUBMISSION.md 3).

    Its staged submission rows when it sent its own figures, else its `enhet` rows of the
    indicator's results; None when the warehouse has neither (that year was never run).
    """
    from nhv_pipeline.orchestration.assets.indicators import indicator_key

    condition_id = condition.condition_id

    def figures(unit_id: str, report_year: int, indicator_id: str, measure: str):
        submitted = table_name(["staged", condition_id, SUBMISSION_TABLE])
        computed = table_name(indicator_key(condition_id, indicator_id).path)
        with warehouse.connection() as con:
            for (schema, table), level in ((submitted, None), (computed, "enhet")):
                if not table_exists(con, schema, table):
                    continue
                rows = con.execute(
                    f"select breakdown, breakdown_value, n from {quoted(schema, table)} where report_year = ? "
                    "and unit_id = ? and indicator_id = ? and measure = ?"
                    + (" and level = ?" if level else ""),
                    [report_year, unit_id, indicator_id, measure, *([level] if level else [])],
                ).fetchall()
                if rows:
                    return {(str(b), str(v)): int(n) for b, v, n in rows if n is not None}
        return None

    return figures


def _units_to_report(result, registry: pd.DataFrame, condition: Condition) -> list[str]:
    """Every unit that delivered, had to, or has a failure: each gets a report, empty when all is well."""
    _, expected = permitted_units(registry, condition, result.report_year)
    delivered = set(result.files["unit_id"]) if len(result.files) else set()
    with_failures = set(result.failures["unit_id"].dropna()) - {""}
    return sorted(delivered | expected | with_failures)


def raw_assets() -> list[AssetsDefinition]:
    return [raw_assets_for(condition) for condition in registered()]
