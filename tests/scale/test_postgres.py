"""The scale-out path, run: a PostgreSQL-backed Dagster instance with the run queue and the daemon.

A throwaway PostgreSQL server (Debian's package, installed by `make test`) listens on a
Unix socket in a temporary folder. The instance keeps its runs, events and schedules
there and queues runs (`QueuedRunCoordinator`; the concurrency pool `nhv_warehouse`, with run
granularity and a limit of one, starts one warehouse writer at a time). Three report years are queued with `nhv-pipeline queue` and started by the
daemon, as schedule, sensor and UI backfill runs are. They all succeed, never two at
once, and publish the same bytes as `nhv-pipeline run --all`.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from pipeline_helpers import make_workspace

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
RESULT_FILES = ("indicator_results.csv", "indicator_results.json", "indicator_results.parquet")
YEARS = ("2024", "2025", "2026")


def _postgres_tool(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    assert found, f"{name} not found: `make postgres` installs Debian's postgresql"
    return found


def _as_server_user(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root (CI runs as root): run it as the package's `postgres` user."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@pytest.fixture(scope="module")
def postgres_url():
    folder = Path(tempfile.mkdtemp(prefix="nhv-pg-", dir="/tmp"))  # short: a socket path has at most 107 bytes
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    data = folder / "data"
    subprocess.run(
        _as_server_user([_postgres_tool("initdb"), "-D", str(data), "-U", "dagster", "-A", "trust", "--no-sync"]),
        check=True, capture_output=True, timeout=120,
    )
    pg_ctl = _postgres_tool("pg_ctl")
    options = f"-k {folder} -c listen_addresses='' -c fsync=off"
    subprocess.run(
        _as_server_user([pg_ctl, "-D", str(data), "-o", options, "-l", str(folder / "server.log"), "-w", "start"]),
        check=True, capture_output=True, timeout=120,
    )
    try:
        yield f"postgresql+psycopg2://dagster@/postgres?host={folder}"  # the driver dagster-postgres installs
    finally:
        subprocess.run(_as_server_user([pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"]),
                       capture_output=True, timeout=120)
        shutil.rmtree(folder, ignore_errors=True)


def _instance_yaml(postgres_url: str) -> str:
    return f"""\
storage:
  postgres:
    postgres_url: "{postgres_url}"
run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
  config:
    dequeue_interval_seconds: 1
# Only the pool keeps warehouse writers apart here (no run-tag limit), so the test shows it does.
concurrency:
  pools:
    granularity: run
    default_limit: 1
  runs:
    max_concurrent_runs: 4
run_monitoring:
  enabled: true
  start_timeout_seconds: 180
  max_runtime_seconds: 7200
telemetry:
  enabled: false
"""


def test_three_report_years_through_the_queue_on_postgres_equal_the_cli(tmp_path, sample_data, full_run, postgres_url):
    from dagster import DagsterInstance, DagsterRunStatus

    workspace = make_workspace(tmp_path, sample_data)
    (workspace.dagster_home / "dagster.yaml").write_text(_instance_yaml(postgres_url), encoding="utf-8")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(workspace.dagster_home),
        "NHV_DATA_RAW": str(workspace.data_raw),
        "NHV_WAREHOUSE_DIR": str(workspace.warehouse),
        "DAGSTER_DISABLE_TELEMETRY": "1",
    }
    # The recipe's one setup step: the pool's limit, stored in PostgreSQL (the queue would only apply
    # the instance's default limit after its first pass, which would start all three runs at once).
    limit = subprocess.run(
        [str(BIN / "dagster"), "instance", "concurrency", "set", "nhv_warehouse", "1"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert limit.returncode == 0, limit.stderr[-3000:]
    # Submitted in order, as `run --all` runs them: the queue keeps that order. Each run holds the
    # assets that have its year (the second condition and R2 begin in 2026), through the implicit asset job.
    submitted = subprocess.run(
        [str(BIN / "nhv-pipeline"), "queue", *(arg for year in YEARS for arg in ("--report-year", year))],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert submitted.returncode == 0, submitted.stderr[-3000:]

    # Only these three runs: the delivery sensor (on by default) would add a validation run per year.
    stopped = subprocess.run(
        [str(BIN / "dagster"), "sensor", "stop", "delivery_sensor"],  # the code location of pyproject.toml
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert stopped.returncode == 0, stopped.stderr[-3000:]

    with DagsterInstance.from_config(str(workspace.dagster_home)) as instance:
        assert instance.run_storage.__class__.__name__ == "PostgresRunStorage"
        # The command created no run: it left a request that the daemon's run-queue sensor turns into runs.
        assert instance.get_runs() == []
        assert len(list((workspace.warehouse / "run_queue").glob("*.json"))) == 1

        daemon_log = (tmp_path / "daemon.log").open("w")  # a file, not a pipe: run workers write to it too
        daemon = subprocess.Popen(
            [str(BIN / "dagster-daemon"), "run"],
            cwd=REPO_ROOT, env=env, stdout=daemon_log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 900
            while time.monotonic() < deadline:
                runs = instance.get_runs()
                if len(runs) == 3 and all(run.is_finished for run in runs):
                    break
                time.sleep(2)
        finally:
            os.killpg(daemon.pid, signal.SIGTERM)
            try:
                daemon.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(daemon.pid, signal.SIGKILL)
                daemon.wait()
            daemon_log.close()

        records = sorted(instance.get_run_records(), key=lambda record: record.start_time or 0)
        assert [record.dagster_run.status for record in records] == [DagsterRunStatus.SUCCESS] * 3, (
            (tmp_path / "daemon.log").read_text()[-3000:]
        )
        assert [record.dagster_run.tags["dagster/partition"] for record in records] == list(YEARS)
        selected = {record.dagster_run.tags["dagster/partition"]: record.dagster_run.asset_selection for record in records}
        assert not any("skeletal_dysplasia" in key.to_user_string() for key in selected["2024"])
        assert any("skeletal_dysplasia" in key.to_user_string() for key in selected["2026"])
        # Never two warehouse writers at once: each run started after the previous one ended. Four
        # runs may be in progress, so what holds them apart is the pool every asset is in.
        assert [record.dagster_run.run_op_concurrency.all_pools for record in records] == [{"nhv_warehouse"}] * 3
        for earlier, later in zip(records, records[1:]):
            assert later.start_time >= earlier.end_time

    reference = full_run[0].warehouse / "published"
    for year in YEARS:
        for name in RESULT_FILES:
            ours = (workspace.warehouse / "published" / year / name).read_bytes()
            assert ours == (reference / year / name).read_bytes(), f"{year}/{name}"
