"""Which conditions' parts may be replaced (nhv_pipeline.orchestration.verdicts, PUBLICATION.md top): the stages'
verdicts in the warehouse, read per condition, so one condition's failure is its own."""

from __future__ import annotations

import time

from nhv_pipeline.orchestration.resources import Warehouse
from nhv_pipeline.orchestration.verdicts import (
    CONTRACT, INVARIANTS, indicator_stage, record_verdict, record_verdicts, verdicts_of, why_not_replaced,
)

YEAR = 2026


def _record(warehouse: Warehouse, condition_id: str, stage: str, passed: bool = True, reason: str = "") -> None:
    record_verdict(warehouse, YEAR, condition_id, stage, passed, reason)
    time.sleep(0.002)  # stages of one run follow one another: their times differ


def _passing(warehouse: Warehouse, condition_id: str, indicators=("B1", "B2")) -> None:
    _record(warehouse, condition_id, CONTRACT)
    for indicator_id in indicators:
        _record(warehouse, condition_id, indicator_stage(indicator_id))
    _record(warehouse, condition_id, INVARIANTS)


def test_a_condition_that_passed_every_stage_may_be_replaced_whatever_another_did(tmp_path):
    warehouse = Warehouse(warehouse_dir=str(tmp_path))
    _passing(warehouse, "area_a")
    _record(warehouse, "area_b", CONTRACT, False, "its delivery failed the contract (delivery_contract): 2 failures")
    verdicts = verdicts_of(warehouse, YEAR)
    assert why_not_replaced(verdicts, "area_a", ["B1", "B2"]) is None
    assert why_not_replaced(verdicts, "area_b", ["B1"]).startswith("its delivery failed the contract")
    assert verdicts_of(warehouse, YEAR - 1).empty


def test_an_indicator_not_computed_failed_or_older_than_the_delivery_holds_its_condition_back(tmp_path):
    warehouse = Warehouse(warehouse_dir=str(tmp_path))
    _passing(warehouse, "area_a")
    assert why_not_replaced(verdicts_of(warehouse, YEAR), "area_a", ["B1", "B2", "R1"]) == "indicators not computed: R1"

    _record(warehouse, "area_a", indicator_stage("B2"), False, "the computation failed (ZeroDivisionError; see the run's log)")
    assert why_not_replaced(verdicts_of(warehouse, YEAR), "area_a", ["B1", "B2"]).startswith("indicator B2: the computation failed")

    _passing(warehouse, "area_a")
    _record(warehouse, "area_a", CONTRACT)  # a new delivery checked after the indicators were computed
    assert why_not_replaced(verdicts_of(warehouse, YEAR), "area_a", ["B1", "B2"]) == (
        "indicators not computed from the checked delivery: B1, B2"
    )


def test_broken_invariants_hold_their_condition_back_and_no_indicator_in_the_year_holds_nothing(tmp_path):
    warehouse = Warehouse(warehouse_dir=str(tmp_path))
    _passing(warehouse, "area_a")
    _record(warehouse, "area_a", INVARIANTS, False, "the result invariants failed: riket_is_sum_of_units (2 rows)")
    assert why_not_replaced(verdicts_of(warehouse, YEAR), "area_a", ["B1", "B2"]).startswith("the result invariants")
    # A condition whose indicators all begin in a later year has nothing to publish and nothing to hold back.
    _record(warehouse, "area_c", CONTRACT)
    assert why_not_replaced(verdicts_of(warehouse, YEAR), "area_c", []) is None


def test_several_verdicts_replace_only_their_stages_and_a_stage_named_twice_keeps_its_later_verdict(tmp_path):
    warehouse = Warehouse(warehouse_dir=str(tmp_path))
    record_verdicts(warehouse, YEAR - 1, [("a", CONTRACT, False, "earlier year")])
    record_verdicts(warehouse, YEAR, [("a", CONTRACT, True, ""), ("b", CONTRACT, False, "first")])
    record_verdicts(warehouse, YEAR, [
        ("b", CONTRACT, False, "second"), ("b", INVARIANTS, True, ""), ("b", CONTRACT, True, None),
    ])
    rows = verdicts_of(warehouse, YEAR)
    assert [(r.condition_id, r.stage, bool(r.passed), r.reason) for r in rows.itertuples()] == [
        ("a", CONTRACT, True, ""), ("b", CONTRACT, True, None), ("b", INVARIANTS, True, ""),
    ]
    assert verdicts_of(warehouse, YEAR - 1)["reason"].tolist() == ["earlier year"]
