"""The disclosure audit at many units: its rounds do not grow with the number of units (security issue, item 8).

Every unit of these tables needs the same protection: its small home-region cells sum to a published
total, and that total is given back by an equal population (T2 counts B3's population), so no single
cell widens them (a fallback, then its partner). Before, one fallback went per round and a relation's
picks one unit per round, so the rounds grew with the units. Protection is checked by the attacker's
solver (``differencing``), never by the audit's own ranges.
"""

from __future__ import annotations

import pandas as pd

from nhv_pipeline.conditions import registered
from nhv_pipeline.publication import audit, protect, suppress
from nhv_pipeline.publication.disclosure_policy import fallback_round

from result_fixtures import frame, row
from test_disclosure_audit import region_table, widths

SMALL_UNIT = {"03": 3, "19": 1, "22": 1, "24": 1}  # B3 total 6: each cell pinned to 1..3 while the total is public
BIG_UNIT = {"01": 40, "03": 20, "19": 10, "22": 10, "24": 10}


def many_units(count: int) -> pd.DataFrame:
    """B3 by home region for ``count`` small units and one big one, and T2's total (B3's population) per unit."""
    regions = {"big": BIG_UNIT, **{f"u{k:03d}": SMALL_UNIT for k in range(count)}}
    b3 = region_table(regions, indicator="B3")
    t2 = frame(
        [row(n=sum(sum(cells.values()) for cells in regions.values()), indicator="T2", measure="distribution")]
        + [row("enhet", unit, n=sum(cells.values()), indicator="T2", measure="distribution")
           for unit, cells in regions.items()]
    )
    return pd.concat([b3, t2], ignore_index=True)


def test_the_rounds_do_not_grow_with_the_number_of_units():
    rounds = {}
    for count in (3, 6, 12):
        df = many_units(count)
        before = suppress(df)
        assert min(widths(before)) < 5  # the audit has work to do in every unit
        out, report = protect(df, conditions=registered(), withhold_breakdowns=False)
        assert report.passed
        assert min(widths(out)) >= 5  # every withheld cell, by the attacker's solver
        rounds[count] = report.rounds
    assert rounds[12] == rounds[6] == rounds[3] <= 3, rounds


def test_what_is_withheld_does_not_grow_faster_than_the_units():
    # Each small unit needs its B3 total and T2 total withheld (its home-region cells are withheld
    # already); nothing else should go, however many units there are.
    extra = {}
    for count in (3, 9):
        out, report = protect(many_units(count), conditions=registered(), withhold_breakdowns=False)
        assert report.passed
        extra[count] = report.extra_suppressed
    assert extra[9] - extra[3] == 2 * 6, extra


def test_a_fallback_round_settles_each_waiting_cell_in_turn_and_skips_one_already_widened():
    # Cells 0 and 1 are narrow (width 2); withholding 10 alone does not widen either, 10 and 11
    # widen both. Cell 1 is wide once cell 0 took its cells: it takes nothing of its own.
    def width_with(extra, t):
        return 6.0 if {10, 11} <= set(extra) else 2.0

    def candidates_with(extra, t):
        return [c for c in (10, 11, 12) if c not in extra]

    assert fallback_round([0, 1], width_with, candidates_with, [5.0, 5.0]) == [10, 11]
    # A cell with no candidate left stops; a cell wide enough takes nothing.
    assert fallback_round([0], lambda extra, t: 2.0, lambda extra, t: [], [5.0]) == []
    assert fallback_round([0], lambda extra, t: 5.0, candidates_with, [5.0]) == []


def test_a_long_round_logs_its_progress_while_it_runs(monkeypatch):
    # A round of a block of many units can take minutes: it logs while it looks at the withheld cells,
    # in the same words, not only once it is over.
    monkeypatch.setattr(audit, "PROGRESS_SECONDS", 0.0)
    lines: list[str] = []
    protect(many_units(3), conditions=registered(), withhold_breakdowns=False, progress=lines.append)
    first_round = [line for line in lines if line == "audit sct_ssc 2026: block 1/1, round 1, 32 cells"]
    assert len(first_round) > 1, lines
