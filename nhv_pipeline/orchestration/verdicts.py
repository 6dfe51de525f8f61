"""Whether each condition's part of a report year may be replaced (PUBLICATION.md, top).

A condition's part of a publication is replaced only when every indicator of that
condition and year computed and every blocking check of that condition passed. The
steps of one condition record here what they found (the delivery's contract, each
indicator, the result invariants), in the warehouse beside the data they gate, so that
the staged layer, the indicators and the publication can each ask about one condition
without a failure of another condition stopping them.

A verdict names a stage (``contract``, ``indicator B1``, ``invariants``), whether it
passed and, when not, why in words a person can act on: counts and rule names, never a
figure, a value or an identifier of a patient (PUBLICATION.md section 3).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone

import pandas as pd

from nhv_pipeline.orchestration.resources import Warehouse, one_transaction, quoted, table_exists

VERDICTS_TABLE = ("results", "_verdicts")
_VERDICTS = quoted(*VERDICTS_TABLE)

CONTRACT = "contract"
INVARIANTS = "invariants"
INDICATOR_PREFIX = "indicator "


def indicator_stage(indicator_id: str) -> str:
    return f"{INDICATOR_PREFIX}{indicator_id}"


def record_verdict(
    warehouse: Warehouse, report_year: int, condition_id: str, stage: str, passed: bool, reason: str = ""
) -> None:
    """Replace what ``stage`` last found for the condition and report year."""
    record_verdicts(warehouse, report_year, [(condition_id, stage, passed, reason)])


def record_verdicts(warehouse: Warehouse, report_year: int, verdicts: Iterable[tuple[str, str, bool, str]]) -> None:
    """`record_verdict` for several (condition, stage, passed, reason) of one report year, in one transaction."""
    verdicts = list(verdicts)
    if not verdicts:
        return
    latest: dict[tuple[str, str], tuple] = {}  # a stage named twice: its later verdict replaces the earlier
    for condition_id, stage, passed, reason in verdicts:
        latest.pop((condition_id, stage), None)
        latest[(condition_id, stage)] = (report_year, condition_id, stage, bool(passed), reason,
                                         datetime.now(timezone.utc).replace(tzinfo=None))
    with warehouse.connection() as con:
        with one_transaction(con):  # one commit, which waits for the disk
            if not table_exists(con, *VERDICTS_TABLE):
                con.execute(f'create schema if not exists "{VERDICTS_TABLE[0]}"')
                con.execute(
                    f"create table if not exists {_VERDICTS} (report_year integer, condition_id varchar, "
                    "stage varchar, passed boolean, reason varchar, recorded_at timestamp)"
                )
            # One statement to delete and one to insert, whatever the number of verdicts.
            con.execute(
                f"delete from {_VERDICTS} where report_year = ? and ("
                + " or ".join(["(condition_id = ? and stage = ?)"] * len(latest)) + ")",
                [report_year, *(part for key in latest for part in key)],
            )
            con.execute(
                f"insert into {_VERDICTS} values " + ", ".join(["(?, ?, ?, ?, ?, ?)"] * len(latest)),
                [value for row in latest.values() for value in row],
            )


def verdicts_of(warehouse: Warehouse, report_year: int) -> pd.DataFrame:
    """Every stage's latest verdict for the report year (empty when none was recorded)."""
    with warehouse.connection() as con:
        if not table_exists(con, *VERDICTS_TABLE):
            return pd.DataFrame(columns=["report_year", "condition_id", "stage", "passed", "reason", "recorded_at"])
        return con.execute(
            f"select * from {_VERDICTS} where report_year = ? order by condition_id, stage", [report_year]
        ).df()


def contract_failure(verdicts: pd.DataFrame, condition_id: str) -> str | None:
    """Why the condition's delivery of the year did not pass its contract; None when it passed."""
    rows = verdicts[(verdicts["condition_id"] == condition_id) & (verdicts["stage"] == CONTRACT)]
    if rows.empty:
        return "its delivery has not been checked against the contract"
    row = rows.iloc[-1]
    return None if bool(row["passed"]) else str(row["reason"])


def why_not_replaced(verdicts: pd.DataFrame, condition_id: str, indicator_ids: Iterable[str]) -> str | None:
    """Why the condition's part may not be replaced from this year's results; None when it may.

    The delivery passed its contract, and every indicator the condition has in the year
    (``indicator_ids``) was computed after that check (a result of an earlier delivery does not
    count) and its invariants held.
    """
    failure = contract_failure(verdicts, condition_id)
    if failure is not None:
        return failure
    mine = verdicts[verdicts["condition_id"] == condition_id]
    checked_at = mine.loc[mine["stage"] == CONTRACT, "recorded_at"].max()
    wanted = [indicator_stage(i) for i in indicator_ids]
    missing = sorted(set(wanted) - set(mine["stage"]))
    if missing:
        return "indicators not computed: " + ", ".join(s.removeprefix(INDICATOR_PREFIX) for s in missing)
    indicators = mine[mine["stage"].isin(wanted)]
    if indicators.empty:
        return None  # no indicator has the year yet: nothing to publish, nothing to hold back
    failed = indicators[~indicators["passed"].astype(bool)]
    if len(failed):
        return "; ".join(f"{row.stage}: {row.reason}" for row in failed.itertuples())
    stale = indicators[indicators["recorded_at"] < checked_at]
    if len(stale):
        return "indicators not computed from the checked delivery: " + ", ".join(
            s.removeprefix(INDICATOR_PREFIX) for s in stale["stage"]
        )
    invariants = mine[mine["stage"] == INVARIANTS]
    if invariants.empty:
        return "the result invariants were not checked"
    row = invariants.iloc[-1]
    if not bool(row["passed"]):
        return str(row["reason"])
    if row["recorded_at"] < indicators["recorded_at"].max():
        return "the result invariants were not checked on the latest indicators"
    return None
