"""Jobs over the report-year partitions."""

from __future__ import annotations

from dagster import AssetSelection, define_asset_job

from nhv_pipeline.partitions import report_year_partitions

WAREHOUSE_WRITER = {"nhv/warehouse": "writer"}
"""Every job writes to the DuckDB warehouse; a run queue limits this tag to one run at a time."""

full_job = define_asset_job(
    "nhv_full",
    selection=AssetSelection.all(),
    partitions_def=report_year_partitions,
    tags=WAREHOUSE_WRITER,
    description="Everything a report year needs: registry, validated deliveries, indicators, publication.",
)
deliveries_job = define_asset_job(
    "nhv_deliveries",
    selection=AssetSelection.groups("registry", "raw", "staged"),
    partitions_def=report_year_partitions,
    tags=WAREHOUSE_WRITER,
    description="Validate and stage one report year's deliveries (no indicators, no publication).",
)
validation_job = define_asset_job(
    "nhv_validate",
    selection=AssetSelection.groups("registry", "raw"),
    partitions_def=report_year_partitions,
    tags=WAREHOUSE_WRITER,
    description="Check one report year's deliveries against the data contract; writes validation reports.",
)
