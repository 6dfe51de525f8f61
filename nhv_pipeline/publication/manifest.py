"""``manifest.json``: provenance a publisher can verify (PUBLICATION.md section 5).

Plain functions, no Dagster. The manifest names the code (project version, git
commit, whether the working tree was clean, the SHA-256 of the lock file), the
inputs (each unit's delivery of the report year with its kind, extract or submission
(SUBMISSION.md 4), and files; every raw file the run read, with its size, SHA-256 and
role) and the outputs (the size and SHA-256 of every other file of the publication
folder), so anyone holding the folder and the deliveries can recompute each hash.
"""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from nhv_pipeline.submission.contract import SUBMISSION_TABLE

MANIFEST_FILE = "manifest.json"
REPO_ROOT = Path(__file__).resolve().parents[2]
LOCK_FILE = REPO_ROOT / "requirements.lock"

ROLE_VALIDATED = "validated"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        return subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=10
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None


def git_commit(cwd: Path = REPO_ROOT) -> str:
    out = _git(["rev-parse", "HEAD"], cwd)
    return out.strip() if out else "unknown"


def git_tree_clean(cwd: Path = REPO_ROOT) -> bool | None:
    """True when the working tree has no uncommitted change (untracked, non-ignored files count); None outside git."""
    out = _git(["status", "--porcelain"], cwd)
    return None if out is None else out.strip() == ""


def lock_file_sha256(lock: Path = LOCK_FILE) -> str | None:
    """The SHA-256 of ``requirements.lock``; None when the code runs without its repository (an installed wheel)."""
    return sha256_of(lock) if Path(lock).is_file() else None


def spec_versions(catalogue: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, str]]:
    """Condition -> ``{"version", "date"}`` of its source specification, from the catalogue entries.

    Raises ValueError when two indicators of one condition name different specifications.
    """
    out: dict[str, dict[str, str]] = {}
    for entry in catalogue:
        condition = str(entry["condition_id"])
        spec = {"version": str(entry["spec_version"]), "date": str(entry["spec_date"])}
        if out.setdefault(condition, spec) != spec:
            raise ValueError(f"the catalogue names two specification versions for {condition}")
    return out


def indicators_by_input(report_year: int, catalogue: Iterable[Any]) -> dict[tuple[str, int, str], list[str]]:
    """``(condition_id, delivery year, table)`` -> the indicator ids of ``report_year`` that read it.

    ``catalogue`` holds ``Indicator`` objects (their ``inputs`` declare each
    table and the delivery offsets, INDICATORS.md section 1).
    """
    used: dict[tuple[str, int, str], list[str]] = {}
    for indicator in catalogue:
        if report_year < indicator.first_report_year:
            continue
        for spec in indicator.inputs:
            for offset in range(spec.offsets[0], spec.offsets[1] + 1):
                ids = used.setdefault((indicator.condition_id, report_year + offset, spec.table), [])
                if indicator.indicator_id not in ids:
                    ids.append(indicator.indicator_id)
    return used


def raw_file_entries(
    report_year: int, inventories: pd.DataFrame, catalogue: Iterable[Any], data_root: Path
) -> list[dict[str, Any]]:
    """Every raw file the run read, with its role; the registry ``units.csv`` first.

    The run validates the whole delivery round D(R) and reads the lagged tables
    of earlier rounds its indicators declare. A file an indicator reads has the
    role ``used by <ids>`` (it was validated too); a file of D(R) no indicator
    reads has the role ``validated``. Earlier rounds' files no indicator of R
    reads were not read for R and are left out. A unit's submission file of D(R)
    is used by every indicator of its condition produced for R (SUBMISSION.md 4).
    """
    catalogue = list(catalogue)
    used = indicators_by_input(report_year, catalogue)
    every_indicator = [i.indicator_id for i in catalogue if report_year >= i.first_report_year]
    for condition_id in {i.condition_id for i in catalogue}:
        used[(condition_id, report_year, SUBMISSION_TABLE)] = list(dict.fromkeys(
            i.indicator_id for i in catalogue if i.condition_id == condition_id and report_year >= i.first_report_year
        ))
    registry = Path(data_root) / "units.csv"
    entries: list[dict[str, Any]] = [
        {
            "path": "units.csv",
            "size_bytes": registry.stat().st_size,
            "sha256": sha256_of(registry),
            "role": "used by " + ", ".join(dict.fromkeys(every_indicator)),
        }
    ]
    rows = []
    if len(inventories):
        for row in inventories.itertuples(index=False):
            year = int(row.report_year)
            ids = used.get((str(row.condition_id), year, str(row.table)), [])
            if ids:
                role = "used by " + ", ".join(ids)
            elif year == report_year:
                role = ROLE_VALIDATED
            else:
                continue
            rows.append(
                {"path": str(row.path), "size_bytes": int(row.size_bytes), "sha256": str(row.sha256), "role": role}
            )
    return entries + sorted(rows, key=lambda r: r["path"])


