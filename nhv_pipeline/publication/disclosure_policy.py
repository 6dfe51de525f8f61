"""The disclosure audit's policy: what a withheld cell needs, and which cell is withheld next.

The constants first; the solver (``audit_solver``) only computes ranges, and the audit loop
(``audit``) applies this policy to each independent block of cells (PUBLICATION.md section 3).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .disclosure import DEFAULT_THRESHOLD

__all__ = [
    "CANDIDATES_TRIED", "DEFAULT_THRESHOLD", "MAX_ROUNDS", "REASON_AUDIT", "TOLERANCE",
    "candidate_order", "choose", "fallback_round", "is_narrow",
]

REASON_AUDIT = "audit"
"""Warehouse reason of a cell withheld by the audit (never published)."""

TOLERANCE = 1e-6
"""Ranges come from floating-point linear programmes: a range this close to the required width is wide enough."""

MAX_ROUNDS = 200
"""Rounds of extra cells before the audit stops trying cells (and withholds breakdowns as a whole)."""

CANDIDATES_TRIED = 8
"""For one narrow cell in one round, how many of its nearest published cells (best first) are tried
by solving the ranges again with that cell withheld. The first that widens the narrow cell is taken.
Trying every candidate costs one linear programme pair per candidate and would make a relation of
many units quadratic; candidates further down the order are smaller shares of the same relations and
rarely widen a cell the first eight did not. When none of the eight widens it, the first candidate is
the fallback (``choose``). Changing the number changes which cells are withheld."""


def is_narrow(low: float, high: float, required: float) -> bool:
    """A withheld cell whose range [low, high] is narrower than the width it must keep."""
    return high - low < required - TOLERANCE


def candidate_order(n_true: np.ndarray) -> Callable[[int], tuple]:
    """Sort key of candidate rows: n > 0 before n = 0, then smallest n, then row order (as ``disclosure``)."""

    def key(r: int) -> tuple:
        return (n_true[r] == 0, n_true[r], r)

    return key


def choose(found: Sequence[int], width: float, trial_width: Callable[[int], float]) -> int | None:
    """The first of the ``CANDIDATES_TRIED`` best candidates whose withholding widens a narrow cell of range ``width``.

    ``trial_width(candidate)``: the narrow cell's range width with the candidate withheld too.
    None when none of them widens it (the caller keeps ``found[0]`` as the fallback).
    """
    for candidate in found[:CANDIDATES_TRIED]:
        if trial_width(candidate) > width + TOLERANCE:
            return candidate
    return None


def fallback_round(
    waiting: Sequence[int],
    width_with: Callable[[list[int], int], float],
    candidates_with: Callable[[list[int], int], Sequence[int]],
    required: Sequence[float],
    partners: Callable[[list[int], int], Sequence[int]] = lambda extra, cell: (),
) -> list[int]:
    """What a round without any widening pick withholds: each waiting narrow cell settled in turn.

    ``waiting``: the narrow cells no single candidate widens, in row order. ``width_with(extra, t)``:
    cell t's range width with the cells ``extra`` withheld too; ``candidates_with(extra, t)``: its
    candidates then (best first). Each cell in turn, with every cell this round took so far
    withheld, takes a candidate that widens it (``choose``), else its first candidate, until it is
    wide enough or has none left. After a cell that did not widen it (a fallback), the published cells
    equal to that one (``partners(extra, cell)``, equal populations) are its first candidates: they
    are what gave the fallback back. A cell a previous one's cells already widened takes nothing, so
    two narrow cells of one relation do not each take a fallback; a cell of another unit does not
    wait for a round of its own, so these rounds do not grow with the number of units. The audit
    ranges every cell again after the round: this decides only which cells are withheld, never
    whether the ranges hold. Changing it changes which cells are withheld.
    """
    taken: list[int] = []
    for t in waiting:
        first: list[int] = []  # the partners of this cell's last fallback
        while True:
            width = width_with(taken, t)
            if not is_narrow(0.0, width, required[t]):
                break
            found = list(dict.fromkeys([*first, *candidates_with(taken, t)]))
            if not found:
                break
            choice = choose(found, width, lambda candidate, t=t: width_with(taken + [candidate], t))
            taken.append(found[0] if choice is None else choice)
            first = [] if choice is not None else [c for c in partners(taken, taken[-1]) if c not in taken]
    return taken
