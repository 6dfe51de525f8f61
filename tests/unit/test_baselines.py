"""The benchmark's baselines compute what the pipeline computes (benchmarks/baseline_plain.py, baseline_pandas.py).

The comparison of the pipeline with the baselines is only fair when both produce the
same figures: every unsuppressed result row of the pipeline (validate -> stage ->
compute, on the committed sample in data_raw/) must be a row of each baseline with the
same n, value, numerator, denominator and distribution statistics, and the baselines
must have no row the pipeline lacks.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pandas as pd
import pytest

from nhv_pipeline.conditions import registered
from nhv_pipeline.contract import read_registry, validate_delivery
from nhv_pipeline.contract.staging import to_staged
from nhv_pipeline.indicators import compute, make_catalogue

CATALOGUE = make_catalogue(registered())

REPO = Path(__file__).resolve().parents[2]
DATA_RAW = REPO / "data_raw"
KEY = ["report_year", "condition_id", "indicator_id", "measure", "level", "unit_id", "breakdown", "breakdown_value"]
#: The baselines reimplement the shipped areas only.
SHIPPED = ("sct_ssc", "skeletal_dysplasia")
VALUES = ["n", "value", "numerator", "denominator", "mean", "sd", "p10", "median", "p90"]


def _baseline(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def pipeline_results() -> pd.DataFrame:
    """The pipeline's own unsuppressed results for every delivered report year, without Dagster."""
    units = read_registry(DATA_RAW, registered()).units
    years = sorted(int(p.name) for p in DATA_RAW.iterdir() if p.is_dir() and p.name.isdigit())
    staged: dict[tuple[str, str], list[pd.DataFrame]] = {}
    for year in years:
        for condition in (c for c in registered() if c.condition_id in SHIPPED):
            validation = validate_delivery(DATA_RAW, year, condition, units, conditions=registered())
            assert validation.passed, validation.failures.head()
            for table, frame in validation.tables.items():
                staged.setdefault((condition.condition_id, table), []).append(
                    to_staged(condition, table, frame)
                )
    all_staged = {key: pd.concat(parts, ignore_index=True) for key, parts in staged.items()}
    results = []
    for year in years:
        for indicator in (i for i in CATALOGUE if i.condition_id in SHIPPED):
            tables = {}
            for spec in indicator.inputs:
                frame = all_staged[(indicator.condition_id, spec.table)]
                tables[spec.table] = frame[frame["report_year"].isin(spec.report_years(year))].reset_index(drop=True)
            results.append(compute(indicator, year, tables, units))
    return pd.concat(results, ignore_index=True)


def _indexed(rows) -> dict[tuple, dict]:
    frame = pd.DataFrame(rows)
    frame["unit_id"] = frame["unit_id"].fillna("").astype(str)
    frame["breakdown_value"] = frame["breakdown_value"].astype(str)
    frame["report_year"] = frame["report_year"].astype(int)
    out = {}
    for record in frame.to_dict("records"):
        key = tuple(record[k] for k in KEY)
        assert key not in out, f"duplicate result row {key}"
        out[key] = record
    return out


def _number(value) -> float:
    if value is None or value is pd.NA or value == "":
        return math.nan
    return float(value)


def _mismatches(expected: dict[tuple, dict], got: dict[tuple, dict]) -> list[str]:
    problems = [f"missing row {key}" for key in sorted(set(expected) - set(got), key=str)]
    problems += [f"extra row {key}" for key in sorted(set(got) - set(expected), key=str)]
    for key in sorted(set(expected) & set(got), key=str):
        for column in VALUES:
            want, have = _number(expected[key].get(column)), _number(got[key].get(column))
            if math.isnan(want) and math.isnan(have):
                continue
            if math.isnan(want) or math.isnan(have) or not math.isclose(want, have, rel_tol=1e-9, abs_tol=1e-9):
                problems.append(f"{key} {column}: pipeline {want}, baseline {have}")
    return problems


@pytest.mark.parametrize("name", ["baseline_plain", "baseline_pandas"])
def test_baseline_gives_the_pipelines_unsuppressed_results_of_the_shipped_areas(name, pipeline_results):
    expected = _indexed(pipeline_results[KEY + VALUES].to_dict("records"))
    got = _indexed(_baseline(name).compute_all(DATA_RAW))
    assert len(expected) > 400  # every indicator of 2024-2026, both conditions
    assert {key[2] for key in expected if key[1] == "sct_ssc"} == {"B1", "B2", "B3", "B4", "T1", "T2", "R1", "R2", "P1", "Ö1"}
    problems = _mismatches(expected, got)
    assert not problems, "\n".join(problems[:20])


def test_comparison_fails_on_a_changed_figure(pipeline_results):
    """The check above can fail: one changed count, one missing row and one extra row are each found."""
    expected = _indexed(pipeline_results[KEY + VALUES].to_dict("records"))
    rows = _baseline("baseline_plain").compute_all(DATA_RAW)
    changed = [dict(row) for row in rows]
    changed[0]["n"] = changed[0]["n"] + 1
    extra = {**changed[1], "unit_id": "nowhere"}
    problems = _mismatches(expected, _indexed([*changed[:-1], extra]))
    assert any(p.endswith(f"n: pipeline {float(rows[0]['n'])}, baseline {float(rows[0]['n'] + 1)}") for p in problems)
    assert any(p.startswith("missing row") for p in problems)
    assert any(p.startswith("extra row") for p in problems)
