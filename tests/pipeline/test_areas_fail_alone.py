"""Areas fail alone (PUBLICATION.md, top): a condition's part of a report year is replaced only when
that condition passed; a failing condition keeps its previous part, or is absent if it had none, and
never holds back another condition's part. The run still exits non-zero and names the failure."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from dagster import DagsterEventType, DagsterInstance

from pipeline_helpers import Workspace, conditions_in, make_workspace

YEAR = 2026
SCT_PATIENTS = f"{YEAR}/sct_ssc/akademiska/patients.csv"
SKD_PATIENTS = f"{YEAR}/skeletal_dysplasia/karolinska_sd/patients.csv"


@pytest.fixture
def run(monkeypatch):
    """`nhv-pipeline run --report-year 2026` in this process, for a workspace; returns its exit status."""
    from nhv_pipeline.operations.runner import run_report_years

    def run_year(workspace: Workspace) -> int:
        for name, value in {"DAGSTER_HOME": str(workspace.dagster_home), "NHV_DATA_RAW": str(workspace.data_raw),
                            "NHV_WAREHOUSE_DIR": str(workspace.warehouse)}.items():
            monkeypatch.setenv(name, value)
        return run_report_years(workspace.data_raw, workspace.warehouse, YEAR, run_all=False, quiet=True)

    return run_year


def _edit_first_row(path: Path, column: str, value: str, every_row: bool = False) -> None:
    text = path.read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    for row in rows[1:] if every_row else rows[1:2]:
        row[rows[0].index(column)] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")


def _lines_of(folder: Path, condition_id: str) -> list[str]:
    """The published CSV lines of one condition, as published."""
    lines = (folder / "indicator_results.csv").read_text(encoding="utf-8").splitlines()
    return [line for line in lines[1:] if line.split(",")[1] == condition_id]


def _manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


def _part_checks(workspace: Workspace) -> dict[str, tuple[bool, str, str]]:
    """check name -> (passed, part, why) of the last run's part_<condition> checks."""
    with DagsterInstance.get() as instance:
        last = instance.get_runs(limit=1)[0]
        records = instance.all_logs(last.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION)
    out = {}
    for record in records:
        evaluation = record.dagster_event.event_specific_data
        if evaluation.check_name.startswith("part_"):
            metadata = {k: v.value for k, v in evaluation.metadata.items()}
            out[evaluation.check_name] = (evaluation.passed, metadata["part"], metadata["why"])
    return out


def test_a_broken_delivery_keeps_its_area_part_while_another_area_publishes_new_figures(
    tmp_path, sample_data, run, capfd
):
    workspace = make_workspace(tmp_path, sample_data)
    assert run(workspace) == 0
    folder = workspace.warehouse / "published" / str(YEAR)
    assert _manifest(folder)["conditions"] == {c: {"status": "updated", "reason": ""} for c in conditions_in(YEAR)}
    sct_before, skd_before = _lines_of(folder, "sct_ssc"), _lines_of(folder, "skeletal_dysplasia")
    raw_before = {entry["path"]: entry for entry in _manifest(folder)["raw_files"]}
    assert sct_before and skd_before
    capfd.readouterr()

    # sct_ssc corrects its home regions (new figures); skeletal_dysplasia delivers a sex code the contract refuses.
    _edit_first_row(workspace.data_raw / SCT_PATIENTS, "home_region", "01", every_row=True)
    _edit_first_row(workspace.data_raw / SKD_PATIENTS, "sex", "X")
    assert run(workspace) == 1

    manifest = _manifest(folder)
    assert manifest["conditions"]["sct_ssc"] == {"status": "updated", "reason": ""}
    kept = manifest["conditions"]["skeletal_dysplasia"]
    assert kept["status"] == "kept" and "delivery_contract" in kept["reason"] and "karolinska_sd" in kept["reason"]
    # The other area's new figures are published; the failing area's part is the previous one, line for line.
    assert _lines_of(folder, "sct_ssc") != sct_before
    assert _lines_of(folder, "skeletal_dysplasia") == skd_before
    # The correction history lists the changed figures of the updated area only.
    changes = list(csv.DictReader(io.StringIO((folder / "changes.csv").read_text(encoding="utf-8"))))
    assert changes and {row["condition_id"] for row in changes} == {"sct_ssc"}
    # The manifest lists every other file of the new folder, the kept part included, and the raw files
    # behind what it publishes: the kept part's are those of the publication that made it.
    assert {entry["name"] for entry in manifest["published_files"]} >= {"indicator_results.csv", "index.html"}
    raw = {entry["path"]: entry for entry in manifest["raw_files"]}
    assert raw[SKD_PATIENTS] == raw_before[SKD_PATIENTS]
    assert raw[SCT_PATIENTS]["sha256"] != raw_before[SCT_PATIENTS]["sha256"]

    # The run names the failure: the terminal, and a check per condition in the UI.
    stderr = capfd.readouterr().err
    assert "FAILED check part_skeletal_dysplasia on published/publication (2026)" in stderr
    assert "FAILED check delivery_contract on raw/skeletal_dysplasia/delivery (2026)" in stderr
    assert "part_sct_ssc" not in stderr
    checks = _part_checks(workspace)
    assert checks["part_sct_ssc"][:2] == (True, "updated")
    assert checks["part_skeletal_dysplasia"][:2] == (False, "kept")
    assert "delivery_contract" in checks["part_skeletal_dysplasia"][2]

    # Fixed and re-run: both parts are replaced again.
    _edit_first_row(workspace.data_raw / SKD_PATIENTS, "sex", "K")
    assert run(workspace) == 0
    assert {c["status"] for c in _manifest(folder)["conditions"].values()} == {"updated"}


