"""The disclosure audit: suppression that holds against differencing (PUBLICATION.md section 3).

Primary and secondary suppression (``disclosure.suppress``) make sure no
relation has exactly one withheld cell. That is necessary, not sufficient: a
reader who combines every published figure (all additive relations, n >= 0,
populations INDICATORS.md defines as equal) can still narrow a withheld cell,
sometimes to its exact value. The audit does what that reader would do. For
every withheld cell it computes, by linear programming (HiGHS, the build SciPy
bundles, called as ``scipy.optimize.linprog(method="highs")`` calls it but with
each component's model built once), the smallest and largest n consistent with
everything published, and requires the range to be at least as wide as the
threshold. Where it is not, it withholds one more published cell in a relation
touching the narrow one, lets the secondary rule repair the relations again, and
audits again, until every range holds or nothing is left to withhold. Then the
breakdown of each cell still too narrow is withheld as a whole (``protect``), and
only when that cannot meet the audit either is it not met: the condition then
keeps its previous part of the publication (``parts``).

What the reader is assumed to know (the attacker model):

* Every published cell: n, and for proportions the numerator.
* Every relation of ``disclosure`` (breakdown values under their ``total``; units
  under ``riket``), on n and, for proportions, on the numerator. A relation that
  the true figures satisfy with equality is an equality; one whose total holds
  more than its listed parts (possible in hand-made tables, never in the
  pipeline's results, whose invariant checks require the sums) is ``total >=
  sum of parts``.
* n >= 0 and 0 <= numerator <= n, as real numbers (the integer problem relaxed,
  which HiGHS solves exactly and quickly; its bounds contain the integer ones).
* A breakdown row exists only for a value that occurs (INDICATORS.md section
  4), so a withheld breakdown row with n >= 1 is known to be >= 1. A total row
  may be 0. (For a hand-made row with n = 0 the bound stays 0.)
* The populations INDICATORS.md defines as equal (each condition's ``equal_populations``): the n
  of one indicator's row equals the n of another's row with the same level,
  unit, breakdown and breakdown value, possibly of an earlier report year (R2's
  denominator is B3's population of R-2). A pair the true figures do not
  satisfy is not used (the declaration does not hold there).
* Only that a cell is withheld: one mark for every withheld cell, never the
  reason, so the audit never constrains a cell by why it was withheld.

"At least as wide as the threshold" means ``max - min >= threshold`` (default
5). A cell with true value 1 and range [0, 5] is protected; [0, 4] is not. The
reason: every range of width >= threshold over n >= 0 holds a value >= the
threshold, a value that would have been published, so the reader can never
conclude that the cell is a small count, nor pin it to fewer than threshold + 1
values. The same requirement is made of every withheld cell, small or
complementary, since the reader cannot tell them apart.

Choosing the extra cell: for a narrow cell, the candidates are the published
cells of the current report year in the relations touching it, its equal
population partner first, then by smallest n (n > 0 before n = 0, as in
``disclosure``), then row order. If no relation touching it has a published
cell, the search goes one relation further, through the withheld cells, and so
on. The first candidate whose withholding widens the narrow cell's range is
taken (else the first candidate). Within one round a narrow cell whose
relations already received an extra cell waits for the next round, so two
narrow cells of one relation do not each take one. Cells of earlier report
years (context) are audited too, since this year's publication must not undo
theirs, but are never changed: each must keep the width its own publication
left it (up to the threshold). A cell of this year equal (by an equal
population) to a cell an earlier year *published* is public already; it is
not required to be wide, and counted as ``already_public``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize._highspy import _core as _highs  # the HiGHS build linprog(method="highs") runs
from scipy.sparse import coo_array, csc_array, csr_array
from scipy.sparse.csgraph import connected_components

from nhv_pipeline.condition import Condition, EqualPopulation
from nhv_pipeline.indicators.model import is_proportion

from .disclosure import DEFAULT_THRESHOLD, WITHHELD_COLUMNS, _relations, _repair, suppress
from .export import RESULT_COLUMNS, sort_results

REASON_AUDIT = "audit"
"""Warehouse reason of a cell withheld by the audit (never published)."""

_TOLERANCE = 1e-6


def equal_populations_of(conditions: Iterable[Condition]) -> tuple[EqualPopulation, ...]:
    """The conditions' equal populations (declared in their catalogues, INDICATORS.md)."""
    return tuple(eq for condition in conditions for eq in condition.equal_populations)


