"""Equivalence of the two kinds of delivery (SUBMISSION.md 4, issue item 5), end to end on the sample data.

Each chosen unit's submission is made from its own extracts with the engine itself (its
unrounded `enhet` rows -> `cells.submission_frame` -> `cells.write_submission_csv`) and put in
place of its extract folder; then `nhv-pipeline run --all`. The published `enhet` rows, and
the `riket` counts, proportions (with their intervals), means and sds, equal those of the
all-extract run (the `full_run` fixture):

- sct_ssc: karolinska reports 2025 and 2026 by submission (2024 as an extract), akademiska and
  sus by extract: 2025 and 2026 mix both kinds in one condition. karolinska's R1 and R2 of 2026
  come from its submission, and its R2 of 2026 is checked against its B3 of 2024, an extract.
- skeletal_dysplasia 2026: sahlgrenska_sd by submission, karolinska_sd by extract. sahlgrenska_sd
  sends the Excel template (SUBMISSION.md 7) filled in with openpyxl one cell at a time, as a person
  would, as `submission.xlsx`: a workbook publishes the same rows as the extract too.
- 2024 has extracts only: its published results are byte-identical to the all-extract run's.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from pipeline_helpers import Workspace, make_workspace
from submission_fixtures import type_by_hand, unit_submission
from nhv_pipeline.publication.aggregated import COMBINED_KEY, PERCENTILES_KEY
from nhv_pipeline.conditions import get_condition
from nhv_pipeline.submission.cells import write_submission_csv
from nhv_pipeline.submission.workbook import write_template

#: The units that fill in the Excel template instead of writing submission.csv.
BY_WORKBOOK = {("skeletal_dysplasia", 2026, "sahlgrenska_sd")}
SUBMITTING = {
    ("sct_ssc", 2025, "karolinska"),
    ("sct_ssc", 2026, "karolinska"),
    ("skeletal_dysplasia", 2026, "sahlgrenska_sd"),
}
YEARS = (2024, 2025, 2026)
RIKET_FIGURES = ["n", "value", "numerator", "denominator", "ci_low", "ci_high", "mean", "sd", "suppressed"]
KEY = ["report_year", "condition_id", "indicator_id", "measure", "level", "unit_id", "breakdown", "breakdown_value"]


def _submit(sample: Path, data_raw: Path, condition_id: str, report_year: int, unit_id: str) -> Path:
    """Replace the unit's folder of R in `data_raw` by the submission made from its extracts in `sample`."""
    frame = unit_submission(sample, condition_id, report_year, unit_id)
    folder = data_raw / str(report_year) / condition_id / unit_id
    shutil.rmtree(folder)
    folder.mkdir()
    if (condition_id, report_year, unit_id) in BY_WORKBOOK:
        path = write_template(get_condition(condition_id), report_year, folder / "submission.xlsx", unit=unit_id)
        type_by_hand(path, frame)
        return path
    path = folder / "submission.csv"
    write_submission_csv(frame, path)
    return path


@pytest.fixture(scope="module")
def mixed(tmp_path_factory, sample_data) -> Workspace:
    workspace = make_workspace(tmp_path_factory.mktemp("mixed_kinds"), sample_data)
    for condition_id, report_year, unit_id in sorted(SUBMITTING):
        _submit(sample_data, workspace.data_raw, condition_id, report_year, unit_id)
    completed = workspace.cli("run", "--all", "--quiet", timeout=1200)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return workspace


@pytest.fixture(scope="module")
def extracts(full_run) -> Workspace:
    workspace, completed = full_run
    assert completed.returncode == 0, completed.stderr[-3000:]
    return workspace


def _published(workspace: Workspace, year: int) -> pd.DataFrame:
    """The published rows as the CSV holds them (text, "" where empty), keyed."""
    path = workspace.warehouse / "published" / str(year) / "indicator_results.csv"
    return pd.read_csv(path, dtype=str, keep_default_na=False).set_index(KEY).sort_index()


def _submitting_conditions(year: int) -> set[str]:
    return {condition_id for condition_id, y, _ in SUBMITTING if y == year}


@pytest.mark.parametrize("year", YEARS)
def test_published_enhet_rows_equal_the_all_extract_run(extracts, mixed, year):
    ours, theirs = _published(mixed, year), _published(extracts, year)
    ours_units = ours[ours.index.get_level_values("level") == "enhet"]
    theirs_units = theirs[theirs.index.get_level_values("level") == "enhet"]
    pd.testing.assert_frame_equal(ours_units, theirs_units)


