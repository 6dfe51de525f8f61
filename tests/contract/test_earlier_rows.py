"""The valid rows of an earlier delivery, read for several units at once (DATA_CONTRACT.md 1, 4.3).

`history.earlier_rows` checks every unit's file of D(year) together: a row that breaks a rule
of its own file is not found, and only that row, though another unit's file has a row on the
same line or with the same id; an id repeated within one unit's file is found in neither row.
"""

from __future__ import annotations

import pandas as pd

from nhv_pipeline.conditions import registered
from nhv_pipeline.contract.history import earlier_rows

HEADER = "transplant_id,patient_id,decision_date,mobilization_date,reinfusion_date,discharge_date"


def _row(transplant: str, patient: str, reinfusion: str = "2024-03-01") -> str:
    return f"{transplant},{patient},2024-01-20,2024-02-01,{reinfusion},2024-03-20"


def test_each_units_rows_are_judged_by_their_own_file(tmp_path):
    condition = next(c for c in registered() if c.condition_id == "sct_ssc")
    files = {
        "aaa": [_row("T1", "P1"), _row("T2", "P2", reinfusion="2024-13-01"), _row("T6", "P6")],
        "bbb": [_row("T5", "P5"), _row("T2", "P2"), _row("T6", "P7"), _row("T6", "P8")],
    }
    for unit, rows in files.items():
        folder = tmp_path / "2025" / "sct_ssc" / unit
        folder.mkdir(parents=True)
        (folder / "transplants.csv").write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")

    found = earlier_rows(tmp_path, condition, "transplants", 2025, {"bbb", "aaa", "ccc"}, key="transplant_id",
                         parsed={"reinfusion": "reinfusion_date"})

    assert list(zip(found["unit_id"], found["transplant_id"], strict=True)) == [
        ("aaa", "T1"), ("aaa", "T6"), ("bbb", "T5"), ("bbb", "T2"),
    ]
    assert found["delivery_year"].tolist() == [2025] * 4
    assert found["reinfusion"].tolist() == [pd.Timestamp("2024-03-01")] * 4
    assert found.index.tolist() == [0, 1, 2, 3]


def test_no_file_and_no_valid_row_give_the_same_empty_frame(tmp_path):
    condition = next(c for c in registered() if c.condition_id == "sct_ssc")
    nothing = earlier_rows(tmp_path, condition, "transplants", 2025, {"aaa"}, key="transplant_id",
                           parsed={"reinfusion": "reinfusion_date"})
    folder = tmp_path / "2025" / "sct_ssc" / "aaa"
    folder.mkdir(parents=True)
    (folder / "transplants.csv").write_text(HEADER + "\n" + _row("T1", "P1", reinfusion="2024-02-30") + "\n", encoding="utf-8")
    broken = earlier_rows(tmp_path, condition, "transplants", 2025, {"aaa"}, key="transplant_id",
                          parsed={"reinfusion": "reinfusion_date"})
    assert nothing.empty and broken.empty
    assert list(nothing.columns) == list(broken.columns) and nothing.dtypes.equals(broken.dtypes)
