"""Faults of the process and the machine, as `tests/faults/test_hostile_deliveries.py` is for files.

`kill -9` of `nhv-pipeline run --all` at named points (`nhv_pipeline/core/faults.py`: the
process sends itself SIGKILL there, so nothing depends on timing). After each:

- every `published/<R>/` is the previous publication or the new one, whole, never a mix;
- the next run succeeds and says what it cleaned up; the killed run is marked failed, so
  the run queue's one-writer limit is free again;
- `warehouse/nhv.duckdb` opens, and the publications are byte-identical to an undisturbed
  run's (`indicator_results.*`);
- no staging or retired folder, temporary report or held lock is left behind.
"""

from __future__ import annotations

import os
import shutil
import signal
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from nhv_pipeline.core.faults import POINTS
from pipeline_helpers import Workspace, make_workspace, unhandled_errors_in_home

RESULT_FILES = ("indicator_results.csv", "indicator_results.json", "indicator_results.parquet")
YEARS = ("2024", "2025")


def results_of(folder: Path) -> tuple[bytes, ...]:
    return tuple((folder / name).read_bytes() for name in RESULT_FILES)


@dataclass
class Fault:
    point: str
    leaves: str
    """What the kill leaves behind that the next run must deal with."""
    years: tuple[str, ...] = ("2024",)
    """The delivery rounds of the data root: one is enough but between two report years (time)."""


FAULTS = [
    Fault("validation_report#2", "raw loading: a run STARTED for ever and a half-written temporary validation report"),
    Fault("warehouse_write:staged#2", "an uncommitted DuckDB transaction in a staged table"),
    Fault("publish_swap", "the previous publication of 2024 under the staging name, the new one in place"),
    Fault("between_years", "2024 done, 2025 never started, no run in progress", years=YEARS),
]


@pytest.fixture(scope="module")
def reference(full_run) -> dict[str, tuple[bytes, ...]]:
    """An undisturbed run's published results per report year (the session's `run --all`)."""
    workspace, completed = full_run
    assert completed.returncode == 0, completed.stderr[-3000:]
    return {year: results_of(workspace.warehouse / "published" / year) for year in YEARS}


def _workspace_with_a_previous_publication(
    tmp_path: Path, sample_data: Path, full_run, years: tuple[str, ...]
) -> tuple[Workspace, tuple]:
    """The deliveries of `years`, and an earlier publication of 2024 with other figures (the 2025 ones)."""
    workspace = make_workspace(tmp_path, sample_data)
    for folder in workspace.data_raw.iterdir():
        if folder.is_dir() and folder.name not in years:
            shutil.rmtree(folder)
    reference_published = full_run[0].warehouse / "published"
    previous = workspace.warehouse / "published" / "2024"
    shutil.copytree(reference_published / "2024", previous)
    for name in RESULT_FILES:
        shutil.copyfile(reference_published / "2025" / name, previous / name)
    return workspace, results_of(previous)


def _unfinished_runs(workspace: Workspace) -> list:
    from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

    with DagsterInstance.from_config(str(workspace.dagster_home)) as instance:
        return list(
            instance.get_runs(
                filters=RunsFilter(
                    statuses=[DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.STARTED]
                )
            )
        )


def _run_status(workspace: Workspace, run_id: str):
    from dagster import DagsterEventType, DagsterInstance

    with DagsterInstance.from_config(str(workspace.dagster_home)) as instance:
        run = instance.get_run_by_id(run_id)
        failures = instance.all_logs(run_id, of_type=DagsterEventType.RUN_FAILURE)
        return run.status, [entry.message for entry in failures]


def _leftovers(workspace: Workspace) -> list[str]:
    published = workspace.warehouse / "published"
    left = [p.name for p in published.iterdir() if p.name.startswith((".staging-", ".retired-"))]
    left += [str(p) for p in (workspace.warehouse / "validation").rglob("*.tmp")]
    return left


def test_every_fault_point_is_in_the_corpus():
    # publish_swap_gap is only reached where no atomic exchange exists: tests/unit/test_export.py kills it there.
    assert {fault.point.split("#")[0] for fault in FAULTS} | {"warehouse_write:raw", "publish_swap_gap"} == set(POINTS)


