"""What the indicators of one step share (`compute(..., shared=...)`, `RuleContext.shared`): made once, and no
rule can change what another rule sees."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from indicator_fixtures import concat, sct as sct_table, skel, units
from nhv_pipeline.conditions import get_condition
from nhv_pipeline.indicators import compute
from nhv_pipeline.indicators.model import RuleContext


def _context(tables: dict[str, pd.DataFrame], memo: dict, start: str = "2025-09-01") -> RuleContext:
    return RuleContext(report_year=2026, period_start=pd.Timestamp(start), period_end=pd.Timestamp("2025-12-31"),
                       tables=tables, memo=memo)


def _counting_maker(calls: list):
    def make(ctx: RuleContext) -> pd.DataFrame:
        calls.append(ctx.period_start)
        return ctx.table("t")[["a"]]
    return make


def test_shared_is_made_once_and_each_caller_gets_its_own_copy():
    tables = {"t": pd.DataFrame({"a": [1, 2, 3]})}
    memo: dict = {}
    calls: list = []
    first = _context(tables, memo).shared("a", _counting_maker(calls))
    first.loc[first["a"] == 2, "a"] = 20  # a rule that changes what it got, in place
    first["b"] = 0
    first.drop(index=0, inplace=True)
    second = _context(tables, memo).shared("a", _counting_maker(calls))
    assert second["a"].tolist() == [1, 2, 3] and list(second.columns) == ["a"]
    assert len(calls) == 1
    assert tables["t"]["a"].tolist() == [1, 2, 3]


def test_shared_is_made_again_for_another_window_other_tables_or_another_name():
    tables = {"t": pd.DataFrame({"a": [1, 2, 3]})}
    memo: dict = {}
    calls: list = []
    _context(tables, memo).shared("a", _counting_maker(calls))
    _context(tables, memo, start="2025-01-01").shared("a", _counting_maker(calls))
    _context({"t": pd.DataFrame({"a": [4]})}, memo).shared("a", _counting_maker(calls))
    assert _context(tables, memo).shared("b", _counting_maker(calls))["a"].tolist() == [1, 2, 3]
    assert len(calls) == 4
    # Contexts made without a memo share nothing.
    _context(tables, {}).shared("a", _counting_maker(calls))
    assert len(calls) == 5


def _tables() -> dict[str, pd.DataFrame]:
    """Contacts and patients of s_a, s_b and s_c (s_c holds no permit in P(2026): its rows are cut)."""
    contacts, patients = [], []
    for unit_id in ("s_a", "s_b", "s_c"):
        contacts.append(skel("contacts", [
            {"contact_id": "c1", "patient_id": "k1", "contact_date": "2025-09-01", "contact_type": "new_visit",
             "visit_mode": "physical", "care_plan": True},
            {"contact_id": "c2", "patient_id": "k2", "contact_date": "2025-11-01", "contact_type": "mdk"},
            {"contact_id": "c3", "patient_id": "k3", "contact_date": "2025-12-01", "contact_type": "return_visit",
             "visit_mode": "digital"},
        ], report_year=2026, unit_id=unit_id))
        patients.append(skel("patients", [
            {"patient_id": "k1", "sex": "M", "home_region": "01", "diagnosis_at_referral": "specific"},
            {"patient_id": "k2", "sex": "K", "home_region": "99", "diagnosis_at_referral": "unclear",
             "specific_diagnosis_date": "2025-12-01"},
            {"patient_id": "k3", "sex": "K", "home_region": "14", "diagnosis_at_referral": "none"},
        ], report_year=2026, unit_id=unit_id))
    return {"contacts": concat(*contacts), "patients": concat(*patients)}


def test_the_indicators_of_a_step_sharing_give_what_each_gives_alone():
    skeletal = get_condition("skeletal_dysplasia")
    indicators = [skeletal.latest(indicator_id) for indicator_id in ("B1", "R1", "Ö1", "B3")]
    tables = _tables()
    shared: dict = {}
    together = [compute(indicator, 2026, tables, units(), shared=shared) for indicator in indicators]
    assert shared, "the step's indicators shared nothing"
    for indicator, result in zip(indicators, together):
        pd.testing.assert_frame_equal(result, compute(indicator, 2026, _tables(), units()), check_exact=True)
    assert set(together[0]["unit_id"]) == {"", "s_a", "s_b"}


def test_a_rule_that_changes_what_it_got_changes_nothing_the_next_rule_sees():
    b1 = get_condition("skeletal_dysplasia").latest("B1")

    def vandal(ctx: RuleContext) -> pd.DataFrame:
        population = b1.rule(ctx)
        population.loc[:, "home_region"] = "00"
        population.drop(index=population.index, inplace=True)
        for name in ctx.tables:
            table = ctx.table(name)
            table.loc[:, "patient_id"] = "x"
            table.drop(index=table.index, inplace=True)
        return b1.rule(ctx).iloc[0:0]

    first = dataclasses.replace(b1, rule=vandal)
    tables = _tables()
    shared: dict = {}
    assert compute(first, 2026, tables, units(), shared=shared)["n"].tolist() == [0, 0, 0]
    pd.testing.assert_frame_equal(compute(b1, 2026, tables, units(), shared=shared), compute(b1, 2026, _tables(), units()))


@pytest.mark.parametrize("indicator_id", ["B1", "T1", "Ö1"])
def test_sct_rules_sharing_their_referrals_give_what_they_give_alone(indicator_id):
    sct = get_condition("sct_ssc")
    referrals = concat(*(sct_table("referrals", [
        {"referral_id": "r1", "patient_id": "p1", "referral_date": "2024-02-01", "assessment_date": "2024-03-01",
         "decision_date": "2024-03-10", "sct_offered": True, "care_plan": True},
        {"referral_id": "r2", "patient_id": "p2", "referral_date": "2024-05-01", "assessment_date": "2024-06-01",
         "decision_date": "2024-06-20", "sct_offered": False, "care_plan": False},
    ], report_year=2025, unit_id=unit_id) for unit_id in ("u_a", "u_b")))
    patients = concat(*(sct_table("patients", [
        {"patient_id": "p1", "sex": "M", "home_region": "01"}, {"patient_id": "p2", "sex": "K", "home_region": "03"},
    ], report_year=2025, unit_id=unit_id) for unit_id in ("u_a", "u_b")))
    tables = {"referrals": referrals, "patients": patients}
    shared: dict = {}
    indicators = {i: sct.latest(i) for i in ("B1", "T1", "Ö1")}
    for other in indicators.values():  # the others first: what they made is what this one is given
        compute(other, 2025, {spec.table: tables[spec.table] for spec in other.inputs}, units(), shared=shared)
    indicator = indicators[indicator_id]
    needed = {spec.table: tables[spec.table] for spec in indicator.inputs}
    alone = compute(indicator, 2025, {name: frame.copy() for name, frame in needed.items()}, units())
    assert len(alone) > 1
    pd.testing.assert_frame_equal(compute(indicator, 2025, needed, units(), shared=shared), alone, check_exact=True)
