"""The March run: the full pipeline for the current report year, once a year.

Off until an operator turns it on (README, "Operator guide"). The day and time are
configuration, read when the definitions are built: `NHV_MARCH_RUN_CRON` (default 06:00
on 31 March) in `NHV_MARCH_RUN_TIMEZONE` (default Europe/Stockholm).
"""

from __future__ import annotations

from dagster import DefaultScheduleStatus, RunRequest, ScheduleDefinition, ScheduleEvaluationContext, schedule

from nhv_pipeline.orchestration.jobs import ASSET_JOB, FULL, run_selection, run_tags
from nhv_pipeline.orchestration.settings import DEFAULT_MARCH_RUN_CRON, DEFAULT_MARCH_RUN_TIMEZONE

def march_run_key(report_year: int) -> str:
    """One run key per report year: the schedule never runs a year twice."""
    return f"march-run-{report_year}"


def build_march_run(cron: str = DEFAULT_MARCH_RUN_CRON, timezone: str = DEFAULT_MARCH_RUN_TIMEZONE) -> ScheduleDefinition:
    """The March schedule at the configured time (settings.march_run_cron / march_run_timezone)."""

    @schedule(
        name="march_run",
        # Dagster's implicit asset job: the assets begin at different report years, which no
        # `define_asset_job` job can hold; each request names the assets that have its year.
        job_name=ASSET_JOB,
        cron_schedule=cron,
        execution_timezone=timezone,
        default_status=DefaultScheduleStatus.STOPPED,
        description="The annual March run: validates the deliveries of the current report year, computes "
        "every indicator and publishes. The report year is the year of the tick.",
    )
    def march_run(context: ScheduleEvaluationContext) -> RunRequest:
        report_year = context.scheduled_execution_time.year
        return RunRequest(
            run_key=march_run_key(report_year),
            partition_key=str(report_year),
            asset_selection=run_selection(context.repository_def.asset_graph, FULL, report_year),
            tags={**run_tags(FULL, report_year), "nhv/trigger": "march_schedule", "nhv/report_year": str(report_year)},
        )

    return march_run


march_run = build_march_run()