def test_a_failing_area_without_an_earlier_publication_is_absent_and_the_others_are_published(
    tmp_path, sample_data, run
):
    workspace = make_workspace(tmp_path, sample_data)
    _edit_first_row(workspace.data_raw / SKD_PATIENTS, "sex", "X")
    assert run(workspace) == 1
    folder = workspace.warehouse / "published" / str(YEAR)
    manifest = _manifest(folder)
    assert manifest["conditions"]["sct_ssc"]["status"] == "updated"
    assert manifest["conditions"]["skeletal_dysplasia"]["status"] == "withheld"
    assert _lines_of(folder, "skeletal_dysplasia") == []
    assert len(_lines_of(folder, "sct_ssc")) > 100
    assert not [e for e in manifest["raw_files"] if e["path"].split("/")[1:2] == ["skeletal_dysplasia"]]


def test_an_indicator_that_cannot_be_computed_keeps_its_area_part(tmp_path, sample_data, run, monkeypatch):
    """"Every indicator of that condition and year computed": an indicator error is confined to its area."""
    import nhv_pipeline.orchestration.assets.indicators as indicator_assets

    workspace = make_workspace(tmp_path, sample_data)
    assert run(workspace) == 0
    folder = workspace.warehouse / "published" / str(YEAR)
    skd_before = _lines_of(folder, "skeletal_dysplasia")
    real_compute = indicator_assets.compute

    def failing_compute(indicator, *args, **kwargs):
        if indicator.condition_id == "skeletal_dysplasia" and indicator.indicator_id == "B1":
            raise ZeroDivisionError("a value that must not be shown")
        return real_compute(indicator, *args, **kwargs)

    monkeypatch.setattr(indicator_assets, "compute", failing_compute)
    _edit_first_row(workspace.data_raw / SCT_PATIENTS, "home_region", "01", every_row=True)
    assert run(workspace) == 1
    kept = _manifest(folder)["conditions"]["skeletal_dysplasia"]
    assert kept["status"] == "kept"
    assert "indicator B1" in kept["reason"] and "ZeroDivisionError" in kept["reason"]
    assert "must not be shown" not in json.dumps(_manifest(folder))
    assert _lines_of(folder, "skeletal_dysplasia") == skd_before
    assert _manifest(folder)["conditions"]["sct_ssc"]["status"] == "updated"


def test_a_stray_entry_in_the_report_year_fails_the_run_by_position_while_each_area_publishes_on_its_own_checks(
    tmp_path, sample_data, run, capfd
):
    """SECURITY item 7 and areas fail alone together: an entry of `2026/` that is no registered condition's
    folder (nor a look-alike of one) cannot be told whose it is. It is a failure named by its position in
    every condition's report, and the run exits non-zero; but it holds back no condition's part: each is
    published on its own checks, and the manifest says why the run failed."""
    workspace = make_workspace(tmp_path, sample_data)
    (workspace.data_raw / str(YEAR) / "zz_19700505_1234").mkdir()  # a name that must not be repeated
    entries = sorted(p.name for p in (workspace.data_raw / str(YEAR)).iterdir())
    where = f"entry {entries.index('zz_19700505_1234') + 1} of {len(entries)} in {YEAR}"

    assert run(workspace) == 1
    folder = workspace.warehouse / "published" / str(YEAR)
    manifest = _manifest(folder)
    assert {c: p["status"] for c, p in manifest["conditions"].items()} == {c: "updated" for c in conditions_in(YEAR)}
    assert _lines_of(folder, "sct_ssc") and _lines_of(folder, "skeletal_dysplasia")
    (why,) = manifest["run_failed_because"]
    assert where in why and "unknown_condition" in why
    stderr = capfd.readouterr().err
    assert f"FAILED check delivery_contract on raw/sct_ssc/delivery ({YEAR})" in stderr
    assert f"FAILED check delivery_contract on raw/skeletal_dysplasia/delivery ({YEAR})" in stderr
    assert where in stderr and "unknown_condition" in stderr
    assert "part_sct_ssc" not in stderr and "part_skeletal_dysplasia" not in stderr
    assert "19700505" not in stderr and "19700505" not in (folder / "manifest.json").read_text(encoding="utf-8")
    for condition_id in ("sct_ssc", "skeletal_dysplasia"):
        report = (workspace.warehouse / "validation" / str(YEAR) / condition_id / "_registry.csv").read_text(encoding="utf-8")
        assert where in report and "unknown_condition" in report

    # Moved out of the data root: the run succeeds.
    (workspace.data_raw / str(YEAR) / "zz_19700505_1234").rmdir()
    assert run(workspace) == 0
    assert "run_failed_because" not in _manifest(folder)
