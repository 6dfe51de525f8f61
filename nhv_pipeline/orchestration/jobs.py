"""What a run of one report year materializes: three named selections over the asset graph.

The assets begin at different report years (partitions.py), and a Dagster job made with
`define_asset_job` must give all its assets one partitions definition. So a run of a
report year is a run of Dagster's implicit asset job (`__ASSET_JOB`, which takes assets
with different partitions) over the assets of a selection that have that year: the
runner, the March schedule and the delivery sensor all ask `run_selection` for them.
"""

from __future__ import annotations

from dagster import AssetKey, AssetSelection

from nhv_pipeline.orchestration.partitions import has_report_year

ASSET_JOB = "__ASSET_JOB"
"""The name of Dagster's implicit asset job (every asset of the code location, any partitions)."""

WAREHOUSE_WRITER = {"nhv/warehouse": "writer"}
"""Every run writes to the DuckDB warehouse; a run queue limits this tag to one run at a time."""

RUN_TAG = "nhv/run"
"""Which selection a run materializes (`nhv_full`, `nhv_deliveries`, `nhv_validate`)."""

FULL = "nhv_full"
DELIVERIES = "nhv_deliveries"
VALIDATE = "nhv_validate"

SELECTIONS: dict[str, AssetSelection] = {
    FULL: AssetSelection.all(),
    DELIVERIES: AssetSelection.groups("registry", "raw", "staged"),
    VALIDATE: AssetSelection.groups("registry", "raw"),
}


def run_selection(asset_graph, name: str, report_year: int) -> list[AssetKey]:
    """The assets of selection `name` that have the report year (a condition or indicator begun later has none)."""
    return sorted(
        key
        for key in SELECTIONS[name].resolve(asset_graph)
        if asset_graph.get(key).is_executable and has_report_year(asset_graph.get(key).partitions_def, report_year)
    )


def run_tags(name: str, report_year: int) -> dict[str, str]:
    """The tags of a run of selection `name` for a report year (the partition, the queue's writer tag)."""
    return {"dagster/partition": str(report_year), RUN_TAG: name, **WAREHOUSE_WRITER}


def execute_in_process(defs, name: str, report_year: int, tags: dict[str, str] | None = None, **kwargs):
    """Run selection `name` for a report year in this process, as `nhv-pipeline run` does.

    The report year goes in as the partition tag, not `partition_key=`, which asks for one
    partitions definition shared by every selected asset.
    """
    return defs.resolve_implicit_global_asset_job_def().execute_in_process(
        asset_selection=run_selection(defs.resolve_asset_graph(), name, report_year),
        tags={**run_tags(name, report_year), **(tags or {})},
        **kwargs,
    )


def materialize_report_year(assets, selection, report_year: int, *, resources, instance, raise_on_error: bool = True):
    """`dagster.materialize` for one report year, over assets that begin in different report years.

    `materialize(..., partition_key=)` asks every selected asset for one partitions definition,
    which a run over conditions (or indicators) beginning in different years never has; this runs
    the implicit asset job instead, with the report year as the partition tag (as `execute_in_process`).
    """
    from dagster import Definitions

    defs = Definitions(assets=list(assets), resources=resources)
    return defs.resolve_implicit_global_asset_job_def().execute_in_process(
        asset_selection=list(selection),
        tags={"dagster/partition": str(report_year)},
        instance=instance,
        raise_on_error=raise_on_error,
    )
