"""`nhv-pipeline rebuild`: a new warehouse from the deliveries, the way back from a damaged one.

The deliveries under `data_raw/` are the source of truth (DATA_CONTRACT.md 1) and
everything in the warehouse is computed from them, so a damaged `nhv.duckdb`
(truncated, overwritten, a disk fault) is rebuilt rather than repaired:

1. every delivered report year is run into a new warehouse beside the old one
   (`<warehouse>/.rebuild-<random>/`), while the old one stays in place;
2. only when that succeeded, the new `nhv.duckdb` replaces the old one, which is
   kept as `nhv.duckdb.replaced-<UTC time>` (delete it when you are satisfied);
3. a report year is republished only when its published figures differ from the
   current publication (the previous one then goes to its `history/`, as for a
   correction); an unchanged year keeps its folder, manifest and history as they were.
A rebuild that fails leaves the warehouse and every publication as they were.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

KEPT_OUT = {"history", "changes.csv"}


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def rebuild_warehouse(data_raw: Path, warehouse_dir: Path, quiet: bool = False) -> int:
    from nhv_pipeline.publication.columns import RESULTS_CSV
    from nhv_pipeline.publication.export import published_years
    from nhv_pipeline.publication.swap import publish_folder
    from nhv_pipeline.publication.history import carry_history
    from nhv_pipeline.orchestration.resources import WAREHOUSE_FILE, exclusive_lock, make_warehouse_dir
    from nhv_pipeline.operations.runner import run_report_years

    make_warehouse_dir(warehouse_dir)
    with exclusive_lock(warehouse_dir / ".run.lock", f"The warehouse {warehouse_dir}", announce=_say):
        for old in warehouse_dir.glob(".rebuild-*"):
            shutil.rmtree(old, ignore_errors=True)  # what a killed rebuild left
        new = Path(tempfile.mkdtemp(prefix=".rebuild-", dir=warehouse_dir))
        try:
            _say(f"Rebuilding the warehouse from {data_raw} into {new} (the current one stays until this succeeds).")
            code = run_report_years(data_raw, new, None, run_all=True, quiet=quiet)
            if code != 0:
                _say(f"error: the rebuild failed (see above); the warehouse {warehouse_dir} is unchanged.")
                return code

            database = warehouse_dir / WAREHOUSE_FILE
            stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
            for suffix in ("", ".wal"):
                if (database.parent / (database.name + suffix)).exists():
                    os.replace(database.parent / (database.name + suffix),
                               database.parent / f"{database.name}.replaced-{stamp}{suffix}")
            os.replace(new / WAREHOUSE_FILE, database)
            _say(f"The new warehouse is {database}; the previous file is kept as {database.name}.replaced-{stamp}.")

            published = warehouse_dir / "published"
            for year in published_years(new / "published"):
                fresh = new / "published" / str(year)
                current = published / str(year)
                if (current / RESULTS_CSV).is_file() and (current / RESULTS_CSV).read_bytes() == (fresh / RESULTS_CSV).read_bytes():
                    _say(f"Report year {year}: the figures are unchanged; its publication is kept as it was.")
                    continue
                with exclusive_lock(published / f".{year}.lock", f"The publication of {year}"), \
                        publish_folder(published, year) as staging:
                    for entry in fresh.iterdir():
                        if entry.name not in KEPT_OUT:
                            (shutil.copytree if entry.is_dir() else shutil.copy2)(entry, staging / entry.name)
                    carry_history(current, staging)
                _say(f"Report year {year}: the figures changed; republished, the previous publication kept in history/.")

            validation = warehouse_dir / "validation"
            for year_dir in sorted((new / "validation").iterdir()) if (new / "validation").is_dir() else []:
                target = validation / year_dir.name
                shutil.rmtree(target, ignore_errors=True)
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(year_dir, target)
        finally:
            shutil.rmtree(new, ignore_errors=True)
    _say(f"Done. The warehouse {warehouse_dir} is rebuilt from {data_raw}.")
    return 0
