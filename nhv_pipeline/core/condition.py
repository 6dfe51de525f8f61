"""What an NHV condition (permit area, tillståndsområde) is to the pipeline: the model only.

Everything one condition is lives in its own package, `nhv_pipeline/conditions/<condition_id>/`:
its tables' contract (pandera models with their table rules), its cross-table and
cross-delivery rules, its specification versions with their indicator catalogues, its
own breakdown labels and its sample-data generator. The package describes itself with
one `Condition` (its `CONDITION`). The registry of them is `nhv_pipeline.conditions`,
which finds the packages; only the edges (command line, runner, sensor, Dagster definitions)
look a condition up there. The shared libraries (contract, indicators, publication,
submission, labels, sample data) are given `Condition` objects and never import the
registry: adding an area touches nothing outside its package.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - typing only
    import pandas as pd
    import pandera.pandas as pa

    from nhv_pipeline.indicators.model import Indicator


@dataclass(frozen=True)
class DeliveryRule:
    """A contract rule that spans the tables of a delivery, or earlier deliveries.

    `depends_on` names the tables it reads: for a unit whose file of one of them could
    not be read, the rule is not run (and reported once as not checked), so a broken
    file never shows up again as a failure of every row that refers to it
    (DATA_CONTRACT.md 6).
    """

    name: str
    depends_on: tuple[str, ...]
    check: Callable[["DeliveryContext"], "pd.DataFrame"]
    reads_earlier_deliveries: bool = False


@dataclass(frozen=True)
class DeliveryContext:
    """What a delivery rule sees: the round's text tables (all units), parsed dates, and which units' files were read."""

    data_root: Any
    report_year: int
    condition: "Condition"
    tables: Mapping[str, "pd.DataFrame"]
    dated: Mapping[str, "pd.DataFrame"]
    read_units: Mapping[str, set[str]]

    def units_with(self, *tables: str) -> set[str]:
        """Units whose files of all these tables were read (the rule can be checked for them)."""
        sets = [self.read_units.get(table, set()) for table in tables]
        return set.intersection(*sets) if sets else set()


@dataclass(frozen=True)
class EqualPopulation:
    """Two indicators whose rows count the same population (INDICATORS.md), for the disclosure audit.

    Derived from the populations the indicators' `counts` name (`Condition.equal_populations`),
    never listed by hand.

    The n of ``indicator_id``/``measure`` in report year R equals the n of
    ``other_indicator_id``/``other_measure`` in report year R - ``year_lag``, for every row
    the two share by level, unit, breakdown and breakdown value (PUBLICATION.md 3: the audit
    counts "populations that INDICATORS.md defines as equal").
    """

    condition_id: str
    indicator_id: str
    measure: str
    other_indicator_id: str
    other_measure: str
    year_lag: int = 0
    why: str = ""
    #: which figure of each row is equal: its "n", or the "numerator" of a proportion (a P1 score's N
    #: may equal the response rate's numerator, PUBLICATION.md 3).
    part: str = "n"
    other_part: str = "n"


@dataclass(frozen=True)
class Population:
    """A population the condition's indicators count, declared once (INDICATORS.md 1; PUBLICATION.md 3).

    ``text`` says, relative to the report year R, who is in it ("the patients with a referral
    assessed in P(R)"). Indicators name it in ``Indicator.counts``; two measures counting the same
    population (of the same or another report year) are the equal populations the disclosure
    audit uses.
    """

    population_id: str
    text: str


@dataclass(frozen=True)
class Counts:
    """What the n of an indicator's measure counts (the denominator of a proportion).

    ``population`` is a ``Population.population_id`` of the condition; ``year`` shifts it to the
    population of report year R + ``year`` (sct R2's denominator is the B3 population of R-2:
    ``Counts("transplants", year=-2)``); ``measure`` names one measure of the indicator (None:
    every measure it has); ``part="numerator"`` says what a proportion's numerator counts (the
    respondents of a response rate, whom a score's N may count too).
    """

    population: str
    year: int = 0
    measure: str | None = None
    part: str = "n"

    def __post_init__(self) -> None:
        if self.year > 0:
            raise ValueError(f"population {self.population!r}: a count never reads a later report year's population")
        if self.part not in ("n", "numerator"):
            raise ValueError(f"population {self.population!r}: part is 'n' or 'numerator', not {self.part!r}")


@dataclass(frozen=True)
class Specification:
    """One version of a condition's follow-up document and the indicators it defines.

    INDICATORS.md 1: a new major version is made whenever a measure is changed, added or
    removed; a report year is computed with the version in force for it, so an earlier
    year re-run after a new version gives the same results as before.
    """

    version: str
    date: str
    from_report_year: int
    indicators: tuple["Indicator", ...]

    def __post_init__(self) -> None:
        stamped = tuple(
            dataclasses.replace(indicator, spec_version=self.version, spec_date=self.date)
            for indicator in self.indicators
        )
        object.__setattr__(self, "indicators", stamped)
        ids = [indicator.indicator_id for indicator in stamped]
        if len(set(ids)) != len(ids):
            raise ValueError(f"specification {self.version}: an indicator id is declared twice")


@dataclass(frozen=True)
class Condition:
    """One NHV condition as the pipeline knows it (DATA_CONTRACT.md 4-5, INDICATORS.md 2-3)."""

    condition_id: str
    #: Swedish name, from the seed document's title.
    name: str
    #: INDICATORS.md 1, "Condition start": the first day the follow-up covers.
    start: date
    #: table name -> text-layer pandera model, in delivery order.
    tables: Mapping[str, type["pa.DataFrameModel"]]
    #: the document's versions, oldest first.
    specifications: tuple[Specification, ...]
    #: rules across tables of one delivery, or across deliveries.
    delivery_rules: tuple[DeliveryRule, ...] = ()
    #: the table every other table's `patient_id` refers to, with `birth_date` (DATA_CONTRACT.md 3-5).
    patients_table: str | None = "patients"
    #: breakdown id -> {value: Swedish label}, for breakdowns of this condition only.
    breakdown_labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    #: breakdown id -> Swedish name (a heading), for breakdowns of this condition only.
    breakdown_names: Mapping[str, str] = field(default_factory=dict)
    #: sample_data(rng_for, units, scale) -> {report_year: {unit_id: {table: frame}}}; see nhv_pipeline.core.sample_data.
    sample_data: Callable[..., Any] | None = None
    #: the sample registry rows of this condition (nhv_pipeline.core.sample_data.SampleUnit).
    sample_units: tuple[Any, ...] = ()
    #: the populations its indicators count (each indicator's ``counts`` names one of them).
    populations: tuple[Population, ...] = ()
    #: measure id -> kind (count, distribution, proportion), for measures of this condition only
    #: (the shared ones are in nhv_pipeline.indicators.model.MEASURE_KIND).
    measure_kinds: Mapping[str, str] = field(default_factory=dict)
    #: measure id -> Swedish name, for measures of this condition only.
    measure_names: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.specifications:
            raise ValueError(f"{self.condition_id}: at least one specification version is needed")
        years = [spec.from_report_year for spec in self.specifications]
        if years != sorted(years) or len(set(years)) != len(years):
            raise ValueError(f"{self.condition_id}: specification versions must apply from increasing report years")
        declared = {population.population_id for population in self.populations}
        for spec in self.specifications:
            for indicator in spec.indicators:
                for counts in indicator.counts:
                    if counts.population not in declared:
                        raise ValueError(
                            f"{self.condition_id}/{indicator.indicator_id}: counts the population "
                            f"{counts.population!r}, which the condition does not declare"
                        )
                    if counts.measure is not None and counts.measure not in indicator.measures:
                        raise ValueError(
                            f"{self.condition_id}/{indicator.indicator_id}: counts {counts.population!r} for "
                            f"the measure {counts.measure!r}, which it does not have"
                        )
        # Each indicator knows the condition declaring it (its start, its own measures and labels).
        stamped = tuple(
            dataclasses.replace(spec, indicators=tuple(dataclasses.replace(i, condition=self) for i in spec.indicators))
            for spec in self.specifications
        )
        object.__setattr__(self, "specifications", stamped)

    def counted_population(self, indicator: "Indicator", measure: str, part: str = "n") -> Counts | None:
        """The population the n (or numerator) of an indicator's measure counts, as declared (None: undeclared)."""
        for counts in indicator.counts:
            if counts.measure in (None, measure) and counts.part == part:
                return counts
        return None

    @property
    def equal_populations(self) -> tuple[EqualPopulation, ...]:
        """The equalities of n the disclosure audit uses, derived from the populations the indicators count.

        For each population, the first measure counting it (in catalogue order, over every version)
        is its reference; every other measure counting it is declared equal to the reference,
        the one counting the earlier report year's population first (``year_lag`` >= 0).
        Pairs between two non-reference measures follow from these two and are not repeated.
        """
        text = {population.population_id: population.text for population in self.populations}
        members: dict[str, list[tuple[str, str, int, str]]] = {}
        for indicator_id in self.indicator_ids:
            for indicator in self.versions_of(indicator_id):
                for measure in indicator.measures:
                    for part in ("n", "numerator"):
                        counts = self.counted_population(indicator, measure, part)
                        if counts is not None:
                            member = (indicator_id, measure, counts.year, part)
                            if member not in members.setdefault(counts.population, []):
                                members[counts.population].append(member)
        out: list[EqualPopulation] = []
        for population, counted in members.items():
            reference = counted[0]
            for other in counted[1:]:
                # `shifted` in R = the population of R + a = `base` in R - (b - a), a <= b.
                shifted, base = (other, reference) if other[2] <= reference[2] else (reference, other)
                lag = base[2] - shifted[2]
                why = f"both count {text[population]}" + (f", {base[0]} that of report year R-{lag}" if lag else "")
                out.append(EqualPopulation(self.condition_id, shifted[0], shifted[1], base[0], base[1], lag, why,
                                           part=shifted[3], other_part=base[3]))
        return tuple(out)

    @property
    def table_names(self) -> tuple[str, ...]:
        return tuple(self.tables)

    @property
    def first_report_year(self) -> int:
        """The first report year with a measurement period (INDICATORS.md 1): the March run after the start's year.

        The condition's deliveries, and so its raw and staged assets, begin here.
        """
        return self.start.year + 1

    def first_report_year_of(self, indicator_id: str) -> int:
        """The first report year an indicator is produced in: its own first year, under the first version defining it."""
        return min(
            max(spec.from_report_year, indicator.first_report_year)
            for spec in self.specifications
            for indicator in spec.indicators
            if indicator.indicator_id == indicator_id
        )

    def specification_for(self, report_year: int) -> Specification | None:
        """The version in force for report year R; None before the first one applies."""
        in_force = [spec for spec in self.specifications if spec.from_report_year <= report_year]
        return in_force[-1] if in_force else None

    def indicators_for(self, report_year: int) -> tuple["Indicator", ...]:
        spec = self.specification_for(report_year)
        return spec.indicators if spec else ()

    @property
    def indicator_ids(self) -> tuple[str, ...]:
        """Every indicator id any version defines, in first-declared order (one Dagster asset each)."""
        seen: dict[str, None] = {}
        for spec in self.specifications:
            for indicator in spec.indicators:
                seen.setdefault(indicator.indicator_id, None)
        return tuple(seen)

    def latest(self, indicator_id: str) -> "Indicator":
        """The newest declaration of an indicator (for names and descriptions)."""
        for spec in reversed(self.specifications):
            for indicator in spec.indicators:
                if indicator.indicator_id == indicator_id:
                    return indicator
        raise KeyError(f"no indicator {indicator_id!r} for condition {self.condition_id!r}")

    def versions_of(self, indicator_id: str) -> tuple["Indicator", ...]:
        return tuple(
            indicator for spec in self.specifications for indicator in spec.indicators if indicator.indicator_id == indicator_id
        )
