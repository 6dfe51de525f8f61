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
    command = [sys.executable, "-m", "nhv_pipeline.cli", "run", "--report-year", "2024", "--quiet"]
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
