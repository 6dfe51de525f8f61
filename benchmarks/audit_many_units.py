"""The disclosure audit alone on a synthetic results table of many units: its time and peak memory.

    .venv/bin/python benchmarks/audit_many_units.py [--units 10000] [--seed 1]

Builds one report year of `sct_ssc` results for that many units (each a small unit: B1 by home
region and sex, Ö1 on B1's population, B3 by home region and T2 on B3's population, the riket rows
the sums), as the indicator step hands them to the publication, and runs `protect` on it in this
process, with the condition's equal populations. Prints the time, the peak memory (`ru_maxrss` of
this process, start-up and the table included), the audit's blocks, rounds and withheld cells,
and the audit's progress lines (at most every 5 s). The issue's target: memory stays bounded (the
audit works per independent block, never one problem over all cells) and the audit finishes.
`--limit` stops a run that has not finished in that many seconds and prints the peak so far.
Not part of `make test`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nhv_pipeline.conditions import registered  # noqa: E402
from nhv_pipeline.publication import RESULT_COLUMNS, protect  # noqa: E402
from nhv_pipeline.publication import audit as audit_module  # noqa: E402

REPORT_YEAR = 2026
REGIONS = [f"{code:02d}" for code in (1, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 14, 17, 18, 19, 20, 21, 22, 23, 24, 25)]


def _row(level: str, unit: str, indicator: str, measure: str, breakdown: str, value: str, n: int,
         numerator: int | None = None) -> dict:
    return {
        "report_year": REPORT_YEAR, "condition_id": "sct_ssc", "indicator_id": indicator, "measure": measure,
        "period_start": dt.date(REPORT_YEAR - 1, 1, 1), "period_end": dt.date(REPORT_YEAR - 1, 12, 31),
        "level": level, "unit_id": unit, "unit_name": "Riket" if level == "riket" else f"Enhet {unit}",
        "breakdown": breakdown, "breakdown_value": value,
        "breakdown_label": "Totalt" if breakdown == "total" else value,
        "n": n, "value": float(n) if numerator is None else (100.0 * numerator / n if n else np.nan),
        "numerator": numerator, "denominator": None if numerator is None else n,
        "ci_low": np.nan, "ci_high": np.nan, "mean": np.nan, "sd": np.nan, "p10": np.nan, "median": np.nan,
        "p90": np.nan, "suppressed": False, "suppression_reason": "",
    }


def synthetic_results(units: int, seed: int = 1) -> pd.DataFrame:
    """One report year of small units: most patients from the unit's own region, a few from others."""
    rng = np.random.default_rng(seed)
    rows: list[dict] = []
    riket: dict[tuple[str, str, str], int] = {}
    riket_numerator = 0

    def add(unit: str, indicator: str, measure: str, breakdown: str, value: str, n: int, numerator=None):
        rows.append(_row("enhet", unit, indicator, measure, breakdown, value, n, numerator))
        key = (indicator, breakdown, value)
        riket[key] = riket.get(key, 0) + n

    for number in range(units):
        unit = f"u{number:05d}"
        home = rng.integers(len(REGIONS))
        weights = np.full(len(REGIONS), 0.3 / (len(REGIONS) - 1))
        weights[home] = 0.7
        for indicator, mean in (("B1", 30), ("B3", 8)):
            total = int(rng.integers(mean // 3, 2 * mean))
            regions = rng.multinomial(total, weights)
            add(unit, indicator, "count", "total", "total", total)
            for value, n in zip(REGIONS, regions, strict=True):
                if n:
                    add(unit, indicator, "count", "home_region", value, int(n))
            if indicator == "B1":
                women = int(rng.binomial(total, 0.45))
                for value, n in (("K", women), ("M", total - women)):
                    if n:
                        add(unit, indicator, "count", "sex", value, n)
                numerator = int(rng.binomial(total, 0.7))
                add(unit, "Ö1", "proportion", "total", "total", total, numerator)
                riket_numerator += numerator
            else:
                add(unit, "T2", "distribution", "total", "total", total)
    for (indicator, breakdown, value), n in riket.items():
        measure = {"Ö1": "proportion", "T2": "distribution"}.get(indicator, "count")
        rows.append(_row("riket", "", indicator, measure, breakdown, value, n,
                         riket_numerator if indicator == "Ö1" else None))
    df = pd.DataFrame(rows, columns=RESULT_COLUMNS)
    for column in ["n", "numerator", "denominator"]:
        df[column] = df[column].astype("Int64")
    return df


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--units", type=int, default=10_000, help="units in the table (default 10000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--limit", type=float, default=0.0,
                        help="stop after this many seconds of audit, printing the peak memory so far (default: none)")
    options = parser.parse_args(argv)
    condition = next(c for c in registered() if c.condition_id == "sct_ssc")
    results = synthetic_results(options.units, options.seed)
    before = peak_mib()
    blocks: list[int] = []
    original = audit_module._blocks

    def counting(combined, equal_populations):
        found = original(combined, equal_populations)
        blocks.append(len(found))
        return found

    audit_module._blocks = counting
    started = time.perf_counter()
    if options.limit:
        def stop() -> None:
            print(f"{options.units} units, {len(results)} rows: the audit did not finish in {options.limit:.0f} s; "
                  f"peak memory so far {peak_mib():.0f} MiB ({before:.0f} MiB before the audit)", flush=True)
            os._exit(2)

        watchdog = threading.Timer(options.limit, stop)
        watchdog.daemon = True
        watchdog.start()
    out, report = protect(results, equal_populations=condition.equal_populations, conditions=(condition,),
                          progress=lambda line: print(f"  {line}", flush=True))
    seconds = time.perf_counter() - started
    audit_module._blocks = original
    print(f"{options.units} units, {len(results)} rows: audit {seconds:.1f} s, peak memory {peak_mib():.0f} MiB "
          f"({before:.0f} MiB before the audit); blocks {blocks[-1]}, rounds {report.rounds}, "
          f"withheld {int(out['suppressed'].sum())} (audit extra {report.extra_suppressed}), "
          f"breakdowns withheld as a whole {len(report.withheld_breakdowns)}, passed {report.passed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