@pytest.mark.parametrize("year", YEARS)
def test_published_riket_counts_proportions_means_and_sds_equal_the_all_extract_run(extracts, mixed, year):
    ours, theirs = _published(mixed, year), _published(extracts, year)
    ours_riket = ours[ours.index.get_level_values("level") == "riket"]
    theirs_riket = theirs[theirs.index.get_level_values("level") == "riket"]
    assert list(ours_riket.index) == list(theirs_riket.index)
    pd.testing.assert_frame_equal(ours_riket[RIKET_FIGURES], theirs_riket[RIKET_FIGURES])
    # p10, median and p90 at riket: empty where a unit of the condition submitted, else as before.
    combined = ours_riket.index.get_level_values("condition_id").isin(_submitting_conditions(year))
    assert (ours_riket.loc[combined, ["p10", "median", "p90"]] == "").all().all()
    pd.testing.assert_frame_equal(
        ours_riket.loc[~combined, ["p10", "median", "p90"]], theirs_riket.loc[~combined, ["p10", "median", "p90"]]
    )
    if year == 2026:
        # The all-extract run published riket percentiles there (skeletal B3, T1): now empty.
        distributions = theirs_riket[combined & (theirs_riket.index.get_level_values("measure") == "distribution")]
        assert (distributions["median"] != "").any()


def test_a_year_with_extracts_only_publishes_the_same_bytes(extracts, mixed):
    for name in ("indicator_results.csv", "indicator_results.parquet", "indicator_results.json", "indicator_catalogue.json"):
        ours = (mixed.warehouse / "published" / "2024" / name).read_bytes()
        assert ours == (extracts.warehouse / "published" / "2024" / name).read_bytes(), name


def _unsuppressed(workspace: Workspace, year: int) -> pd.DataFrame:
    """sct_ssc's unrounded, unsuppressed results of the year, from the warehouse."""
    with duckdb.connect(str(workspace.warehouse / "nhv.duckdb"), read_only=True) as con:
        return con.execute(
            "select * from results.indicator_results where report_year = ? and condition_id = 'sct_ssc'", [year]
        ).fetchdf()


def test_cohort_indicators_of_a_submitting_unit_are_its_submitted_figures(mixed):
    submitted = pd.read_csv(mixed.data_raw / "2026" / "sct_ssc" / "karolinska" / "submission.csv", dtype=str,
                            keep_default_na=False)
    results = _unsuppressed(mixed, 2026)
    for indicator_id in ("R1", "R2"):
        cell = submitted[(submitted["indicator_id"] == indicator_id) & (submitted["breakdown"] == "total")].iloc[0]
        got = results[(results["indicator_id"] == indicator_id) & (results["unit_id"] == "karolinska")]
        assert len(got) == 1, indicator_id
        assert (int(got.iloc[0]["numerator"]), int(got.iloc[0]["denominator"])) == (
            int(cell["numerator"]), int(cell["denominator"])), indicator_id


def test_catalogue_manifest_and_preview_say_which_figures_are_combined(mixed):
    folder = mixed.warehouse / "published" / "2026"
    catalogue = {(e["condition_id"], e["indicator_id"]): e
                 for e in json.loads((folder / "indicator_catalogue.json").read_text(encoding="utf-8"))}
    assert catalogue[("sct_ssc", "B1")][COMBINED_KEY] == ["karolinska"]
    assert catalogue[("skeletal_dysplasia", "T1")][COMBINED_KEY] == ["sahlgrenska_sd"]
    assert PERCENTILES_KEY in catalogue[("skeletal_dysplasia", "T1")]
    assert PERCENTILES_KEY not in catalogue[("sct_ssc", "B2")]  # empty at riket by its specification anyway
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    kinds = {(d["condition_id"], d["unit_id"]): d for d in manifest["unit_deliveries"]}
    assert kinds[("sct_ssc", "karolinska")] == {
        "condition_id": "sct_ssc", "unit_id": "karolinska", "kind": "submission",
        "files": ["2026/sct_ssc/karolinska/submission.csv"],
    }
    assert kinds[("sct_ssc", "akademiska")]["kind"] == "extract"
    assert "2026/sct_ssc/akademiska/patients.csv" in kinds[("sct_ssc", "akademiska")]["files"]
    roles = {e["path"]: e["role"] for e in manifest["raw_files"]}
    assert roles["2026/sct_ssc/karolinska/submission.csv"].startswith("used by B1, B2")
    page = (folder / "index.html").read_text(encoding="utf-8")
    assert page.count("Riket (sammanräknat)") > 0
    assert "Karolinska Universitetssjukhuset rapporterade aggregerade uppgifter" in page
    earlier = json.loads((mixed.warehouse / "published" / "2024" / "indicator_catalogue.json").read_text("utf-8"))
    assert all(COMBINED_KEY not in e for e in earlier)


