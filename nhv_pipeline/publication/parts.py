"""Each condition's part of a report year's publication (PUBLICATION.md, top and section 3).

One publication per report year, made of one part per condition. A condition's part is
replaced only when every indicator of the condition and year computed, every blocking
check of the condition passed and its disclosure audit is met; otherwise it keeps its
previous part (``kept``), or is absent when it had none (``withheld``). Conditions share
no published cell (no relation and no equal population spans two conditions), so each
condition's audit runs on its own rows and never holds back another condition's part.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from nhv_pipeline.core.condition import Condition

from .audit import AuditReport, protect
from .columns import RESULT_COLUMNS, SORT_COLUMNS
from .export import format_results

UPDATED = "updated"
KEPT = "kept"
WITHHELD = "withheld"


@dataclass(frozen=True)
class Part:
    """What became of one condition's part: its status, why when not updated, and its audit (if it ran)."""

    condition_id: str
    status: str
    reason: str = ""
    audit: AuditReport | None = None

    def manifest_entry(self) -> dict[str, str]:
        return {"status": self.status, "reason": self.reason}


def with_reasons(previous: pd.DataFrame, stored: pd.DataFrame) -> pd.DataFrame:
    """The previous publication's rows (read from its folder), with the warehouse's suppression reasons.

    The reason never leaves the warehouse (section 3); a kept part takes it back from the rows
    the warehouse stored with that publication, where they still match.
    """
    if previous.empty:
        return previous
    out = previous.drop(columns=["suppression_reason"], errors="ignore")
    if stored.empty or "suppression_reason" not in stored.columns:
        return out.assign(suppression_reason="")
    reasons = stored[SORT_COLUMNS + ["suppressed", "suppression_reason"]].copy()
    for frame in (out, reasons):
        frame["unit_id"] = frame["unit_id"].fillna("").astype(str)
        frame["report_year"] = frame["report_year"].astype("int64")
        frame["breakdown_value"] = frame["breakdown_value"].fillna("").astype(str)
    reasons["suppressed"] = reasons["suppressed"].astype(bool)
    merged = out.merge(reasons, on=SORT_COLUMNS + ["suppressed"], how="left")
    merged["suppression_reason"] = merged["suppression_reason"].fillna("")
    return merged


def assemble(
    conditions: Iterable[Condition],
    results: pd.DataFrame,
    previous: pd.DataFrame,
    not_replaced: Mapping[str, str | None],
    threshold: int,
    context: pd.DataFrame | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[pd.DataFrame, list[Part]]:
    """The year's published rows, condition by condition, and what became of each part.

    ``conditions``: every condition the year has (their equal populations and labels go to the audit).
    ``results``: the year's unsuppressed rows. ``previous``: the rows of the publication being
    replaced (``with_reasons``), empty when there is none. ``not_replaced``: condition -> why its
    part may not be replaced (a failed check, an indicator not computed), None when it may.
    ``context``: earlier years' rows for the audit (``protect``). ``progress``: where each
    condition's audit logs its progress (blocks, rounds, counts of cells; ``protect``).
    """
    frames: list[pd.DataFrame] = []
    parts: list[Part] = []
    results, context, previous = _by_condition(results), _by_condition(context), _by_condition(previous)
    for condition in conditions:
        condition_id = condition.condition_id
        reason = not_replaced.get(condition_id)
        audit = None
        if reason is None:
            mine = _of(results, condition_id)
            if mine.empty:
                parts.append(Part(condition_id, UPDATED))
                continue
            protected, audit = protect(
                mine, threshold=threshold, equal_populations=condition.equal_populations, context=_of(context, condition_id),
                conditions=(condition,), progress=progress,
            )
            if audit.passed:
                frames.append(protected)
                parts.append(Part(condition_id, UPDATED, audit=audit))
                continue
            reason = (
                f"the disclosure audit cannot be met (disclosure_audit): {len(audit.unmet)} suppressed cells stay "
                "narrower than the threshold, even with their breakdowns withheld"
            )
        kept = _of(previous, condition_id)
        if len(kept):
            frames.append(kept)
        parts.append(Part(condition_id, KEPT if len(kept) else WITHHELD, reason, audit))
    if not frames:
        return format_results(pd.DataFrame(columns=RESULT_COLUMNS)), parts
    return format_results(pd.concat(frames, ignore_index=True)), parts


class _ByCondition:
    """A frame and the positions of each condition's rows (found once, not once per condition)."""

    def __init__(self, frame: pd.DataFrame):
        self.frame = frame
        self.positions = frame.groupby("condition_id", sort=False).indices


def _by_condition(frame: pd.DataFrame | None) -> _ByCondition | None:
    return None if frame is None or frame.empty else _ByCondition(frame)


def _of(frame: _ByCondition | None, condition_id: str) -> pd.DataFrame:
    """The condition's rows in their order, with a fresh index (as ``frame[frame["condition_id"] == condition_id]``)."""
    if frame is None:
        return pd.DataFrame()
    return frame.frame.iloc[frame.positions.get(condition_id, [])].reset_index(drop=True)


def merged_audit(parts: Iterable[Part], threshold: int) -> AuditReport:
    """One report over the conditions' audits of the year (for the year's `disclosure_audit` check)."""
    audits = [p.audit for p in parts if p.audit is not None]
    return AuditReport(
        threshold=threshold,
        passed=all(a.passed for a in audits),
        cells_audited=sum(a.cells_audited for a in audits),
        extra_suppressed=sum(a.extra_suppressed for a in audits),
        rounds=max([0, *(a.rounds for a in audits)]),
        narrowest_range=float(min([np.inf, *(a.narrowest_range for a in audits)])),
        already_public=sum(a.already_public for a in audits),
        unmet=[cell for a in audits for cell in a.unmet],
        withheld_breakdowns=[b for a in audits for b in a.withheld_breakdowns],
    )
