"""Populations declared once (INDICATORS.md 2-3, PUBLICATION.md 3): the audit's equalities derived from them."""

from __future__ import annotations

import dataclasses

import pytest

from nhv_pipeline.condition import Condition, Counts, EqualPopulation, Population, Specification, get_condition
from nhv_pipeline.publication.audit import registered_equal_populations


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
    assert all(isinstance(e, EqualPopulation) and e.why for e in registered_equal_populations())


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
