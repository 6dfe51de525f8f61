"""Benchmark the NHV pipeline at 1x, 10x, 100x (optionally 1000x) the sample volume.

Run from the repository root with the project's virtualenv:

    .venv/bin/python benchmarks/run_benchmark.py                    # scales 1,10,100
    .venv/bin/python benchmarks/run_benchmark.py --scales 1000 --merge   # add 1000x to the recorded scales

Every measurement runs in its own subprocess, started with `subprocess.Popen`
and reaped with `os.wait4`, whose resource usage is that of the child and of
every descendant it waited for: `ru_maxrss` is the peak resident set size of
the measured process tree's largest process (Linux reports KiB). Wall time is
`time.perf_counter()` around start and reap, so interpreter start-up and
imports are included, as a user would see them.

What is measured per scale (see README.md next to this file):

(a) full run      `nhv-pipeline run --all` with a fresh warehouse and a fresh DAGSTER_HOME
(b) validation    `nhv-pipeline validate --report-year R` once per delivered report
                  year (separate processes; wall times summed, peak = largest)
(c) indicators    one process that loads the staged tables from the warehouse of (a),
                  exactly the report years each indicator's inputs declare, and calls
                  `nhv_pipeline.indicators.compute` for every indicator and report year
(d) definitions   `python -c "import nhv_pipeline.definitions"`, median of 3
                  (scale-independent: measured once)

The benchmark is not part of the test suite. It writes only under --workdir, its
section of --out (benchmarks/RESULTS.md) and its entry of --json (benchmarks/results.json).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import results_file  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
CLI = str(VENV_BIN / "nhv-pipeline") if (VENV_BIN / "nhv-pipeline").exists() else None

# Targets of the issue "Hardening and performance", item 3.
TARGET_FULL_1X_S = 15.0
TARGET_FULL_100X_S = 60.0
TARGET_FULL_100X_MB = 2048.0
TARGET_DEFINITIONS_S = 3.0
TARGET_GROWTH_10_TO_100 = 10.0

DESCRIPTION = __doc__.split("\n\n", 1)[0]
EPILOG = """\
measurements (each in a fresh subprocess; peak memory from os.wait4 rusage):
  (a) full run     nhv-pipeline run --all, fresh warehouse and DAGSTER_HOME
  (b) validation   nhv-pipeline validate for every delivered report year (summed)
  (c) indicators   compute() of every indicator and report year from the staged tables of (a)
  (d) definitions  python -c "import nhv_pipeline.definitions", median of 3

targets (pass/fail in the results):
  1x full run <= 15 s; 100x full run <= 60 s and <= 2 GB peak; definitions load <= 3 s;
  full-run time t(100x)/t(10x) <= 10.

examples:
  .venv/bin/python benchmarks/run_benchmark.py
  .venv/bin/python benchmarks/run_benchmark.py --scales 1,10,100,1000 --keep --workdir /tmp/nhv-bench
  .venv/bin/python benchmarks/run_benchmark.py --scales 1000 --out /tmp/results-1000.md --timeout 900
"""

INDICATOR_SCRIPT = r"""
import json, sys, time
t0 = time.perf_counter()
from pathlib import Path
import duckdb
import pandas as pd
from nhv_pipeline.conditions import registered
from nhv_pipeline.contract import read_registry
from nhv_pipeline.indicators import compute, make_catalogue
from nhv_pipeline.orchestration.partitions import FIRST_REPORT_YEAR
CATALOGUE = make_catalogue()

CATALOGUE = make_catalogue(registered())

data_raw, database, years = Path(sys.argv[1]), sys.argv[2], [int(y) for y in sys.argv[3].split(",")]
t_import = time.perf_counter()
units = read_registry(data_raw, registered()).units
con = duckdb.connect(database, read_only=True)
present = {(s, t) for s, t in con.execute("select table_schema, table_name from information_schema.tables").fetchall()}
cache = {}

