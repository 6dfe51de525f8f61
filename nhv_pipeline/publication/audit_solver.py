"""The disclosure audit's solver: the linear relations over one block of cells, and HiGHS.

Given the published cells of one independent block (``audit`` splits a condition's cells
into blocks that share no relation), ``_Solver.ranges`` gives the smallest and largest value
of each withheld cell consistent with everything published. It knows nothing of thresholds
or of which cell to withhold next: that is the policy (``disclosure_policy``) and the audit
loop (``audit``).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass

import highspy
import numpy as np
import pandas as pd
from scipy.sparse import coo_array, csc_array, csr_array
from scipy.sparse.csgraph import connected_components

from nhv_pipeline.indicators.model import is_proportion

from .disclosure import _relations
from .disclosure_policy import TOLERANCE as _TOLERANCE


CACHED_RANGES = 100_000
"""Ranges kept per solver (a few megabytes): the rounds ask for the same components again and again."""

CACHED_PROGRAMMES = 16
"""Programmes kept per solver: a round asks for the cells of one component one at a time."""

CACHED_STATES = 8
"""Sets of withheld cells whose components are kept per solver: a round comes back to its own after each trial."""


@dataclass
class _Problem:
    """The linear relations over one table's cells, as sparse rows over cell ids."""

    n_cells: int
    equations: list[tuple[np.ndarray, np.ndarray]]  # (cell ids, coefficients): sum = 0
    inequalities: list[tuple[np.ndarray, np.ndarray]]  # sum <= 0
    lower: np.ndarray
    # hyperedges for the choice of an extra cell: row ids, and whether an equality of populations
    edges: list[tuple[np.ndarray, bool]]


def _has_numerator(df: pd.DataFrame) -> np.ndarray:
    return df["numerator"].notna().to_numpy() | df["measure"].astype(str).map(is_proportion).to_numpy(dtype=bool)


def _problem(df: pd.DataFrame, equal_populations, open_rows: np.ndarray | None = None) -> tuple[_Problem, np.ndarray]:
    """Cells 0..len-1 are the rows' n; cells len.. are numerators of the rows that have one.

    ``open_rows``: rows of a breakdown withheld as a whole, which lists every value of its
    vocabulary: such a row no longer tells that its value occurs, so its n is only >= 0.
    """
    rows = len(df)
    n_true = pd.to_numeric(df["n"]).fillna(0).to_numpy(dtype=np.float64)
    has_num = _has_numerator(df)
    num_cell = np.full(rows, -1, dtype=np.int64)
    num_cell[has_num] = rows + np.arange(has_num.sum())
    num_true = pd.to_numeric(df["numerator"]).fillna(0).to_numpy(dtype=np.float64)
    n_cells = rows + int(has_num.sum())
    truth = np.concatenate([n_true, num_true[has_num]])

    lower = np.zeros(n_cells)
    not_total = (df["breakdown"].astype(str) != "total").to_numpy()
    lower[:rows] = np.where(not_total & (n_true >= 1), 1.0, 0.0)
    if open_rows is not None:
        lower[:rows][open_rows] = 0.0

    equations: list[tuple[np.ndarray, np.ndarray]] = []
    inequalities: list[tuple[np.ndarray, np.ndarray]] = []
    edges: list[tuple[np.ndarray, bool]] = []

    def add(cells: np.ndarray, coefs: np.ndarray) -> None:
        total = float(np.dot(truth[cells], coefs))
        if abs(total) < _TOLERANCE:
            equations.append((cells, coefs))
        elif total > 0:  # total holds more than its parts: total - sum >= 0, i.e. sum - total <= 0
            inequalities.append((cells, -coefs))

    for kind in _relations(df, n_true.astype(np.int64)):
        if len(kind.part_row) == 0:
            continue
        order = np.argsort(kind.part_rel, kind="stable")
        part_rel, part_row = kind.part_rel[order], kind.part_row[order]
        bounds = np.flatnonzero(np.diff(part_rel)) + 1
        for rel_ids, rel_rows in zip(np.split(part_rel, bounds), np.split(part_row, bounds), strict=True):
            total_row = int(kind.total_row[rel_ids[0]])
            members = np.concatenate([[total_row], rel_rows]).astype(np.int64)
            coefs = np.concatenate([[1.0], -np.ones(len(rel_rows))])
            add(members, coefs)
            if has_num[members].all():
                add(num_cell[members], coefs)
            edges.append((members, False))

    for i in np.flatnonzero(has_num):  # numerator <= n
        inequalities.append((np.array([num_cell[i], i]), np.array([1.0, -1.0])))

    for i, j, mine_cell, other_cell, rows_n in equal_population_pairs(df, equal_populations, num_cell):
        if abs(truth[mine_cell] - truth[other_cell]) < _TOLERANCE:
            equations.append((np.array([mine_cell, other_cell], dtype=np.int64), np.array([1.0, -1.0])))
            # Only an equality of both rows' n makes one row's n public through the other (already_public).
            edges.append((np.array([i, j], dtype=np.int64), rows_n))
    return _Problem(n_cells, equations, inequalities, lower, edges), truth


