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

How it is computed: a condition's cells are split into independent blocks (cells linked by a
relation or an equal population; ``_blocks``), and each block with a withheld cell is audited
alone, one after the other, with its own programme (``audit_solver``); the rounds of one audit
over all cells are replayed from the blocks' own rounds, so the result is the same. The policy
(threshold tolerance, candidates tried, rounds) is in ``disclosure_policy``.

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
taken; at most ``CANDIDATES_TRIED`` are tried. Within one round a narrow cell
whose relations already received an extra cell is looked at with the round's picks so far
withheld: it shares them when they widen it (so two narrow cells of one relation do not each
take one), else takes its own. A round in which no single cell widens any narrow cell settles
the narrow cells in turn (``disclosure_policy.fallback_round``): each takes a widening candidate, else its first
(then that cell's equal population partners first), until it is wide or has none left, with
what the cells before it took already withheld. So a relation of many units needs no round per
unit. Every range is solved again after each round. Cells of earlier report
years (context) are audited too, since this year's publication must not undo
theirs, but are never changed: each must keep the width its own publication
left it (up to the threshold). A cell of this year equal (by an equal
population) to a cell an earlier year *published* is public already; it is
not required to be wide, and counted as ``already_public``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.sparse import coo_array
from scipy.sparse.csgraph import connected_components

from nhv_pipeline.core.condition import Condition, EqualPopulation

from .audit_solver import _has_numerator, _Problem, _problem, _Solver, equal_population_pairs, numerator_cells
from .disclosure import DEFAULT_THRESHOLD, WITHHELD_COLUMNS, _relations, _repair, _suppress_sorted, sorted_results
from .disclosure_policy import (MAX_ROUNDS, REASON_AUDIT, TOLERANCE, candidate_order, choose, fallback_round,
                                is_narrow)
from .columns import PRIMARY_KEY, RESULT_COLUMNS
from .export import sort_results

__all__ = ["REASON_AUDIT", "AuditReport", "EqualPopulation", "protect", "equal_populations_of",
           "_Problem", "_Solver"]

logger = logging.getLogger(__name__)

CACHED_STATES = 256
"""Withheld states (``_Block._state``) a block keeps while its withheld rows do not change."""

PROGRESS_SECONDS = 5.0
"""The audit logs its progress (blocks, rounds, counts of cells) at most this often."""


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


_Breakdown = tuple[str, str, str, str]
"""(condition_id, indicator_id, level, breakdown): a breakdown of one indicator at one level."""


def protect(
    results: pd.DataFrame,
    threshold: int = DEFAULT_THRESHOLD,
    equal_populations: tuple[EqualPopulation, ...] | None = None,
    context: pd.DataFrame | None = None,
    max_rounds: int = MAX_ROUNDS,
    breakdown_values: Mapping[str, Mapping[str, str]] | None = None,
    withhold_breakdowns: bool = True,
    conditions: Iterable[Condition] = (),
    progress: Callable[[str], None] | None = None,
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

    ``progress(message)`` receives a line (blocks, rounds, counts of cells; never a figure) at most
    every ``PROGRESS_SECONDS`` while the audit runs; by default the lines go to this module's logger
    at INFO.
    """
    threshold = int(threshold)
    conditions = tuple(conditions)
    if equal_populations is None:
        equal_populations = equal_populations_of(conditions)
    if breakdown_values is None:
        from nhv_pipeline.core.labels import breakdown_labels

        breakdown_values = breakdown_labels(conditions)
    whole: dict[_Breakdown, bool] = {}  # breakdown withheld as a whole -> whether its vocabulary completed it
    table = results
    while True:
        marked, report, narrow = _protect_once(table, threshold, equal_populations, context, max_rounds, whole,
                                               progress)
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


def _blocks(combined: pd.DataFrame, equal_populations: tuple[EqualPopulation, ...]) -> list[np.ndarray]:
    """The independent blocks of rows: rows linked by a relation or a (holding) equal population.

    Two rows of different blocks share no constraint, so each block's ranges, and so its audit,
    depend on its own cells alone. Each block's rows in row order; blocks by their first row.
    Only the links are built here (two rows per link), never a programme over all cells.
    """
    rows = len(combined)
    n_true = pd.to_numeric(combined["n"]).fillna(0).to_numpy(dtype=np.float64)
    num_true = pd.to_numeric(combined["numerator"]).fillna(0).to_numpy(dtype=np.float64)
    has_num, num_cell = numerator_cells(combined)
    truth = np.concatenate([n_true, num_true[has_num]])
    sources, targets = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    for kind in _relations(combined, n_true.astype(np.int64)):
        sources.append(kind.total_row[kind.part_rel].astype(np.int64))
        targets.append(kind.part_row.astype(np.int64))
    pairs = [(i, j) for i, j, mine, other, _ in equal_population_pairs(combined, equal_populations, num_cell)
             if abs(truth[mine] - truth[other]) < TOLERANCE]
    if pairs:
        sources.append(np.array([i for i, _ in pairs], dtype=np.int64))
        targets.append(np.array([j for _, j in pairs], dtype=np.int64))
    source, target = np.concatenate(sources), np.concatenate(targets)
    graph = coo_array((np.ones(len(source)), (source, target)), shape=(rows, rows))
    labels = connected_components(graph, directed=False)[1]
    order = np.argsort(labels, kind="stable")
    bounds = np.flatnonzero(np.diff(labels[order])) + 1
    return sorted(np.split(order, bounds), key=lambda block: int(block[0])) if rows else []


@dataclass
class _Turn:
    """One block's round: its withheld rows, the ranges solved, narrow rows (at least one if any), its picks."""

    targets: np.ndarray
    ranges: dict[int, tuple[float, float]]
    narrow: list[int]
    picks: list[int]
    fallback: list[int]  # what a round without picks withholds (``fallback_round``), in order


class _Block:
    """The audit of one independent block of rows (``_blocks``), all in the block's own row numbers.

    Rows 0..now-1 are this year's, in the order of the year's table; rows now.. are earlier years'
    (context). The block's relations, programme and solver hold its cells only.
    """

    def __init__(self, frame: pd.DataFrame, now: int, opened: np.ndarray, ctx_withheld: np.ndarray,
                 withheld: np.ndarray, reason: np.ndarray, threshold: int,
                 equal_populations: tuple[EqualPopulation, ...]):
        self.frame, self.now, self.ctx_withheld = frame, now, ctx_withheld
        self.withheld, self.reason = withheld, reason
        self.kinds = _relations(frame.iloc[:now], frame["n"].iloc[:now].fillna(0).to_numpy(dtype=np.int64))
        self.problem, self.truth = _problem(frame, equal_populations, opened)
        self.solver = _Solver(self.problem, self.truth, len(frame))
        rows = len(frame)
        self.has_num, self.num_cell = numerator_cells(frame)
        self.order_key = candidate_order(self.truth[:rows])
        self.required = self._required(threshold, equal_populations)
        self.touching: list[list[int]] = [[] for _ in range(rows)]  # row -> relations and equalities touching it
        for e, (members, _) in enumerate(self.problem.edges):
            for m in members:
                self.touching[int(m)].append(e)
        self.wide = np.zeros(rows, dtype=bool)  # withheld rows whose range was already wide enough
        self.tick: Callable[[], None] = lambda: None
        """Called for every withheld row a round looks at, so that a long round logs its progress too."""
        self._turn: _Turn | None = None
        self._states: dict[tuple[int, ...], np.ndarray] = {}  # ``_state`` of the current withheld rows, by extra

    @property
    def cells(self) -> int:
        return self.problem.n_cells

    def _required(self, threshold: int, equal_populations) -> np.ndarray:
        """The width each withheld row must keep.

        This year's rows: the threshold, except a row equal to a cell an earlier year published (its
        figure is public already). Earlier years' rows: the width their own publication left them, up to
        the threshold (this year must not narrow them further).
        """
        rows, now = len(self.frame), self.now
        required = np.full(rows, float(threshold))
        withheld_before = np.concatenate([np.zeros(now, dtype=bool), self.ctx_withheld])
        for members, is_equality in self.problem.edges:
            if is_equality:
                a, b = (int(m) for m in members)
                for mine, other in ((a, b), (b, a)):
                    if mine < now <= other and not withheld_before[other]:
                        required[mine] = 0.0
        if self.ctx_withheld.any():
            earlier = self.frame.iloc[now:].reset_index(drop=True)
            ctx_problem, ctx_truth = _problem(earlier, equal_populations)
            ctx_cells = np.zeros(ctx_problem.n_cells, dtype=bool)
            ctx_cells[: rows - now] = self.ctx_withheld
            ctx_has_num = _has_numerator(earlier)
            ctx_cells[(rows - now) + np.flatnonzero(self.ctx_withheld[ctx_has_num])] = True
            alone = _Solver(ctx_problem, ctx_truth, rows - now).ranges(ctx_cells, np.flatnonzero(self.ctx_withheld))
            for t, (lo, hi) in alone.items():
                required[now + t] = min(float(threshold), hi - lo)
        return required

    def _with_picks(self, picks: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """Mark the picks and let the secondary rule repair the relations again."""
        withheld, reason = self.withheld.copy(), self.reason.copy()
        withheld[picks] = True
        reason[picks] = REASON_AUDIT
        _repair(self.kinds, withheld, reason)
        return withheld, reason

    def _rows(self, withheld_now: np.ndarray) -> np.ndarray:
        return np.concatenate([withheld_now, self.ctx_withheld])

    def _cells_of(self, withheld: np.ndarray) -> np.ndarray:
        cells = np.zeros(self.problem.n_cells, dtype=bool)
        cells[: len(withheld)] = withheld
        cells[self.num_cell[self.has_num & withheld]] = True
        return cells

    def _candidates(self, r: int, withheld: np.ndarray) -> list[int]:
        """Published current-year cells nearest to row r through the relations, best first."""
        seen_edges: set[int] = set()
        frontier = [r]
        visited = {r}
        while frontier:
            partners, others = [], []
            next_frontier = []
            for f in frontier:
                for e in self.touching[f]:
                    if e in seen_edges:
                        continue
                    seen_edges.add(e)
                    members, is_equality = self.problem.edges[e]
                    for m in members:
                        m = int(m)
                        if m in visited:
                            continue
                        visited.add(m)
                        if withheld[m]:
                            next_frontier.append(m)
                        elif m < self.now:
                            (partners if is_equality else others).append(m)
            found = partners + sorted(set(others) - set(partners), key=self.order_key)
            if found:
                return found
            frontier = next_frontier
        return []

    def _state(self, extra: list[int]) -> np.ndarray:
        """The withheld rows (this year's and earlier years') with ``extra`` withheld too, relations repaired.

        Kept until the block withholds more (a round asks for the same state for a row's width and its
        candidates, and for its picks so far with every row); never changed by its callers.
        """
        key = tuple(extra)
        state = self._states.get(key)
        if state is None:
            if len(self._states) >= CACHED_STATES:
                self._states.clear()
            state = self._states[key] = self._rows(self._with_picks(extra)[0] if extra else self.withheld)
        return state

    def _partners(self, extra: list[int], r: int) -> list[int]:
        """The published current-year rows equal to row r (equal populations), with ``extra`` withheld."""
        withheld = self._state(extra)
        out = []
        for e in self.touching[r]:
            members, is_equality = self.problem.edges[e]
            if is_equality:
                out.extend(int(m) for m in members if int(m) != r and int(m) < self.now and not withheld[int(m)])
        return out

    def _width(self, withheld_rows: np.ndarray, t: int) -> float:
        lo, hi = self.solver.ranges(self._cells_of(withheld_rows), np.array([t]))[t]
        return hi - lo

    def turn(self) -> _Turn:
        """This round's narrow rows and what the round withholds; unchanged (cached) while the block is unchanged.

        Picks first: each narrow row in row order gets a published cell whose withholding widens it
        (``choose``). A row in a relation that already received a pick this round is looked at with
        this round's picks so far withheld: it shares them when they widen it, else takes its own.
        So the picks of one round reach every unit of a relation, and the rounds do not grow with
        the number of units. Only a round without any pick withholds fallbacks (``fallback_round``).

        Two facts keep the linear programmes few without changing a decision. Withholding more cells
        only takes constraints away, so a range never narrows as the rounds go on: a cell once wide
        enough stays so (``wide``) and is not solved again until the report. And a cell that has no
        published cell to give up changes nothing in this round whether it is narrow or not: its range
        is solved only when no other cell of the block is narrow (then it alone tells whether the
        round has a narrow cell).
        """
        if self._turn is not None:
            return self._turn
        withheld = self._rows(self.withheld)
        targets = np.flatnonzero(withheld)
        cells = self._cells_of(withheld)
        ranges: dict[int, tuple[float, float]] = {}

        def narrow_now(t: int) -> bool:
            ranges[t] = self.solver.ranges(cells, np.array([t]))[t]
            if is_narrow(*ranges[t], self.required[t]):
                return True
            self.wide[t] = True
            return False

        narrow: list[int] = []
        deferred: list[int] = []
        picks: list[int] = []
        used_edges: set[int] = set()
        waiting: list[int] = []  # narrow rows no single cell widens, in row order
        for t in (int(t) for t in targets[~self.wide[targets]]):  # this year's rows first, as in the table
            self.tick()
            found = self._candidates(t, withheld)
            if not found:
                deferred.append(t)
                continue
            base: list[int] = []
            if used_edges & set(self.touching[t]):
                # A relation of this row already received a pick this round: shared if the picks widen it.
                now = self._state(picks)
                width = self._width(now, t)
                if not is_narrow(0.0, width, self.required[t]):
                    continue
                base, found = list(picks), self._candidates(t, now)
            elif narrow_now(t):
                width = ranges[t][1] - ranges[t][0]
            else:
                continue
            narrow.append(t)

            def trial_width(candidate: int, t: int = t, base: list[int] = base) -> float:
                return self._width(self._state(base + [candidate]), t)

            choice = choose(found, width, trial_width) if found else None
            if choice is None:
                waiting.append(t)
                continue
            picks.append(choice)
            used_edges |= set(self.touching[t]) | set(self.touching[choice])
        fallback: list[int] = []
        if not picks and waiting:
            fallback = fallback_round(
                waiting, lambda extra, t: self._width(self._state(extra), t),
                lambda extra, t: self._candidates(t, self._state(extra)), self.required, self._partners,
            )
        if not narrow:
            narrow = next(([t] for t in deferred if narrow_now(t)), [])
        self._turn = _Turn(targets, ranges, narrow, picks, fallback)
        return self._turn

    def ranges(self) -> tuple[np.ndarray, dict[int, tuple[float, float]]]:
        """Every withheld row of the block and its range, in the current state (for the report)."""
        withheld = self._rows(self.withheld)
        targets = np.flatnonzero(withheld)
        return targets, self.solver.ranges(self._cells_of(withheld), targets)

    def withhold(self, picks: list[int]) -> None:
        self.withheld, self.reason = self._with_picks(picks)
        self._turn = None
        self._states.clear()


class _Progress:
    """Logs a line at most every ``PROGRESS_SECONDS`` (counts of blocks and cells only, never a figure)."""

    def __init__(self, what: str, log: Callable[[str], None] | None):
        self.what, self.log = what, log or (lambda message: logger.info("%s", message))
        self.last = time.monotonic()

    def __call__(self, message: str) -> None:
        now = time.monotonic()
        if now - self.last >= PROGRESS_SECONDS:
            self.last = now
            self.log(f"{self.what}: {message}")


@dataclass
class _Summary:
    """What the year's table needs of a finished block (its programme and solver dropped)."""

    now: int
    withheld: np.ndarray
    reason: np.ndarray
    required: np.ndarray

    @classmethod
    def of(cls, block: _Block) -> _Summary:
        return cls(block.now, block.withheld, block.reason, block.required)


def _rounds_in_step(steps_of: list[list[bool]], still_narrow: list[bool], max_rounds: int) -> tuple[int, bool]:
    """The rounds of one audit over all blocks in step, replayed from each block's own rounds.

    In step, a round withholds the picks of every block whose next step is a pick (True); when none
    is, the fallbacks of every block waiting with them (False). A block's
    steps do not depend on the other blocks, so the replay gives the same states and count. Returns
    the count, and whether every block's steps fit in ``max_rounds`` (else the replay is not the audit).
    """
    position = [0] * len(steps_of)
    rounds = 0

    def pending(b: int) -> bool:
        return position[b] < len(steps_of[b])

    while True:
        if not any(pending(b) or still_narrow[b] for b in range(len(steps_of))) or rounds >= max_rounds:
            break
        rounds += 1
        picking = [b for b in range(len(steps_of)) if pending(b) and steps_of[b][position[b]]]
        waiting = picking or [b for b in range(len(steps_of)) if pending(b)]
        if not waiting:
            break
        for b in waiting:
            position[b] += 1
    return rounds, not any(pending(b) for b in range(len(steps_of)))


def _in_step(blocks: list[tuple[np.ndarray, _Block]], max_rounds: int, report_progress, finish) -> int:
    """Every block in step, round by round (as one audit over all cells); returns the round count."""
    rounds = 0
    while True:
        turns = []
        for number, (_, block) in enumerate(blocks, start=1):
            line = f"block {number}/{len(blocks)}, round {rounds + 1}, {block.cells} cells"
            block.tick = lambda line=line: report_progress(line)
            turns.append(block.turn())
            report_progress(line)
        if not any(turn.narrow for turn in turns) or rounds >= max_rounds:
            break
        rounds += 1
        picking = [(block, turn.picks) for (_, block), turn in zip(blocks, turns, strict=True) if turn.picks]
        if picking:
            for block, picks in picking:
                block.withhold(picks)
            continue
        # No single cell widens any narrow range: every block waiting with fallbacks withholds them.
        waiting = [(block, turn.fallback) for (_, block), turn in zip(blocks, turns, strict=True) if turn.fallback]
        if not waiting:
            break
        for block, fallback in waiting:
            block.withhold(fallback)
    for rows_of, block in blocks:
        finish(rows_of, block)
    return rounds


def _protect_once(
    results: pd.DataFrame,
    threshold: int,
    equal_populations: tuple[EqualPopulation, ...],
    context: pd.DataFrame | None,
    max_rounds: int,
    whole: Mapping[_Breakdown, bool],
    progress: Callable[[str], None] | None = None,
) -> tuple[pd.DataFrame, AuditReport, list[_Breakdown]]:
    """``protect`` with the breakdowns ``whole`` withheld as a whole; also the breakdowns of the cells left narrow.

    The cells are split into independent blocks (``_blocks``) and each is audited alone, one after
    the other; a block with no withheld cell has nothing to audit and is skipped. The result, the
    round count and ``max_rounds`` are those of one audit over all cells (``_rounds_in_step``).
    """
    truth_frame = sorted_results(results, threshold)  # validates and sorts, as suppress does
    first = _suppress_sorted(truth_frame.copy(), threshold)
    first_count = int(first["suppressed"].sum())
    for c in ["n", "numerator", "denominator"]:
        truth_frame[c] = pd.to_numeric(truth_frame[c]).astype("Int64")
    rows_now = len(truth_frame)
    state_withheld = first["suppressed"].to_numpy(dtype=bool).copy()
    state_reason = first["suppression_reason"].to_numpy(dtype=object).copy()
    breakdown_of = list(zip(truth_frame["condition_id"].astype(str), truth_frame["indicator_id"].astype(str),
                            truth_frame["level"].astype(str), truth_frame["breakdown"].astype(str), strict=True))
    in_whole = np.array([key in whole for key in breakdown_of], dtype=bool)
    opened = np.array([whole.get(key, False) for key in breakdown_of], dtype=bool)
    if in_whole.any():
        state_reason[in_whole & ~state_withheld] = REASON_AUDIT
        state_withheld[in_whole] = True
        _repair(_relations(truth_frame, truth_frame["n"].fillna(0).to_numpy(dtype=np.int64)), state_withheld,
                state_reason)

    if context is not None and len(context):
        ctx = sort_results(context[RESULT_COLUMNS]).reset_index(drop=True)
        for c in ["n", "numerator", "denominator"]:
            ctx[c] = pd.to_numeric(ctx[c]).astype("Int64")
        ctx_withheld = ctx["suppressed"].fillna(False).astype(bool).to_numpy()
        combined = pd.concat([truth_frame, ctx], ignore_index=True)
    else:
        ctx_withheld = np.zeros(0, dtype=bool)
        combined = truth_frame
    opened_all = np.concatenate([opened, np.zeros(len(ctx_withheld), dtype=bool)])
    withheld_all = np.concatenate([state_withheld, ctx_withheld])

    what = " ".join(sorted(set(truth_frame["condition_id"].astype(str)))) or "audit"
    years = truth_frame["report_year"]
    report_progress = _Progress(f"audit {what} {int(years.max())}" if len(years) else f"audit {what}", progress)
    row_blocks = [rows_of for rows_of in _blocks(combined, equal_populations) if withheld_all[rows_of].any()]
    # (A block with nothing withheld has no range to compute, and nothing in it can become narrow.)

    def block_of(rows_of: np.ndarray) -> _Block:
        now = int((rows_of < rows_now).sum())
        mine = rows_of[:now]
        return _Block(combined.iloc[rows_of].reset_index(drop=True), now, opened_all[rows_of],
                      ctx_withheld[rows_of[now:] - rows_now], state_withheld[mine].copy(), state_reason[mine].copy(),
                      threshold, equal_populations)

    ranges: dict[int, tuple[float, float]] = {}
    narrow: list[int] = []
    required = np.full(len(combined), float(threshold))
    targets_of: list[np.ndarray] = []
    finished: list[tuple[np.ndarray, _Block]] = []

    def finish(rows_of: np.ndarray, block: _Block) -> None:
        """The block's final state into the year's arrays; its programme is not needed any more."""
        finished.append((rows_of, block))
        block_targets, block_ranges = block.ranges()
        targets_of.append(rows_of[block_targets])
        ranges.update({int(rows_of[t]): r for t, r in block_ranges.items()})
        narrow.extend(int(rows_of[t]) for t in block_targets if is_narrow(*block_ranges[int(t)], block.required[t]))

    # One block after the other, so that only one block's programme is held at a time. Each block's
    # rounds are recorded, and the rounds of one audit over all cells are replayed from them
    # (``_rounds_in_step``); only when ``max_rounds`` cuts that replay short is the audit run again with
    # every block in step, round by round.
    steps_of: list[list[bool]] = []
    still_narrow: list[bool] = []
    for number, rows_of in enumerate(row_blocks, start=1):
        block = block_of(rows_of)
        steps: list[bool] = []  # True: the block's picks; False: its fallbacks
        while True:
            line = f"block {number}/{len(row_blocks)}, round {len(steps) + 1}, {block.cells} cells"
            block.tick = lambda line=line: report_progress(line)
            turn = block.turn()
            report_progress(line)
            if not turn.narrow or len(steps) >= max_rounds:
                break
            if turn.picks:
                block.withhold(turn.picks)
                steps.append(True)
            elif turn.fallback:
                block.withhold(turn.fallback)
                steps.append(False)
            else:
                break
        steps_of.append(steps)
        still_narrow.append(bool(turn.narrow))
        finish(rows_of, block)
        finished[-1] = (rows_of, _Summary.of(block))
        del block, turn  # the next block is built without this one's programme in memory
    rounds, replayed = _rounds_in_step(steps_of, still_narrow, max_rounds)
    if not replayed:
        ranges.clear()
        narrow.clear()
        targets_of.clear()
        finished.clear()
        rounds = _in_step([(rows_of, block_of(rows_of)) for rows_of in row_blocks], max_rounds, report_progress,
                          finish)
    for rows_of, block in finished:
        state_withheld[rows_of[: block.now]] = block.withheld
        state_reason[rows_of[: block.now]] = block.reason
        required[rows_of] = block.required
    targets = np.sort(np.concatenate(targets_of)) if targets_of else np.zeros(0, dtype=np.int64)
    narrow.sort()
    marked_input = truth_frame.copy()
    marked_input["suppressed"] = state_withheld
    marked_input["suppression_reason"] = state_reason
    marked = _suppress_sorted(marked_input, threshold)  # in the section 2 order already (truth_frame's)
    extra_count = int(marked["suppressed"].sum()) - first_count
    widths = [ranges[int(t)][1] - ranges[int(t)][0] for t in targets if t < rows_now and required[t] > 0]
    range_frame = combined.loc[targets, PRIMARY_KEY].copy()
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
