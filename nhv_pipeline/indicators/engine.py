"""Shared machinery: population -> result rows at `riket` and `enhet` (INDICATORS.md 1, 4).

Written once for all indicators: levels, the always-present `total` rows for
units holding a permit, one-way breakdown rows for the values that occur,
statistics and Swedish labels. The rows are unsuppressed; disclosure control
(PUBLICATION.md section 3) happens downstream.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from nhv_pipeline.core import labels, periods
from nhv_pipeline.core.condition import Condition
from nhv_pipeline.indicators.model import Indicator, RuleContext, declared_by, measure_kind, period_for
from nhv_pipeline.indicators.stats import as_datetime, distribution_summary, proportion_summary
from nhv_pipeline.submission import combine

RESULT_COLUMNS: list[str] = [
    "report_year", "condition_id", "indicator_id", "measure", "period_start", "period_end",
    "level", "unit_id", "unit_name", "breakdown", "breakdown_value", "breakdown_label",
    "n", "value", "numerator", "denominator", "ci_low", "ci_high",
    "mean", "sd", "p10", "median", "p90", "suppressed", "suppression_reason",
]  # fmt: skip

_INT_COLUMNS = ["n", "numerator", "denominator"]
_FLOAT_COLUMNS = ["value", "ci_low", "ci_high", "mean", "sd", "p10", "median", "p90"]
_TEXT_COLUMNS = [
    "condition_id", "indicator_id", "measure", "level", "unit_id", "unit_name",
    "breakdown", "breakdown_value", "breakdown_label", "suppression_reason",
]  # fmt: skip


def empty_result() -> pd.DataFrame:
    """A result frame with no rows and the typed RESULT_COLUMNS."""
    return _typed(pd.DataFrame({column: [] for column in RESULT_COLUMNS}))


def compute(
    indicator: Indicator,
    report_year: int,
    tables: dict[str, pd.DataFrame],
    units: pd.DataFrame,
    submission: pd.DataFrame | None = None,
    shared: dict | None = None,
) -> pd.DataFrame:
    """Unsuppressed result rows of one indicator for report year R, in RESULT_COLUMNS order.

    `tables` hold exactly the deliveries the indicator's inputs declare;
    `units` is the registry (units.csv). `period_start`/`period_end` are
    `datetime.date` objects. Before the first report year: no rows.

    `submission` holds the staged submission rows of the condition for R (SUBMISSION.md 2):
    the units in it delivered their own figures, which become their `enhet` rows; their rows
    in `tables` (an earlier extract a lag would read) are not used, since a submitting unit
    computes its cohort indicators itself (SUBMISSION.md 5). With a submitting unit, `riket`
    is combined from every unit's `enhet` figures (SUBMISSION.md 4); without one it is the
    pooled population's, as it always was.

    `shared` is a dict a caller passes to every indicator of a condition it computes from the same `tables`,
    `units` and `submission` (a step): what the rows are cut to and what rules share (`RuleContext.shared`) is
    then made once, not once per indicator.
    """
    memo = {} if shared is None else shared
    if report_year < indicator.first_report_year:
        return empty_result()
    _check_deliveries(indicator, report_year, tables)
    permits = _permits(indicator.condition_id, units)  # the registry read once for the three questions below
    followed = _followed(declared_by(indicator), permits, report_year)
    if {unit_id for unit_id, *_ in permits} - followed:
        # INDICATORS.md 1: a unit whose permit does not overlap P(R) has no results for R, and
        # its earlier cohorts are no longer followed up (it delivers no followup rows for them).
        tables = {name: _rows_of_units(frame, followed, True, memo) for name, frame in tables.items()}
    submitting = set() if submission is None or submission.empty else set(submission["unit_id"].astype(str))
    if submitting:
        tables = {name: _rows_of_units(frame, submitting, False, memo) for name, frame in tables.items()}
    period_start, period_end = period_for(indicator, report_year)
    context = RuleContext(
        report_year=report_year,
        period_start=pd.Timestamp(period_start),
        period_end=pd.Timestamp(period_end),
        tables=tables,
        memo=memo,
    )
    populations = indicator.rule(context)
    if isinstance(populations, pd.DataFrame):
        populations = {indicator.measures[0]: populations}

    unit_names, permit_units = _overlapping(permits, period_start, period_end)
    permit_units = [unit_id for unit_id in permit_units if unit_id in followed and unit_id not in submitting]
    rows: list[dict] = []
    for measure in indicator.measures:
        population = populations[measure]
        for breakdown in indicator.breakdowns_for(measure):
            rows.extend(
                _breakdown_rows(indicator, measure, breakdown, population, permit_units, unit_names)
            )
    if submitting:
        rows = _with_submitted_figures(rows, indicator, submission, unit_names)
    constants = {
        "report_year": report_year, "condition_id": indicator.condition_id, "indicator_id": indicator.indicator_id,
        "period_start": period_start, "period_end": period_end, "suppressed": False, "suppression_reason": "",
    }  # fmt: skip
    # In section 2 order before the frame is made: a few dozen rows sort faster as dicts than as a frame.
    rows = sorted(({**row, **constants} for row in rows), key=_row_order)
    return _typed(pd.DataFrame.from_records(rows, columns=RESULT_COLUMNS))


def _rows_of_units(frame: pd.DataFrame, unit_ids: set[str], keep: bool, memo: dict) -> pd.DataFrame:
    """The rows of `frame` whose unit is (`keep`) or is not in `unit_ids`, cut once per frame and units in `memo`."""
    key = ("rows of units", id(frame), frozenset(unit_ids), keep)
    if key not in memo:
        in_units = frame["unit_id"].isin(unit_ids)
        # The frame is kept with its rows, so no other frame can take its id meanwhile.
        memo[key] = (frame, frame[in_units if keep else ~in_units])
    return memo[key][1]


def followed_units(condition: Condition, units: pd.DataFrame, report_year: int) -> set[str]:
    """The condition's units whose permit overlaps P(R): those with results for R (INDICATORS.md 1)."""
    return _followed(condition, _permits(condition.condition_id, units), report_year)


