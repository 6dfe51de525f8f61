"""`nhv-pipeline submission`: a unit's own figures from its own extracts (SUBMISSION.md 6)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from openpyxl import load_workbook

from pipeline_helpers import break_sex_code, make_workspace, tree_digest, without_settings

from nhv_pipeline.conditions import get_condition, registered
from nhv_pipeline.submission.cells import submission_frame, write_submission_csv
from nhv_pipeline.submission.make import delivery_years, make_submission
from nhv_pipeline.submission.workbook import SUBMISSION_SHEET, read_submission_workbook

BIN = Path(sys.executable).parent

#: Every unit of the sample, in the report years that read lags (sct 2026: R1 reads D(2025), R2 D(2024), B2 pools).
UNITS = [
    ("sct_ssc", "akademiska", 2026),
    ("sct_ssc", "karolinska", 2026),
    ("sct_ssc", "sus", 2026),
    ("sct_ssc", "karolinska", 2025),
    ("skeletal_dysplasia", "karolinska_sd", 2026),
    ("skeletal_dysplasia", "sahlgrenska_sd", 2026),
]


def test_the_deliveries_read_are_the_report_year_and_its_lags():
    assert delivery_years(get_condition("sct_ssc"), 2026) == [2024, 2025, 2026]
    assert delivery_years(get_condition("sct_ssc"), 2024) == [2024]  # nothing before the condition began
    assert delivery_years(get_condition("skeletal_dysplasia"), 2026) == [2026]


@pytest.mark.parametrize(("condition_id", "unit_id", "report_year"), UNITS)
def test_submission_gives_exactly_what_the_central_run_computes_for_the_unit(
    full_run, tmp_path, condition_id, unit_id, report_year
):
    """SUBMISSION.md 6: the figures are the central pipeline's for that unit, unrounded (results.*, level enhet)."""
    workspace, completed = full_run
    assert completed.returncode == 0, completed.stderr[-2000:]
    with duckdb.connect(str(workspace.warehouse / "nhv.duckdb"), read_only=True) as con:
        central = con.execute(
            "select * from results.indicator_results where report_year = ? and condition_id = ? "
            "and level = 'enhet' and unit_id = ?",
            [report_year, condition_id, unit_id],
        ).df()
    assert len(central) > 0
    condition = get_condition(condition_id)
    write_submission_csv(submission_frame(central, condition, report_year), tmp_path / "central.csv")

    made = make_submission(workspace.data_raw, get_condition(condition_id), unit_id, report_year, tmp_path / "out", conditions=registered())
    assert made.failures.empty
    assert (tmp_path / "out" / "submission.csv").read_bytes() == (tmp_path / "central.csv").read_bytes()
    # submission.xlsx holds the same rows (16 significant digits: see test_submission_workbook).
    read = read_submission_workbook(tmp_path / "out" / "submission.xlsx")
    assert read.failures == []
    from_csv = pd.read_csv(tmp_path / "central.csv", dtype=str, keep_default_na=False)
    from_xlsx = pd.DataFrame([texts for _, texts in read.records], columns=read.header)
    assert from_xlsx[["indicator_id", "measure", "breakdown", "breakdown_value", "n", "numerator", "denominator"]].equals(
        from_csv[["indicator_id", "measure", "breakdown", "breakdown_value", "n", "numerator", "denominator"]]
    )
    for column in ("mean", "sd", "p10", "median", "p90"):
        expected = pd.to_numeric(from_csv[column].replace("", None))
        pd.testing.assert_series_equal(pd.to_numeric(from_xlsx[column].replace("", None)), expected, rtol=1e-15,
                                       check_names=False)
    anvisningar = load_workbook(tmp_path / "out" / "submission.xlsx", read_only=True)["Anvisningar"]
    assert ("NHV-enhet", unit_id) in [row[:2] for row in anvisningar.iter_rows(max_col=2, values_only=True)]


def _cli(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "nhv-pipeline"), *args], capture_output=True, text=True, timeout=300, cwd=cwd,
                          env=env)