@dataclass
class AuditReport:
    """What the audit found, without any figure of a withheld cell."""

    threshold: int
    passed: bool
    cells_audited: int
    extra_suppressed: int
    rounds: int
    narrowest_range: float
    """The narrowest range of this year's withheld cells (inf when none is bounded)."""
    already_public: int = 0
    """This year's withheld cells equal to a cell an earlier year published (not required to be wide)."""
    unmet: list[str] = field(default_factory=list)
    withheld_breakdowns: list[str] = field(default_factory=list)
    """Breakdowns withheld as a whole because suppressing more cells could not meet the audit."""
    ranges: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Per withheld cell of the audited year(s): key columns, ``low``, ``high`` (warehouse only)."""


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

    key = (
        df["level"].astype(str) + "\x1f" + df["unit_id"].fillna("").astype(str) + "\x1f"
        + df["breakdown"].astype(str) + "\x1f" + df["breakdown_value"].fillna("").astype(str)
    )
    index = pd.Series(
        np.arange(rows),
        index=pd.MultiIndex.from_arrays(
            [
                df["report_year"].astype("int64").to_numpy(),
                df["condition_id"].astype(str).to_numpy(),
                df["indicator_id"].astype(str).to_numpy(),
                df["measure"].astype(str).to_numpy(),
                key.to_numpy(),
            ]
        ),
    )
    for eq in equal_populations:
        mine = (
            (df["condition_id"] == eq.condition_id)
            & (df["indicator_id"] == eq.indicator_id)
            & (df["measure"] == eq.measure)
        ).to_numpy()
        for i in np.flatnonzero(mine):
            other = (int(df["report_year"].iat[i]) - eq.year_lag, eq.condition_id, eq.other_indicator_id,
                     eq.other_measure, key.iat[i])
            j = index.get(other)
            if j is None:
                continue
            j = int(j)
            # The equal figures: each row's n, or a proportion's numerator (EqualPopulation.part).
            mine_cell = i if eq.part == "n" else int(num_cell[i])
            other_cell = j if eq.other_part == "n" else int(num_cell[j])
            if mine_cell < 0 or other_cell < 0:
                continue
            if abs(truth[mine_cell] - truth[other_cell]) < _TOLERANCE:
                equations.append((np.array([mine_cell, other_cell], dtype=np.int64), np.array([1.0, -1.0])))
                # Only an equality of both rows' n makes one row's n public through the other (already_public).
                edges.append((np.array([i, j], dtype=np.int64), eq.part == eq.other_part == "n"))
    return _Problem(n_cells, equations, inequalities, lower, edges), truth


class _Solver:
    """Ranges of withheld cells, one component (unknowns linked by constraints) at a time, cached."""

    def __init__(self, problem: _Problem, truth: np.ndarray, n_rows: int):
        self.problem, self.truth, self.n_rows = problem, truth, n_rows
        self.cache: dict[tuple[tuple[int, ...], int], tuple[float, float]] = {}
        self.linear_programs = 0
        # Every constraint in the order the programmes take them (equations, then inequalities),
        # and which cells each touches: one sparse product per call finds those with an unknown.
        self.constraints = [(True, *c) for c in problem.equations] + [(False, *c) for c in problem.inequalities]
        lengths = [len(cells) for _, cells, _ in self.constraints]
        self.touches = csr_array(
            (np.ones(sum(lengths)), np.concatenate([cells for _, cells, _ in self.constraints] or [np.zeros(0, np.int64)]),
             np.concatenate([[0], np.cumsum(lengths)])),
            shape=(len(self.constraints), problem.n_cells),
        )

    def ranges(self, withheld_cells: np.ndarray, targets: np.ndarray) -> dict[int, tuple[float, float]]:
        """Min and max of each target row's n, given every published cell."""
        unknown = np.flatnonzero(withheld_cells)
        if len(unknown) == 0 or len(targets) == 0:
            return {}
        position = np.full(self.problem.n_cells, -1, dtype=np.int64)
        position[unknown] = np.arange(len(unknown))
        linking, component, constraint_component = self._components(unknown)

        out: dict[int, tuple[float, float]] = {}
        target_component = component[position[targets]]
        for root in np.unique(target_component):
            members = np.flatnonzero(component == root)
            key = tuple(int(u) for u in unknown[members])
            wanted = [int(t) for t in targets[target_component == root]]
            missing = [t for t in wanted if (key, t) not in self.cache]
            if missing:
                constraints = [self._constraint(int(k), position) for k in linking[constraint_component == root]]
                solved = self._solve(unknown[members], members, constraints, set(missing))
                self.cache.update({(key, t): r for t, r in solved.items()})
            for t in wanted:
                out[t] = self.cache[(key, t)]
        return out

    def _components(self, unknown: np.ndarray):
        """The constraints with an unknown, and the component of each unknown and of each such constraint.

        Unknowns are linked through the constraints they share: the graph has a node per unknown
        and per such constraint, an edge where a constraint holds an unknown.
        """
        free = self.touches[:, unknown]
        linking = np.flatnonzero(free.sum(axis=1) > 0)
        edges = free[linking].tocoo()
        n_unknown = len(unknown)
        size = n_unknown + len(linking)
        graph = coo_array((np.ones(edges.nnz), (n_unknown + edges.row, edges.col)), shape=(size, size))
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
        programme = _programme(cells, members, constraints, self.problem.lower)
        out: dict[int, tuple[float, float]] = {}
        for i, cell in enumerate(cells):
            if int(cell) not in wanted:  # numerators constrain but are not audited themselves
                continue
            objective = np.zeros(len(members))
            objective[i] = 1.0
            low_status, low = _optimum(programme, objective)
            high_status, high = _optimum(programme, -objective)
            self.linear_programs += 2
            if low_status != _highs.HighsModelStatus.kOptimal or high_status not in _HIGH_ANSWERS:
                status = low_status if low_status != _highs.HighsModelStatus.kOptimal else high_status
                raise RuntimeError(
                    "The disclosure audit found the published relations inconsistent (linear program status "
                    f"{status.name}); the results break an additive relation."
                )
            out[int(cell)] = (low, np.inf if high_status == _highs.HighsModelStatus.kUnbounded else -high)
        return out


