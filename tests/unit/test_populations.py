"""Populations declared once (INDICATORS.md 2-3, PUBLICATION.md 3): the audit's equalities derived from them."""

from __future__ import annotations

import dataclasses

import pytest

from nhv_pipeline.core.condition import Condition, Counts, EqualPopulation, Population, Specification
from nhv_pipeline.conditions import get_condition, registered
from nhv_pipeline.publication.audit import equal_populations_of


def _shape(equalities):
    return [(e.condition_id, e.indicator_id, e.measure, e.other_indicator_id, e.other_measure, e.year_lag) for e in equalities]


def test_the_shipped_conditions_derive_the_equalities_listed_by_hand_before():
    """The list the catalogues held by hand until the populations were declared (same order)."""
    assert _shape(get_condition("sct_ssc").equal_populations) == [
        ("sct_ssc", "Ö1", "proportion", "B1", "count", 0),
        ("sct_ssc", "T2", "distribution", "B3", "count", 0),
        ("sct_ssc", "R2", "proportion", "B3", "count", 2),
    ]
    assert _shape(get_condition("skeletal_dysplasia").equal_populations) == [
        ("skeletal_dysplasia", "B3", "distribution", "B1", "count", 0),
    ]
    assert all(isinstance(e, EqualPopulation) and e.why for e in equal_populations_of(registered()))


def _indicator(indicator_id, measures, counts):
    sct = get_condition("sct_ssc").latest("B1")
    return dataclasses.replace(sct, condition_id="pop_test", indicator_id=indicator_id, measures=measures,
                               measure_breakdowns=(), counts=counts)


def _condition(*indicators, populations=(Population("p", "people"), Population("q", "others"))):
    return Condition(condition_id="pop_test", name="Test", start=get_condition("sct_ssc").start, tables={},
                     specifications=(Specification("1.0", "2024-01-01", 2024, indicators),), populations=populations)


def test_a_later_year_population_gives_a_lag_and_three_members_give_two_equalities():
    condition = _condition(
        _indicator("A", ("count",), (Counts("p"),)),
        _indicator("B", ("proportion",), (Counts("p", year=-3),)),
        _indicator("C", ("distribution",), (Counts("p"),)),
        _indicator("D", ("count",), (Counts("q"),)),
    )
    assert _shape(condition.equal_populations) == [
        ("pop_test", "B", "proportion", "A", "count", 3),
        ("pop_test", "C", "distribution", "A", "count", 0),
    ]


def test_counts_per_measure_and_undeclared_populations():
    condition = _condition(_indicator("P", ("positive_share", "response_rate"), (
        Counts("q", measure="positive_share"), Counts("p", measure="response_rate"))), _indicator("A", ("count",), (Counts("p"),)))
    assert _shape(condition.equal_populations) == [("pop_test", "A", "count", "P", "response_rate", 0)]
    with pytest.raises(ValueError, match="does not declare"):
        _condition(_indicator("A", ("count",), (Counts("nobody"),)))
    with pytest.raises(ValueError, match="does not have"):
        _condition(_indicator("A", ("count",), (Counts("p", measure="proportion"),)))
    with pytest.raises(ValueError, match="later report year"):
        Counts("p", year=1)


def test_a_score_n_equal_to_a_response_rate_numerator_is_known_to_the_audit():
    """PUBLICATION.md 3's example: a mean over N = 3 respondents, withheld, reads back from the published
    response rate's numerator (3 of 7) unless the audit knows the two count one population."""
    from nhv_pipeline.publication import protect
    from result_fixtures import frame, row

    condition = _condition(
        _indicator("S", ("distribution",), (Counts("p"),)),
        _indicator("P", ("response_rate",), (Counts("q"), Counts("p", part="numerator"))),
    )
    assert [(e.indicator_id, e.part, e.other_indicator_id, e.other_part) for e in condition.equal_populations] == [
        ("P", "numerator", "S", "n"),
    ]
    score = row(n=3, indicator="S", measure="distribution", mean=4.0)
    rate = row(n=7, indicator="P", measure="response_rate", numerator=3, denominator=7, value=42.9)
    df = frame([score, rate]).assign(condition_id="pop_test")
    unknown, report = protect(df, equal_populations=(), conditions=registered())
    assert report.passed and not unknown.loc[unknown["indicator_id"] == "P", "suppressed"].any()
    known, report = protect(df, equal_populations=condition.equal_populations, conditions=registered())
    assert report.passed and known["suppressed"].all(), "the rate that gives the score's N back is withheld too"
    with pytest.raises(ValueError, match="part"):
        Counts("p", part="denominator")
