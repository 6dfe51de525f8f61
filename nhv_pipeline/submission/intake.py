"""Which kind of delivery a unit folder is (SUBMISSION.md 1): extract tables, or one submission file.

Pure (no Dagster), read from folder listings only: nothing is opened. The contract's
delivery walk, the earlier-delivery rule of SUBMISSION.md 5 and the manifest share it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from nhv_pipeline.core.condition import Condition
from nhv_pipeline.contract.identity import contains_identity_number
from nhv_pipeline.contract.reader import is_inside_root

# The module, not its names: contract.delivery imports this module, and submission.contract imports
# nhv_pipeline.contract, so a process that imports submission.contract first finds it half initialised.
from . import contract as submission_contract

EXTRACT = "extract"
SUBMISSION = "submission"
MIXED = "mixed"
"""Extract tables and a submission file, or two submission files: `mixed_delivery`."""


@dataclass(frozen=True)
class UnitDelivery:
    """One unit's delivery of a report year: its kind and the delivery files its folder holds."""

    unit_id: str
    kind: str
    #: The table files or submission file(s), relative to the data root, sorted.
    files: tuple[str, ...]


def submission_files(names: Iterable[str]) -> list[str]:
    """The submission files among a unit folder's entry names, in SUBMISSION_FILES order."""
    present = set(names)
    return [name for name in submission_contract.SUBMISSION_FILES if name in present]


def table_files(names: Iterable[str], condition: Condition) -> list[str]:
    """The condition's table files among a unit folder's entry names, in table order."""
    present = set(names)
    return [f"{table}.csv" for table in condition.table_names if f"{table}.csv" in present]


def delivery_kind(names: Iterable[str], condition: Condition) -> str:
    """EXTRACT, SUBMISSION or MIXED for a unit folder holding these entry names (exact, case-sensitive)."""
    names = list(names)
    submissions = submission_files(names)
    if submissions and (table_files(names, condition) or len(submissions) > 1):
        return MIXED
    return SUBMISSION if submissions else EXTRACT


def unit_deliveries(data_root: Path, report_year: int, condition: Condition) -> dict[str, UnitDelivery]:
    """unit_id -> its delivery of R, for every unit folder under `<report_year>/<condition_id>/`.

    For the manifest and the earlier-delivery rule: a folder that is a symlink, lies outside the
    data root or whose name holds an identity number is left out (the contract reports it).
    """
    data_root = Path(data_root)
    round_folder = data_root / str(report_year) / condition.condition_id
    if not round_folder.is_dir() or not is_inside_root(round_folder, data_root):
        return {}
    found = {}
    for folder in sorted(round_folder.iterdir()):
        if contains_identity_number(folder.name) or not folder.is_dir() or not is_inside_root(folder, data_root):
            continue
        names = sorted(entry.name for entry in folder.iterdir())
        kind = delivery_kind(names, condition)
        files = [*table_files(names, condition), *submission_files(names)]
        rel = folder.relative_to(data_root).as_posix()
        found[folder.name] = UnitDelivery(folder.name, kind, tuple(sorted(f"{rel}/{name}" for name in files)))
    return found