_HIGH_ANSWERS = (_highs.HighsModelStatus.kOptimal, _highs.HighsModelStatus.kUnbounded)
"""A maximum is a number or unbounded (+inf); anything else means the relations do not hold."""


def _linprog_options() -> _highs.HighsOptions:
    """The options ``linprog(method="highs")`` passes to HiGHS (its other options are HiGHS defaults)."""
    options = _highs.HighsOptions()
    options.presolve = "on"
    options.highs_debug_level = _highs.HighsDebugLevel.kHighsDebugLevelNone
    options.log_to_console = False
    options.output_flag = False
    options.simplex_strategy = _highs.simplex_constants.SimplexStrategy.kSimplexStrategyDual
    return options


_OPTIONS = _linprog_options()


def _programme(cells: np.ndarray, members: np.ndarray, constraints: list, lower: np.ndarray) -> _highs.HighsLp:
    """One component's relations as a HiGHS model, built once for all its minima and maxima.

    Built exactly as ``linprog`` builds it (inequality rows first, then equalities; the dense
    rows compressed by column), so that every solve is the one ``linprog`` ran, figure for figure.
    """
    local = {int(m): i for i, m in enumerate(members)}
    rows = {True: [], False: []}  # is_equality -> (row, rhs)
    for is_eq, pos, coefs, rhs in constraints:
        line = np.zeros(len(members))
        for p, c in zip(pos, coefs, strict=True):
            line[local[int(p)]] += c
        rows[is_eq].append((line, rhs))
    lines = [line for line, _ in rows[False] + rows[True]]
    matrix = csc_array(np.array(lines) if lines else np.zeros((0, len(members))))
    b_ub = [rhs for _, rhs in rows[False]]
    b_eq = [rhs for _, rhs in rows[True]]
    lp = _highs.HighsLp()
    lp.num_col_ = lp.a_matrix_.num_col_ = len(members)
    lp.num_row_ = lp.a_matrix_.num_row_ = len(lines)
    lp.a_matrix_.format_ = _highs.MatrixFormat.kColwise
    lp.a_matrix_.start_ = matrix.indptr
    lp.a_matrix_.index_ = matrix.indices
    lp.a_matrix_.value_ = matrix.data
    lp.row_lower_ = np.array([-np.inf] * len(b_ub) + b_eq, dtype=np.float64)
    lp.row_upper_ = np.array(b_ub + b_eq, dtype=np.float64)
    lp.col_lower_ = lower[cells].astype(np.float64)
    lp.col_upper_ = np.full(len(members), np.inf)
    return lp