def staged(condition_id, table, report_years):
    # The IO manager's read: the declared deliveries, ordered (resources.read_rows).
    key = (condition_id, table, tuple(report_years))
    if key not in cache:
        name = f"{condition_id}_{table}"
        if ("staged", name) not in present or not report_years:
            cache[key] = pd.DataFrame()
        else:
            cache[key] = con.execute(
                f'select * from "staged"."{name}" where report_year in (select unnest(?::int[])) order by all',
                [list(report_years)],
            ).df()
    return cache[key]

load_s = compute_s = 0.0
result_rows = calls = 0
for year in years:
    for indicator in CATALOGUE:
        t = time.perf_counter()
        tables = {
            spec.table: staged(
                indicator.condition_id, spec.table,
                [y for y in spec.report_years(year) if y >= FIRST_REPORT_YEAR and y in years],
            )
            for spec in indicator.inputs
        }
        load_s += time.perf_counter() - t
        t = time.perf_counter()
        result = compute(indicator, year, tables, units)
        compute_s += time.perf_counter() - t
        result_rows += len(result)
        calls += 1
con.close()
print(json.dumps({"import_s": t_import - t0, "load_s": load_s, "compute_s": compute_s,
                  "calls": calls, "result_rows": result_rows}))
"""


@dataclass
class Measurement:
    """One measured subprocess (or a group of them, for validation and definitions)."""

    wall_s: float | None = None
    peak_mb: float | None = None
    exit_codes: list[int] = field(default_factory=list)
    note: str = ""
    detail: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.wall_s is not None

    def cell(self) -> str:
        if self.wall_s is None:
            return f"– ({self.note})" if self.note else "–"
        flag = "" if all(code in (0,) for code in self.exit_codes) else f" (exit {max(self.exit_codes)})"
        return f"{self.wall_s:.1f} s / {self.peak_mb:.0f} MB{flag}"


def measure(command: list[str], *, env: dict | None = None, timeout: float, cwd: Path | None = None) -> Measurement:
    """Run `command`; wall time and the peak RSS of its process tree.

    The child is reaped with `os.wait4`, whose rusage covers the child and every
    descendant it waited for, so `ru_maxrss` (KiB on Linux) is the peak of the
    measured tree's largest process and nothing else. Output goes to temporary
    files (no pipe to drain while polling).
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        process = subprocess.Popen(command, env=env, cwd=cwd, stdout=out, stderr=err, start_new_session=True)
        deadline = start + timeout
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                os.killpg(process.pid, signal.SIGKILL)  # the child's own session, nothing else
                os.wait4(process.pid, 0)
                process.returncode = -signal.SIGKILL
                return Measurement(note=f"timed out after {timeout:.0f} s")
            time.sleep(0.02)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        measurement = Measurement(wall_s=wall, peak_mb=usage.ru_maxrss / 1024, exit_codes=[process.returncode])
        measurement.detail["stdout"] = out.read().decode("utf-8", "replace")
        measurement.detail["stderr"] = err.read().decode("utf-8", "replace")
    if process.returncode < 0:
        measurement.note = f"killed by signal {-process.returncode}"
        measurement.wall_s = None
    return measurement


def failure_lines(measurement: Measurement, limit: int = 8) -> list[str]:
    """The pipeline's own failure summary lines (file, line, column, rule; never values) of a failed run."""
    if not any(measurement.exit_codes):
        return []
    text = measurement.detail.get("stderr", "")
    wanted = [line for line in text.splitlines() if line.startswith(("FAILED", "error", "<== ", "Traceback"))]
    return (wanted or text.strip().splitlines()[-3:])[:limit]


def to_json(measurement: Measurement) -> dict:
    detail = {k: v for k, v in measurement.detail.items() if k not in ("stdout", "stderr")}
    return {"wall_s": measurement.wall_s, "peak_mb": measurement.peak_mb, "exit_codes": measurement.exit_codes,
            "note": measurement.note, "detail": detail, "failures": failure_lines(measurement)}


def from_json(data: dict) -> Measurement:
    measurement = Measurement(wall_s=data["wall_s"], peak_mb=data["peak_mb"], exit_codes=data["exit_codes"],
                              note=data["note"], detail=dict(data["detail"]))
    measurement.detail["failures"] = data.get("failures", [])
    return measurement