def test_submission_writes_nothing_but_its_files_in_out(tmp_path, sample_data):
    """No warehouse, no Dagster home, nothing beside the data or in the home folder: only --out is written."""
    workspace = make_workspace(tmp_path, sample_data)
    before = tree_digest(workspace.data_raw)
    (tmp_path / "cwd").mkdir()
    (tmp_path / "home").mkdir()
    env = without_settings(dict(os.environ))
    env.update(HOME=str(tmp_path / "home"), PYTHONDONTWRITEBYTECODE="1")
    completed = _cli("submission", "--condition", "sct_ssc", "--unit", "akademiska", "--report-year", "2026",
                     "--data-raw", str(workspace.data_raw), "--out", str(tmp_path / "out"), cwd=tmp_path / "cwd", env=env)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert tree_digest(workspace.data_raw) == before
    assert list((tmp_path / "cwd").iterdir()) == [] and list((tmp_path / "home").iterdir()) == []
    assert sorted(p.name for p in (tmp_path / "dagster_home").iterdir()) == []
    written = sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert written == ["submission.csv", "submission.xlsx"] + [
        f"validering/{year}/sct_ssc/akademiska.{suffix}" for year in (2024, 2025, 2026) for suffix in ("csv", "html")
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cwd", "dagster_home", "data_raw", "home", "out"]


def test_a_failed_validation_writes_the_report_and_no_submission(tmp_path, sample_data):
    workspace = make_workspace(tmp_path, sample_data)
    break_sex_code(workspace.data_raw / "2026" / "skeletal_dysplasia" / "karolinska_sd" / "patients.csv")
    out = tmp_path / "out"
    out.mkdir()
    (out / "submission.csv").write_text("left from an earlier try\n", encoding="utf-8")
    completed = _cli("submission", "--condition", "skeletal_dysplasia", "--unit", "karolinska_sd", "--report-year",
                     "2026", "--data-raw", str(workspace.data_raw), "--out", str(out), cwd=tmp_path, env=dict(os.environ))
    assert completed.returncode == 1
    assert "karolinska_sd/patients.csv line 4, column sex: [code]" in completed.stderr
    assert "no submission was written" in completed.stderr
    assert not (out / "submission.csv").exists() and not (out / "submission.xlsx").exists()
    report = (out / "validering" / "2026" / "skeletal_dysplasia" / "karolinska_sd.csv").read_text(encoding="utf-8-sig")
    assert "patients.csv;4;sex;code;" in report
    assert (out / "validering" / "2026" / "skeletal_dysplasia" / "karolinska_sd.html").is_file()


def test_a_unit_folder_that_holds_a_submission_is_no_extract_to_make_one_from(tmp_path, sample_data):
    workspace = make_workspace(tmp_path, sample_data)
    folder = workspace.data_raw / "2026" / "skeletal_dysplasia" / "sahlgrenska_sd"
    for table in folder.iterdir():
        table.unlink()
    (folder / "submission.csv").write_text("indicator_id\n", encoding="utf-8")
    completed = _cli("submission", "--condition", "skeletal_dysplasia", "--unit", "sahlgrenska_sd", "--report-year",
                     "2026", "--data-raw", str(workspace.data_raw), "--out", str(tmp_path / "out"), cwd=tmp_path,
                     env=dict(os.environ))
    assert completed.returncode == 2 and "holds a submission file" in completed.stderr
    assert not (tmp_path / "out").exists()


def test_an_unknown_unit_is_a_usage_error(tmp_path, sample_data):
    completed = _cli("submission", "--condition", "sct_ssc", "--unit", "nowhere", "--report-year", "2026",
                     "--data-raw", str(sample_data), "--out", str(tmp_path / "out"), cwd=tmp_path, env=dict(os.environ))
    assert completed.returncode == 2 and "akademiska" in completed.stderr
    assert not (tmp_path / "out").exists()


def test_submission_help_starts_fast_without_loading_pandas_or_dagster(tmp_path):
    """SUBMISSION.md 6 on a hospital workstation: `submission --help` starts in under 2 s."""
    started = time.perf_counter()
    completed = _cli("submission", "--help", cwd=tmp_path, env=dict(os.environ))
    elapsed = time.perf_counter() - started
    assert completed.returncode == 0 and "--out" in completed.stdout
    assert elapsed < 2.0, f"{elapsed:.2f} s"
    code = (
        "import sys\nfrom nhv_pipeline.operations import cli\n"
        "for command in ('submission', 'template'):\n"
        "    try:\n        cli.main([command, '--help'])\n    except SystemExit:\n        pass\n"
        "print(sorted(m for m in ('pandas', 'dagster', 'pandera', 'openpyxl') if m in sys.modules))\n"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert loaded.stdout.strip().splitlines()[-1] == "[]"


def test_template_command_writes_the_workbook_for_a_condition_and_year(tmp_path):
    completed = _cli("template", "--condition", "skeletal_dysplasia", "--report-year", "2026", "--unit",
                     "karolinska_sd", "--out", str(tmp_path / "mall.xlsx"), cwd=tmp_path, env=dict(os.environ))
    assert completed.returncode == 0, completed.stderr
    workbook = load_workbook(tmp_path / "mall.xlsx", read_only=True)
    assert workbook.sheetnames == ["Anvisningar", SUBMISSION_SHEET]
    wrong = _cli("template", "--condition", "skeletal", "--report-year", "2026", "--out", str(tmp_path / "x.xlsx"),
                 cwd=tmp_path, env=dict(os.environ))
    assert wrong.returncode == 2 and "skeletal_dysplasia" in wrong.stderr
    early = _cli("template", "--condition", "skeletal_dysplasia", "--report-year", "2025", "--out",
                 str(tmp_path / "y.xlsx"), cwd=tmp_path, env=dict(os.environ))
    assert early.returncode == 2 and not (tmp_path / "y.xlsx").exists()
