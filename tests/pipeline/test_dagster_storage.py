"""The Dagster home's SQLite storage keeps its connections, and still behaves as Dagster's own."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import dagster
import pytest
import sqlalchemy
from dagster import DagsterInstance, asset, materialize
from sqlalchemy.pool import Pool

from nhv_pipeline.orchestration.storage import CHECKED_WITH_DAGSTER, KeptEventLogStorage, KeptRunStorage, KeptScheduleStorage
from nhv_pipeline.operations.runner import dagster_home


def test_the_kept_storage_runs_only_on_the_dagster_version_it_was_checked_with():
    """The storage subclasses Dagster's private SQLite storages: an upgrade may break it at run time, not at import."""
    lock = (Path(__file__).resolve().parents[2] / "requirements.lock").read_text(encoding="utf-8")
    pinned = re.search(r"^dagster==(\S+)", lock, re.MULTILINE).group(1)
    assert dagster.__version__ == pinned == CHECKED_WITH_DAGSTER, (
        f"Dagster {dagster.__version__} is installed and requirements.lock pins {pinned}, but "
        f"nhv_pipeline/orchestration/storage.py was checked with Dagster {CHECKED_WITH_DAGSTER} only: it subclasses "
        "Dagster's private SQLite storages (dagster._core.storage...). Compare it with the new version's "
        "SqliteEventLogStorage, SqliteRunStorage, SqliteScheduleStorage and DagsterSqliteStorage, run this file's "
        "tests and benchmarks/stack_floor.py, then set CHECKED_WITH_DAGSTER to the new version; or remove the "
        "module and write `storage: sqlite` in dagster.yaml (nhv_pipeline/operations/runner.py)."
    )


@asset
def small() -> int:
    return 1


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    return dagster_home()


@contextmanager
def counting_connects():
    """How many SQLite connections any engine opens meanwhile."""
    opened = []

    def count(dbapi_connection, record):
        opened.append(1)

    sqlalchemy.event.listen(Pool, "connect", count)
    try:
        yield opened
    finally:
        sqlalchemy.event.remove(Pool, "connect", count)


def test_the_default_dagster_home_uses_the_kept_storage(home):
    with DagsterInstance.get() as instance:
        assert isinstance(instance.event_log_storage, KeptEventLogStorage)
        assert isinstance(instance.run_storage, KeptRunStorage)
        assert isinstance(instance.schedule_storage, KeptScheduleStorage)
        # Dagster's layout, so `dagster dev` and the Dagster commands find everything where they expect it.
        assert (home / "history" / "runs.db").is_file()
        assert (home / "history" / "runs" / "index.db").is_file()
        assert (home / "schedules" / "schedules.db").is_file()


def test_a_run_opens_each_database_once_not_once_per_event(home):
    with DagsterInstance.get() as instance:
        materialize([small], instance=instance)  # the index, runs and schedules databases are open now
        with counting_connects() as opened:
            result = materialize([small], instance=instance)
        events = instance.all_logs(result.run_id)
    assert result.success
    assert len(events) >= 10
    # A new run opens its own event-log file; Dagster's storage opened about 40 connections for this run.
    assert len(opened) <= 3, len(opened)


@asset(check_specs=[dagster.AssetCheckSpec("positive", asset="checked")])
def checked():
    yield dagster.Output(1)
    yield dagster.AssetCheckResult(passed=True)


def _planned_events(instance, run_id):
    planned = {dagster.DagsterEventType.ASSET_MATERIALIZATION_PLANNED, dagster.DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED}
    return sorted(
        (event.dagster_event_type.value, event.dagster_event.step_key)
        for event in instance.all_logs(run_id)
        if event.dagster_event_type in planned
    )


def test_a_batch_of_events_is_stored_as_single_events_are_in_one_transaction_per_file(home, monkeypatch):
    with DagsterInstance.get() as instance:
        monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", "0")
        single = materialize([small, checked], instance=instance).run_id
        monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", "10000")
        batched = materialize([small, checked], instance=instance).run_id
        # Two planned materializations and one planned check, as one batch, stored as they were one by one.
        assert len(_planned_events(instance, batched)) == 3
        assert _planned_events(instance, batched) == _planned_events(instance, single)
        assert instance.get_latest_materialization_event(dagster.AssetKey("checked")).run_id == batched

        # Stored again as one batch: one commit per database file (the run's log and the index), not one per event and file.
        entries = [event for event in instance.all_logs(single) if "PLANNED" in str(event.dagster_event_type)]
        commits = []

        def count(conn):
            commits.append(1)

        sqlalchemy.event.listen(sqlalchemy.engine.Engine, "commit", count)
        try:
            instance.event_log_storage.store_event_batch(entries)
        finally:
            sqlalchemy.event.remove(sqlalchemy.engine.Engine, "commit", count)
        assert len(_planned_events(instance, single)) == 6
    assert len(commits) == 2, len(commits)


def test_the_definitions_turn_dagster_event_batching_on_unless_the_environment_says_otherwise(monkeypatch):
    from nhv_pipeline.orchestration.graph import build_definitions

    monkeypatch.delenv("DAGSTER_EVENT_BATCH_SIZE", raising=False)
    build_definitions()
    assert int(os.environ["DAGSTER_EVENT_BATCH_SIZE"]) > 1000  # a run's planned events at 70 areas: about 2,000
    monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", "0")
    build_definitions()
    assert os.environ["DAGSTER_EVENT_BATCH_SIZE"] == "0"


def test_asset_events_do_not_read_the_schema_each_time(home):
    """Dagster asked SQLite for the asset-key table's columns for every asset event."""
    statements = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    with DagsterInstance.get() as instance:
        materialize([small], instance=instance)
        sqlalchemy.event.listen(sqlalchemy.engine.Engine, "before_cursor_execute", record)
        try:
            for _ in range(3):
                materialize([small], instance=instance)
        finally:
            sqlalchemy.event.remove(sqlalchemy.engine.Engine, "before_cursor_execute", record)
    assert any("asset_keys" in s for s in statements)  # the events were stored through these engines
    assert not [s for s in statements if "table_xinfo(\"asset_keys\")" in s]  # get_columns


def test_another_process_reads_what_a_kept_connection_wrote(home):
    with DagsterInstance.get() as instance:
        first = materialize([small], instance=instance).run_id
        seen = _runs_seen_by_another_process()
        assert first in seen
        second = materialize([small], instance=instance).run_id  # the connection is still open
        assert {first, second} <= _runs_seen_by_another_process()
        materializations = _materializations_seen_by_another_process()
    assert materializations == 2


def test_runs_written_after_a_wipe_are_on_disk(home):
    with DagsterInstance.get() as instance:
        materialize([small], instance=instance)
        instance.wipe()
        kept = materialize([small], instance=instance).run_id
    assert _runs_seen_by_another_process() == {kept}
    assert _materializations_seen_by_another_process() == 1


def _in_another_process(code: str) -> str:
    return subprocess.run(
        [sys.executable, "-c", "from dagster import DagsterInstance, AssetKey\n" + code],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def _runs_seen_by_another_process() -> set[str]:
    out = _in_another_process("print(*[r.run_id for r in DagsterInstance.get().get_runs()])")
    return set(out.split())


def _materializations_seen_by_another_process() -> int:
    out = _in_another_process(
        "from dagster import AssetRecordsFilter\n"
        "i = DagsterInstance.get()\n"
        "print(len(i.fetch_materializations(AssetRecordsFilter(asset_key=AssetKey('small')), limit=10).records))"
    )
    return int(out)
