"""Key lookups across tables on int64 codes (`key_match`) answer as MultiIndex.isin and a left merge do.

The cross-table rules (patient_id in patients.csv, a contact's referral, the birth date
of an event's patient) look keys up with these helpers; they must agree with the pandas
operations they replace, missing ids included (DATA_CONTRACT.md 3, 5.3).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from nhv_pipeline.contract.values import key_match

UNITS = st.sampled_from(["u1", "u2", "u3"])
IDS = st.one_of(st.none(), st.sampled_from(["P1", "P2", "P3", "p1", "", "<redacted>"]))


def _frame(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["unit_id", "patient_id"], dtype=object)


def _isin(left: pd.DataFrame, right: pd.DataFrame) -> list:
    return list(pd.MultiIndex.from_arrays([left["unit_id"], left["patient_id"]]).isin(
        pd.MultiIndex.from_arrays([right["unit_id"], right["patient_id"]])
    ))


@settings(max_examples=200, deadline=None)
@given(left=st.lists(st.tuples(UNITS, IDS), max_size=12), right=st.lists(st.tuples(UNITS, IDS), max_size=12))
def test_key_match_finds_a_key_as_multiindex_isin_does(left, right):
    left, right = _frame(left), _frame(right)
    every_row = np.ones(len(right), dtype=bool)
    known, _ = key_match(left, right, ["unit_id", "patient_id"], np.arange(len(right)), every_row)
    assert known.tolist() == _isin(left, right)


@settings(max_examples=200, deadline=None)
@given(
    left=st.lists(st.tuples(UNITS, IDS), max_size=12),
    right=st.lists(st.tuples(UNITS, st.sampled_from(["P1", "P2", "P3"]), st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31))), max_size=12),
)
def test_key_match_of_every_row_is_a_left_merge_on_the_first_match(left, right):
    left = _frame(left)
    births = pd.DataFrame(right, columns=["unit_id", "patient_id", "birth"])
    births["birth"] = pd.to_datetime(births["birth"]).astype("datetime64[ns]")
    births = births.drop_duplicates(["unit_id", "patient_id"])
    expected = left.merge(births, on=["unit_id", "patient_id"], how="left")["birth"].to_numpy()
    _, got = key_match(left, births, ["unit_id", "patient_id"], births["birth"].to_numpy(), np.ones(len(births), dtype=bool))
    assert got.dtype == np.dtype("datetime64[ns]")
    assert pd.Series(got).equals(pd.Series(expected))


@settings(max_examples=200, deadline=None)
@given(
    left=st.lists(st.tuples(UNITS, IDS), max_size=12),
    right=st.lists(st.tuples(UNITS, IDS, st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31))), max_size=12),
)
def test_key_match_is_isin_and_a_left_merge_on_the_first_usable_match(left, right):
    """As patient_rule_failures uses it: is the key there at all, and the birth of its first row with a usable id."""
    left = _frame(left)
    patients = pd.DataFrame(right, columns=["unit_id", "patient_id", "birth"])
    patients["birth"] = pd.to_datetime(patients["birth"]).astype("datetime64[ns]")
    usable = (patients["patient_id"].notna() & patients["patient_id"].ne("<redacted>")).to_numpy()
    births = patients[usable].drop_duplicates(["unit_id", "patient_id"])

    known, born = key_match(left, patients, ["unit_id", "patient_id"], patients["birth"].to_numpy(), usable)

    assert known.tolist() == _isin(left, patients)
    expected = left.merge(births, on=["unit_id", "patient_id"], how="left")["birth"].to_numpy()
    assert born.dtype == np.dtype("datetime64[ns]")
    assert pd.Series(born).equals(pd.Series(expected))
