"""Staged layer: the validated, typed tables, all units together, one row set per report year.

A staged table is only written when the whole delivery round of its condition
passed every contract check; re-running a report year replaces its rows. When the
round failed, the step keeps the staged rows of the last round that passed and says
so, without failing: the failure stays with its condition (PUBLICATION.md, top), and
the other conditions' indicators and the publication go on.
The units' own figures (SUBMISSION.md) are staged beside the tables, typed, in
`staged.<condition_id>_submission` (columns: `nhv_pipeline.submission.contract`).
"""


from datetime import datetime, timezone

import pandas as pd
from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetOut,
    AssetsDefinition,
    DataVersion,
    MaterializeResult,
    MetadataValue,
    multi_asset,
)

from nhv_pipeline.orchestration.assets.raw import column_schema, delivery_key, raw_key, submission_column_schema, submission_key
from nhv_pipeline.orchestration.assets.units import OWNERS
from nhv_pipeline.core.condition import Condition
from nhv_pipeline.conditions import registered
from nhv_pipeline.contract.staging import staged_select
from nhv_pipeline.orchestration.partitions import report_years_from
from nhv_pipeline.submission.contract import SUBMISSION_TABLE, staged_submission_select
from nhv_pipeline.orchestration.verdicts import contract_failure, verdicts_of
from nhv_pipeline.orchestration.resources import (
    WAREHOUSE_POOL,
    Warehouse,
    one_transaction,
    quoted,
    replace_rows_from_query,
    table_digest,
    table_exists,
    table_name,
)

LOADS_TABLE = ("staged", "_loads")
"""Which (condition, table, report year) slices have been staged, even when empty.

An empty slice leaves no rows behind, so the indicators could not otherwise
tell "this delivery had no transplants" from "this delivery was never loaded".
"""
LOADS = quoted(*LOADS_TABLE)


def staged_key(condition_id: str, table: str) -> AssetKey:
    return AssetKey(["staged", condition_id, table])


def record_load(warehouse: Warehouse, condition_id: str, table: str, report_year: int, rows: int) -> None:
    frame = pd.DataFrame(
        {
            "condition_id": [condition_id],
            "table_name": [table],
            "report_year": [report_year],
            "row_count": [rows],
            "loaded_at": [datetime.now(timezone.utc).replace(tzinfo=None)],
        }
    )
    with warehouse.connection() as con:
        con.execute(f'create schema if not exists "{LOADS_TABLE[0]}"')
        con.execute(
            f"create table if not exists {LOADS} (condition_id varchar, table_name varchar, "
            "report_year integer, row_count bigint, loaded_at timestamp)"
        )
        with one_transaction(con):  # one commit (or part of the caller's transaction)
            con.execute(
                f"delete from {LOADS} where condition_id = ? and table_name = ? and report_year = ?",
                [condition_id, table, report_year],
            )
            con.register("incoming", frame)
            con.execute(f"insert into {LOADS} by name select * from incoming")


def loaded_slices(warehouse: Warehouse) -> dict[tuple[str, str], set[int]]:
    """(condition, table) -> the report years staged so far, of every condition in one query (a run's plan)."""
    with warehouse.connection() as con:
        if not table_exists(con, *LOADS_TABLE):
            return {}
        rows = con.execute(f"select condition_id, table_name, report_year from {LOADS}").fetchall()
    slices: dict[tuple[str, str], set[int]] = {}
    for condition_id, table, year in rows:
        slices.setdefault((condition_id, table), set()).add(int(year))
    return slices