def _followed(condition: Condition, permits: list[tuple], report_year: int) -> set[str]:
    period = periods.measurement_period(condition.start, report_year)
    if period is None:
        return set()
    return set(_overlapping(permits, *period)[1])


def units_not_followed_up(
    condition: Condition, units: pd.DataFrame, report_year: int, indicators
) -> list[dict[str, str]]:
    """Units whose permit ended before P(R) while a window of R's `indicators` still reaches into it.

    INDICATORS.md 1 ("Units in a report year"): their cohorts are no longer followed up and they
    have no rows for R; the run says so in one line each, in its log and its manifest.
    """
    condition_id = condition.condition_id
    windows = [period_for(indicator, report_year) for indicator in indicators
               if indicator.condition_id == condition_id and report_year >= indicator.first_report_year]
    period = periods.measurement_period(condition.start, report_year)
    if not windows or period is None:
        return []
    earliest = min(start for start, _ in windows)
    registry = units[units["condition_id"] == condition_id]
    permit_end = as_datetime(registry["permit_end"])
    ended = registry[(permit_end < pd.Timestamp(period[0])) & (permit_end >= pd.Timestamp(earliest))]
    notes = []
    for unit_id, end in sorted(zip(ended["unit_id"], as_datetime(ended["permit_end"]).dt.date)):
        notes.append({
            "condition_id": condition_id,
            "unit_id": unit_id,
            "permit_end": end.isoformat(),
            "note": f"{condition_id} {unit_id}: permit ended {end.isoformat()}, before the measurement period of report "
                    f"year {report_year} ({period[0]}..{period[1]}); its cohorts are no longer followed up and it has "
                    "no rows from this report year on (INDICATORS.md 1).",
        })
    return notes


def _with_submitted_figures(
    rows: list[dict], indicator: Indicator, submission: pd.DataFrame, unit_names: dict[str, str]
) -> list[dict]:
    """The extract units' `enhet` rows, the submitting units' own, and `riket` combined from all of them
    (SUBMISSION.md 4): the pooled population no longer holds every unit, so its `riket` rows are dropped."""
    unit_rows = [row for row in rows if row["level"] == "enhet"]
    unit_rows += combine.submitted_records(submission, indicator, unit_names)
    frame = pd.DataFrame.from_records(unit_rows, columns=RESULT_COLUMNS)
    return combine.riket_records(frame, declared_by(indicator)) + unit_rows


