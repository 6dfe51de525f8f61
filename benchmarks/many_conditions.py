"""Scale in the number of conditions: many registered conditions (areas), each with sample data.

    .venv/bin/python benchmarks/many_conditions.py --conditions 70 [--repeat 3]
    .venv/bin/python benchmarks/many_conditions.py --conditions 2      # the same sitting: the ratio's base

The conditions are the two real ones plus generated copies under other ids
(`benchmarks/forty_conditions.py`, registered through NHV_CONDITION_MODULES). Measured,
each as a whole process (start-up included), median of --repeat runs:

- definitions load: import `nhv_pipeline.definitions` and resolve the asset graph (target at 70
  areas ≤ 3 s);
- `dagster definitions validate` (target at 70 areas ≤ 6 s);
- one report year's full run, `nhv-pipeline run --report-year 2026`, after the earlier
  deliveries its lags read are loaded (target at 70 areas ≤ 4x the same year at 2 areas, both
  measured in one sitting, alternating); the first year's run is shown too.

Targets are for 2 cores (benchmarks/RESULTS.md). Not part of `make test`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _env(conditions: int, work: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "NHV_CONDITION_MODULES": "benchmarks.forty_conditions",
        "NHV_BENCHMARK_CONDITIONS": str(conditions),
        "NHV_DATA_RAW": str(work / "data_raw"),
        "NHV_WAREHOUSE_DIR": str(work / "warehouse"),
        "DAGSTER_HOME": str(work / "dagster_home"),
    }


def _timed(command: list[str], env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conditions", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="nhv-many-") as temp:
        work = Path(temp)
        (work / "dagster_home").mkdir()
        env = _env(args.conditions, work)
        _timed([str(BIN / "nhv-pipeline"), "sample-data", "--out", str(work / "data_raw")], env, REPO)
        load = [
            _timed([sys.executable, "-c", "from nhv_pipeline.definitions import defs; defs.resolve_asset_graph()"], env, work)
            for _ in range(args.repeat)
        ]
        validate = [_timed([str(BIN / "dagster"), "definitions", "validate"], env, REPO) for _ in range(args.repeat)]
        first = _timed([str(BIN / "nhv-pipeline"), "run", "--report-year", "2024", "--quiet"], env, REPO)
        _timed([str(BIN / "nhv-pipeline"), "run", "--report-year", "2025", "--quiet"], env, REPO)
        year = _timed([str(BIN / "nhv-pipeline"), "run", "--report-year", "2026", "--quiet"], env, REPO)
        assets = subprocess.run(
            [sys.executable, "-c", "from nhv_pipeline.definitions import defs; "
             "print(len(list(defs.resolve_asset_graph().get_all_asset_keys())))"],
            env=env, cwd=work, capture_output=True, text=True, check=True,
        ).stdout.strip()
    print(f"{args.conditions} conditions, {assets} assets, {os.cpu_count()} cores")
    print("| measurement | median | runs | target |")
    print("|---|---|---|---|")
    print(f"| definitions load | {statistics.median(load):.1f} s | {', '.join(f'{t:.1f}' for t in load)} | ≤ 3 s at 70 |")
    print(f"| dagster definitions validate | {statistics.median(validate):.1f} s | "
          f"{', '.join(f'{t:.1f}' for t in validate)} | ≤ 6 s at 70 |")
    print(f"| full run, report year 2026 (earlier deliveries loaded) | {year:.1f} s | 1 | ≤ 4× the 2-area year |")
    print(f"| full run, report year 2024 (first year) | {first:.1f} s | 1 | |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
