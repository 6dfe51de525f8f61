"""The disclosure audit per independent block of cells (PUBLICATION.md section 3; many units).

Cells that share no relation and no equal population are independent: the audit solves each
block alone and never hands the solver a programme over all cells. Its decisions must be
those of one audit over all cells; the reference here is the same audit with every row put
in a single block (how it worked before the split).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nhv_pipeline.publication import audit, protect

from result_fixtures import frame, row
from test_disclosure_audit import additive_tables, region_table


def _one_block(combined: pd.DataFrame, equal_populations) -> list[np.ndarray]:
    return [np.arange(len(combined))]


def _both_ways(monkeypatch, df: pd.DataFrame, **kwargs):
    split = protect(df, **kwargs)
    with monkeypatch.context() as m:
        m.setattr(audit, "_blocks", _one_block)
        whole = protect(df, **kwargs)
    return split, whole


def _assert_same(split, whole) -> None:
    (out_split, report_split), (out_whole, report_whole) = split, whole
    pd.testing.assert_frame_equal(out_split, out_whole)
    for name in ["passed", "cells_audited", "extra_suppressed", "rounds", "narrowest_range", "already_public",
                 "unmet", "withheld_breakdowns"]:
        assert getattr(report_split, name) == getattr(report_whole, name), name
    pd.testing.assert_frame_equal(report_split.ranges, report_whole.ranges)


def _two_blocks() -> pd.DataFrame:
    """B1 and B2, each a riket/unit region table the audit has to widen, sharing nothing."""
    b1 = region_table({"a": {"01": 7, "09": 1}, "b": {"01": 9, "09": 5}}, indicator="B1")
    b2 = region_table({"a": {"01": 12, "03": 2}, "b": {"01": 4, "03": 30}, "c": {"01": 8, "03": 1}}, indicator="B2")
    return pd.concat([b1, b2], ignore_index=True)


def test_two_independent_blocks_give_the_decisions_of_one_problem_over_all_cells(monkeypatch):
    df = _two_blocks()
    combined = df.sort_values(["indicator_id"]).reset_index(drop=True)
    assert len(audit._blocks(combined, ())) == 2  # B1 and B2 share no relation
    split, whole = _both_ways(monkeypatch, df, equal_populations=())
    _assert_same(split, whole)
    out, report = split
    assert report.passed and report.extra_suppressed > 0
    # Each block's decisions are also those it gets audited on its own.
    for indicator in ["B1", "B2"]:
        alone, _ = protect(df[df["indicator_id"] == indicator], equal_populations=())
        mine = out[out["indicator_id"] == indicator].reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, alone.reset_index(drop=True))


def test_a_fallback_round_and_the_round_limit_are_those_of_one_problem(monkeypatch):
    # Riket 39 - a 37 = 2 over b 1 and c 1 (a fallback case), beside an independent B2 table.
    riket_minus = frame([row(n=39), row("enhet", "a", n=37), row("enhet", "b", n=1), row("enhet", "c", n=1)])
    df = pd.concat([riket_minus, _two_blocks()[lambda d: d["indicator_id"] == "B2"]], ignore_index=True)
    for max_rounds in [0, 1, 2, 200]:
        _assert_same(*_both_ways(monkeypatch, df, equal_populations=(), max_rounds=max_rounds))


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(first=additive_tables(), second=additive_tables(), threshold=st.sampled_from([3, 5]))
def test_property_blocks_decide_as_one_problem(monkeypatch, first, second, threshold):
    # Two random tables: B1 and Ö1 (tied by their declared equal population), and the same shape as
    # B2 and Ö2 (no declaration), so the blocks are per unit-linked indicator pair.
    renamed = first.assign(indicator_id=first["indicator_id"].replace({"B1": "B2", "Ö1": "Ö2"}))
    df = pd.concat([renamed, second], ignore_index=True)
    _assert_same(*_both_ways(monkeypatch, df, threshold=threshold))


def test_the_solver_is_never_handed_more_cells_than_the_largest_block(monkeypatch):
    seen: list[int] = []

    class Recording(audit._Solver):
        def __init__(self, problem, truth, n_rows):
            seen.append(problem.n_cells)
            super().__init__(problem, truth, n_rows)

    monkeypatch.setattr(audit, "_Solver", Recording)
    units = {f"u{k}": {"01": 6 + k, "09": 1 + k % 3} for k in range(6)}
    tables = [region_table(units, indicator=i) for i in ["B1", "B2", "B3"]]
    quiet = region_table({"a": {"01": 20, "09": 30}, "b": {"01": 40, "09": 50}}, indicator="B4")  # nothing withheld
    df = pd.concat([*tables, quiet], ignore_index=True)
    out, report = protect(df, equal_populations=())
    assert report.passed and report.cells_audited > 0
    block_cells = len(tables[0])  # count rows: one cell per row
    assert len(seen) == 3  # one solver per block with a withheld cell; the quiet block needs none
    assert max(seen) == block_cells < len(df)


def test_one_block_is_held_at_a_time(monkeypatch):
    import gc
    import weakref

    alive: list[weakref.ref] = []
    most = []

    class Counting(audit._Solver):
        def __init__(self, problem, truth, n_rows):
            super().__init__(problem, truth, n_rows)
            gc.collect()
            alive.append(weakref.ref(self))
            most.append(sum(ref() is not None for ref in alive))

    monkeypatch.setattr(audit, "_Solver", Counting)
    units = {f"u{k}": {"01": 6 + k, "09": 1 + k % 3} for k in range(4)}
    df = pd.concat([region_table(units, indicator=i) for i in ["B1", "B2", "B3"]], ignore_index=True)
    out, report = protect(df, equal_populations=())
    assert report.passed and len(most) == 3
    assert max(most) == 1


def test_progress_is_logged_by_blocks_and_rounds_with_counts_only(monkeypatch):
    monkeypatch.setattr(audit, "PROGRESS_SECONDS", 0.0)
    lines: list[str] = []
    units = {f"u{k}": {"01": 6 + k, "09": 1 + k % 3} for k in range(4)}
    df = pd.concat([region_table(units, indicator=i) for i in ["B1", "B2"]], ignore_index=True)
    protect(df, equal_populations=(), progress=lines.append)
    assert lines
    pattern = re.compile(r"audit sct_ssc 2026: block [12]/2, round \d+, \d+ cells")
    assert all(pattern.fullmatch(line) for line in lines), lines
    assert any(", round 2, " in line for line in lines)


def test_progress_goes_to_the_module_logger_by_default(monkeypatch, caplog):
    monkeypatch.setattr(audit, "PROGRESS_SECONDS", 0.0)
    with caplog.at_level("INFO", logger="nhv_pipeline.publication.audit"):
        protect(_two_blocks(), equal_populations=())
    assert any(r.getMessage().startswith("audit sct_ssc 2026: block 1/2") for r in caplog.records)


@pytest.mark.parametrize("rows", [0, 1])
def test_a_table_too_small_to_link_has_at_most_one_block(rows):
    df = frame([row(n=3)] * rows) if rows else frame([row()]).iloc[:0]
    assert len(audit._blocks(df.reset_index(drop=True), ())) == rows


def test_each_condition_audit_in_assemble_reports_its_progress(monkeypatch):
    from nhv_pipeline.conditions import get_condition
    from nhv_pipeline.publication.parts import assemble

    monkeypatch.setattr(audit, "PROGRESS_SECONDS", 0.0)
    lines: list[str] = []
    published, parts = assemble([get_condition("sct_ssc")], _two_blocks(), pd.DataFrame(), {"sct_ssc": None}, 5,
                                progress=lines.append)
    assert parts[0].audit is not None and parts[0].audit.passed
    assert lines and all(line.startswith("audit sct_ssc 2026: ") for line in lines)