def _check_deliveries(indicator: Indicator, report_year: int, tables: dict[str, pd.DataFrame]) -> None:
    """Each declared input must hold only rows of its declared deliveries.

    Reading R1's transplants from D(R) instead of D(R-1), say, would give a
    plausible but wrong figure; a wiring mistake must fail loudly instead.
    """
    for table_input in indicator.inputs:
        if table_input.table not in tables:
            raise KeyError(f"{indicator.key}: input table {table_input.table!r} was not passed to compute()")
        years = set(tables[table_input.table]["report_year"].unique())
        unexpected = sorted(int(year) for year in years - set(table_input.report_years(report_year)))
        if unexpected:
            raise ValueError(
                f"{indicator.key} for report year {report_year}: table {table_input.table!r} holds rows of "
                f"deliveries {unexpected}, outside its declared offsets {table_input.offsets}"
            )


def _permits(condition_id: str, units: pd.DataFrame) -> list[tuple]:
    """(unit_id, unit_name, permit_start, permit_end) of the condition's registry rows, the dates as Timestamps (NaT
    where missing): a registry holds a few units per condition, which plain Python compares faster than pandas."""
    registry = units[units["condition_id"] == condition_id]
    return list(zip(
        registry["unit_id"], registry["unit_name"],
        as_datetime(registry["permit_start"]).tolist(), as_datetime(registry["permit_end"]).tolist(),
    ))


def _overlapping(permits: list[tuple], period_start: date, period_end: date) -> tuple[dict[str, str], list[str]]:
    """Registry names, and the units whose permit overlaps the period (section 4: they get a `total` row even
    with an empty population), of the rows `_permits` gives."""
    first, last = pd.Timestamp(period_start), pd.Timestamp(period_end)
    # A missing start overlaps nothing (NaT compares False); a missing end is open.
    overlapping = {unit_id for unit_id, _, start, end in permits if start <= last and (pd.isna(end) or end >= first)}
    return {unit_id: name for unit_id, name, *_ in permits}, sorted(overlapping)


def _breakdown_rows(
    indicator: Indicator,
    measure: str,
    breakdown: str,
    population: pd.DataFrame,
    permit_units: list[str],
    unit_names: dict[str, str],
) -> list[dict]:
    condition = declared_by(indicator)
    kind = measure_kind(measure, condition)
    base = {"measure": measure, "breakdown": breakdown}
    # The groups need only their keys and the column `_summary` reads: fewer columns to cut per group.
    read = [column for column in ("unit_id", breakdown, *_SUMMARY_READS.get(kind, ())) if column != "total"]
    if all(column in population.columns for column in read) and len(set(read)) == len(read):
        population = population[read]
    rows: list[dict] = []
    if breakdown == "total":
        base = {**base, "breakdown_value": "total", "breakdown_label": labels.TOTAL_LABEL}
        rows.append({**base, **_riket(), **_summary(kind, population, indicator, "riket")})
        # A total row for every unit holding a permit in the period, and for
        # every unit with population rows (section 4).
        present = population.groupby("unit_id", sort=True)
        for unit_id in sorted(set(permit_units) | set(population["unit_id"])):
            members = present.get_group(unit_id) if unit_id in present.groups else population.iloc[0:0]
            rows.append(
                {**base, **_enhet(unit_id, unit_names), **_summary(kind, members, indicator, "enhet")}
            )
        return rows

    if breakdown not in population.columns:
        raise ValueError(f"{indicator.key}: the rule's population has no column for breakdown {breakdown!r}")
    if population[breakdown].isna().any():
        raise ValueError(f"{indicator.key}: missing values in breakdown column {breakdown!r}")
    # One-way breakdown rows only for values that occur in the population.
    for value, members in population.groupby(breakdown, sort=True):
        labelled = {**base, "breakdown_value": value, "breakdown_label": labels.breakdown_label(breakdown, value, condition)}
        rows.append({**labelled, **_riket(), **_summary(kind, members, indicator, "riket")})
    for (unit_id, value), members in population.groupby(["unit_id", breakdown], sort=True):
        labelled = {**base, "breakdown_value": value, "breakdown_label": labels.breakdown_label(breakdown, value, condition)}
        rows.append({**labelled, **_enhet(unit_id, unit_names), **_summary(kind, members, indicator, "enhet")})
    return rows


def _riket() -> dict:
    return {"level": "riket", "unit_id": "", "unit_name": labels.RIKET_NAME}


def _enhet(unit_id: str, unit_names: dict[str, str]) -> dict:
    # A unit outside the registry cannot pass validation; fall back to its id.
    return {"level": "enhet", "unit_id": unit_id, "unit_name": unit_names.get(unit_id, unit_id)}


