"""The audit's solver gives the ranges ``scipy.optimize.linprog`` gives, figure for figure.

The audit calls HiGHS directly through the public ``highspy`` package, one model per component
(``audit_solver._programme``), because ``linprog``'s own checking and model building cost more
than the solves. A range decides which extra cells are withheld, so the direct calls must give
exactly what ``linprog`` gave: here both solve small random relation systems, compared with ``==``.
Both run HiGHS 1.12.0 (``highspy`` is pinned to SciPy's own HiGHS release): a new version of either
must pass these tests before its pin moves.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linprog

from nhv_pipeline.publication.audit import _Problem, _Solver


class _LinprogSolver(_Solver):
    """The audit's solver as it was: one ``linprog`` call per minimum and per maximum."""

    def _solve(self, cells, members, constraints, wanted):
        local = {int(m): i for i, m in enumerate(members)}
        a_eq, b_eq, a_ub, b_ub = [], [], [], []
        for is_eq, pos, coefs, rhs in constraints:
            line = np.zeros(len(members))
            for p, c in zip(pos, coefs, strict=True):
                line[local[int(p)]] += c
            (a_eq if is_eq else a_ub).append(line)
            (b_eq if is_eq else b_ub).append(rhs)
        kwargs = {
            "A_eq": np.array(a_eq) if a_eq else None, "b_eq": np.array(b_eq) if b_eq else None,
            "A_ub": np.array(a_ub) if a_ub else None, "b_ub": np.array(b_ub) if b_ub else None,
            "bounds": [(float(self.problem.lower[c]), None) for c in cells], "method": "highs",
        }
        out = {}
        for i, cell in enumerate(cells):
            if int(cell) not in wanted:
                continue
            objective = np.zeros(len(members))
            objective[i] = 1.0
            low, high = linprog(objective, **kwargs), linprog(-objective, **kwargs)
            self.linear_programs += 2
            assert low.status == 0
            out[int(cell)] = (float(low.fun), np.inf if high.status == 3 else -float(high.fun))
        return out


