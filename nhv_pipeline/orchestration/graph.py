"""Building the Dagster definitions from the condition registry (the code location is `definitions.py`).

Kept apart from `definitions.py` so that the CLI builds the definitions once, for its own
data root and warehouse, instead of also building the module-level `defs` it never uses.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from dagster import BetaWarning, Definitions, PreviewWarning, in_process_executor

# Partition-aware asset checks and mappings to not-yet-existing report years are
# marked beta/preview in Dagster 1.13; we rely on them knowingly (see partitions.py),
# so their warnings would only bury the pipeline's own progress lines.
warnings.filterwarnings("ignore", category=BetaWarning)
warnings.filterwarnings("ignore", category=PreviewWarning)

from nhv_pipeline.orchestration.assets.indicators import indicator_assets
from nhv_pipeline.orchestration.assets.published import publish_asset
from nhv_pipeline.orchestration.assets.raw import raw_assets
from nhv_pipeline.orchestration.assets.units import units
from nhv_pipeline.orchestration.assets.results import results_asset
from nhv_pipeline.orchestration.assets.staged import staged_assets
from nhv_pipeline.orchestration.resources import PipelinePaths, default_data_raw, default_warehouse_dir, warehouse_resources
from nhv_pipeline.operations.queue import make_run_queue_sensor
from nhv_pipeline.orchestration.schedules import build_march_run
from nhv_pipeline.orchestration.sensors import make_delivery_sensor
from nhv_pipeline.orchestration.settings import march_run_cron, march_run_timezone, resolved_pooled_years, settings_from_environment


EVENT_BATCH_SIZE_ENV = "DAGSTER_EVENT_BATCH_SIZE"
EVENT_BATCH_SIZE = "10000"
"""Dagster's own switch (read per event, by the process that runs the steps): a run's planned
materializations and checks, about two thousand at 70 areas, are handed to the event log storage
as one batch, which the Dagster home's storage (storage.py) writes in one transaction per file instead
of one each. A value set in the environment is kept; 0 turns batching off."""


def all_assets(pooled_years: int | None = None) -> list:
    """Every asset of every registered condition, layer by layer (built from the registry when called)."""
    return [units, *raw_assets(), *staged_assets(), *indicator_assets(pooled_years), results_asset(), publish_asset()]


def build_definitions(data_raw: str | None = None, warehouse_dir: str | None = None) -> Definitions:
    """The code location, reading from `data_raw` and writing under `warehouse_dir`.

    Defaults: `NHV_DATA_RAW` / `NHV_WAREHOUSE_DIR`, else `./data_raw` / `./warehouse`. The
    assets are made from the condition registry now, so a condition registered before this
    call (a test's own, say) is part of the graph.
    """
    data_raw = data_raw or default_data_raw()
    warehouse_dir = warehouse_dir or default_warehouse_dir()
    # The CLI, `dagster dev` and the daemon's run workers all load the code location through here.
    os.environ.setdefault(EVENT_BATCH_SIZE_ENV, EVENT_BATCH_SIZE)
    settings = settings_from_environment()
    return Definitions(
        assets=all_assets(resolved_pooled_years()),
        schedules=[build_march_run(march_run_cron(), march_run_timezone())],
        sensors=[make_delivery_sensor(Path(data_raw), Path(warehouse_dir)), make_run_queue_sensor(Path(warehouse_dir))],
        resources={
            "paths": PipelinePaths(data_raw=data_raw, warehouse_dir=warehouse_dir),
            **warehouse_resources(warehouse_dir),
            "settings": settings,
        },
        # DuckDB takes one writer per file: steps of a run execute one at a time in one process.
        executor=in_process_executor,
    )

