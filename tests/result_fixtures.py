"""Small unsuppressed result rows (PUBLICATION.md section 2 columns) for the publication tests."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd

from nhv_pipeline.publication import RESULT_COLUMNS

NAN = math.nan


def row(level="riket", unit="", breakdown="total", bvalue="total", n=10, indicator="B1", measure="count", *,
        condition="sct_ssc", year=2026, unit_name=None, label=None, **figures):
    """One result row; the period is the calendar year before the report year, the figures a count of n."""
    r = {
        "report_year": year,
        "condition_id": condition,
        "indicator_id": indicator,
        "measure": measure,
        "period_start": dt.date(year - 1, 1, 1),
        "period_end": dt.date(year - 1, 12, 31),
        "level": level,
        "unit_id": unit,
        "unit_name": "Riket" if level == "riket" else unit_name or f"Sjukhus {unit.upper()}",
        "breakdown": breakdown,
        "breakdown_value": bvalue,
        "breakdown_label": label or ("Totalt" if breakdown == "total" else f"Etikett {bvalue}"),
        "n": n,
        "value": float(n),
        "numerator": pd.NA,
        "denominator": pd.NA,
        "ci_low": NAN,
        "ci_high": NAN,
        "mean": NAN,
        "sd": NAN,
        "p10": NAN,
        "median": NAN,
        "p90": NAN,
        "suppressed": False,
        "suppression_reason": "",
    }
    r.update(figures)
    return r


def frame(rows):
    df = pd.DataFrame(rows, columns=RESULT_COLUMNS)
    for c in ["n", "numerator", "denominator"]:
        df[c] = df[c].astype("Int64")
    return df
