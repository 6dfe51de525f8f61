"""The cells of a submission (SUBMISSION.md 2): which rows it has, and the canonical submission.csv.

Derived from the catalogue in force for the report year, never written per condition: every
`enhet` cell of every indicator that has begun, `total` first, then each breakdown in its
declared order with the whole of its fixed value list (INDICATORS.md 4), zeros included.
Pure: no Dagster.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from datetime import date

import pandas as pd

from nhv_pipeline.core import labels
from nhv_pipeline.core.condition import Condition
from nhv_pipeline.indicators.model import Indicator, measure_kind, period_for

#: SUBMISSION.md 2: the header of submission.csv, in this order.
SUBMISSION_COLUMNS: tuple[str, ...] = (
    "indicator_id", "measure", "breakdown", "breakdown_value",
    "n", "numerator", "denominator", "mean", "sd", "p10", "median", "p90",
)  # fmt: skip
#: The columns that name a cell.
KEY_COLUMNS = SUBMISSION_COLUMNS[:4]
#: SUBMISSION.md 2: may be present; must then equal the indicator's period.
OPTIONAL_COLUMNS = ("period_start", "period_end")
#: Whole numbers >= 0.
INTEGER_COLUMNS = ("n", "numerator", "denominator")
#: A distribution's statistics, unrounded.
DECIMAL_COLUMNS = ("mean", "sd", "p10", "median", "p90")


@dataclass(frozen=True)
class Cell:
    """One `enhet` result cell a submission reports (SUBMISSION.md 2, "Which rows")."""

    indicator: Indicator
    measure: str
    #: The measure's statistic: "count" | "distribution" | "proportion" (INDICATORS.md 1).
    kind: str
    breakdown: str
    breakdown_value: str
    period_start: date
    period_end: date

    @property
    def key(self) -> tuple[str, str, str, str]:
        """(indicator_id, measure, breakdown, breakdown_value): what a row of submission.csv names."""
        return (self.indicator.indicator_id, self.measure, self.breakdown, self.breakdown_value)


def breakdown_values(condition: Condition, breakdown: str) -> tuple[str, ...] | None:
    """The fixed value list of a breakdown (INDICATORS.md 4; "total" -> ("total",)); None where the list is not fixed.

    The shared lists (region and sex codes) are those of `nhv_pipeline.core.labels`, a condition's own
    those it labels (`Condition.breakdown_labels`): a value with a label is a value it can publish.
    """
    own = condition.breakdown_labels.get(breakdown)  # an area's own list wins, as its labels do
    if own is not None:
        return tuple(own)
    shared = labels.SHARED_BREAKDOWN_LABELS.get(breakdown)
    return tuple(shared) if shared is not None else None


def indicators_in_force(condition: Condition, report_year: int) -> tuple[Indicator, ...]:
    """The condition's indicators that produce rows for R: the version in force, each from its first report year."""
    return tuple(
        indicator for indicator in condition.indicators_for(report_year) if report_year >= indicator.first_report_year
    )


def _breakdown_order(indicator: Indicator, measure: str) -> tuple[str, ...]:
    """`total` first, then the measure's other breakdowns in declared order."""
    declared = indicator.breakdowns_for(measure)
    return ("total",) + tuple(breakdown for breakdown in declared if breakdown != "total")


def required_cells(condition: Condition, report_year: int) -> tuple[Cell, ...]:
    """Every `enhet` cell the catalogue in force for R defines (SUBMISSION.md 2 "Which rows"), in catalogue
    order: indicator, measure, `total` first, then each breakdown in declared order, its values in list order.
    An indicator that has not begun for R has none.

    A breakdown whose value list is not fixed has no rows: every value the engine publishes needs its
    Swedish label (`labels.breakdown_label`), so each breakdown of the catalogue has a fixed list.
    """
    cells: list[Cell] = []
    for indicator in indicators_in_force(condition, report_year):
        period_start, period_end = period_for(indicator, report_year)
        for measure in indicator.measures:
            kind = measure_kind(measure, condition)
            for breakdown in _breakdown_order(indicator, measure):
                for value in breakdown_values(condition, breakdown) or ():
                    cells.append(Cell(indicator, measure, kind, breakdown, value, period_start, period_end))
    return tuple(cells)


