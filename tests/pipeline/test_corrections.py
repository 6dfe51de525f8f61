"""A corrected re-delivery replaces a publication and keeps the old one; a failed run changes nothing."""

from __future__ import annotations

import pandas as pd
import pytest

from nhv_pipeline.publication.history import figure_changes
from pipeline_helpers import assert_part_not_replaced, make_workspace, tree_digest


def _published(rows):
    columns = ["condition_id", "indicator_id", "measure", "level", "unit_id", "breakdown", "breakdown_value",
               "n", "value", "numerator", "denominator", "suppressed", "suppression_reason"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.astype(str)


def test_figure_changes_lists_each_changed_figure_from_what_to_what():
    before = _published([
        ["sct_ssc", "Ö1", "proportion", "riket", "", "total", "total", "20", "50.0", "10", "20", "false", ""],
        ["sct_ssc", "B1", "count", "riket", "", "total", "total", "20", "20.0", "", "", "false", ""],
        ["sct_ssc", "B1", "count", "riket", "", "sex", "K", "6", "6.0", "", "", "false", ""],
    ])
    after = _published([
        ["sct_ssc", "Ö1", "proportion", "riket", "", "total", "total", "20", "55.0", "11", "20", "false", ""],
        ["sct_ssc", "B1", "count", "riket", "", "total", "total", "20", "20.0", "", "", "false", ""],
        ["sct_ssc", "B1", "count", "riket", "", "sex", "M", "14", "14.0", "", "", "false", ""],
    ])
    changes = figure_changes(before, after)
    as_tuples = set(changes[["indicator_id", "breakdown_value", "figure", "before", "after"]].itertuples(index=False, name=None))
    assert as_tuples == {
        ("Ö1", "total", "numerator", "10", "11"),
        ("Ö1", "total", "value", "50.0", "55.0"),
        ("B1", "K", "row removed", "", ""),
        ("B1", "M", "row added", "", ""),
    }


def test_identical_publications_have_no_changes():
    frame = _published([["sct_ssc", "B1", "count", "riket", "", "total", "total", "20", "20.0", "", "", "false", ""]])
    assert figure_changes(frame, frame.copy()).empty


@pytest.fixture(scope="module")
def corrected(tmp_path_factory, sample_data):
    """Publish 2025; re-deliver a corrected akademiska folder and re-run; then deliver a broken one."""
    workspace = make_workspace(tmp_path_factory.mktemp("corrections"), sample_data)
    first = workspace.cli("run", "--report-year", "2025")
    assert first.returncode == 0, first.stderr[-3000:]
    folder = workspace.warehouse / "published" / "2025"
    original = tree_digest(folder)

    # The correction: care plans given at discharge that the first extract missed (Ö1).
    referrals = workspace.data_raw / "2025" / "sct_ssc" / "akademiska" / "referrals.csv"
    frame = pd.read_csv(referrals, dtype=str, keep_default_na=False)
    fixable = frame.index[(frame["assessment_date"].str.startswith("2024")) & (frame["care_plan"] == "0")][:3]
    assert len(fixable) == 3
    frame.loc[fixable, "care_plan"] = "1"
    frame.to_csv(referrals, index=False, lineterminator="\n")
    corrected_raw = tree_digest(workspace.data_raw)
    second = workspace.cli("run", "--report-year", "2025")
    after_correction = tree_digest(folder)

    # Then a broken re-delivery: the run fails and must leave the corrected publication alone.
    patients = workspace.data_raw / "2025" / "sct_ssc" / "akademiska" / "patients.csv"
    patients.write_text(patients.read_text(encoding="utf-8").replace(",K,", ",X,", 1), encoding="utf-8")
    third = workspace.cli("run", "--report-year", "2025")
    return {
        "workspace": workspace,
        "folder": folder,
        "original": original,
        "after_correction": after_correction,
        "corrected_raw": corrected_raw,
        "runs": (first, second, third),
    }


def test_the_corrected_year_is_republished_and_the_old_publication_kept_in_history(corrected):
    second = corrected["runs"][1]
    assert second.returncode == 0, second.stderr[-3000:]
    folder = corrected["folder"]
    history = sorted((folder / "history").iterdir())
    assert len(history) == 1
    kept = tree_digest(history[0])
    for name in ("indicator_results.csv", "indicator_results.parquet", "manifest.json", "index.html"):
        assert kept[name] == corrected["original"][name]
    assert corrected["after_correction"]["indicator_results.csv"] != corrected["original"]["indicator_results.csv"]


def test_the_change_summary_names_the_changed_figures(corrected):
    changes = pd.read_csv(corrected["folder"] / "changes.csv", dtype=str, keep_default_na=False)
    national = changes[(changes["indicator_id"] == "Ö1") & (changes["level"] == "riket") & (changes["figure"] == "numerator")]
    assert len(national) == 1
    assert int(national.iloc[0]["after"]) - int(national.iloc[0]["before"]) == 3
    assert set(changes["indicator_id"]) == {"Ö1"}


def test_a_failed_run_leaves_the_last_good_publication_byte_for_byte(corrected):
    third = corrected["runs"][2]
    assert third.returncode == 1
    assert "[code]" in third.stderr
    assert_part_not_replaced(corrected["folder"], corrected["after_correction"], "sct_ssc", 2025)


def test_the_pipeline_never_changes_a_raw_file(corrected):
    workspace = corrected["workspace"]
    patients = workspace.data_raw / "2025" / "sct_ssc" / "akademiska" / "patients.csv"
    current = tree_digest(workspace.data_raw)
    current.pop("2025/sct_ssc/akademiska/patients.csv")
    expected = dict(corrected["corrected_raw"])
    expected.pop("2025/sct_ssc/akademiska/patients.csv")
    assert current == expected
    assert ",X," in patients.read_text(encoding="utf-8")


# --- stale outputs: later years that draw on a corrected one; validation reports replaced as a whole ------


@pytest.fixture(scope="module")
def corrected_earlier_year(tmp_path_factory, sample_data):
    """Publish 2024-2026; correct D(2025) and re-run 2025 alone, a stale report planted; then a run that fails early."""
    workspace = make_workspace(tmp_path_factory.mktemp("later_years"), sample_data)
    first = workspace.cli("run", "--all")
    assert first.returncode == 0, first.stderr[-3000:]
    referrals = workspace.data_raw / "2025" / "sct_ssc" / "akademiska" / "referrals.csv"
    frame = pd.read_csv(referrals, dtype=str, keep_default_na=False)
    fixable = frame.index[(frame["assessment_date"].str.startswith("2024")) & (frame["care_plan"] == "0")][:3]
    frame.loc[fixable, "care_plan"] = "1"
    frame.to_csv(referrals, index=False, lineterminator="\n")
    reports = workspace.warehouse / "validation" / "2025" / "sct_ssc"
    stale = "fil;rad;kolumn;regel;meddelande\r\n2025/sct_ssc/borta/patients.csv;;;missing_delivery;STALE LINE\r\n"
    (reports / "borta.csv").write_text(stale, encoding="utf-8-sig")
    second = workspace.cli("run", "--report-year", "2025")
    planted_after_second = (reports / "borta.csv").exists()

    # A run that fails before any delivery is read (units.csv broken): no stale line of a folder gone is printed.
    (reports / "borta.csv").write_text(stale, encoding="utf-8-sig")
    units = workspace.data_raw / "units.csv"
    units.write_text(units.read_text(encoding="utf-8").replace("akademiska", "Akademiska!", 1), encoding="utf-8")
    third = workspace.cli("run", "--report-year", "2025")
    return {"runs": (first, second, third), "planted_after_second": planted_after_second, "reports": reports}


def test_a_rerun_of_a_corrected_earlier_year_names_the_later_years_to_rerun(corrected_earlier_year):
    first, second, _ = corrected_earlier_year["runs"]
    assert second.returncode == 0, second.stderr[-3000:]
    notes = [line for line in second.stderr.splitlines() if line.startswith("note: report year 2025")]
    assert len(notes) == 1, second.stderr[-3000:]
    assert "2026" in notes[0] and "nhv-pipeline run --report-year 2026" in notes[0] and "2024" not in notes[0]
    assert not any(line.startswith("note: report year") for line in first.stderr.splitlines())  # all re-run in order


def test_a_run_replaces_the_validation_reports_of_its_year_as_a_whole(corrected_earlier_year):
    _, second, third = corrected_earlier_year["runs"]
    assert not corrected_earlier_year["planted_after_second"]
    assert third.returncode == 1
    assert "STALE LINE" not in third.stderr and "borta" not in third.stderr
    assert not (corrected_earlier_year["reports"] / "borta.csv").exists()
