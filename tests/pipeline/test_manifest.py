"""manifest.json, PUBLICATION.md section 5: provenance a publisher can verify from disk."""

from __future__ import annotations

import hashlib
import json
import re
import stat
import subprocess
import tomllib
from pathlib import Path

import pandas as pd
import pytest

from nhv_pipeline.conditions import registered
from nhv_pipeline.indicators import make_catalogue
from nhv_pipeline.publication.manifest import (
    git_tree_clean,
    indicators_by_input,
    published_file_entries,
    raw_file_entries,
    spec_versions,
)

CATALOGUE = make_catalogue(registered())

REPO_ROOT = Path(__file__).resolve().parents[2]
YEARS = [2024, 2025, 2026]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def pyproject_version() -> str:
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]


# --- pieces -----------------------------------------------------------------------


def test_changelog_and_pyproject_name_the_same_version():
    changelog = (REPO_ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    versions = re.findall(r"^## \[(\d+\.\d+\.\d+)\]", changelog, flags=re.M)
    assert versions, "CHANGELOG.md has no '## [x.y.z]' section"
    assert versions[0] == pyproject_version()
    # Newest first, strictly decreasing.
    as_tuples = [tuple(int(p) for p in v.split(".")) for v in versions]
    assert as_tuples == sorted(as_tuples, reverse=True) and len(set(as_tuples)) == len(as_tuples)


def test_git_tree_clean_tells_a_committed_tree_from_one_with_changes(tmp_path):
    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "a.txt").write_text("one\n")
    git("add", "a.txt")
    git("-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q", "-m", "one")
    assert git_tree_clean(tmp_path) is True
    (tmp_path / "a.txt").write_text("two\n")
    assert git_tree_clean(tmp_path) is False
    git("checkout", "-q", "a.txt")
    (tmp_path / "new.py").write_text("x = 1\n")
    assert git_tree_clean(tmp_path) is False
    assert git_tree_clean(tmp_path.parent / "no-such-dir") is None


def test_spec_versions_come_from_the_catalogue_and_must_agree():
    entries = [
        {"condition_id": "a", "spec_version": "1.0", "spec_date": "2023-01-03"},
        {"condition_id": "a", "spec_version": "1.0", "spec_date": "2023-01-03"},
        {"condition_id": "b", "spec_version": "2.1", "spec_date": "2025-05-27"},
    ]
    assert spec_versions(entries) == {"a": {"version": "1.0", "date": "2023-01-03"},
                                      "b": {"version": "2.1", "date": "2025-05-27"}}
    with pytest.raises(ValueError, match="two specification versions for a"):
        spec_versions(entries + [{"condition_id": "a", "spec_version": "1.1", "spec_date": "2024-01-01"}])


def test_raw_file_roles_validated_used_by_and_left_out(tmp_path):
    (tmp_path / "units.csv").write_text("unit_id\n")
    used = indicators_by_input(2026, CATALOGUE)
    # R2 of 2026 reads the transplants of D(2024) (INDICATORS.md: cohort lag 2).
    assert "R2" in used[("sct_ssc", 2024, "transplants")]
    inventories = pd.DataFrame(
        [
            ("sct_ssc", 2026, "patients", "2026/sct_ssc/a/patients.csv"),
            ("sct_ssc", 2026, "notes", "2026/sct_ssc/a/notes.csv"),  # a table of D(R) no indicator reads
            ("sct_ssc", 2024, "transplants", "2024/sct_ssc/a/transplants.csv"),
            ("sct_ssc", 2024, "notes", "2024/sct_ssc/a/notes.csv"),
        ],
        columns=["condition_id", "report_year", "table", "path"],
    ).assign(size_bytes=10, sha256="0" * 64)
    entries = {e["path"]: e["role"] for e in raw_file_entries(2026, inventories, CATALOGUE, tmp_path)}
    assert list(entries)[0] == "units.csv" and entries["units.csv"].startswith("used by B1")
    assert entries["2026/sct_ssc/a/patients.csv"] == "used by " + ", ".join(used[("sct_ssc", 2026, "patients")])
    assert entries["2026/sct_ssc/a/notes.csv"] == "validated"
    assert "R2" in entries["2024/sct_ssc/a/transplants.csv"]
    assert "2024/sct_ssc/a/notes.csv" not in entries  # an earlier round's file no indicator of 2026 reads