def staged_assets_for(condition: Condition) -> AssetsDefinition:
    """One step per condition: the delivery round passed its checks, so all its tables are staged together."""
    condition_id = condition.condition_id
    tables = condition.table_names
    outs = {
        table: AssetOut(
            key=staged_key(condition_id, table),
            group_name="staged",
            kinds={"duckdb", "sql"},  # typed by one SQL select inside DuckDB (staged_select)
            owners=OWNERS,
            tags={"layer": "staged", "condition": condition_id},
            metadata={"dagster/column_schema": column_schema(condition_id, table, typed=True)},
            description=f"{condition.name}: `{table}` of every unit, validated and typed "
            "(dates, booleans, codes), with the delivery's report year, unit and source line.",
        )
        for table in tables
    }
    outs[SUBMISSION_TABLE] = AssetOut(
        key=staged_key(condition_id, SUBMISSION_TABLE),
        group_name="staged",
        kinds={"duckdb", "sql"},
        owners=OWNERS,
        tags={"layer": "staged", "condition": condition_id},
        metadata={"dagster/column_schema": submission_column_schema(typed=True)},
        description=f"{condition.name}: the figures of the units that reported them themselves "
        "(SUBMISSION.md 2), validated and typed, one row per unit and result cell, with the delivery's "
        "report year, unit and source line.",
    )

    @multi_asset(
        name=f"staged_{condition_id}",
        pool=WAREHOUSE_POOL,
        # The raw tables are read inside DuckDB (not loaded as inputs): typing 2.5 M rows there
        # keeps them out of Python objects, which at the 1000x volume took a gigabyte.
        deps=[delivery_key(condition_id), *(raw_key(condition_id, table) for table in tables), submission_key(condition_id)],
        outs=outs,
        internal_asset_deps={
            **{table: {raw_key(condition_id, table), delivery_key(condition_id)} for table in tables},
            SUBMISSION_TABLE: {submission_key(condition_id), delivery_key(condition_id)},
        },
        partitions_def=report_years_from(condition.first_report_year),
    )
    def stage(context: AssetExecutionContext, warehouse: Warehouse):
        report_year = int(context.partition_key)
        failure = contract_failure(verdicts_of(warehouse, report_year), condition_id)
        if failure is not None:
            context.log.warning("%s %s not staged: %s; the staged rows stay as they were.", condition_id, report_year, failure)
            yield from _kept(warehouse, condition_id, (*tables, SUBMISSION_TABLE), report_year, failure)
            return
        # The round's tables and their loads are one transaction (one commit, which waits for the disk): a run
        # killed half-way stages none of them. Dagster hears of each table once all are committed.
        staged = []
        with warehouse.transaction():
            for table in (*tables, SUBMISSION_TABLE):
                schema, name = table_name(staged_key(condition_id, table).path)
                if table == SUBMISSION_TABLE:
                    source = quoted(*table_name(submission_key(condition_id).path))
                    select = staged_submission_select(source)
                else:
                    source = quoted(*table_name(raw_key(condition_id, table).path))
                    select = staged_select(condition, table, source)
                query = f"{select} where report_year = {report_year} order by report_year, unit_id, source_file, source_line"
                with warehouse.connection() as con:
                    rows = con.execute(f"select count(*) from {source} where report_year = ?", [report_year]).fetchall()[0][0]
                record_load(warehouse, condition_id, table, report_year, rows)
                with warehouse.connection() as con:
                    replace_rows_from_query(con, schema, name, query, report_year)
                    target = quoted(schema, name)
                    units = [
                        row[0]
                        for row in con.execute(
                            f"select distinct unit_id from {target} where report_year = ? order by unit_id", [report_year]
                        ).fetchall()
                    ]
                    # Content-based: re-staging unchanged rows leaves the indicators fresh in the UI.
                    version = DataVersion(table_digest(con, schema, name, report_year))
                staged.append((table, rows, units, version, f"{schema}.{name}"))
        for table, rows, units, version, stored in staged:
            # Already written: a MaterializeResult goes to no IO manager; Dagster records the materialization.
            yield MaterializeResult(
                asset_key=staged_key(condition_id, table),
                data_version=version,
                metadata={"row_count": rows, "units": MetadataValue.json(units), "warehouse_table": stored},
            )

    return stage


def _kept(warehouse: Warehouse, condition_id: str, tables, report_year: int, failure: str):
    """The outputs of a round that failed its contract: nothing written, the kept rows' version and count."""
    for table in tables:
        schema, name = table_name(staged_key(condition_id, table).path)
        with warehouse.connection() as con:
            exists = table_exists(con, schema, name)
            version = DataVersion(table_digest(con, schema, name, report_year)) if exists else DataVersion("none")
            rows = (
                con.execute(f"select count(*) from {quoted(schema, name)} where report_year = ?", [report_year]).fetchall()[0][0]
                if exists else 0
            )
        # Unchanged rows keep their version, so nothing downstream turns stale for a delivery that was refused.
        yield MaterializeResult(
            asset_key=staged_key(condition_id, table),
            data_version=version,
            metadata={"staged": False, "row_count": rows, "not_staged_because": failure},
        )


def staged_assets() -> list[AssetsDefinition]:
    return [staged_assets_for(condition) for condition in registered()]