def numerator_cells(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Which rows have a numerator, and its cell id (rows .. rows + count - 1; -1 where none)."""
    rows = len(df)
    has_num = _has_numerator(df)
    num_cell = np.full(rows, -1, dtype=np.int64)
    num_cell[has_num] = rows + np.arange(has_num.sum())
    return has_num, num_cell


def equal_population_pairs(df: pd.DataFrame, equal_populations, num_cell: np.ndarray):
    """The declared equal populations present in ``df``, in declaration and row order.

    Each as (row i, row j, cell of i, cell of j, whether both cells are the rows' n); the
    caller keeps the pairs whose true figures are equal.
    """
    sep = "\x1f"
    key = [
        sep.join(parts) for parts in zip(
            df["level"].astype(str).tolist(), df["unit_id"].fillna("").astype(str).tolist(),
            df["breakdown"].astype(str).tolist(), df["breakdown_value"].fillna("").astype(str).tolist(), strict=True,
        )
    ]
    years = df["report_year"].astype("int64").tolist()
    condition, indicator, measure = (df[c].to_numpy() for c in ("condition_id", "indicator_id", "measure"))
    index_keys = list(zip(
        years, df["condition_id"].astype(str).tolist(), df["indicator_id"].astype(str).tolist(),
        df["measure"].astype(str).tolist(), key, strict=True,
    ))
    row_of = {index_key: row for row, index_key in enumerate(index_keys)}
    if len(row_of) < len(df):  # a key held by several rows: looked up as pandas does
        lookup = pd.Series(np.arange(len(df)), index=pd.MultiIndex.from_tuples(index_keys)).get
    else:
        lookup = row_of.get
    pairs = []
    for eq in equal_populations:
        mine = (condition == eq.condition_id) & (indicator == eq.indicator_id) & (measure == eq.measure)
        for i in np.flatnonzero(mine):
            other = (years[i] - eq.year_lag, eq.condition_id, eq.other_indicator_id, eq.other_measure, key[i])
            j = lookup(other)
            if j is None:
                continue
            j = int(j)
            # The equal figures: each row's n, or a proportion's numerator (EqualPopulation.part).
            mine_cell = i if eq.part == "n" else int(num_cell[i])
            other_cell = j if eq.other_part == "n" else int(num_cell[j])
            if mine_cell < 0 or other_cell < 0:
                continue
            pairs.append((int(i), j, mine_cell, other_cell, eq.part == eq.other_part == "n"))
    return pairs


class _Solver:
    """Ranges of withheld cells, one component (unknowns linked by constraints) at a time, cached."""

    def __init__(self, problem: _Problem, truth: np.ndarray, n_rows: int):
        self.problem, self.truth, self.n_rows = problem, truth, n_rows
        # (digest of the component's unknowns, cell) -> range; the least recently used dropped first. A range
        # depends on its component alone, so a dropped one is solved again alike (up to rounding: see _Programme).
        self.cache: OrderedDict[tuple[bytes, int], tuple[float, float]] = OrderedDict()
        # withheld cells (bytes) -> (position, linking, component, constraint_component); the least recently
        # used dropped first. A round asks for its base state, then for a trial state, then for the base again.
        self._states: OrderedDict[bytes, tuple] = OrderedDict()
        self._programmes: OrderedDict[bytes, _Programme] = OrderedDict()
        self.linear_programs = 0
        self.solvers_started = 0  # HiGHS instances: one per programme built, which solves all its ranges
        # Every constraint in the order the programmes take them (equations, then inequalities),
        # and which cells each touches: one sparse product per call finds those with an unknown.
        self.constraints = [(True, *c) for c in problem.equations] + [(False, *c) for c in problem.inequalities]
        lengths = [len(cells) for _, cells, _ in self.constraints]
        self.touches = csr_array(
            (np.ones(sum(lengths)), np.concatenate([cells for _, cells, _ in self.constraints] or [np.zeros(0, np.int64)]),
             np.concatenate([[0], np.cumsum(lengths)])),
            shape=(len(self.constraints), problem.n_cells),
        )
        # The same incidence by cell: the constraints touching a cell are one slice of ``_touching``.
        by_cell = self.touches.tocsc()
        self._touching_start = by_cell.indptr.astype(np.int64)
        self._touching = by_cell.indices.astype(np.int64)

    def ranges(self, withheld_cells: np.ndarray, targets: np.ndarray) -> dict[int, tuple[float, float]]:
        """Min and max of each target row's n, given every published cell."""
        unknown = np.flatnonzero(withheld_cells)
        if len(unknown) == 0 or len(targets) == 0:
            return {}
        state = unknown.tobytes()
        found = self._states.pop(state, None)
        if found is None:  # withheld cells seen recently are reused
            position = np.full(self.problem.n_cells, -1, dtype=np.int64)
            position[unknown] = np.arange(len(unknown))
            found = (position, *self._components(unknown))
        self._states[state] = found
        while len(self._states) > CACHED_STATES:
            self._states.popitem(last=False)
        position, linking, component, constraint_component = found

        out: dict[int, tuple[float, float]] = {}
        target_component = component[position[targets]]
        for root in np.unique(target_component):
            members = np.flatnonzero(component == root)
            key = hashlib.blake2b(unknown[members].tobytes(), digest_size=16).digest()
            wanted = [int(t) for t in targets[target_component == root]]
            missing = [t for t in wanted if (key, t) not in self.cache]
            if missing:
                cells = unknown[members]
                # A kept programme already holds the constraints (the same unknowns have the same ones).
                constraints = [] if cells.tobytes() in self._programmes else [
                    self._constraint(int(k), position) for k in linking[constraint_component == root]
                ]
                solved = self._solve(cells, members, constraints, set(missing))
                self.cache.update({(key, t): r for t, r in solved.items()})
            for t in wanted:
                out[t] = self.cache[(key, t)]
                self.cache.move_to_end((key, t))
        while len(self.cache) > CACHED_RANGES:
            self.cache.popitem(last=False)
        return out

    def _components(self, unknown: np.ndarray):
        """The constraints with an unknown, and the component of each unknown and of each such constraint.

        Unknowns are linked through the constraints they share: the graph has a node per unknown
        and per such constraint, an edge where a constraint holds an unknown.
        """
        starts, ends = self._touching_start[unknown], self._touching_start[unknown + 1]
        counts = ends - starts
        column = np.repeat(np.arange(len(unknown), dtype=np.int64), counts)  # the unknown of each incidence
        offset = np.arange(len(column), dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
        touched = self._touching[np.repeat(starts, counts) + offset]  # the constraint of each incidence
        linking = np.unique(touched)
        n_unknown = len(unknown)
        size = n_unknown + len(linking)
        row = n_unknown + np.searchsorted(linking, touched)
        graph = coo_array((np.ones(len(touched)), (row, column)), shape=(size, size))
        labels = connected_components(graph, directed=False)[1]
        return linking, labels[:n_unknown], labels[n_unknown:]

    def _constraint(self, k: int, position: np.ndarray) -> tuple[bool, np.ndarray, np.ndarray, float]:
        """Constraint k over the unknowns: (is equality, their positions, coefficients, right-hand side)."""
        is_eq, cells, coefs = self.constraints[k]
        pos = position[cells]
        free = pos >= 0
        return is_eq, pos[free], coefs[free], -float(np.dot(self.truth[cells[~free]], coefs[~free]))

    def _solve(
        self, cells: np.ndarray, members: np.ndarray, constraints: list, wanted: set[int]
    ) -> dict[int, tuple[float, float]]:
        """The ranges of the ``wanted`` cells of one component; ``constraints`` are its constraints, used only
        when no programme of these cells is kept (``ranges`` then leaves them out)."""
        key = cells.tobytes()
        programme = self._programmes.pop(key, None)
        if programme is None:
            programme = _Programme(_programme(cells, members, constraints, self.problem.lower))
            self.solvers_started += 1
        self._programmes[key] = programme
        while len(self._programmes) > CACHED_PROGRAMMES:
            self._programmes.popitem(last=False)
        out: dict[int, tuple[float, float]] = {}
        for i, cell in enumerate(cells):
            if int(cell) not in wanted:  # numerators constrain but are not audited themselves
                continue
            low_status, low = programme.optimum(i, 1.0)
            high_status, high = programme.optimum(i, -1.0)
            self.linear_programs += 2
            if low_status != highspy.HighsModelStatus.kOptimal or high_status not in _HIGH_ANSWERS:
                status = low_status if low_status != highspy.HighsModelStatus.kOptimal else high_status
                raise RuntimeError(
                    "The disclosure audit found the published relations inconsistent (linear program status "
                    f"{status.name}); the results break an additive relation."
                )
            out[int(cell)] = (low, np.inf if high_status == highspy.HighsModelStatus.kUnbounded else -high)
        return out


_HIGH_ANSWERS = (highspy.HighsModelStatus.kOptimal, highspy.HighsModelStatus.kUnbounded)
"""A maximum is a number or unbounded (+inf); anything else means the relations do not hold."""


# HiGHS's documented option values (https://ergo-code.github.io/HiGHS/stable/options/definitions/):
# highs_debug_level 0 is none; simplex_strategy 1 is the dual simplex, 4 the primal.
_DEBUG_NONE = 0
_SIMPLEX_DUAL = 1
_SIMPLEX_PRIMAL = 4


def _linprog_options() -> highspy.HighsOptions:
    """The options ``linprog(method="highs")`` passes to HiGHS (its other options are HiGHS defaults)."""
    options = highspy.HighsOptions()
    options.presolve = "on"
    options.highs_debug_level = _DEBUG_NONE
    options.log_to_console = False
    options.output_flag = False
    options.simplex_strategy = _SIMPLEX_DUAL
    return options


_OPTIONS = _linprog_options()


def _warm_options() -> highspy.HighsOptions:
    """The options of every solve after a programme's first: primal simplex from the previous basis.

    Only the objective changed since the previous optimum, so its basis is still feasible for the
    relations (only no longer optimal): the primal simplex goes on from it, where the dual simplex
    would first have to repair every reduced cost of the new objective (measured on 100 units: an
    audit of 16 s with the dual simplex warm-started, 5 s with the primal).
    """
    options = _linprog_options()
    options.simplex_strategy = _SIMPLEX_PRIMAL
    return options


_WARM_OPTIONS = _warm_options()


def _programme(cells: np.ndarray, members: np.ndarray, constraints: list, lower: np.ndarray) -> highspy.HighsLp:
    """One component's relations as a HiGHS model, built once for all its minima and maxima.

    Built exactly as ``linprog`` builds it (inequality rows first, then equalities; the dense
    rows compressed by column), so that every solve is the one ``linprog`` ran, figure for figure.
    """
    local = np.full(int(members.max()) + 1 if len(members) else 0, -1, dtype=np.int64)
    local[members] = np.arange(len(members))
    rows = {True: [], False: []}  # is_equality -> (positions, coefficients, rhs)
    for is_eq, pos, coefs, rhs in constraints:
        rows[is_eq].append((local[np.asarray(pos, dtype=np.int64)], np.asarray(coefs, dtype=np.float64), rhs))
    ordered = rows[False] + rows[True]
    # Sparse from the start (memory bounded by the non-zeros, not rows x columns); duplicates summed and
    # zeros dropped, so the compressed columns are those a dense matrix would give.
    line_of = np.repeat(np.arange(len(ordered)), [len(p) for p, _, _ in ordered]).astype(np.int64)
    column = np.concatenate([p for p, _, _ in ordered]) if ordered else np.zeros(0, np.int64)
    value = np.concatenate([c for _, c, _ in ordered]) if ordered else np.zeros(0)
    matrix = csc_array((value, (line_of, column)), shape=(len(ordered), len(members)))
    matrix.sum_duplicates()
    matrix.eliminate_zeros()
    matrix.sort_indices()
    lines = ordered
    b_ub = [rhs for _, _, rhs in rows[False]]
    b_eq = [rhs for _, _, rhs in rows[True]]
    lp = highspy.HighsLp()
    lp.num_col_ = lp.a_matrix_.num_col_ = len(members)
    lp.num_row_ = lp.a_matrix_.num_row_ = len(lines)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = matrix.indptr
    lp.a_matrix_.index_ = matrix.indices
    lp.a_matrix_.value_ = matrix.data
    lp.row_lower_ = np.array([-np.inf] * len(b_ub) + b_eq, dtype=np.float64)
    lp.row_upper_ = np.array(b_ub + b_eq, dtype=np.float64)
    lp.col_lower_ = lower[cells].astype(np.float64)
    lp.col_upper_ = np.full(len(members), np.inf)
    return lp


class _Programme:
    """One component's programme in one HiGHS instance: the model passed once, each minimum and
    maximum a change of the objective alone, solved again from the previous optimal basis.

    The first solve runs as ``linprog`` runs it (presolve, dual simplex); the later ones start
    from the basis the previous one ended at (HiGHS skips presolve then), with the primal simplex
    (``_WARM_OPTIONS``). A warm-started optimum may be another optimal vertex, whose value could
    differ in its last digits: ranges are compared with ``TOLERANCE`` (1e-6), so the same cells
    are withheld (on the sample and on synthetic years of 48, 100 and 200 units the ranges equal
    the fresh solves', bit for bit). Relations the published figures cannot satisfy have no
    solution whatever the objective, so the first solve, a fresh one, already reports them.
    """

    def __init__(self, lp: highspy.HighsLp):
        lp.col_cost_ = np.zeros(lp.num_col_)
        self.highs = highspy.Highs()
        self.highs.passOptions(_OPTIONS)
        self.highs.passModel(lp)
        self.column = -1  # the column whose cost is not zero; -1 before the first solve

    def optimum(self, column: int, cost: float) -> tuple[highspy.HighsModelStatus, float]:
        """Minimum of ``cost`` times the column over the programme: HiGHS's model status and objective value."""
        if self.column >= 0 and self.column != column:
            self.highs.changeColCost(self.column, 0.0)
        self.highs.changeColCost(column, cost)
        first, self.column = self.column < 0, column
        self.highs.run()
        status, value = self.highs.getModelStatus(), float(self.highs.getInfo().objective_function_value)
        if first:
            self.highs.passOptions(_WARM_OPTIONS)
        return status, value
