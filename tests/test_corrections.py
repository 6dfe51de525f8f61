"""A corrected re-delivery replaces a publication and keeps the old one; a failed run changes nothing."""

from __future__ import annotations

import pandas as pd
import pytest

from nhv_pipeline.publication.history import figure_changes
from pipeline_helpers import make_workspace, tree_digest


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
    assert tree_digest(corrected["folder"]) == corrected["after_correction"]


def test_the_pipeline_never_changes_a_raw_file(corrected):
    workspace = corrected["workspace"]
    patients = workspace.data_raw / "2025" / "sct_ssc" / "akademiska" / "patients.csv"
    current = tree_digest(workspace.data_raw)
    current.pop("2025/sct_ssc/akademiska/patients.csv")
    expected = dict(corrected["corrected_raw"])
    expected.pop("2025/sct_ssc/akademiska/patients.csv")
    assert current == expected
    assert ",X," in patients.read_text(encoding="utf-8")