@pytest.mark.parametrize("fault", FAULTS, ids=[fault.point for fault in FAULTS])
def test_a_run_killed_at_a_fault_point_is_recovered_by_the_next_run(tmp_path, sample_data, full_run, reference, fault):
    workspace, previous = _workspace_with_a_previous_publication(tmp_path, sample_data, full_run, fault.years)
    expected_files = sorted(p.name for p in (full_run[0].warehouse / "published" / "2024").iterdir() if p.is_file())

    killed = workspace.cli("run", "--all", "--quiet", env={"NHV_FAULT_POINT": fault.point})
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    assert f"at {fault.point.split('#')[0]}" in killed.stderr

    # Right after the kill: every publication is a whole one, the previous or the new, never a mix.
    published = workspace.warehouse / "published"
    assert (published / "2024").is_dir(), "the previous publication of 2024 disappeared"
    for year in fault.years:
        folder = published / year
        if folder.exists():
            assert results_of(folder) in (previous if year == "2024" else None, reference[year]), year
            assert set(expected_files) <= {p.name for p in folder.iterdir()}, year
    if fault.point.startswith("validation_report"):
        assert list((workspace.warehouse / "validation").rglob(".*.tmp")), "the kill left no temporary report"
    in_progress = [run.run_id for run in _unfinished_runs(workspace)]
    assert len(in_progress) == (0 if fault.point == "between_years" else 1)

    # The next run cleans up, marks the killed run failed and succeeds.
    after = workspace.cli("run", "--all", "--quiet")
    assert after.returncode == 0, after.stderr[-3000:]
    for run_id in in_progress:
        assert f"Marked run {run_id}" in after.stderr
        status, messages = _run_status(workspace, run_id)
        assert status.value == "FAILURE"
        assert any("is gone" in message for message in messages)
    assert _unfinished_runs(workspace) == []  # the one-writer queue limit is free again
    assert _leftovers(workspace) == []
    assert unhandled_errors_in_home(workspace.dagster_home, workspace.warehouse) == []

    with duckdb.connect(str(workspace.warehouse / "nhv.duckdb"), read_only=True) as con:
        years = con.execute("select distinct report_year from published.indicator_results order by 1").fetchall()
    assert years == [(int(year),) for year in fault.years]
    for year in fault.years:
        assert results_of(published / year) == reference[year], year
    # The previous publication of 2024 had other figures: it is kept as history, not lost.
    kept = list((published / "2024" / "history").glob("*/indicator_results.csv"))
    assert [path.read_bytes() for path in kept] == [previous[0]]


def test_a_new_dagster_home_turns_on_run_monitoring_with_the_writer_limit_and_pool(tmp_path, monkeypatch):
    from dagster import DagsterInstance

    from nhv_pipeline.orchestration.resources import ensure_warehouse_pool
    from nhv_pipeline.operations.runner import dagster_home

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    home = dagster_home()
    with DagsterInstance.from_config(str(home)) as instance:
        assert instance.run_monitoring_enabled
        assert instance.run_monitoring_start_timeout_seconds == 180
        assert instance.run_monitoring_max_runtime_seconds == 7200
        limits = instance.get_concurrency_config().run_queue_config.tag_concurrency_limits
        assert [(limit["key"], limit["limit"]) for limit in limits] == [("nhv/warehouse", 1)]
        pools = instance.get_concurrency_config().pool_config
        assert pools.pool_granularity.value == "run" and pools.default_pool_limit == 1
        ensure_warehouse_pool(instance)  # what `nhv-pipeline run` does first: the limit is stored before any run queues
        assert [(pool.name, pool.limit) for pool in instance.event_log_storage.get_pool_limits()] == [("nhv_warehouse", 1)]


# --- machine faults: a full disk, a damaged warehouse ----------------------------------------------------


@pytest.fixture
def small_disk(tmp_path):
    """A 32 MB tmpfs mounted for the test (CI runs as root), unmounted after."""
    import subprocess

    mount_point = tmp_path / "small_disk"
    mount_point.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", str(mount_point)], check=True)
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=True)


def _fill(disk: Path, leave_bytes: int) -> Path:
    filler = disk / "filler"
    filler.unlink(missing_ok=True)
    free = shutil.disk_usage(disk).free
    with open(filler, "wb") as out:
        remaining = max(free - leave_bytes, 0)
        block = b"\0" * (1 << 20)
        while remaining > 0:
            try:
                remaining -= out.write(block[: min(len(block), remaining)])
            except OSError:
                break
    return filler


def test_a_full_disk_is_one_clear_line_and_leaves_the_warehouse_and_publications_usable(
    tmp_path, sample_data, full_run, small_disk
):
    workspace = make_workspace(tmp_path, sample_data)
    warehouse = small_disk / "warehouse"
    shutil.copytree(full_run[0].warehouse, warehouse)  # the previous state: every year published
    workspace.warehouse = warehouse
    before = {year: results_of(warehouse / "published" / year) for year in ("2024", "2025", "2026")}

    failed_with_disk_full = 0
    for leave in (0, 1024 * 1024):  # fill the disk at different points of the run
        _fill(small_disk, leave)
        completed = workspace.cli("run", "--report-year", "2025", "--quiet")
        if completed.returncode != 0:
            assert completed.returncode == 1, completed.stderr[-3000:]
            errors = [line for line in completed.stderr.splitlines() if line.startswith("error:")]
            assert errors == [
                f"error: the disk holding {warehouse} is full (no space left on device): free space there, or point "
                "--warehouse at a disk with room, then re-run. Nothing was published; earlier publications and the "
                "warehouse are as they were."
            ], completed.stderr[-3000:]
            failed_with_disk_full += 1
        for year, results in before.items():  # untouched, or (2025 only) the same figures republished
            assert results_of(warehouse / "published" / year) == results, year
        with duckdb.connect(str(warehouse / "nhv.duckdb"), read_only=True) as con:
            count = con.execute("select count(*) from published.indicator_results").fetchone()[0]
        assert count > 0
    assert failed_with_disk_full >= 1

    (small_disk / "filler").unlink()
    completed = workspace.cli("run", "--report-year", "2025", "--quiet")
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert results_of(warehouse / "published" / "2025") == before["2025"]
    assert _leftovers(workspace) == []
    # A full disk is a machine fault (one `error:` line), never an unhandled error of a step.
    assert unhandled_errors_in_home(workspace.dagster_home, warehouse) == []


