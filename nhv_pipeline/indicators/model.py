"""The indicator catalogue's data model and the periods of INDICATORS.md section 1.

An `Indicator` is declared once, as data: its Swedish texts from the seed, its
measures and breakdowns, when it is first produced, which delivery tables it
reads (`inputs`, with delivery offsets relative to the report year) and the
small rule function that turns those tables into a population. The shared
machinery in `engine.py` turns a population into result rows.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Callable, Iterable, Mapping

import numpy as np
import pandas as pd
from pandas.errors import MergeError

from nhv_pipeline.core import periods
from nhv_pipeline.core.condition import Counts
from nhv_pipeline.core.keys import key_codes
from nhv_pipeline.core.periods import RelativeWindow
from nhv_pipeline.indicators.stats import as_datetime

if TYPE_CHECKING:  # pragma: no cover - typing only
    from nhv_pipeline.core.condition import Condition

#: The statistic each published measure is computed with (section 1): the measures every condition
#: may use. A condition adds its own in `Condition.measure_kinds` (see `measure_kind`).
MEASURE_KIND: dict[str, str] = {
    "count": "count",
    "distribution": "distribution",
    "proportion": "proportion",
    "response_rate": "proportion",
    "positive_share": "proportion",
}

#: The date type every rule sees (`RuleContext.table`).
_NANOSECONDS = np.dtype("datetime64[ns]")

#: The statistics a measure can be computed with (section 1).
KINDS = ("count", "distribution", "proportion")


def measure_kind(measure: str, condition: "Condition | None" = None, conditions: Iterable["Condition"] = ()) -> str:
    """The statistic of a measure: the condition's own declaration first, then the shared ones, then any
    of `conditions`' (for callers that see only the measure, like the preview's formatting)."""
    if condition is not None:
        own = condition.measure_kinds.get(measure)
        if own is not None:
            return own
    if measure in MEASURE_KIND:
        return MEASURE_KIND[measure]
    for other in conditions:
        if measure in other.measure_kinds:
            return other.measure_kinds[measure]
    raise KeyError(f"measure {measure!r} has no kind: declare it in its condition's measure_kinds")


def is_proportion(measure: str, conditions: Iterable["Condition"] = ()) -> bool:
    """Whether a measure is a proportion (it has a numerator; its value is a percentage): a shared
    measure, or one of `conditions` declares it so."""
    try:
        return measure_kind(str(measure), conditions=conditions) == "proportion"
    except KeyError:
        return False

DIRECTIONS = ("higher_is_better", "lower_is_better", "descriptive")

CATEGORIES = (
    "Bakgrundsmått",
    "Tillgänglighetsmått",
    "Resultatmått",
    "Patientrapporterat mått",
    "Överrapporteringsmått",
)


@dataclass(frozen=True)
class TableInput:
    """One staged table an indicator reads, over an inclusive range of deliveries.

    `offsets` are relative to the report year R: (0, 0) = D(R); (-1, -1) =
    D(R-1); (-2, 0) = D(R-2)..D(R).
    """

    table: str
    offsets: tuple[int, int]
    #: The input spans the indicator's pooled years (D(R-p+1)..D(R)); `offsets` follows `pooled_years`.
    pooled: bool = False

    def report_years(self, report_year: int) -> tuple[int, ...]:
        """The deliveries D(y) this input covers for report year R."""
        first, last = self.offsets
        return tuple(range(report_year + first, report_year + last + 1))


@dataclass(frozen=True)
class RuleContext:
    """What a rule function sees: the report year, its window, and the input tables."""

    report_year: int
    period_start: pd.Timestamp
    period_end: pd.Timestamp
    tables: Mapping[str, pd.DataFrame]
    #: What `shared` made, kept for the other contexts of one step (`engine.compute`'s `shared`); a context made
    #: without one shares nothing.
    memo: dict = field(default_factory=dict, compare=False, repr=False)

    def table(self, name: str) -> pd.DataFrame:
        """A copy of an input table with every date column as datetime64[ns]."""
        try:
            frame = self.tables[name]
        except KeyError:
            raise KeyError(f"indicator input table {name!r} was not passed to compute()") from None
        frame = frame.copy()
        for column, dtype in frame.dtypes.items():
            if pd.api.types.is_datetime64_any_dtype(dtype) and dtype != _NANOSECONDS:
                frame[column] = as_datetime(frame[column])
        return frame

    def shared(self, name: str, make: Callable[["RuleContext"], pd.DataFrame]) -> pd.DataFrame:
        """A copy of `make(self)`, made once for the rules of one step that see the same tables, year and window.

        For a population several rules of a condition start from (`name` says which; `make` reads only this
        context). Every call gets its own copy: a rule that changes what it got changes nothing another sees.
        """
        frames = tuple(sorted(self.tables.items(), key=lambda item: item[0]))
        key = ("shared", name, self.report_year, self.period_start, self.period_end,
               tuple((table, id(frame)) for table, frame in frames))  # fmt: skip
        if key not in self.memo:
            # The frames are kept with what was made from them, so no other frame can take their ids meanwhile.
            self.memo[key] = (frames, make(self))
        return self.memo[key][1].copy()

    def in_period(self, dates: pd.Series) -> pd.Series:
        """True for dates in the window, both ends included; NaT is never in it."""
        return dates.between(self.period_start, self.period_end, inclusive="both").fillna(False)


#: A rule returns the population of each measure: one row per counted
#: patient/transplant/contact/referral, with `unit_id`, one column per
#: breakdown it offers (named as the breakdown, holding breakdown values),
#: and `x` (distribution) or `hit` (proportion: True = in the numerator;
#: every row is in the denominator). A single frame means the only measure.
Rule = Callable[[RuleContext], "pd.DataFrame | dict[str, pd.DataFrame]"]


@dataclass(frozen=True)
class Indicator:
    """One indicator of one condition, as the seeds and INDICATORS.md define it."""

    condition_id: str
    indicator_id: str
    name: str
    measures: tuple[str, ...]
    breakdowns: tuple[str, ...]
    first_report_year: int
    cohort_lag: int
    pooled_years: int
    inputs: tuple[TableInput, ...]
    rule_version: str
    measure_text: str
    unit_of_measure: str
    purpose: str
    category: str
    indicator_type: str
    direction: str
    data_source: str
    rule: Rule = field(compare=False, repr=False)
    #: Per-measure breakdowns where they differ (skeletal P1); else `breakdowns`.
    measure_breakdowns: tuple[tuple[str, tuple[str, ...]], ...] = ()
    #: sct B2: at riket only N, mean and sd are published (seed: "Riket (enbart
    #: medel och standardavvikelse)").
    riket_percentiles: bool = True
    #: The pooled window's length is configuration (sct B2: "the window length is configuration, default 3").
    pooling_configurable: bool = False
    #: Målnivå, a target level where the specification sets one (the seeds set none yet).
    target_level: float | None = None
    #: The populations its n count (the denominator of a proportion): `Counts` naming the condition's
    #: declared populations; the disclosure audit's equal populations are derived from them.
    counts: tuple[Counts, ...] = ()
    #: Its own window relative to R where the specification sets one (e.g. 1 December R-2 to
    #: 30 November R-1); None: the calendar windows of section 1 (lag, pooled years).
    window: RelativeWindow | None = None
    #: Filled in by the Specification that declares the indicator (PUBLICATION.md section 4).
    spec_version: str = ""
    spec_date: str = ""
    #: Teknisk beskrivning and Felkällor och begränsningar, as the seed gives them (empty where it
    #: leaves them empty); shown beside the charts (PUBLICATION.md section 4). Paragraphs are separated
    #: by a blank line, list items are lines of their own.
    technical_description: str = ""
    limitations: str = ""
    #: What a row's N counts, in Swedish, for the unit that reports it (SUBMISSION.md 2 `n`, 7: the
    #: template's Anvisningar); per measure where the measures count different things (P1).
    n_counts: str = ""
    measure_n_counts: tuple[tuple[str, str], ...] = ()
    #: The condition whose specification declares it: filled in by that `Condition` (`declared_by`).
    condition: "Condition | None" = field(default=None, compare=False, repr=False)

    @property
    def key(self) -> str:
        """`<condition_id>/<indicator_id>`, unique in the catalogue."""
        return f"{self.condition_id}/{self.indicator_id}"

    def breakdowns_for(self, measure: str) -> tuple[str, ...]:
        return dict(self.measure_breakdowns).get(measure, self.breakdowns)

    def n_counts_for(self, measure: str) -> str:
        """What N counts for one measure (SUBMISSION.md 2, the seeds' "totalantalet (N)")."""
        return dict(self.measure_n_counts).get(measure, self.n_counts)

    def with_pooled_years(self, pooled_years: int) -> "Indicator":
        """This indicator pooled over another number of years (only where the specification makes it configuration)."""
        if not self.pooling_configurable or pooled_years == self.pooled_years:
            return self
        if pooled_years < 1:
            raise ValueError(f"{self.key}: pooled years must be at least 1")
        inputs = tuple(
            dataclasses.replace(spec, offsets=(-(pooled_years - 1), 0)) if spec.pooled else spec for spec in self.inputs
        )
        return dataclasses.replace(self, pooled_years=pooled_years, inputs=inputs)


def paragraphs(*texts: str) -> str:
    """A seed text of several paragraphs, as the catalogue keeps it: separated by a blank line."""
    return "\n\n".join(texts)


def current(table: str) -> TableInput:
    """A table read from the report year's own delivery D(R)."""
    return TableInput(table, (0, 0))


def pooled_input(table: str, pooled_years: int) -> TableInput:
    """A table read over the pooled deliveries D(R-p+1)..D(R)."""
    return TableInput(table, (-(pooled_years - 1), 0), pooled=True)


def declared_by(indicator: Indicator) -> "Condition":
    """The condition whose specification declares the indicator (set when the `Condition` is made)."""
    if indicator.condition is None:
        raise ValueError(f"indicator {indicator.indicator_id!r} of {indicator.condition_id!r} is declared in no Condition")
    return indicator.condition


def period_for(indicator: Indicator, report_year: int) -> tuple[date, date]:
    """The window every result row of (indicator, R) describes (section 1).

    Ordinary indicators (lag 0): P(R) = max(1 Jan R-1, start)..31 Dec R-1.
    Lag k > 0: the cohort year R-k, cut at the condition start. Pooled over
    p years (sct B2): the p measurement years ending with R-1, cut at the start.
    An indicator declaring its own `window` (relative to R) has that one, cut at the start.
    """
    start = declared_by(indicator).start
    if indicator.window is not None:
        return indicator.window.for_report_year(start, report_year)
    return periods.indicator_window(start, report_year, indicator.cohort_lag, indicator.pooled_years)


def attach_patient(
    frame: pd.DataFrame, patients: pd.DataFrame, columns: list[str]
) -> pd.DataFrame:
    """Patient attributes from the patients table of the same delivery as each row.

    Patient identifiers are local to a unit and a delivery describes its own
    patients (DATA_CONTRACT.md 4.1/5.1), so the key is (report_year, unit_id,
    patient_id). A row without its patient cannot pass validation; it raises.
    """
    keys = ["report_year", "unit_id", "patient_id"]
    if _joins_by_codes(frame, patients, keys, columns):
        # The merge below, by one integer per key: a third of its cost on a large delivery.
        own, wanted = key_codes(patients, frame, keys)
        own = pd.Index(own)
        if not own.is_unique:
            raise MergeError("Merge keys are not unique in right dataset; not a many-to-one merge")
        positions = own.get_indexer(wanted)
        _no_patient_missing(int((positions < 0).sum()))
        attributes = patients[columns].take(positions).reset_index(drop=True)
        return pd.concat([frame.reset_index(drop=True), attributes], axis=1)
    # What merge(validate="many_to_one") checks, at a tenth of its cost on a large delivery.
    if patients.duplicated(keys).any():
        raise MergeError("Merge keys are not unique in right dataset; not a many-to-one merge")
    joined = frame.merge(patients[keys + columns], on=keys, how="left", indicator="_patient")
    _no_patient_missing(int((joined["_patient"] != "both").sum()))
    return joined.drop(columns="_patient")


def _no_patient_missing(missing: int) -> None:
    if missing:
        raise ValueError(
            f"{missing} row(s) have no patients.csv row in the same delivery "
            "(DATA_CONTRACT.md 4.1/5.1: every patient_id must be in patients.csv)"
        )


def _joins_by_codes(frame: pd.DataFrame, patients: pd.DataFrame, keys: list[str], columns: list[str]) -> bool:
    """Whether `attach_patient` finds the rows by `key_codes`, or leaves the join to pandas' merge (no rows, key
    types that differ or are no numpy types, column names the merge would suffix)."""
    names = list(frame.columns) + list(columns)
    return not (
        frame.empty or patients.empty or len(set(names)) != len(names) or "_patient" in names
        or set(keys) & set(columns)
        or any(frame[key].dtype != patients[key].dtype or not isinstance(frame[key].dtype, np.dtype) for key in keys)
    )
