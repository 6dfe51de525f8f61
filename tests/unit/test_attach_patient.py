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