def unit_delivery_entries(deliveries: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Each unit's delivery of the report year: its kind (`extract` or `submission`, SUBMISSION.md 4) and files.

    `deliveries` maps a condition to its units' deliveries (objects with `unit_id`, `kind` and
    `files`, paths relative to the data root: `submission.intake.unit_deliveries`).
    """
    return [
        {"condition_id": condition_id, "unit_id": unit.unit_id, "kind": unit.kind, "files": list(unit.files)}
        for condition_id, units in deliveries.items()
        for unit in sorted(units.values(), key=lambda unit: unit.unit_id)
    ]


def raw_files_of_parts(
    current: list[dict[str, Any]], previous: list[dict[str, Any]], kept: set[str], absent: set[str]
) -> list[dict[str, Any]]:
    """The raw files behind what the folder publishes, when some conditions' parts were not replaced.

    A condition whose part was kept lists the files of the publication that made that part (from the
    previous manifest); one whose part is absent lists none; the others list what this run read.
    A path is relative to the data root, ``<report year>/<condition>/...``; ``units.csv`` is shared.
    """

    def condition_of(entry: Mapping[str, Any]) -> str | None:
        parts = str(entry["path"]).split("/")
        return parts[1] if len(parts) > 2 else None

    shared = [e for e in current if condition_of(e) is None]
    own = [e for e in current if condition_of(e) is not None and condition_of(e) not in kept | absent]
    own += [e for e in previous if condition_of(e) in kept]
    return shared + sorted(own, key=lambda e: e["path"])


def published_file_entries(folder: Path) -> list[dict[str, Any]]:
    """Name (relative, ``/``-separated), size and SHA-256 of every file in ``folder`` but the manifest itself."""
    folder = Path(folder)
    out = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()):
        name = path.relative_to(folder).as_posix()
        if name == MANIFEST_FILE:
            continue
        out.append({"name": name, "size_bytes": path.stat().st_size, "sha256": sha256_of(path)})
    return out


def build_manifest(
    *,
    report_year: int,
    published_at_utc: str,
    run_id: str,
    project_version: str,
    suppression_threshold: int,
    catalogue_entries: Iterable[Mapping[str, Any]],
    raw_files: list[dict[str, Any]],
    folder: Path,
    unit_deliveries: list[dict[str, Any]] = (),
    conditions: Mapping[str, Mapping[str, str]] | None = None,
) -> dict[str, Any]:
    """PUBLICATION.md section 5. Call last, when every other file of ``folder`` is written.

    ``conditions``: condition -> ``{"status": "updated" | "kept" | "withheld", "reason": ...}``, what
    became of each condition's part of the year (PUBLICATION.md, top).
    """
    return {
        "report_year": int(report_year),
        "published_at_utc": published_at_utc,
        "dagster_run_id": run_id,
        "project_version": project_version,
        "git_commit": git_commit(),
        "git_tree_clean": git_tree_clean(),
        "requirements_lock_sha256": lock_file_sha256(),
        "suppression_threshold": int(suppression_threshold),
        "spec_versions": spec_versions(catalogue_entries),
        "conditions": {str(k): dict(v) for k, v in (conditions or {}).items()},
        "unit_deliveries": list(unit_deliveries),
        "raw_files": raw_files,
        "published_files": published_file_entries(folder),
    }