JSON_KEY = "run_benchmark"
"""This script's entry of benchmarks/results.json: {"scales": [one record per scale], "definitions": ...}."""
SECTION = "## Detail: the data-volume scales (run_benchmark.py)"


def dump_results(results: list[dict]) -> list[dict]:
    return [{k: (to_json(v) if isinstance(v, Measurement) else v) for k, v in r.items()} for r in results]


def load_results(path: Path) -> list[dict]:
    """The scales recorded earlier in results.json (`path`), for --merge."""
    plain = results_file.load(path).get(JSON_KEY, {}).get("scales", [])
    return [{k: (from_json(v) if isinstance(v, dict) and "wall_s" in v else v) for k, v in r.items()} for r in plain]


def git_revision() -> str:
    """The commit measured, and whether the working tree had uncommitted changes (read-only git calls)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head}" + (" with uncommitted changes in the working tree" if dirty else "")


def machine() -> dict:
    memory_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_gb = int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "memory_gb": memory_gb,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "revision": git_revision(),
    }


def available_memory_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        return None
    return None


def row_counts(data_raw: Path) -> dict[str, int]:
    """Data rows (header excluded) per condition and table, all units and report years summed."""
    counts: dict[str, int] = {}
    for path in sorted(data_raw.glob("[0-9][0-9][0-9][0-9]/*/*/*.csv")):
        condition_id = path.parent.parent.name
        with path.open("rb") as handle:
            lines = sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
        key = f"{condition_id}/{path.stem}"
        counts[key] = counts.get(key, 0) + max(lines - 1, 0)
    return counts


def report_years(data_raw: Path) -> list[int]:
    return sorted(int(p.name) for p in data_raw.iterdir() if p.is_dir() and p.name.isdigit() and len(p.name) == 4)


def cli(*args: str) -> list[str]:
    if CLI:
        return [CLI, *args]
    return [sys.executable, "-m", "nhv_pipeline.operations.cli", *args]


def median_measurement(runs: list[Measurement]) -> Measurement:
    """The run with the median wall time (of an odd count; the slower middle one otherwise); all walls in detail."""
    if not all(run.ok for run in runs):
        return next(run for run in runs if not run.ok)
    ordered = sorted(runs, key=lambda run: run.wall_s)
    chosen = ordered[len(ordered) // 2]
    chosen.detail["runs_s"] = [round(run.wall_s, 1) for run in runs]
    chosen.peak_mb = max(run.peak_mb for run in runs)
    chosen.exit_codes = sorted({code for run in runs for code in run.exit_codes}, reverse=True)
    return chosen


def run_scale(scale: float, workdir: Path, timeout: float, log, repeats: int = 1) -> dict:
    """Generate the deliveries at `scale` and run the four measurements on them."""
    label = f"{scale:g}x"
    revision = git_revision()
    base = workdir / f"scale_{scale:g}"
    if base.exists():
        shutil.rmtree(base)
    data_raw, warehouse, home = base / "data_raw", base / "warehouse", base / "dagster_home"
    home.mkdir(parents=True)
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    env.pop("NHV_DATA_RAW", None)
    env.pop("NHV_WAREHOUSE_DIR", None)

    log(f"[{label}] generating deliveries ...")
    generation = measure(cli("sample-data", "--out", str(data_raw), "--scale", f"{scale:g}"), env=env, timeout=timeout)
    if not generation.ok or generation.exit_codes != [0]:
        return {"scale": scale, "generation": generation, "error": generation.note or generation.detail.get("stderr", "")[-500:]}
    rows = row_counts(data_raw)
    years = report_years(data_raw)
    log(f"[{label}] {sum(rows.values())} rows in {years}; generation {generation.wall_s:.1f} s")

    runs = []
    for attempt in range(repeats):
        log(f"[{label}] (a) full run {attempt + 1}/{repeats} ...")
        # Fresh warehouse and Dagster home for every attempt: a first run, as in March.
        shutil.rmtree(warehouse, ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir(parents=True)
        run = measure(cli("run", "--all", "--quiet", "--data-raw", str(data_raw), "--warehouse", str(warehouse)),
                      env=env, timeout=timeout)
        log(f"[{label}]     {run.cell()}")
        runs.append(run)
        if not run.ok:
            break
    full = median_measurement(runs)

    log(f"[{label}] (b) validation ...")
    validation = Measurement(wall_s=0.0, peak_mb=0.0)
    for year in years:
        one = measure(cli("validate", "--report-year", str(year), "--data-raw", str(data_raw)), env=env, timeout=timeout)
        if not one.ok:
            validation = one
            break
        validation.wall_s += one.wall_s
        validation.peak_mb = max(validation.peak_mb, one.peak_mb)
        validation.exit_codes += one.exit_codes
        validation.detail[str(year)] = round(one.wall_s, 2)
    log(f"[{label}]     {validation.cell()}")

    log(f"[{label}] (c) indicators ...")
    database = warehouse / "nhv.duckdb"
    if full.ok and database.exists():
        indicators = measure(
            [sys.executable, "-c", INDICATOR_SCRIPT, str(data_raw), str(database), ",".join(map(str, years))],
            env=env, timeout=timeout,
        )
        if indicators.ok and indicators.exit_codes == [0]:
            indicators.detail.update(json.loads(indicators.detail["stdout"].strip().splitlines()[-1]))
        elif indicators.ok:
            indicators.note = indicators.detail["stderr"].strip().splitlines()[-1][:200]
    else:
        indicators = Measurement(note="no warehouse: the full run did not finish")
    log(f"[{label}]     {indicators.cell()}")

    # The warehouse and the Dagster event log, for the profile section of the README.
    sizes = {
        "warehouse_mb": _size_mb(warehouse),
        "dagster_home_mb": _size_mb(home),
        "data_raw_mb": _size_mb(data_raw),
    }
    return {
        "scale": scale, "measured_at": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        # Others may commit while a scale is measured: say so rather than pretend one commit.
        "revision": revision if git_revision() == revision else f"{revision} → {git_revision()} (changed during the scale)",
        "rows": rows, "years": years, "generation": generation, "full": full,
        "validation": validation, "indicators": indicators, "sizes": sizes,
    }


def _size_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1024 / 1024 if path.exists() else 0.0


def measure_definitions(workdir: Path, timeout: float) -> Measurement:
    """`import nhv_pipeline.definitions` in a fresh interpreter, median of 3 (peak = largest)."""
    runs = []
    env = {**os.environ, "DAGSTER_HOME": str(workdir / "defs_home"),
           "NHV_DATA_RAW": str(REPO / "data_raw"), "NHV_WAREHOUSE_DIR": str(workdir / "defs_warehouse")}
    (workdir / "defs_home").mkdir(parents=True, exist_ok=True)
    for _ in range(3):
        runs.append(measure([sys.executable, "-c", "import nhv_pipeline.definitions"], env=env,
                            timeout=timeout, cwd=workdir))
    if not all(run.ok for run in runs):
        return next(run for run in runs if not run.ok)
    result = Measurement(
        wall_s=statistics.median(run.wall_s for run in runs),
        peak_mb=max(run.peak_mb for run in runs),
        exit_codes=[code for run in runs for code in run.exit_codes],
    )
    result.detail["runs_s"] = [round(run.wall_s, 2) for run in runs]
    return result


def write_results(out: Path, results: list[dict], definitions: Measurement, info: dict, started: datetime,
                  elapsed: float, command: str, json_path: Path = results_file.RESULTS_JSON) -> None:
    """Replace this script's section of RESULTS.md (`out`) and its entry of results.json (`json_path`)."""
    by_scale = {r["scale"]: r for r in results}
    scales = [r["scale"] for r in results]
    lines = [
        SECTION,
        "",
        f"Written by `benchmarks/run_benchmark.py` (`{command}`), data in `results.json` (`{JSON_KEY}`); see "
        "`benchmarks/README.md` for what each measurement is and how to read it.",
        "",
        f"- Date: {started.strftime('%Y-%m-%d %H:%M UTC')} (benchmark took {elapsed / 60:.1f} min)",
        f"- Machine: {info['cpus']} CPUs (`os.cpu_count()`), "
        + (f"{info['memory_gb']:.1f} GB memory" if info["memory_gb"] else "memory unknown")
        + f", Python {info['python']}, {info['platform']}",
        f"- Code: commit {info.get('revision', 'unknown')} (scales merged from earlier invocations with --merge "
        "keep their own commit and time, in the rows table)",
        f"- Load average at start: {', '.join(f'{x:.2f}' for x in info['load'])}" if info["load"] else "- Load average: unknown",
        "- Wall time: `time.perf_counter()` around each subprocess (interpreter start-up and imports included). "
        "Peak memory: `ru_maxrss` of the subprocess tree from `os.wait4` (the largest process's peak RSS, "
        "children included), in MiB.",
        "- Full run: a fresh warehouse and Dagster home for every attempt; the cell is the median attempt "
        "(all attempts are listed below it), peak = the largest of the attempts.",
        "- Validation: `nhv-pipeline validate --report-year R` (the CLI, no warehouse) once per delivered report "
        "year, wall times summed, peak = the largest.",
        "- Indicators: one process loading the staged tables from the warehouse of the full run and calling "
        "`compute()` for every indicator of every report year; the cell is the whole process, the rows below "
        "split it into imports, loading and compute.",
        "",
        "### Measurements (wall s / peak MB)",
        "",
        "| measurement | " + " | ".join(f"{s:g}×" for s in scales) + " |",
        "|---|" + "---|" * len(scales),
    ]
    names = [("generation", "sample-data (setup, not a target)"), ("full", "(a) full run, all report years (median)"),
             ("validation", "(b) validation alone, all report years"), ("indicators", "(c) indicators alone")]
    for key, name in names:
        lines.append(f"| {name} | " + " | ".join(
            (by_scale[s][key].cell() if key in by_scale[s] else f"– ({by_scale[s].get('error', '')[:80]})")
            for s in scales) + " |")
    lines.append("| (a) all full-run attempts (s) | " + " | ".join(
        (", ".join(f"{w:.1f}" for w in by_scale[s]["full"].detail.get("runs_s", [])) or "–")
        if isinstance(by_scale[s].get("full"), Measurement) else "–" for s in scales) + " |")
    lines.append("| (c) of which compute() only | " + " | ".join(
        (f"{by_scale[s]['indicators'].detail['compute_s']:.2f} s"
         if "indicators" in by_scale[s] and "compute_s" in by_scale[s]["indicators"].detail else "–")
        for s in scales) + " |")
    lines.append("| (c) of which loading staged tables | " + " | ".join(
        (f"{by_scale[s]['indicators'].detail['load_s']:.2f} s"
         if "indicators" in by_scale[s] and "load_s" in by_scale[s]["indicators"].detail else "–")
        for s in scales) + " |")
    lines.append(f"| (d) definitions load (median of 3; scale-independent) | {definitions.cell()}"
                 + " |" * len(scales))
    lines += ["", "Exit codes other than 0 are shown in the cell; `–` means the measurement did not run or finish.", ""]

    lines += ["### Rows per scale (data rows of all units and report years, header excluded)", ""]
    keys = sorted({k for r in results for k in r.get("rows", {})})
    lines.append("| table | " + " | ".join(f"{s:g}×" for s in scales) + " |")
    lines.append("|---|" + "---|" * len(scales))
    for key in keys:
        lines.append(f"| {key} | " + " | ".join(str(by_scale[s].get("rows", {}).get(key, "–")) for s in scales) + " |")
    lines.append("| **total** | " + " | ".join(str(sum(by_scale[s].get("rows", {}).values())) for s in scales) + " |")
    lines.append("| measured at | " + " | ".join(by_scale[s].get("measured_at", "–") for s in scales) + " |")
    lines.append("| code measured (commit) | " + " | ".join(by_scale[s].get("revision", "–") for s in scales) + " |")
    lines.append("| data_raw on disk (MB) | " + " | ".join(
        f"{by_scale[s]['sizes']['data_raw_mb']:.1f}" if "sizes" in by_scale[s] else "–" for s in scales) + " |")
    lines.append("| warehouse after full run (MB) | " + " | ".join(
        f"{by_scale[s]['sizes']['warehouse_mb']:.1f}" if "sizes" in by_scale[s] else "–" for s in scales) + " |")
    lines.append("| Dagster home after full run (MB) | " + " | ".join(
        f"{by_scale[s]['sizes']['dagster_home_mb']:.1f}" if "sizes" in by_scale[s] else "–" for s in scales) + " |")
    lines.append("")

    lines += ["### This script's targets (of the issue \"Hardening and performance\"; the current ones are in section 1)",
              "", "| target | measured | result |", "|---|---|---|"]

    def full(scale):
        r = by_scale.get(scale)
        return r["full"] if r and isinstance(r.get("full"), Measurement) and r["full"].ok else None

    def verdict(passed: bool | None, *measured: Measurement | None) -> str:
        if passed is None:
            return "n/a"
        if any(m is not None and any(m.exit_codes) for m in measured):
            return "**FAIL** (the run exited non-zero)"
        return "**pass**" if passed else "**FAIL**"

    f1, f10, f100 = full(1.0), full(10.0), full(100.0)
    lines.append(f"| 1× full run (all sample report years) ≤ {TARGET_FULL_1X_S:.0f} s | "
                 + (f"{f1.wall_s:.1f} s" if f1 else "not measured") + f" | {verdict(f1.wall_s <= TARGET_FULL_1X_S if f1 else None, f1)} |")
    lines.append(f"| 100× full run ≤ {TARGET_FULL_100X_S:.0f} s | "
                 + (f"{f100.wall_s:.1f} s" if f100 else "not measured")
                 + f" | {verdict(f100.wall_s <= TARGET_FULL_100X_S if f100 else None, f100)} |")
    lines.append(f"| 100× full run peak memory ≤ {TARGET_FULL_100X_MB / 1024:.0f} GB | "
                 + (f"{f100.peak_mb:.0f} MB" if f100 else "not measured")
                 + f" | {verdict(f100.peak_mb <= TARGET_FULL_100X_MB if f100 else None, f100)} |")
    lines.append(f"| definitions load ≤ {TARGET_DEFINITIONS_S:.0f} s | "
                 + (f"{definitions.wall_s:.2f} s (runs: {definitions.detail.get('runs_s')})" if definitions.ok else "not measured")
                 + f" | {verdict(definitions.wall_s <= TARGET_DEFINITIONS_S if definitions.ok else None, definitions)} |")
    growth = f100.wall_s / f10.wall_s if f10 and f100 else None
    lines.append(f"| full run t(100×)/t(10×) ≤ {TARGET_GROWTH_10_TO_100:.0f} (no worse than linear) | "
                 + (f"{growth:.2f}" if growth else "not measured")
                 + f" | {verdict(growth <= TARGET_GROWTH_10_TO_100 if growth else None, f10, f100)} |")
    lines.append("")

    growth_lines = []
    for key, name in names[1:]:
        a = by_scale.get(10.0, {}).get(key)
        b = by_scale.get(100.0, {}).get(key)
        if a and b and a.ok and b.ok and a.wall_s:
            growth_lines.append(f"- {name}: t(100×)/t(10×) = {b.wall_s / a.wall_s:.2f}")
    if growth_lines:
        lines += ["Growth from 10× to 100× (informational; 10 = linear):", "", *growth_lines, ""]

    big = [s for s in scales if s >= 1000]
    if big:
        lines += ["### 1000×", ""]
        for s in big:
            r = by_scale[s]
            fr = r.get("full")
            if fr and fr.ok and fr.exit_codes == [0]:
                lines.append(f"- {s:g}×: fitted: full run {fr.wall_s:.1f} s, peak {fr.peak_mb:.0f} MB "
                             f"(machine memory {info['memory_gb']:.1f} GB).")
            else:
                why = (fr.note or f"exit {fr.exit_codes}") if fr else r.get("error", "not run")
                lines.append(f"- {s:g}×: did not complete: {why}.")
        lines.append("")
    failed = [(s, key, name, by_scale[s][key]) for s in scales for key, name in names
              if isinstance(by_scale[s].get(key), Measurement) and any(by_scale[s][key].exit_codes)]
    if failed:
        lines += ["### Runs that exited non-zero", "",
                  "The pipeline's own summary lines (file, line, column, rule; never a value):", ""]
        for s, _key, name, m in failed:
            lines.append(f"- {s:g}× {name}: exit {m.exit_codes}")
            lines += [f"    - `{line}`" for line in (failure_lines(m) or m.detail.get("failures", []))]
        lines.append("")
    results_file.store(JSON_KEY, {"scales": dump_results(results), "definitions": to_json(definitions),
                                  "written": started.strftime("%Y-%m-%d %H:%M UTC"), "command": command}, json_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    results_file.replace_section(SECTION, "\n".join(lines), out)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="run_benchmark.py",
        description=DESCRIPTION + "\n\nGenerates synthetic deliveries (`nhv-pipeline sample-data --scale F`; "
        "1x = the committed sample data_raw/), measures wall time and peak memory of the full run, "
        "validation alone, indicators alone and the definitions load, and writes a markdown table with "
        "the targets and pass/fail.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--scales", default="1,10,100",
                        help="comma-separated volume multipliers of the sample (default: 1,10,100); "
                        "1000 is attempted only when enough memory is available")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "RESULTS.md"),
                        help="the markdown whose section this script replaces (default: benchmarks/RESULTS.md)")
    parser.add_argument("--json", default=str(results_file.RESULTS_JSON),
                        help="the data file whose run_benchmark entry this script replaces, and --merge reads "
                        "(default: benchmarks/results.json)")
    parser.add_argument("--workdir", help="folder for generated deliveries, warehouses and Dagster homes "
                        "(default: a new temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder afterwards (default: delete it)")
    parser.add_argument("--timeout", type=float, default=900.0,
                        help="seconds after which one measurement is stopped and recorded as not finished "
                        "(default: 900)")
    parser.add_argument("--repeats", type=int, default=1,
                        help="full runs per scale; the median is reported, all wall times are listed (default: 1)")
    parser.add_argument("--merge", action="store_true",
                        help="keep the scales already recorded in --json that this invocation does not measure "
                        "(e.g. add a separate 1000x attempt to the 1,10,100 results)")
    parser.add_argument("--min-free-gb-1000x", type=float, default=8.0,
                        help="skip scales >= 1000 when less memory than this is available (default: 8)")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    scales = [float(s) for s in args.scales.split(",") if s.strip()]
    started = datetime.now(timezone.utc)
    clock = time.perf_counter()
    info = machine()
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="nhv-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)

    def log(message: str) -> None:
        print(f"{time.perf_counter() - clock:7.1f}s {message}", file=sys.stderr, flush=True)

    log(f"work folder {workdir}; machine {info}")
    results = []
    try:
        log("(d) definitions load ...")
        definitions = measure_definitions(workdir, args.timeout)
        log(f"    {definitions.cell()} runs {definitions.detail.get('runs_s')}")
        for scale in scales:
            free = available_memory_gb()
            if scale >= 1000 and free is not None and free < args.min_free_gb_1000x:
                log(f"[{scale:g}x] skipped: {free:.1f} GB available < {args.min_free_gb_1000x} GB")
                results.append({"scale": scale, "error": f"skipped: only {free:.1f} GB memory available"})
                continue
            results.append(run_scale(scale, workdir, args.timeout, log, args.repeats))
            if not args.keep:
                shutil.rmtree(workdir / f"scale_{scale:g}", ignore_errors=True)
    finally:
        if args.merge:
            measured = {r["scale"] for r in results}
            results = sorted([r for r in load_results(Path(args.json)) if r["scale"] not in measured] + results,
                             key=lambda r: r["scale"])
        command = "run_benchmark.py " + " ".join(argv if argv is not None else sys.argv[1:])
        write_results(Path(args.out), results, definitions if "definitions" in locals() else Measurement(),
                      info, started, time.perf_counter() - clock, command.strip(), Path(args.json))
        log(f"wrote {args.out}")
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
