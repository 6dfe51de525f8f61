"""The unit registry (`units.csv`): which unit holds which NHV permit, and when."""


import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    DataVersion,
    Output,
    asset,
)

from nhv_pipeline.orchestration.checks.contract import failure_check_metadata
from nhv_pipeline.conditions import registered
from nhv_pipeline.contract import read_registry
from nhv_pipeline.orchestration.partitions import report_year_partitions
from nhv_pipeline.orchestration.resources import WAREHOUSE_POOL, PipelinePaths
from nhv_pipeline.orchestration.sensors import file_digest

OWNERS = ["team:nhv-data"]
REGISTRY_KEY = AssetKey(["registry", "units"])


@asset(
    key=REGISTRY_KEY,
    pool=WAREHOUSE_POOL,
    partitions_def=report_year_partitions,
    group_name="registry",
    kinds={"csv", "pandas", "duckdb"},
    owners=OWNERS,
    tags={"layer": "registry"},
    check_specs=[
        AssetCheckSpec(
            "registry_contract",
            asset=REGISTRY_KEY,
            blocking=True,
            partitions_def=report_year_partitions,
            description="units.csv follows DATA_CONTRACT.md section 1 (columns, unit_id pattern, "
            "unique per condition, permit dates).",
        )
    ],
)
def units(context: AssetExecutionContext, paths: PipelinePaths):
    """The NHV unit registry as used for this report year: every unit, its display
    name and the period it holds the permit (tillstånd) for its condition.

    Permits decide which units must deliver, which deliveries are accepted, and
    which units get a row in every indicator table.
    """
    report_year = int(context.partition_key)
    registry = read_registry(paths.data_root, registered())
    frame = registry.units.assign(report_year=report_year)
    failures = registry.failures.assign(report_year=report_year) if len(registry.failures) else registry.failures
    context.log.info(
        "Registry for report year %s: %d units, %d problems.", report_year, len(frame), len(failures)
    )
    yield Output(
        frame,
        # Re-reading an unchanged units.csv must not make every indicator look stale.
        data_version=DataVersion(file_digest(paths.data_root / "units.csv")[:32])
        if (paths.data_root / "units.csv").is_file()
        else DataVersion("missing"),
        metadata={
            "units_per_condition": {
                condition: int(count) for condition, count in frame.groupby("condition_id").size().items()
            },
        },
    )
    yield AssetCheckResult(
        check_name="registry_contract",
        passed=len(failures) == 0,
        severity=AssetCheckSeverity.ERROR,
        metadata=failure_check_metadata(failures, report_paths=[]),
    )


def registry_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The registry as the indicator rules expect it (without the snapshot's report_year)."""
    return frame.drop(columns=["report_year"], errors="ignore")