def _empty_statistics(kind: str) -> dict[str, object]:
    """A cell nobody falls in: n = 0 (and numerator = denominator = 0 for a proportion), decimals empty."""
    row: dict[str, object] = {column: pd.NA for column in INTEGER_COLUMNS} | {column: math.nan for column in DECIMAL_COLUMNS}
    row["n"] = 0
    if kind == "proportion":
        row["numerator"] = 0
        row["denominator"] = 0
    return row


def _statistics(kind: str, row: pd.Series) -> dict[str, object]:
    """The section 2 value columns of one engine row: only those the measure's statistic has."""
    values = _empty_statistics(kind)
    values["n"] = int(row["n"])
    if kind == "proportion":
        values["numerator"] = int(row["numerator"])
        values["denominator"] = int(row["denominator"])
    elif kind == "distribution":
        for column in DECIMAL_COLUMNS:
            value = row[column]
            values[column] = math.nan if pd.isna(value) else float(value)
    return values


def submission_frame(unit_rows: pd.DataFrame, condition: Condition, report_year: int) -> pd.DataFrame:
    """One unit's unrounded `enhet` result rows (what indicators.engine.compute gives for that unit) ->
    the canonical submission rows: SUBMISSION_COLUMNS, one row per required cell in required_cells order,
    cells nobody falls in filled with n = 0 (numerator = denominator = 0 for a proportion; decimals empty).

    The rows may hold every indicator's result rows of the condition (riket rows are ignored); they
    must be of one unit. n, numerator and denominator are Int64, the decimals float64.
    """
    rows = unit_rows
    if "level" in rows.columns:
        rows = rows[rows["level"] == "enhet"]
    if "unit_id" in rows.columns and rows["unit_id"].nunique() > 1:
        raise ValueError("submission_frame takes the result rows of one unit")
    if "report_year" in rows.columns and not rows.empty and set(rows["report_year"].astype(int)) != {report_year}:
        raise ValueError(f"submission_frame for report year {report_year} was given rows of another year")
    by_key = {
        (row.indicator_id, row.measure, row.breakdown, row.breakdown_value): row
        for row in rows[list(KEY_COLUMNS) + [c for c in SUBMISSION_COLUMNS[4:] if c in rows.columns]].itertuples(index=False)
    }
    records = []
    for cell in required_cells(condition, report_year):
        found = by_key.get(cell.key)
        values = _empty_statistics(cell.kind) if found is None else _statistics(cell.kind, pd.Series(found._asdict()))
        records.append(dict(zip(KEY_COLUMNS, cell.key)) | values)
    frame = pd.DataFrame.from_records(records, columns=list(SUBMISSION_COLUMNS))
    for column in INTEGER_COLUMNS:
        frame[column] = pd.array(frame[column], dtype="Int64")
    for column in DECIMAL_COLUMNS:
        frame[column] = frame[column].astype("float64")
    for column in KEY_COLUMNS:
        frame[column] = frame[column].astype("object")
    return frame


def _text(value: object) -> str:
    """An integer without decimals, a decimal as its shortest exact form (repr), empty where no value."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        raise TypeError("a submission cell is never a boolean")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("a submission decimal must be finite")
        return repr(float(value))
    if hasattr(value, "item"):  # numpy scalars
        return _text(value.item())
    return str(value)


def write_submission_csv(frame: pd.DataFrame, path) -> None:
    """The canonical submission.csv (SUBMISSION.md 2): UTF-8 without BOM, `,`, header SUBMISSION_COLUMNS,
    integers without decimals, decimals written so they round-trip exactly (repr), empty where no value."""
    missing = [column for column in SUBMISSION_COLUMNS if column not in frame.columns]
    if missing:
        raise ValueError(f"a submission frame needs the columns {missing}")
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=",", lineterminator="\n")
        writer.writerow(SUBMISSION_COLUMNS)
        for row in frame[list(SUBMISSION_COLUMNS)].itertuples(index=False):
            writer.writerow([_text(value) for value in row])