def _optimum(programme: _highs.HighsLp, objective: np.ndarray) -> tuple[_highs.HighsModelStatus, float]:
    """Minimum of ``objective`` over the programme: HiGHS's model status and objective value.

    A fresh solver per objective, as ``linprog`` starts one: a solver warm-started from the
    previous optimum may end at another optimal vertex, whose rounding could differ.
    """
    programme.col_cost_ = objective
    highs = _highs._Highs()
    highs.passOptions(_OPTIONS)
    highs.passModel(programme)
    highs.run()
    return highs.getModelStatus(), float(highs.getInfo().objective_function_value)


_Breakdown = tuple[str, str, str, str]
"""(condition_id, indicator_id, level, breakdown): a breakdown of one indicator at one level."""


def protect(
    results: pd.DataFrame,
    threshold: int = DEFAULT_THRESHOLD,
    equal_populations: tuple[EqualPopulation, ...] | None = None,
    context: pd.DataFrame | None = None,
    max_rounds: int = 200,
    breakdown_values: Mapping[str, Mapping[str, str]] | None = None,
    withhold_breakdowns: bool = True,
    conditions: Iterable[Condition] = (),
) -> tuple[pd.DataFrame, AuditReport]:
    """Primary and secondary suppression, then the audit, repeated until every range holds.

    ``results`` are the unsuppressed rows to publish (as for ``suppress``).
    ``context`` are earlier report years' unsuppressed rows with ``suppressed``
    set as they were published: audited with this year's cells (an equal
    population across years must not undo their suppression) but never changed.
    Returns the suppressed table (as ``suppress`` returns it; extra cells with
    reason ``audit``) and the report. When the audit cannot be met the table is
    still returned, with ``report.passed`` false: the caller must not publish it.

    Where suppressing more cells cannot meet the audit, the breakdown of each cell left
    too narrow is withheld as a whole (section 3): every cell of that breakdown, indicator
    and level (every measure and unit) is marked suppressed, and the breakdown gets a row
    for every value of its vocabulary (``breakdown_values``, breakdown -> value -> label;
    default the shared labels and those of ``conditions``), with n = 0 where the value does not occur.
    Its rows then no longer tell which values occur, so the audit bounds them by n >= 0
    instead of n >= 1. The audit is run again; only when that cannot meet it either is
    ``report.passed`` false. ``report.withheld_breakdowns`` names the breakdowns withheld so.
    ``withhold_breakdowns=False`` stops after the cells (as ``max_rounds`` limits them).
    ``equal_populations`` default to those ``conditions`` declare (none without them).
    """
    threshold = int(threshold)
    conditions = tuple(conditions)
    if equal_populations is None:
        equal_populations = equal_populations_of(conditions)
    if breakdown_values is None:
        from nhv_pipeline.labels import breakdown_labels

        breakdown_values = breakdown_labels(conditions)
    whole: dict[_Breakdown, bool] = {}  # breakdown withheld as a whole -> whether its vocabulary completed it
    table = results
    while True:
        marked, report, narrow = _protect_once(table, threshold, equal_populations, context, max_rounds, whole)
        new = [key for key in narrow if key not in whole]
        if report.passed or not new or not withhold_breakdowns:
            break
        for key in new:
            whole[key] = key[3] != "total" and key[3] in breakdown_values
        table = _complete(results, whole, breakdown_values)
    report.withheld_breakdowns = [" ".join(key) for key in whole]
    return marked, report


