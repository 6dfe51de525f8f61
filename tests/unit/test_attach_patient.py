"""attach_patient: each row gets the attributes of its own patient, exactly once, or the rule stops."""

from __future__ import annotations

import pandas as pd
import pytest
from pandas.errors import MergeError

from nhv_pipeline.indicators.model import attach_patient

PATIENTS = pd.DataFrame({
    "report_year": [2026, 2026, 2026, 2025],
    "unit_id": ["a", "a", "b", "a"],
    "patient_id": ["p1", "p2", "p1", "p1"],
    "sex": ["K", "M", "M", "X"],
})


def test_the_key_is_delivery_unit_and_patient():
    rows = pd.DataFrame({"report_year": [2026, 2026, 2026, 2025], "unit_id": ["b", "a", "a", "a"],
                         "patient_id": ["p1", "p1", "p1", "p1"], "contact_id": ["c1", "c2", "c3", "c4"]})
    joined = attach_patient(rows, PATIENTS, ["sex"])
    assert joined["contact_id"].tolist() == ["c1", "c2", "c3", "c4"]  # the rows' own order, none added
    assert joined["sex"].tolist() == ["M", "K", "K", "X"]


def test_a_row_without_its_patient_stops_the_rule():
    rows = pd.DataFrame({"report_year": [2026], "unit_id": ["b"], "patient_id": ["p2"]})
    with pytest.raises(ValueError, match="1 row\\(s\\) have no patients.csv row"):
        attach_patient(rows, PATIENTS, ["sex"])


@pytest.mark.parametrize("referenced", [True, False])
def test_a_patient_listed_twice_stops_the_rule_whether_or_not_a_row_is_theirs(referenced):
    twice = pd.concat([PATIENTS, PATIENTS.iloc[[1]].assign(sex="K")], ignore_index=True)
    rows = pd.DataFrame({"report_year": [2026], "unit_id": ["a"], "patient_id": ["p2" if referenced else "p1"]})
    with pytest.raises(MergeError, match="not unique in right dataset"):
        attach_patient(rows, twice, ["sex"])


def _by_merge(rows: pd.DataFrame, patients: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """The join as pandas' merge makes it: what attach_patient gives, however it finds the rows."""
    keys = ["report_year", "unit_id", "patient_id"]
    return rows.merge(patients[keys + columns], on=keys, how="left", validate="many_to_one")


@pytest.mark.parametrize("case", ["plain", "other key type", "missing key", "overlapping column", "no rows"])
def test_the_join_is_the_merge_whatever_path_it_takes(case):
    patients = PATIENTS.assign(
        birth_date=pd.to_datetime(["2001-01-01", "2002-02-02", "2003-03-03", "2004-04-04"]),
        flag=pd.array([True, None, False, True], dtype="boolean"),
        weight=[1, 2, 3, 4],
    )
    rows = pd.DataFrame({"report_year": [2025, 2026, 2026, 2026, 2026], "unit_id": ["a", "a", "b", "a", "a"],
                         "patient_id": ["p1", "p2", "p1", "p1", "p2"], "x": [1.5, 2.5, 3.5, 4.5, 5.5]},
                        index=[10, 4, 7, 2, 3])
    columns = ["sex", "birth_date", "flag", "weight"]
    if case == "other key type":
        rows["report_year"] = rows["report_year"].astype("int32")
    elif case == "missing key":
        patients.loc[3, "patient_id"] = None
        rows.loc[10, "patient_id"] = None
    elif case == "overlapping column":
        rows["sex"] = "?"
    elif case == "no rows":
        rows = rows.iloc[0:0]
    joined = attach_patient(rows, patients, columns)
    pd.testing.assert_frame_equal(joined, _by_merge(rows, patients, columns), check_exact=True)
    assert joined["x"].tolist() == rows["x"].tolist()