#: The population column `_summary` reads for each kind of measure (a count only counts rows).
_SUMMARY_READS = {"count": (), "distribution": ("x",), "proportion": ("hit",)}


def _summary(kind: str, members: pd.DataFrame, indicator: Indicator, level: str) -> dict:
    """Section 1 statistics of one group. At riket the group pools every unit's
    population, so counts and numerators/denominators are sums of unit figures."""
    if kind == "count":
        count = len(members)
        return {"n": count, "value": float(count)}
    if kind == "distribution":
        summary = distribution_summary(members["x"].astype("float64"))
        if level == "riket" and not indicator.riket_percentiles:
            summary.update(p10=np.nan, median=np.nan, p90=np.nan)
        return {**summary, "value": summary["mean"]}
    if kind == "proportion":
        hits = members["hit"].astype(bool)
        return proportion_summary(int(hits.sum()), len(members))
    raise ValueError(f"unknown measure kind {kind!r}")


def _typed(result: pd.DataFrame) -> pd.DataFrame:
    """The frame in RESULT_COLUMNS order and types: a new frame made for it, which it may change."""
    if list(result.columns) != RESULT_COLUMNS:
        result = result[RESULT_COLUMNS].copy()
    wanted = {"report_year": "int64", "suppressed": "bool", "period_start": "object", "period_end": "object"}
    wanted |= {column: "float64" for column in _FLOAT_COLUMNS} | {column: "object" for column in _TEXT_COLUMNS}
    for column in _INT_COLUMNS:
        result[column] = pd.array(result[column], dtype="Int64")
    # Only the columns not already of their type: most are, and a no-op astype still copies.
    for column, dtype in wanted.items():
        if result[column].dtype != dtype:
            result[column] = result[column].astype(dtype)
    return result


def result_sort_keys(results: pd.DataFrame) -> pd.DataFrame:
    """PUBLICATION.md section 2 row order, as sort keys: report_year, condition_id, indicator_id, measure,
    level (riket first), unit_id, breakdown (total first), breakdown_value.

    Stated once: the engine orders one indicator's rows with it, the exports order a publication.
    Text is ordered by code point (not a locale), so `Ö1` sorts after `T1` on every machine.
    """
    return pd.DataFrame(_sort_key_arrays(results))


def _sort_key_arrays(results: pd.DataFrame) -> dict[str, np.ndarray]:
    return {
        "report_year": results["report_year"].astype("int64").to_numpy(),
        "condition_id": results["condition_id"].astype(str).to_numpy(),
        "indicator_id": results["indicator_id"].astype(str).to_numpy(),
        "measure": results["measure"].astype(str).to_numpy(),
        "level": (results["level"].astype(str) != "riket").to_numpy(),
        "unit_id": results["unit_id"].fillna("").astype(str).to_numpy(),
        "breakdown_is_not_total": (results["breakdown"].astype(str) != "total").to_numpy(),
        "breakdown": results["breakdown"].astype(str).to_numpy(),
        "breakdown_value": results["breakdown_value"].fillna("").astype(str).to_numpy(),
    }


def _row_order(row: dict) -> tuple:
    """`_sort_key_arrays` of one result row of one indicator (report_year, condition_id and indicator_id are the
    same in all its rows): Python's sort is stable and compares text by code point, as `key_order` does."""
    return (
        str(row["measure"]),
        str(row["level"]) != "riket",
        _text(row.get("unit_id")),
        str(row["breakdown"]) != "total",
        str(row["breakdown"]),
        _text(row.get("breakdown_value")),
    )


def _text(value) -> str:
    """A text sort key as `fillna("").astype(str)` makes it."""
    return "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def key_order(keys) -> np.ndarray:
    """The positions that put rows in the order of their sort keys (columns first to last); ties keep their order.

    `keys` is `result_sort_keys`' frame or the arrays it is built from. `np.lexsort` (stable, last
    key primary) gives the order a stable multi-column sort of the keys gives, without sorting a frame.
    """
    return np.lexsort([np.asarray(keys[column]) for column in reversed(list(keys))])


def result_order(results: pd.DataFrame) -> np.ndarray:
    """The positions of `results` in section 2 row order (`result_sort_keys`)."""
    return key_order(_sort_key_arrays(results))