def _random_problem(rng: np.random.Generator, rows: int) -> tuple[_Problem, np.ndarray]:
    """Rows' n and numerators, totals over random parts (some holding more), numerator <= n."""
    n = rng.integers(0, 12, rows).astype(np.float64)
    relations = []
    for total in rng.choice(rows, size=rows // 3, replace=False):
        parts = rng.choice(np.delete(np.arange(rows), total), size=int(rng.integers(2, 4)), replace=False)
        n[total] = n[parts].sum() + (rng.random() < 0.2)  # sometimes the total holds more than its parts
        relations.append(np.concatenate([[total], parts]))
    has_num = rng.random(rows) < 0.5
    num_cell = rows + np.cumsum(has_num) - 1
    truth = np.concatenate([n, np.floor(n * rng.random(rows))[has_num]])
    equations, inequalities = [], []
    for cells in relations:  # as audit._problem adds them; a later total may have broken an earlier sum
        coefs = np.concatenate([[1.0], -np.ones(len(cells) - 1)])
        excess = float(np.dot(truth[cells], coefs))
        if excess == 0:
            equations.append((cells, coefs))
        elif excess > 0:
            inequalities.append((cells, -coefs))
    inequalities += [(np.array([num_cell[i], i]), np.array([1.0, -1.0])) for i in np.flatnonzero(has_num)]
    lower = np.zeros(len(truth))
    lower[:rows] = np.where((rng.random(rows) < 0.5) & (n >= 1), 1.0, 0.0)
    return _Problem(len(truth), equations, inequalities, lower, edges=[]), truth


def test_direct_highs_ranges_equal_linprog_ranges_on_random_relations():
    rng = np.random.default_rng(20260331)
    unbounded = 0
    for _ in range(12):
        rows = int(rng.integers(5, 10))
        problem, truth = _random_problem(rng, rows)
        withheld = rng.random(problem.n_cells) < 0.6
        targets = np.flatnonzero(withheld[:rows])
        fast, plain = _Solver(problem, truth, rows), _LinprogSolver(problem, truth, rows)
        got, expected = fast.ranges(withheld, targets), plain.ranges(withheld, targets)
        assert got == expected
        assert fast.linear_programs == plain.linear_programs
        unbounded += sum(high == np.inf for _, high in got.values())
    assert unbounded > 0  # the maximum's "unbounded" answer is compared too


def test_relations_the_published_figures_cannot_satisfy_stop_the_audit():
    # Withheld a = b + c with b = 2 and c = 3 published, and a second relation a = 0: no a fits both.
    problem = _Problem(
        3,
        equations=[(np.array([0, 1, 2]), np.array([1.0, -1.0, -1.0])), (np.array([0]), np.array([1.0]))],
        inequalities=[],
        lower=np.zeros(3),
        edges=[],
    )
    truth = np.array([0.0, 2.0, 3.0])
    with pytest.raises(RuntimeError, match="inconsistent"):
        _Solver(problem, truth, 3).ranges(np.array([True, False, False]), np.array([0]))


def test_one_highs_instance_solves_every_range_of_a_programme_warm_started_as_cold_ones():
    """A programme's minima and maxima reuse one HiGHS instance (objective changed, previous basis kept);
    the ranges equal those of a fresh solve per objective (``linprog``) up to rounding."""
    # Riket r = a + b + c (cells 0..3), by sex r = m + f (4, 5), a = a_m + a_f (6, 7), b >= b_m + b_f (8, 9);
    # numerators of a, b, c (10, 11, 12) <= their n, and r's numerator (13) = their sum.
    n = [30, 12, 11, 7, 16, 14, 5, 7, 6, 4]
    numerators = [6, 5, 4]
    truth = np.array(n + numerators + [sum(numerators)], dtype=np.float64)
    equations = [
        (np.array([0, 1, 2, 3]), np.array([1.0, -1.0, -1.0, -1.0])),
        (np.array([0, 4, 5]), np.array([1.0, -1.0, -1.0])),
        (np.array([1, 6, 7]), np.array([1.0, -1.0, -1.0])),
        (np.array([13, 10, 11, 12]), np.array([1.0, -1.0, -1.0, -1.0])),
    ]
    inequalities = [(np.array([8, 9, 2]), np.array([1.0, 1.0, -1.0]))]
    inequalities += [(np.array([num, row]), np.array([1.0, -1.0])) for num, row in ((10, 1), (11, 2), (12, 3))]
    lower = np.where(np.arange(len(truth)) < 10, 1.0, 0.0)
    lower[0] = 0.0
    problem = _Problem(len(truth), equations, inequalities, lower, edges=[])
    withheld = np.zeros(len(truth), dtype=bool)
    withheld[[1, 2, 3, 6, 7, 8, 10, 11]] = True  # a, b, c, a_m, a_f, b_m and two numerators: one component
    targets = np.array([1, 2, 3, 6, 7, 8])

    warm, cold = _Solver(problem, truth, 10), _LinprogSolver(problem, truth, 10)
    got, expected = warm.ranges(withheld, targets), cold.ranges(withheld, targets)
    assert got.keys() == expected.keys() == set(targets.tolist())
    for t in targets.tolist():
        assert got[t] == pytest.approx(expected[t], abs=1e-7)
    assert expected[1] != expected[2]  # several different ranges, not one answer repeated
    assert warm.linear_programs == 2 * len(targets)
    assert warm.solvers_started == 1

    # Another call on the same withheld cells (the cache emptied) reuses the programme's instance.
    warm.cache.clear()
    again = warm.ranges(withheld, targets[::-1])
    for t in targets.tolist():
        assert again[t] == pytest.approx(got[t], abs=1e-7)
    assert warm.solvers_started == 1
    assert warm.linear_programs == 4 * len(targets)