def _complete(
    results: pd.DataFrame, whole: Mapping[_Breakdown, bool], breakdown_values: Mapping[str, Mapping[str, str]]
) -> pd.DataFrame:
    """``results`` with a row (n = 0) for every value of each completed breakdown that has none.

    A new row copies the identifying columns of a row of the same indicator, measure, level
    and unit, takes the value and its label, and counts nothing (numerator and denominator 0
    where the measure has them).
    """
    frame = results[RESULT_COLUMNS].reset_index(drop=True)
    added = []
    for (condition_id, indicator_id, level, breakdown), completed in whole.items():
        if not completed:
            continue
        mine = frame[
            (frame["condition_id"] == condition_id) & (frame["indicator_id"] == indicator_id) & (frame["level"] == level)
        ]
        unit = mine["unit_id"].fillna("").astype(str)
        for _, group in mine.groupby([mine["measure"], unit], sort=False):
            present = set(group.loc[group["breakdown"] == breakdown, "breakdown_value"].astype(str))
            template = group.iloc[0]
            counted = _has_numerator(group.iloc[:1])[0]
            for value, label in breakdown_values[breakdown].items():
                if value in present:
                    continue
                row = template.copy()
                row[WITHHELD_COLUMNS] = np.nan
                row["breakdown"], row["breakdown_value"], row["breakdown_label"] = breakdown, value, label
                row["n"] = 0
                if counted:
                    row["numerator"] = row["denominator"] = 0
                row["suppressed"], row["suppression_reason"] = False, ""
                added.append(row)
    if not added:
        return frame
    return pd.concat([frame, pd.DataFrame(added)], ignore_index=True)


