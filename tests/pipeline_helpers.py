"""Running the real command line against temporary data roots, warehouses and Dagster homes."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Workspace:
    data_raw: Path
    warehouse: Path
    dagster_home: Path

    def cli(self, *args: str, timeout: int = 600, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        env = {
            **os.environ,
            "DAGSTER_HOME": str(self.dagster_home),
            "NHV_DATA_RAW": str(self.data_raw),
            "NHV_WAREHOUSE_DIR": str(self.warehouse),
            **(env or {}),
        }
        return subprocess.run(
            [sys.executable, "-m", "nhv_pipeline.cli", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )


def make_workspace(root: Path, sample: Path) -> Workspace:
    """A fresh copy of the sample deliveries with an empty warehouse and Dagster home."""
    data_raw = root / "data_raw"
    shutil.copytree(sample, data_raw)
    (root / "dagster_home").mkdir()
    return Workspace(data_raw=data_raw, warehouse=root / "warehouse", dagster_home=root / "dagster_home")


def tree_digest(folder: Path) -> dict[str, str]:
    """Relative path -> SHA-256 of every file below `folder`."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def break_sex_code(patients: Path) -> None:
    """Give the patient on line 4 of a patients.csv a sex code outside the contract (`code`)."""
    lines = patients.read_text(encoding="utf-8").split("\n")
    lines[3] = lines[3].replace(",K,", ",Q,").replace(",M,", ",Q,")
    patients.write_text("\n".join(lines), encoding="utf-8")
