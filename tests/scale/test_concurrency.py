"""Two runs at once against one warehouse: the second waits; nothing crashes or is corrupted."""

from __future__ import annotations

import os
import subprocess
import sys

from pipeline_helpers import make_workspace


def test_two_runs_launched_at_once_take_turns_and_both_succeed(tmp_path, sample_data, full_run):
    workspace = make_workspace(tmp_path, sample_data)
    env = {
        **os.environ,
        "DAGSTER_HOME": str(workspace.dagster_home),
        "NHV_DATA_RAW": str(workspace.data_raw),
        "NHV_WAREHOUSE_DIR": str(workspace.warehouse),
    }
    command = [sys.executable, "-m", "nhv_pipeline.operations.cli", "run", "--report-year", "2024", "--quiet"]
    first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    second = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    outputs = [process.communicate(timeout=600) for process in (first, second)]
    assert first.returncode == 0, outputs[0][1][-2000:]
    assert second.returncode == 0, outputs[1][1][-2000:]
    assert any("waiting for it to finish" in stderr for _, stderr in outputs)

    # The warehouse is whole: the publication equals the one of an undisturbed run.
    reference, _ = full_run
    for name in ("indicator_results.csv", "indicator_results.json"):
        ours = (workspace.warehouse / "published" / "2024" / name).read_bytes()
        theirs = (reference.warehouse / "published" / "2024" / name).read_bytes()
        assert ours == theirs, name


_HOLD_LOCK = """
import sys, time
from pathlib import Path
from nhv_pipeline.orchestration.resources import exclusive_lock
with exclusive_lock(Path(sys.argv[1]), "The warehouse"):
    print("holding", flush=True)
    time.sleep(600)
"""


def test_a_held_run_lock_names_its_process_and_a_killed_holder_leaves_no_lock(tmp_path):
    import signal

    import pytest

    from nhv_pipeline.orchestration.resources import WarehouseLockTimeout, exclusive_lock

    lock_file = tmp_path / ".run.lock"
    holder = subprocess.Popen([sys.executable, "-c", _HOLD_LOCK, str(lock_file)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        said: list[str] = []
        with pytest.raises(WarehouseLockTimeout, match=f"in use by process {holder.pid} for more than 1 s"):
            with exclusive_lock(lock_file, "The warehouse", wait_seconds=1, announce=said.append):
                pass
        assert said == [f"The warehouse is in use by process {holder.pid}; waiting for it to finish."]
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert lock_file.exists()  # left behind by the killed holder, with its process id in it
    said = []
    with exclusive_lock(lock_file, "The warehouse", wait_seconds=1, announce=said.append):
        assert lock_file.read_text() == str(os.getpid())
    assert said == []  # taken at once: the kernel dropped the dead process's lock