def _protect_once(
    results: pd.DataFrame,
    threshold: int,
    equal_populations: tuple[EqualPopulation, ...],
    context: pd.DataFrame | None,
    max_rounds: int,
    whole: Mapping[_Breakdown, bool],
) -> tuple[pd.DataFrame, AuditReport, list[_Breakdown]]:
    """``protect`` with the breakdowns ``whole`` withheld as a whole; also the breakdowns of the cells left narrow."""
    first = suppress(results, threshold=threshold).reset_index(drop=True)  # validates and sorts
    first_count = int(first["suppressed"].sum())
    truth_frame = sort_results(results[RESULT_COLUMNS]).reset_index(drop=True)
    for c in ["n", "numerator", "denominator"]:
        truth_frame[c] = pd.to_numeric(truth_frame[c]).astype("Int64")
    rows_now = len(truth_frame)
    kinds = _relations(truth_frame, truth_frame["n"].fillna(0).to_numpy(dtype=np.int64))
    state_withheld = first["suppressed"].to_numpy(dtype=bool).copy()
    state_reason = first["suppression_reason"].to_numpy(dtype=object).copy()
    breakdown_of = list(zip(truth_frame["condition_id"].astype(str), truth_frame["indicator_id"].astype(str),
                            truth_frame["level"].astype(str), truth_frame["breakdown"].astype(str), strict=True))
    in_whole = np.array([key in whole for key in breakdown_of], dtype=bool)
    opened = np.array([whole.get(key, False) for key in breakdown_of], dtype=bool)
    if in_whole.any():
        state_reason[in_whole & ~state_withheld] = REASON_AUDIT
        state_withheld[in_whole] = True
        _repair(kinds, state_withheld, state_reason)

    if context is not None and len(context):
        ctx = sort_results(context[RESULT_COLUMNS]).reset_index(drop=True)
        for c in ["n", "numerator", "denominator"]:
            ctx[c] = pd.to_numeric(ctx[c]).astype("Int64")
        ctx_withheld = ctx["suppressed"].fillna(False).astype(bool).to_numpy()
        combined = pd.concat([truth_frame, ctx], ignore_index=True)
    else:
        ctx_withheld = np.zeros(0, dtype=bool)
        combined = truth_frame
    problem, truth = _problem(combined, equal_populations, np.concatenate([opened, np.zeros(len(ctx_withheld), dtype=bool)]))
    solver = _Solver(problem, truth, len(combined))
    rows = len(combined)
    has_num = _has_numerator(combined)
    num_cell = np.full(rows, -1, dtype=np.int64)
    num_cell[has_num] = rows + np.arange(has_num.sum())
    n_true = truth[:rows]

    # The width each withheld row must keep. This year's rows: the threshold, except a row equal to a
    # cell an earlier year published (its figure is public already). Earlier years' rows: the width
    # their own publication left them, up to the threshold (this year must not narrow them further).
    required = np.full(rows, float(threshold))
    withheld_before = np.concatenate([np.zeros(rows_now, dtype=bool), ctx_withheld])
    for members, is_equality in problem.edges:
        if is_equality:
            a, b = (int(m) for m in members)
            for mine, other in ((a, b), (b, a)):
                if mine < rows_now <= other and not withheld_before[other]:
                    required[mine] = 0.0
    if ctx_withheld.any():
        ctx_problem, ctx_truth = _problem(combined.iloc[rows_now:].reset_index(drop=True), equal_populations)
        ctx_cells = np.zeros(ctx_problem.n_cells, dtype=bool)
        ctx_cells[: rows - rows_now] = ctx_withheld
        ctx_has_num = _has_numerator(combined.iloc[rows_now:])
        ctx_cells[(rows - rows_now) + np.flatnonzero(ctx_withheld[ctx_has_num])] = True
        alone = _Solver(ctx_problem, ctx_truth, rows - rows_now).ranges(ctx_cells, np.flatnonzero(ctx_withheld))
        for t, (lo, hi) in alone.items():
            required[rows_now + t] = min(float(threshold), hi - lo)

    # Row -> hyperedges touching it.
    touching: list[list[int]] = [[] for _ in range(rows)]
    for e, (members, _) in enumerate(problem.edges):
        for m in members:
            touching[int(m)].append(e)

    rounds = 0

    def with_picks(withheld_now: np.ndarray, reason_now: np.ndarray, picks: list[int]):
        """Mark the picks and let the secondary rule repair the relations again."""
        withheld_now, reason_now = withheld_now.copy(), reason_now.copy()
        withheld_now[picks] = True
        reason_now[picks] = REASON_AUDIT
        _repair(kinds, withheld_now, reason_now)
        return withheld_now, reason_now

    def withheld_rows(withheld_now: np.ndarray) -> np.ndarray:
        return np.concatenate([withheld_now, ctx_withheld])

    def cells_of(withheld: np.ndarray) -> np.ndarray:
        cells = np.zeros(problem.n_cells, dtype=bool)
        cells[:rows] = withheld
        cells[num_cell[has_num & withheld]] = True
        return cells

    def order_key(r: int) -> tuple:
        return (n_true[r] == 0, n_true[r], r)

    def candidates(r: int, withheld: np.ndarray) -> list[int]:
        """Published current-year cells nearest to row r through the relations, best first."""
        seen_edges: set[int] = set()
        frontier = [r]
        visited = {r}
        while frontier:
            partners, others = [], []
            next_frontier = []
            for f in frontier:
                for e in touching[f]:
                    if e in seen_edges:
                        continue
                    seen_edges.add(e)
                    members, is_equality = problem.edges[e]
                    for m in members:
                        m = int(m)
                        if m in visited:
                            continue
                        visited.add(m)
                        if withheld[m]:
                            next_frontier.append(m)
                        elif m < rows_now:
                            (partners if is_equality else others).append(m)
            found = partners + sorted(set(others) - set(partners), key=order_key)
            if found:
                return found
            frontier = next_frontier
        return []

    while True:
        withheld = withheld_rows(state_withheld)
        targets = np.flatnonzero(withheld)
        ranges = solver.ranges(cells_of(withheld), targets)
        narrow = [t for t in targets if ranges[int(t)][1] - ranges[int(t)][0] < required[t] - _TOLERANCE]
        if not narrow or rounds >= max_rounds:
            break
        rounds += 1
        picks: list[int] = []
        used_edges: set[int] = set()
        fallback: list[int] = []
        for t in sorted(narrow, key=lambda t: (t >= rows_now, t)):
            if used_edges & set(touching[int(t)]):
                continue
            found = candidates(int(t), withheld)
            if not found:
                continue
            width = ranges[int(t)][1] - ranges[int(t)][0]
            choice = None
            for cand in found[:8]:
                trial = withheld_rows(with_picks(state_withheld, state_reason, [cand])[0])
                lo, hi = solver.ranges(cells_of(trial), np.array([int(t)]))[int(t)]
                if hi - lo > width + _TOLERANCE:  # widens the narrow cell
                    choice = cand
                    break
            if choice is None:
                fallback.append(found[0])
                continue
            picks.append(choice)
            used_edges |= set(touching[int(t)]) | set(touching[choice])
        if not picks and fallback:
            # No single cell widens any narrow range: give up the first candidate and look again.
            picks = fallback[:1]
        if not picks:
            break
        state_withheld, state_reason = with_picks(state_withheld, state_reason, picks)

    withheld = withheld_rows(state_withheld)
    targets = np.flatnonzero(withheld)
    ranges = solver.ranges(cells_of(withheld), targets)
    narrow = sorted(t for t in targets if ranges[int(t)][1] - ranges[int(t)][0] < required[t] - _TOLERANCE)
    marked_input = truth_frame.copy()
    marked_input["suppressed"] = state_withheld
    marked_input["suppression_reason"] = state_reason
    marked = suppress(marked_input, threshold=threshold).reset_index(drop=True)
    extra_count = int(marked["suppressed"].sum()) - first_count
    widths = [ranges[int(t)][1] - ranges[int(t)][0] for t in targets if t < rows_now and required[t] > 0]
    key_cols = ["report_year", "condition_id", "indicator_id", "measure", "level", "unit_id", "breakdown",
                "breakdown_value"]
    range_frame = combined.loc[targets, key_cols].copy()
    range_frame["low"] = [ranges[int(t)][0] for t in targets]
    range_frame["high"] = [ranges[int(t)][1] for t in targets]
    report = AuditReport(
        threshold=threshold,
        passed=not narrow,
        cells_audited=len(targets),
        already_public=int(sum(1 for t in targets if t < rows_now and required[t] == 0)),
        extra_suppressed=extra_count,
        rounds=rounds,
        narrowest_range=float(min(widths)) if widths else float("inf"),
        unmet=[_describe(combined, int(t)) for t in narrow],
        ranges=range_frame.reset_index(drop=True),
    )
    return marked, report, list(dict.fromkeys(breakdown_of[int(t)] for t in narrow if t < rows_now))


def _describe(df: pd.DataFrame, r: int) -> str:
    """A cell named by its key (never a figure)."""
    row = df.iloc[r]
    unit = row["unit_id"] if row["level"] == "enhet" else "riket"
    return (f"{int(row['report_year'])} {row['condition_id']} {row['indicator_id']} {row['measure']} {unit} "
            f"{row['breakdown']}={row['breakdown_value']}")
