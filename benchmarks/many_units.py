"""Scale in the number of units: a report year with many small units of one condition.

    .venv/bin/python benchmarks/many_units.py [--extra 6 --extra 48 --extra 200] [--rounds 2]

For each count it copies the committed sample deliveries, adds that many extra `sct_ssc` units
(each a copy of one sample unit's folders for every report year, registered in units.csv with
the same permit), loads the earlier report years, then times `nhv-pipeline run --report-year
2026` as a whole process (start-up included). The counts alternate within a round, so a noisy
machine weighs on each alike; the median of --rounds is printed with the ratio to the first
count. The target of the security issue: 48 extra units take at most 2.5 times as long as 6.
Not part of `make test`.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CONDITION, TEMPLATE_UNIT = "sct_ssc", "akademiska"
YEARS = (2024, 2025, 2026)


def make_data_raw(target: Path, extra: int) -> Path:
    """The sample deliveries plus `extra` copies of one unit, each under its own id."""
    shutil.copytree(REPO / "data_raw", target)
    with open(target / "units.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    template = next(row for row in rows if row["condition_id"] == CONDITION and row["unit_id"] == TEMPLATE_UNIT)
    for number in range(1, extra + 1):
        unit_id = f"extra_{number:04d}"
        rows.append({**template, "unit_id": unit_id, "unit_name": f"Extra enhet {number}"})
        for year in YEARS:
            source = target / str(year) / CONDITION / TEMPLATE_UNIT
            if source.is_dir():
                shutil.copytree(source, target / str(year) / CONDITION / unit_id)
    with open(target / "units.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return target


def _env(work: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "NHV_DATA_RAW": str(work / "data_raw"),
        "NHV_WAREHOUSE_DIR": str(work / "warehouse"),
        "DAGSTER_HOME": str(work / "dagster_home"),
    }


def _run(work: Path, *args: str) -> float:
    started = time.perf_counter()
    completed = subprocess.run(
        [str(BIN / "nhv-pipeline"), "run", *args, "--quiet"], env=_env(work), capture_output=True, text=True
    )
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"run {' '.join(args)} failed:\n{completed.stdout[-2000:]}{completed.stderr[-2000:]}")
    return elapsed


def one_year(extra: int) -> float:
    """Seconds for report year 2026 with `extra` more units, the earlier years loaded first."""
    with tempfile.TemporaryDirectory(prefix="nhv-units-") as folder:
        work = Path(folder)
        make_data_raw(work / "data_raw", extra)
        (work / "dagster_home").mkdir()
        for year in YEARS[:-1]:
            _run(work, "--report-year", str(year))
        return _run(work, "--report-year", str(YEARS[-1]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--extra", type=int, action="append", help="extra units (repeatable; default 6, 48, 200)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds (default 2)")
    options = parser.parse_args(argv)
    counts = options.extra or [6, 48, 200]
    times: dict[int, list[float]] = {count: [] for count in counts}
    for round_no in range(1, options.rounds + 1):
        for count in counts:
            seconds = one_year(count)
            times[count].append(seconds)
            print(f"round {round_no}: {count} extra units: report year {YEARS[-1]} in {seconds:.1f} s", flush=True)
    first = statistics.median(times[counts[0]])
    for count in counts:
        median = statistics.median(times[count])
        print(f"{count} extra units: median {median:.1f} s, {median / first:.2f}x the {counts[0]}-unit year")
    return 0


if __name__ == "__main__":
    sys.exit(main())
