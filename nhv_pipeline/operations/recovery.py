"""What a run killed half-way leaves behind, recognised and cleaned up when the next run starts.

A `kill -9`, an out-of-memory kill or a machine that stops can interrupt a run
anywhere. What each interruption can leave, and who deals with it:

- an uncommitted DuckDB transaction: DuckDB rolls it back when it next opens the
  file (every write is one transaction, see `resources.replace_rows`);
- lock files (`.run.lock`, `published/.<year>.lock`): the kernel drops the lock
  of a dead process; the stale process id in the file is overwritten;
- a publication swap: `recover_publications` restores or removes the folders a
  swap leaves (`.staging-*`, `.retired-*`), so `published/<year>` is whole;
- a validation report's temporary file (`.<unit>.*.tmp`): removed here;
- the Dagster run: it stays STARTED in the run storage for ever, and the run
  queue's limit of one `nhv/warehouse` run would wait for it for ever. A run of
  the command line carries its process id; a run whose process is gone is marked
  failed here, with a message.

Everything here runs while this process holds the warehouse's DuckDB file lock,
which every step that writes holds too: no other run is half-way through a
write while it cleans up.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from pathlib import Path

PID_TAG = "nhv/pid"
HOST_TAG = "nhv/host"
PROCESS_STARTED_TAG = "nhv/process_started"


def _process_started(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux /proc), to tell a reused process id apart."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            return handle.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def process_tags() -> dict[str, str]:
    """Tags that let the next run tell whether this run's process is still alive."""
    tags = {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}
    started = _process_started(os.getpid())
    if started is not None:
        tags[PROCESS_STARTED_TAG] = started
    return tags


def process_is_gone(tags: dict[str, str]) -> bool:
    """True when the tagged process ran on this machine and no longer exists (or its id was reused)."""
    if tags.get(HOST_TAG) != socket.gethostname() or not tags.get(PID_TAG, "").isdigit():
        return False  # another machine's run, or not a command-line run: not ours to judge
    pid = int(tags[PID_TAG])
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # alive, another user's
    started = tags.get(PROCESS_STARTED_TAG)
    return started is not None and _process_started(pid) not in (None, started)


def fail_runs_of_dead_processes(instance, say: Callable[[str], None]) -> list[str]:
    """Mark failed every unfinished command-line run whose process is gone; returns their run ids."""
    from dagster import DagsterRunStatus, RunsFilter

    unfinished = [DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.STARTED]
    failed = []
    for run in instance.get_runs(filters=RunsFilter(statuses=unfinished)):
        if not process_is_gone(run.tags):
            continue
        instance.report_run_failed(
            run,
            message=f"The process that ran this run (process {run.tags[PID_TAG]} on {run.tags[HOST_TAG]}) is gone: it "
            "was killed or the machine stopped. Marked as failed by the next nhv-pipeline run, which redoes its work.",
        )
        if instance.event_log_storage.supports_global_concurrency_limits:
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)  # its pool slots, too
        year = run.tags.get("dagster/partition", "?")
        say(
            # nhv/run: the selection (nhv_full, ...) the run held; its job is the implicit asset job.
            f"Marked run {run.run_id} ({run.tags.get('nhv/run', run.job_name)}, report year {year}) as failed: its process "
            f"{run.tags[PID_TAG]} is gone (killed?). Its report year is run again when you run it."
        )
        failed.append(run.run_id)
    return failed


def remove_temporary_reports(validation_dir: Path) -> list[Path]:
    """Remove the temporary files of validation reports a killed run was writing (`.<unit>.*.tmp`)."""
    if not validation_dir.is_dir():
        return []
    removed = []
    for temp in sorted(validation_dir.glob("*/*/.*.tmp")):
        temp.unlink(missing_ok=True)
        removed.append(temp)
    return removed


def recover_warehouse_folder(warehouse_dir: Path, say: Callable[[str], None]) -> None:
    """Publications whole again and no half-written report left: what a killed run left behind, cleaned."""
    from nhv_pipeline.publication.swap import recover_publications

    for restored in recover_publications(warehouse_dir / "published"):
        say(f"Restored the publication {restored}: a run was killed while replacing it, so the previous one is back.")
    removed = remove_temporary_reports(warehouse_dir / "validation")
    if removed:
        say(f"Removed {len(removed)} half-written validation report(s) of a killed run under {warehouse_dir / 'validation'}.")


def prepare_warehouse(warehouse_dir: Path, instance, say: Callable[[str], None]) -> str | None:
    """Before a run: fail the runs of dead processes, then clean up what they left, holding the warehouse.

    Returns None, or a one-line message when the warehouse cannot be used.
    """
    from nhv_pipeline.orchestration.resources import WAREHOUSE_FILE, connect

    fail_runs_of_dead_processes(instance, say)
    try:
        with connect(warehouse_dir / WAREHOUSE_FILE):  # DuckDB rolls back a killed run's open transaction here
            recover_warehouse_folder(warehouse_dir, say)
    except Exception as error:
        message = machine_fault_message(error, warehouse_dir)
        if message is None:
            raise
        return message
    return None


DISK_FULL = ("No space left on device", "[Errno 28]", "ENOSPC", "Disk quota exceeded", "[Errno 122]")
DAMAGED = (
    "not a valid DuckDB database file",
    "Could not read enough bytes",
    "Corrupt database file",
    "checksum mismatch",
    "Failed to read database header",
)


def _messages(error) -> list[str]:
    """The messages of an exception or a Dagster error (SerializableErrorInfo) and of their causes."""
    found, seen = [], set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        found.append(str(getattr(error, "message", None) or error))
        error = getattr(error, "cause", None) or getattr(error, "__cause__", None) or getattr(
            error, "context", None
        ) or getattr(error, "__context__", None)
    return found


def _full_folder(candidates: list[Path]) -> Path:
    """The first folder whose disk has (almost) no space left; the first one when none can be told."""
    import shutil

    for folder in candidates:
        existing = next((p for p in (folder, *folder.parents) if p.exists()), None)
        try:
            if existing is not None and shutil.disk_usage(existing).free < 1024 * 1024:
                return folder
        except OSError:
            continue
    return candidates[0]


def machine_fault_message(error, warehouse_dir: Path) -> str | None:
    """One line for a full disk or a damaged warehouse (what happened, which folder or file, what to do); else None."""
    from nhv_pipeline.orchestration.resources import WAREHOUSE_FILE

    messages = _messages(error)
    if any(marker in message for message in messages for marker in DISK_FULL):
        candidates = [warehouse_dir]
        if os.environ.get("DAGSTER_HOME"):
            candidates.append(Path(os.environ["DAGSTER_HOME"]))
        folder = _full_folder(candidates)
        return (
            f"the disk holding {folder} is full (no space left on device): free space there, or point "
            f"{'--warehouse' if folder == warehouse_dir else 'DAGSTER_HOME'} at a disk with room, then re-run. "
            "Nothing was published; earlier publications and the warehouse are as they were."
        )
    damaged = next((m for m in messages for marker in DAMAGED if marker in m), None)
    if damaged is not None:
        reason = damaged.strip().splitlines()[0][:200]
        return (
            f"the warehouse {warehouse_dir / WAREHOUSE_FILE} is damaged (DuckDB: {reason}). Rebuild it from the "
            "deliveries with `nhv-pipeline rebuild`; the damaged file is kept beside it. Publications are untouched."
        )
    return None