def _correct_2026_referrals(data_raw: Path) -> None:
    """A corrected delivery: care plans given at discharge that the first extract missed (Ö1 of 2026 changes)."""
    import pandas as pd

    referrals = data_raw / "2026" / "sct_ssc" / "akademiska" / "referrals.csv"
    frame = pd.read_csv(referrals, dtype=str, keep_default_na=False)
    fixable = frame.index[(frame["assessment_date"].str.startswith("2025")) & (frame["care_plan"] == "0")][:3]
    assert len(fixable) == 3
    frame.loc[fixable, "care_plan"] = "1"
    frame.to_csv(referrals, index=False, lineterminator="\n")


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_a_damaged_warehouse_is_one_clear_line_and_rebuild_is_the_way_back(tmp_path, sample_data, full_run, damage):
    from pipeline_helpers import tree_digest

    workspace = make_workspace(tmp_path, sample_data)
    shutil.copytree(full_run[0].warehouse, workspace.warehouse)
    database = workspace.warehouse / "nhv.duckdb"
    if damage == "truncated":
        os.truncate(database, database.stat().st_size // 2)
    else:
        database.write_bytes(os.urandom(64 * 1024))
    published = workspace.warehouse / "published"
    before = {year: tree_digest(published / year) for year in ("2024", "2025", "2026")}

    failed = workspace.cli("run", "--report-year", "2026", "--quiet")
    assert failed.returncode == 1
    errors = [line for line in failed.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in failed.stderr, failed.stderr[-3000:]
    assert errors[0].startswith(f"error: the warehouse {database} is damaged (DuckDB: ")
    assert errors[0].endswith("Rebuild it from the deliveries with `nhv-pipeline rebuild`; the damaged file is kept "
                              "beside it. Publications are untouched.")
    assert {year: tree_digest(published / year) for year in before} == before
    assert unhandled_errors_in_home(workspace.dagster_home, workspace.warehouse) == []
    if damage == "garbage":
        return  # the rebuild itself is the same for every damage: run it once

    _correct_2026_referrals(workspace.data_raw)
    rebuilt = workspace.cli("rebuild", "--quiet")
    assert rebuilt.returncode == 0, rebuilt.stderr[-3000:]
    assert "Report year 2024: the figures are unchanged" in rebuilt.stderr
    assert "Report year 2026: the figures changed; republished" in rebuilt.stderr
    # Unchanged years keep their publication byte for byte; 2026 is new, with the old one in history.
    assert tree_digest(published / "2024") == before["2024"]
    assert tree_digest(published / "2025") == before["2025"]
    assert results_of(published / "2026") != results_of(full_run[0].warehouse / "published" / "2026")
    (kept,) = (published / "2026" / "history").glob("*/indicator_results.csv")
    assert kept.read_bytes() == (full_run[0].warehouse / "published" / "2026" / "indicator_results.csv").read_bytes()
    assert (published / "2026" / "changes.csv").is_file()
    # The new warehouse opens; the damaged file is kept beside it; no rebuild folder is left.
    with duckdb.connect(str(database), read_only=True) as con:
        years = con.execute("select distinct report_year from published.indicator_results order by 1").fetchall()
    assert years == [(2024,), (2025,), (2026,)]
    assert len(list(workspace.warehouse.glob("nhv.duckdb.replaced-*"))) == 1
    assert list(workspace.warehouse.glob(".rebuild-*")) == []


def test_after_a_run_patient_level_files_are_owner_only_and_publications_readable_by_all(full_run):
    """Finding: under umask 022 the warehouse was 0755 and nhv.duckdb 0644, readable by every local account."""
    import stat

    workspace, completed = full_run
    assert completed.returncode == 0, completed.stderr[-3000:]
    warehouse = workspace.warehouse

    def mode(path: Path) -> int:
        return stat.S_IMODE(os.lstat(path).st_mode)

    assert mode(warehouse) == 0o711
    for database in warehouse.glob("nhv.duckdb*"):
        assert mode(database) == 0o600, database
    private = [warehouse / "validation", *(warehouse / "validation").rglob("*")]
    assert [p for p in private if mode(p) != (0o700 if p.is_dir() else 0o600)] == []
    public = [warehouse / "published", *(warehouse / "published").rglob("*")]
    locks = {p for p in public if p.name.startswith(".") and p.name.endswith(".lock")}  # empty: a process id at most
    assert [p for p in public if p not in locks and mode(p) != (0o755 if p.is_dir() else 0o644)] == []
    assert "warning:" not in completed.stderr  # a new warehouse needs no tightening
