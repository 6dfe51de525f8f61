"""`nhv-pipeline queue` (formerly `submit`): queue report years for the Dagster daemon, as a schedule or the sensor does.

`nhv-pipeline run` executes in this process. On a shared instance (the operator guide's
PostgreSQL recipe) a run is instead started by the daemon, one warehouse writer at a time.
The command creates no run itself: it leaves a request (one small JSON file, no data) in
`<warehouse>/run_queue/`, and the run-queue sensor, which the daemon evaluates every few
seconds, turns it into one `RunRequest` per report year, in the order asked. Each run is one
of Dagster's implicit asset job over the assets of a selection that have the year (jobs.py),
as the delivery sensor and the March schedule ask for them: public APIs only, so a Dagster
upgrade cannot break run creation at run time.

Exactly once: a request's runs carry run keys (`queue-<request>-<year>`), which Dagster starts
once whatever a tick retried; the sensor's cursor is the last request it asked runs for, and a
request is deleted only on a later tick, after the tick that asked for its runs was stored.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path

from dagster import DefaultSensorStatus, RunRequest, SensorEvaluationContext, SkipReason, sensor

from nhv_pipeline.orchestration.jobs import FULL, SELECTIONS, run_selection, run_tags

CODE_LOCATION = "nhv_pipeline"
"""The code location's name, as `pyproject.toml` ([tool.dagster] code_location_name) gives it to
`dagster dev` and `dagster-daemon run`: the daemon evaluates the run-queue sensor of the location it names."""

QUEUE_FOLDER = "run_queue"
"""Below the warehouse folder, which the command and the daemon share (the operator guide)."""

SENSOR_NAME = "run_queue_sensor"
QUEUE_INTERVAL_SECONDS = 5


def queue_folder(warehouse_dir: Path) -> Path:
    return Path(warehouse_dir) / QUEUE_FOLDER


def queue_report_years(warehouse_dir: Path, years: list[int], name: str, trigger: str = "cli_queue") -> list[str]:
    """Leave one request for runs of `name` over `years` (in this order); the run key of each year's run."""
    if name not in SELECTIONS:
        raise ValueError(f"unknown selection {name!r}")
    folder = queue_folder(warehouse_dir)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    # Named by time first: the sensor takes requests in the order they were made.
    request_id = f"{time.time_ns():020d}-{uuid.uuid4().hex[:12]}"
    body = json.dumps({"years": [int(y) for y in years], "selection": name, "trigger": trigger}) + "\n"
    temporary = folder / f".{request_id}.tmp"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write(body)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, folder / f"{request_id}.json")  # whole, or not there: the sensor never reads half of one
    return [run_key(request_id, int(year)) for year in years]


def run_key(request_id: str, year: int) -> str:
    return f"queue-{request_id}-{year}"


def make_run_queue_sensor(warehouse_dir: Path):
    @sensor(
        name=SENSOR_NAME,
        # The widest selection as its target; each request names the assets of its selection and year.
        asset_selection=SELECTIONS[FULL],
        minimum_interval_seconds=QUEUE_INTERVAL_SECONDS,
        default_status=DefaultSensorStatus.RUNNING,
        description="Starts the runs that `nhv-pipeline queue` asked for (requests in the warehouse's run_queue/ "
        "folder), one per report year in the order asked; the run queue then starts one warehouse writer at a time.",
    )
    def run_queue_sensor(context: SensorEvaluationContext):
        folder = queue_folder(warehouse_dir)
        done = context.cursor or ""
        requests = sorted(folder.glob("*.json")) if folder.is_dir() else []
        for path in requests:
            if path.stem <= done:  # its runs were asked for on an earlier, stored tick
                path.unlink(missing_ok=True)
        new = [path for path in requests if path.stem > done]
        if not new:
            return SkipReason("No queued report years.")
        asset_graph = context.repository_def.asset_graph if context.repository_def is not None else None
        run_requests = []
        for path in new:
            request = json.loads(path.read_text(encoding="utf-8"))
            name = request["selection"]
            for year in request["years"]:
                run_requests.append(
                    RunRequest(
                        run_key=run_key(path.stem, year),
                        partition_key=str(year),
                        asset_selection=run_selection(asset_graph, name, year) if asset_graph else None,
                        tags={**run_tags(name, year), "nhv/trigger": request["trigger"]},
                    )
                )
            context.log.info("Queued %s for report years %s.", name, ", ".join(map(str, request["years"])))
        context.update_cursor(new[-1].stem)
        return run_requests

    return run_queue_sensor
