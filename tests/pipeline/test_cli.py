"""`nhv-pipeline validate`, `--help` and usage errors, as a unit or an engineer runs them."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from pipeline_helpers import break_sex_code, make_workspace, tree_digest


def _cli(*args, cwd=None, env=None):
    return subprocess.run(
        [sys.executable, "-m", "nhv_pipeline.operations.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        env={**os.environ, **(env or {})},
    )


def test_help_explains_the_commands_and_locations():
    completed = _cli("--help")
    assert completed.returncode == 0
    for text in ("run", "validate", "sample-data", "NHV_DATA_RAW", "NHV_WAREHOUSE_DIR", "exit status"):
        assert text in completed.stdout
    assert "--report-year" in _cli("run", "--help").stdout


def test_validate_passes_the_sample_without_writing_anything(tmp_path, sample_data):
    workspace = make_workspace(tmp_path, sample_data)
    before = tree_digest(workspace.data_raw)
    completed = _cli("validate", "--report-year", "2026", "--data-raw", str(workspace.data_raw), cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert "All deliveries checked follow the data contract." in completed.stderr
    assert not (tmp_path / "warehouse").exists()
    assert tree_digest(workspace.data_raw) == before


def test_validate_names_file_line_column_and_rule_for_one_unit(tmp_path, sample_data):
    workspace = make_workspace(tmp_path, sample_data)
    break_sex_code(workspace.data_raw / "2026" / "sct_ssc" / "akademiska" / "patients.csv")
    completed = _cli(
        "validate", "--report-year", "2026", "--condition", "sct_ssc", "--unit", "akademiska",
        "--data-raw", str(workspace.data_raw), "--report-dir", str(tmp_path / "reports"), cwd=tmp_path,
    )
    assert completed.returncode == 1
    assert "2026 sct_ssc akademiska 2026/sct_ssc/akademiska/patients.csv line 4, column sex: [code]" in completed.stderr
    report = (tmp_path / "reports" / "2026" / "sct_ssc" / "akademiska.csv").read_text(encoding="utf-8-sig")
    assert "2026/sct_ssc/akademiska/patients.csv;4;sex;code;" in report
    assert not (tmp_path / "warehouse").exists()


def test_a_missing_data_root_is_a_usage_error_that_says_what_to_do(tmp_path):
    completed = _cli("run", "--all", "--data-raw", str(tmp_path / "nowhere"), "--warehouse", str(tmp_path / "wh"))
    assert completed.returncode == 2
    assert "sample-data" in completed.stderr
    assert not (tmp_path / "wh").exists()


def test_a_report_year_outside_the_partitions_is_refused(tmp_path, sample_data):
    workspace = make_workspace(tmp_path, sample_data)
    completed = workspace.cli("run", "--report-year", "2019")
    assert completed.returncode == 2
    assert "outside the pipeline's report years" in completed.stderr


@pytest.mark.parametrize("name", ["2026 ", "02026", "abc", "２０２６"])
def test_a_folder_under_the_data_root_that_is_no_report_year_is_an_error_naming_it(tmp_path, sample_data, name):
    """`run --all` must not skip a misnamed delivery round in silence: it was never run."""
    workspace = make_workspace(tmp_path, sample_data)
    (workspace.data_raw / name).mkdir()
    completed = workspace.cli("run", "--all", "--quiet")
    assert completed.returncode == 2, completed.stderr
    lines = [line for line in completed.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, completed.stderr
    assert repr(name) in lines[0] and str(workspace.data_raw) in lines[0]
    assert "report year" in lines[0] and "rename" in lines[0]
    assert not (workspace.warehouse / "nhv.duckdb").exists()  # refused before anything ran
def test_an_unknown_unit_is_a_usage_error_naming_the_known_units(tmp_path, sample_data):
    """A typo must never read as an all-clear: `--unit akadmiska` checked nothing."""
    workspace = make_workspace(tmp_path, sample_data)
    completed = _cli("validate", "--report-year", "2026", "--unit", "akadmiska", "--data-raw", str(workspace.data_raw), cwd=tmp_path)
    assert completed.returncode == 2, completed.stderr
    assert "akadmiska" in completed.stderr and "akademiska" in completed.stderr and "karolinska_sd" in completed.stderr
    assert "follow the data contract" not in completed.stderr
    other = _cli(
        "validate", "--report-year", "2026", "--condition", "sct_ssc", "--unit", "karolinska_sd",
        "--data-raw", str(workspace.data_raw), cwd=tmp_path,
    )
    assert other.returncode == 2, other.stderr
    assert "akademiska" in other.stderr and "karolinska_sd," not in other.stderr


def test_an_unknown_condition_is_a_usage_error_naming_the_known_conditions(tmp_path, sample_data):
    workspace = make_workspace(tmp_path, sample_data)
    completed = _cli("validate", "--report-year", "2026", "--condition", "sct", "--data-raw", str(workspace.data_raw), cwd=tmp_path)
    assert completed.returncode == 2
    assert "sct_ssc" in completed.stderr and "skeletal_dysplasia" in completed.stderr


def test_validate_counts_one_unit_and_one_failure_in_the_singular(tmp_path, sample_data):
    workspace = make_workspace(tmp_path, sample_data)
    break_sex_code(workspace.data_raw / "2026" / "sct_ssc" / "akademiska" / "patients.csv")
    completed = _cli(
        "validate", "--report-year", "2026", "--condition", "sct_ssc", "--unit", "akademiska",
        "--data-raw", str(workspace.data_raw), cwd=tmp_path,
    )
    assert "files from 1 unit, 1 failure." in completed.stderr, completed.stderr
    assert "1 contract failure." in completed.stderr
    assert "1 units" not in completed.stderr and "1 failures" not in completed.stderr


def _break_a_sex_code(workspace):
    break_sex_code(workspace.data_raw / "2026" / "sct_ssc" / "akademiska" / "patients.csv")


def _summary_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def failed_runs(tmp_path_factory, sample_data):
    """A failed 2026 run printed twice: as it is (loading D(2024), D(2025) first), then with --quiet."""
    workspace = make_workspace(tmp_path_factory.mktemp("failed_run"), sample_data)
    _break_a_sex_code(workspace)
    loud = workspace.cli("run", "--report-year", "2026")
    quiet = workspace.cli("run", "--report-year", "2026", "--quiet")
    return loud, quiet


def test_a_quiet_failed_run_prints_only_the_failed_lines_and_the_summary(failed_runs):
    _, quiet = failed_runs
    assert quiet.returncode == 1
    lines = _summary_lines(quiet.stderr)
    assert any(line.startswith("FAILED 2026 sct_ssc akademiska 2026/sct_ssc/akademiska/patients.csv line 4") for line in lines), lines
    assert lines[-1].startswith("Report year 2026: FAILED"), lines
    unexpected = [line for line in lines[:-1] if not line.startswith("FAILED ")]
    assert unexpected == [], unexpected
    assert "Traceback" not in quiet.stderr and "Dependencies for step" not in quiet.stderr


def test_without_quiet_the_failed_lines_come_last_after_the_log(failed_runs):
    loud, _ = failed_runs
    assert loud.returncode == 1
    lines = _summary_lines(loud.stderr)
    first = next(i for i, line in enumerate(lines) if line.startswith("FAILED "))
    assert any("STEP_START" in line or "==> nhv_full" in line for line in lines[:first])
    assert all(line.startswith(("FAILED ", "Report year 2026: FAILED")) for line in lines[first:]), lines[first:]
    assert lines[-1].startswith("Report year 2026: FAILED")


def test_queue_is_the_command_and_submit_a_deprecated_alias_that_says_so(tmp_path, monkeypatch, capsys):
    """`submit` was renamed `queue` (CHANGELOG 0.3.0): both reach the same queueing with the same options."""
    from nhv_pipeline.operations import cli, runner

    (tmp_path / "units.csv").write_text("unit_id\n", encoding="utf-8")
    calls = []
    monkeypatch.setattr(runner, "queue_runs", lambda *args: calls.append(args) or 0)
    for command in ("queue", "submit"):
        code = cli.main([command, "--report-year", "2026", "--selection", "nhv_validate", "--data-raw", str(tmp_path)])
        assert code == 0
        stderr = capsys.readouterr().err
        assert ("deprecated" in stderr and "nhv-pipeline queue" in stderr) == (command == "submit")
    assert [call[2:] for call in calls] == [([2026], False, "nhv_validate")] * 2
    assert "queue" in _cli("--help").stdout