def test_published_file_entries_leave_out_the_manifest_and_include_subfolders(tmp_path):
    (tmp_path / "manifest.json").write_text("{}")
    (tmp_path / "index.html").write_text("<p>x</p>")
    (tmp_path / "history" / "20260101T000000Z").mkdir(parents=True)
    (tmp_path / "history" / "20260101T000000Z" / "manifest.json").write_text("{}")
    entries = published_file_entries(tmp_path)
    assert [e["name"] for e in entries] == ["history/20260101T000000Z/manifest.json", "index.html"]
    assert entries[1] == {"name": "index.html", "size_bytes": 8, "sha256": sha256(tmp_path / "index.html")}


# --- the real publications ----------------------------------------------------------


@pytest.fixture(scope="module")
def run(full_run):
    workspace, completed = full_run
    assert completed.returncode == 0, completed.stderr[-3000:]
    return workspace


def manifest_of(workspace, year) -> dict:
    return json.loads((workspace.warehouse / "published" / str(year) / "manifest.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("report_year", YEARS)
def test_every_published_file_hash_is_recomputed_from_disk(run, report_year):
    folder = run.warehouse / "published" / str(report_year)
    manifest = manifest_of(run, report_year)
    listed = {e["name"]: e for e in manifest["published_files"]}
    on_disk = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert set(listed) == on_disk - {"manifest.json"}
    assert {"indicator_results.csv", "indicator_results.parquet", "indicator_results.json",
            "indicator_catalogue.json", "datapackage.json", "index.html"} <= set(listed)
    for name, entry in listed.items():
        path = folder / name
        assert entry["size_bytes"] == path.stat().st_size, name
        assert entry["sha256"] == sha256(path), name


@pytest.mark.parametrize("report_year", YEARS)
def test_every_raw_file_of_the_delivery_round_is_listed_with_its_role_and_hash(run, report_year):
    manifest = manifest_of(run, report_year)
    listed = {e["path"]: e for e in manifest["raw_files"]}
    delivered = {
        p.relative_to(run.data_raw).as_posix()
        for p in (run.data_raw / str(report_year)).rglob("*.csv")
    }
    assert delivered <= set(listed), sorted(delivered - set(listed))
    assert "units.csv" in listed
    for path, entry in listed.items():
        file = run.data_raw / path
        assert entry["size_bytes"] == file.stat().st_size and entry["sha256"] == sha256(file), path
        assert entry["role"] == "validated" or re.fullmatch(r"used by [A-ZÖ]\d(, [A-ZÖ]\d)*", entry["role"]), entry
        if not path.startswith(f"{report_year}/") and path != "units.csv":
            assert entry["role"].startswith("used by "), path  # an earlier round is read only for a lag
    if report_year == 2024:
        # The 2024 run validated survey.csv and followup.csv too, though no 2024 indicator reads them.
        assert listed["2024/sct_ssc/akademiska/survey.csv"]["role"] == "validated"
        assert listed["2024/sct_ssc/akademiska/followup.csv"]["role"] == "validated"
    if report_year == 2026:
        assert "R2" in listed["2024/sct_ssc/akademiska/transplants.csv"]["role"]


@pytest.mark.parametrize("report_year", YEARS)
def test_manifest_names_code_lock_file_and_specifications(run, report_year):
    manifest = manifest_of(run, report_year)
    assert manifest["project_version"] == pyproject_version()
    assert re.fullmatch(r"[0-9a-f]{40}", manifest["git_commit"])
    assert manifest["git_tree_clean"] is git_tree_clean(REPO_ROOT)
    assert manifest["requirements_lock_sha256"] == sha256(REPO_ROOT / "requirements.lock")
    assert manifest["suppression_threshold"] == 5
    assert manifest["spec_versions"]["sct_ssc"] == {"version": "1.0", "date": "2023-01-03"}
    if report_year == 2026:
        assert manifest["spec_versions"]["skeletal_dysplasia"] == {"version": "1.0", "date": "2025-05-27"}


@pytest.mark.parametrize("report_year", YEARS)
def test_published_folders_and_files_are_readable_by_other_accounts(run, report_year):
    folder = run.warehouse / "published" / str(report_year)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755
    for path in folder.rglob("*"):
        assert stat.S_IMODE(path.stat().st_mode) == (0o755 if path.is_dir() else 0o644), path
