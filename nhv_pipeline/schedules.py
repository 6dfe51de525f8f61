"""The March run: the full pipeline for the current report year, once a year.

Off until an operator turns it on (README, "Operator guide"). The day and time are
configuration: `NHV_MARCH_RUN_CRON` (default 06:00 on 31 March) in
`NHV_MARCH_RUN_TIMEZONE` (default Europe/Stockholm).
"""

from __future__ import annotations

import os

from dagster import DefaultScheduleStatus, RunRequest, ScheduleEvaluationContext, schedule

from nhv_pipeline.jobs import full_job

MARCH_RUN_CRON = os.environ.get("NHV_MARCH_RUN_CRON", "0 6 31 3 *")
MARCH_RUN_TIMEZONE = os.environ.get("NHV_MARCH_RUN_TIMEZONE", "Europe/Stockholm")


def march_run_key(report_year: int) -> str:
    """One run key per report year: the schedule never runs a year twice."""
    return f"march-run-{report_year}"


@schedule(
    job=full_job,
    cron_schedule=MARCH_RUN_CRON,
    execution_timezone=MARCH_RUN_TIMEZONE,
    default_status=DefaultScheduleStatus.STOPPED,
    description="The annual March run: validates the deliveries of the current report year, computes "
    "every indicator and publishes. The report year is the year of the tick.",
)
def march_run(context: ScheduleEvaluationContext) -> RunRequest:
    report_year = context.scheduled_execution_time.year
    return RunRequest(
        run_key=march_run_key(report_year),
        partition_key=str(report_year),
        tags={"nhv/trigger": "march_schedule", "nhv/report_year": str(report_year)},
    )
