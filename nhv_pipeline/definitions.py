"""The Dagster code location: `dagster dev` and `dagster asset materialize` find `defs` here."""

from __future__ import annotations

import warnings
from pathlib import Path

from dagster import BetaWarning, Definitions, PreviewWarning, in_process_executor

# Partition-aware asset checks and mappings to not-yet-existing report years are
# marked beta/preview in Dagster 1.13; we rely on them knowingly (see partitions.py),
# so their warnings would only bury the pipeline's own progress lines.
warnings.filterwarnings("ignore", category=BetaWarning)
warnings.filterwarnings("ignore", category=PreviewWarning)

from nhv_pipeline.assets.indicators import indicator_assets
from nhv_pipeline.assets.published import publish
from nhv_pipeline.assets.raw import raw_assets
from nhv_pipeline.assets.registry import units
from nhv_pipeline.assets.results import indicator_results
from nhv_pipeline.assets.staged import staged_assets
from nhv_pipeline.jobs import deliveries_job, full_job, validation_job
from nhv_pipeline.resources import PipelinePaths, WarehouseIOManager, default_data_raw, default_warehouse_dir
from nhv_pipeline.schedules import march_run
from nhv_pipeline.sensors import make_delivery_sensor

ALL_ASSETS = [units, *raw_assets, *staged_assets, *indicator_assets, indicator_results,
              publish]


def build_definitions(data_raw: str | None = None, warehouse_dir: str | None = None) -> Definitions:
    """The code location, reading from `data_raw` and writing under `warehouse_dir`.

    Defaults: `NHV_DATA_RAW` / `NHV_WAREHOUSE_DIR`, else `./data_raw` / `./warehouse`.
    """
    data_raw = data_raw or default_data_raw()
    warehouse_dir = warehouse_dir or default_warehouse_dir()
    return Definitions(
        assets=ALL_ASSETS,
        jobs=[full_job, deliveries_job, validation_job],
        schedules=[march_run],
        sensors=[make_delivery_sensor(Path(data_raw))],
        resources={
            "paths": PipelinePaths(data_raw=data_raw, warehouse_dir=warehouse_dir),
            "io_manager": WarehouseIOManager(warehouse_dir=warehouse_dir),
        },
        # DuckDB takes one writer per file: steps of a run execute one at a time in one process.
        executor=in_process_executor,
    )


defs = build_definitions()