def _rewrite(path: Path, indicator_id: str, **changes: str) -> None:
    """Change the `total` row of one indicator in a submission.csv (text in, text out)."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        if row["indicator_id"] == indicator_id and row["breakdown"] == "total":
            row.update(changes)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _copy(workspace: Workspace, root: Path) -> Workspace:
    shutil.copytree(workspace.data_raw, root / "data_raw")
    shutil.copytree(workspace.warehouse, root / "warehouse")
    (root / "dagster_home").mkdir()  # a Dagster home of its own: the warehouse holds the earlier years
    return Workspace(data_raw=root / "data_raw", warehouse=root / "warehouse", dagster_home=root / "dagster_home")


def test_cohort_figures_of_a_submitting_unit_are_read_from_its_submission_not_its_earlier_extract(mixed, tmp_path):
    # karolinska's R2 of 2026 is the cohort of 2023, whose transplants are in its 2024 delivery, an
    # extract the pipeline holds; its R1 of 2026 reads its 2025 delivery, a submission. With a numerator
    # changed in its 2026 submission, the 2026 run publishes the changed figures for it, and riket moves with them.
    workspace = _copy(mixed, tmp_path)
    path = workspace.data_raw / "2026" / "sct_ssc" / "karolinska" / "submission.csv"
    before = pd.read_csv(path, dtype=str, keep_default_na=False)
    changed = {}
    for indicator_id in ("R1", "R2"):
        cell = before[(before["indicator_id"] == indicator_id) & (before["breakdown"] == "total")].iloc[0]
        numerator, denominator = int(cell["numerator"]), int(cell["denominator"])
        assert denominator > 0, indicator_id
        changed[indicator_id] = numerator - 1 if numerator > 0 else numerator + 1
        _rewrite(path, indicator_id, numerator=str(changed[indicator_id]))
    completed = workspace.cli("run", "--report-year", "2026", "--quiet", timeout=900)
    assert completed.returncode == 0, completed.stderr[-3000:]
    results, original = _unsuppressed(workspace, 2026), _unsuppressed(mixed, 2026)
    for indicator_id, numerator in changed.items():
        rows = results[results["indicator_id"] == indicator_id]
        assert int(rows[rows["unit_id"] == "karolinska"].iloc[0]["numerator"]) == numerator
        was = original[(original["indicator_id"] == indicator_id) & (original["unit_id"] == "karolinska")].iloc[0]
        moved = numerator - int(was["numerator"])
        riket_now = rows[rows["level"] == "riket"].iloc[0]
        riket_was = original[(original["indicator_id"] == indicator_id) & (original["level"] == "riket")].iloc[0]
        assert int(riket_now["numerator"]) == int(riket_was["numerator"]) + moved


def test_r2_of_a_submission_is_checked_against_b3_of_an_extract_two_years_earlier(mixed, tmp_path):
    # SUBMISSION.md 3: sct R2's cohort of 2026 is B3 of 2024 (karolinska's 2024 delivery is an extract).
    workspace = _copy(mixed, tmp_path)
    path = workspace.data_raw / "2026" / "sct_ssc" / "karolinska" / "submission.csv"
    before = pd.read_csv(path, dtype=str, keep_default_na=False)
    r2 = before[(before["indicator_id"] == "R2") & (before["breakdown"] == "total")].iloc[0]
    wrong = str(int(r2["denominator"]) + 1)
    _rewrite(path, "R2", n=wrong, denominator=wrong)
    completed = workspace.cli("run", "--report-year", "2026", "--quiet", timeout=900)
    assert completed.returncode == 1
    failed = [line for line in completed.stderr.splitlines() if "[submission_equal_population]" in line]
    assert failed and "karolinska" in failed[0] and "2026/sct_ssc/karolinska/submission.csv" in failed[0], completed.stderr


@pytest.mark.parametrize("width", (1400, 390))
def test_the_preview_with_combined_figures_passes_axe_and_is_kept_as_a_screenshot(mixed, tmp_path, width):
    """WCAG 2.1 AA (axe-core) on the 2026 preview whose riket figures are combined, at a desktop and a phone width."""
    from selenium.webdriver.support.ui import WebDriverWait

    from tests.browser import ARTIFACTS, axe_violations, describe_violations, headless_chromium, save_full_page_screenshot
    from tests.browser import set_viewport_width

    path = mixed.warehouse / "published" / "2026" / "index.html"
    with headless_chromium(tmp_path / "chromium") as driver:
        set_viewport_width(driver, width)
        driver.get(path.as_uri())
        WebDriverWait(driver, 30).until(lambda d: d.execute_script("return document.readyState") == "complete")
        violations = axe_violations(driver)
        assert violations == [], describe_violations(violations)
        assert driver.execute_script(
            "return [...document.querySelectorAll('tr.riket th')].some(th => th.textContent === 'Riket (sammanräknat)')"
        )
        shot = ARTIFACTS / f"preview-2026-submissions-{width}.png"
        shot.unlink(missing_ok=True)
        save_full_page_screenshot(driver, shot)
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
