"""Small typed staged tables for the indicator tests, built by hand.

Each builder takes a few rows as dicts (only the columns a test cares about;
required columns get a neutral default) and returns a frame typed as the
staged layer delivers it: dates datetime64[ns], booleans nullable `boolean`,
codes and ids object, plus report_year, unit_id, source_file, source_line.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from nhv_pipeline.indicators import RESULT_COLUMNS

# table -> (column, kind, default); kind is "text", "date" or "bool".
_SCHEMAS: dict[tuple[str, str], list[tuple[str, str, Any]]] = {
    ("sct_ssc", "patients"): [
        ("patient_id", "text", None),
        ("sex", "text", "K"),
        ("birth_date", "date", "1970-01-01"),
        ("home_region", "text", "01"),
    ],
    ("sct_ssc", "referrals"): [
        ("referral_id", "text", None),
        ("patient_id", "text", None),
        ("referral_date", "date", "2023-01-01"),
        ("assessment_date", "date", None),
        ("decision_date", "date", None),
        ("sct_offered", "bool", None),
        ("care_plan", "bool", None),
    ],
    ("sct_ssc", "transplants"): [
        ("transplant_id", "text", None),
        ("patient_id", "text", None),
        ("decision_date", "date", "2022-10-01"),
        ("mobilization_date", "date", "2022-11-01"),
        ("reinfusion_date", "date", None),
        ("discharge_date", "date", None),
    ],
    ("sct_ssc", "survey"): [
        ("patient_id", "text", None),
        ("sent_date", "date", None),
        ("response_date", "date", None),
    ],
    ("sct_ssc", "followup"): [
        ("transplant_id", "text", None),
        ("patient_id", "text", "p"),
        ("last_followup_date", "date", "2026-12-31"),
        ("death_date", "date", None),
        ("death_transplant_related", "bool", None),
        ("heart_failure_date", "date", None),
        ("lung_failure_date", "date", None),
        ("kidney_failure_date", "date", None),
    ],
    ("skeletal_dysplasia", "patients"): [
        ("patient_id", "text", None),
        ("sex", "text", "K"),
        ("birth_date", "date", "2000-01-01"),
        ("home_region", "text", "01"),
        ("diagnosis_at_referral", "text", "specific"),
        ("specific_diagnosis_date", "date", None),
    ],
    ("skeletal_dysplasia", "referrals"): [
        ("referral_id", "text", None),
        ("patient_id", "text", None),
        ("referral_date", "date", None),
        ("approved", "bool", True),
    ],
    ("skeletal_dysplasia", "contacts"): [
        ("contact_id", "text", None),
        ("patient_id", "text", None),
        ("contact_date", "date", None),
        ("contact_type", "text", "new_visit"),
        ("visit_mode", "text", None),
        ("referral_id", "text", None),
        ("care_plan", "bool", False),
    ],
    ("skeletal_dysplasia", "survey"): [
        ("patient_id", "text", None),
        ("respondent", "text", "patient"),
        ("sent_date", "date", None),
        ("response_date", "date", None),
        ("answer", "text", None),
    ],
}


def staged(
    condition_id: str,
    table: str,
    rows: list[dict[str, Any]],
    *,
    report_year: int,
    unit_id: str = "u_a",
) -> pd.DataFrame:
    """A staged table; a row may override `unit_id` and `report_year`."""
    schema = _SCHEMAS[(condition_id, table)]
    records = []
    for line, row in enumerate(rows, start=2):
        unknown = set(row) - {name for name, _, _ in schema} - {"unit_id", "report_year"}
        assert not unknown, f"fixture row has unknown columns {unknown}"
        record = {name: row.get(name, default) for name, _, default in schema}
        record["report_year"] = row.get("report_year", report_year)
        record["unit_id"] = row.get("unit_id", unit_id)
        record["source_file"] = f"{record['report_year']}/{condition_id}/{record['unit_id']}/{table}.csv"
        record["source_line"] = line
        records.append(record)
    columns = [name for name, _, _ in schema] + ["report_year", "unit_id", "source_file", "source_line"]
    frame = pd.DataFrame.from_records(records, columns=columns)
    for name, kind, _ in schema:
        if kind == "date":
            frame[name] = pd.to_datetime(frame[name]).astype("datetime64[ns]")
        elif kind == "bool":
            frame[name] = pd.array(frame[name].tolist(), dtype="boolean")
        else:
            frame[name] = frame[name].astype("object")
    frame["report_year"] = frame["report_year"].astype("int64")
    frame["unit_id"] = frame["unit_id"].astype("object")
    frame["source_line"] = frame["source_line"].astype("int64")
    return frame


def sct(table: str, rows: list[dict[str, Any]], *, report_year: int, unit_id: str = "u_a") -> pd.DataFrame:
    return staged("sct_ssc", table, rows, report_year=report_year, unit_id=unit_id)


def skel(table: str, rows: list[dict[str, Any]], *, report_year: int, unit_id: str = "s_a") -> pd.DataFrame:
    return staged("skeletal_dysplasia", table, rows, report_year=report_year, unit_id=unit_id)


def concat(*frames: pd.DataFrame) -> pd.DataFrame:
    return pd.concat(frames, ignore_index=True)


def units() -> pd.DataFrame:
    """The registry used by all indicator tests.

    sct_ssc: u_a and u_b hold permits from the start; u_c only from
    2024-01-01 (no permit in cohort year 2023); u_x from the start until
    2023-06-30 (no permit in 2024). skeletal_dysplasia: s_a and s_b from
    2025-09-01; s_c from 2026-01-01.
    """
    rows = [
        ("sct_ssc", "u_a", "Akademiska sjukhuset", "2023-01-01", None),
        ("sct_ssc", "u_b", "Karolinska universitetssjukhuset", "2023-01-01", None),
        ("sct_ssc", "u_c", "Skånes universitetssjukhus", "2024-01-01", None),
        ("sct_ssc", "u_x", "Avslutad enhet", "2023-01-01", "2023-06-30"),
        ("skeletal_dysplasia", "s_a", "Karolinska universitetssjukhuset", "2025-09-01", None),
        ("skeletal_dysplasia", "s_b", "Sahlgrenska universitetssjukhuset", "2025-09-01", None),
        ("skeletal_dysplasia", "s_c", "Nya skelettenheten", "2026-01-01", None),
    ]
    frame = pd.DataFrame(rows, columns=["condition_id", "unit_id", "unit_name", "permit_start", "permit_end"])
    frame["permit_start"] = pd.to_datetime(frame["permit_start"]).astype("datetime64[ns]")
    frame["permit_end"] = pd.to_datetime(frame["permit_end"]).astype("datetime64[ns]")
    return frame


def keyed(result: pd.DataFrame) -> dict[tuple[str, str, str, str, str], dict[str, Any]]:
    """Result rows keyed by (measure, level, unit_id, breakdown, breakdown_value),
    so tests compare rows without depending on their order."""
    assert list(result.columns) == RESULT_COLUMNS
    table: dict[tuple[str, str, str, str, str], dict[str, Any]] = {}
    for record in result.to_dict("records"):
        key = (record["measure"], record["level"], record["unit_id"], record["breakdown"], record["breakdown_value"])
        assert key not in table, f"duplicate result row {key}"
        table[key] = record
    return table


def row(
    result: pd.DataFrame,
    unit_id: str = "",
    breakdown: str = "total",
    value: str = "total",
    measure: str | None = None,
) -> dict[str, Any]:
    """The one result row of a unit ("" = riket) and breakdown value."""
    rows = keyed(result)
    matches = [
        record
        for (m, _level, unit, b, v), record in rows.items()
        if unit == unit_id and b == breakdown and v == value and (measure is None or m == measure)
    ]
    assert len(matches) == 1, f"expected one row for {(measure, unit_id, breakdown, value)}, found {len(matches)}"
    return matches[0]


def unit_rows(result: pd.DataFrame, breakdown: str = "total") -> set[str]:
    """Units with an `enhet` row for a breakdown."""
    selected = result[(result["level"] == "enhet") & (result["breakdown"] == breakdown)]
    return set(selected["unit_id"])
