"""Value rules of the contract, as failure rows: the pandera models plus the rules they cannot hold.

Per-cell rules (required, date, boolean, code) run through the pandera models with
`lazy=True`; rules across rows and tables are pandas expressions over the raw text
frames of all units at once (keyed by `unit_id`, since ids are local to a unit).
Failure rows are built from pandera's failure cases using only index, column and
check name: the failing values are never read (DATA_CONTRACT.md 3).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pandas as pd
import pandera.pandas as pa

from . import rules
from .reader import REDACTED
from .schema import (
    ANSWER_SCALES,
    CHECK_RULES,
    VISIT_CONTACT_TYPES,
    model_columns,
    model_kinds,
    model_schema,
    with_dates,
    table_model,
)

# --- per-cell rules through pandera -------------------------------------------------------


def _cell_message(rule: str, column: str, model: type[pa.DataFrameModel]) -> str:
    if rule == rules.REQUIRED:
        return f"{column} is required; fill it in on this row."
    if rule == rules.DATE_FORMAT:
        return f"{column} must be a real calendar date written YYYY-MM-DD; correct the date."
    if rule == rules.BOOL_FORMAT:
        return f"{column} must be 1 (yes) or 0 (no); correct the cell."
    if rule == rules.ID_FORMAT:
        return (f"{column} must be plain one-line text that does not start with =, +, - or @ (a spreadsheet would run it "
                "as a formula); deliver the unit's pseudonymous id as text.")
    if rule == rules.CODE and column == "answer":
        scales = "; ".join(f"{respondent}: {', '.join(scale)}" for respondent, scale in ANSWER_SCALES.items())
        return f"answer must be a value of the respondent's own scale ({scales}); correct the answer or the respondent."
    if rule == rules.CODE:
        allowed = model_schema(model).columns[column].checks[0].statistics["allowed"]
        return f"{column} must be one of {', '.join(allowed)} (exactly as written); correct the code."
    return f"{column} breaks the contract's rule for this column; correct the cell."


def model_failures(model: type[pa.DataFrameModel], frame: pd.DataFrame) -> pd.DataFrame:
    """Run a text-layer model lazily over a raw frame and map its failure cases to file and line."""
    if frame.empty:
        return rules.concat([])
    try:
        model.validate(frame[model_columns(model)], lazy=True)
        return rules.concat([])
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases[["column", "check", "index"]]  # never "failure_case": it holds values
    check = cases["check"].astype(str).str.split("(", n=1).str[0]
    mapped = check.map(lambda name: CHECK_RULES.get(name, (rules.CODE, None)))
    rule = mapped.str[0]
    column = mapped.str[1].where(mapped.str[1].notna(), cases["column"]).fillna("").astype(str)
    rows = frame.loc[cases["index"].to_numpy()]
    out = pd.DataFrame(
        {
            "unit_id": rows["unit_id"].to_numpy(),
            "file": rows["source_file"].to_numpy(),
            "line": rows["source_line"].to_numpy(),
            "column": column.to_numpy(),
            "rule": rule.to_numpy(),
        }
    )
    messages = {pair: _cell_message(*pair, model) for pair in set(zip(out["rule"], out["column"], strict=True))}
    out["message"] = pd.Series(list(zip(out["rule"], out["column"], strict=True)), dtype=object).map(messages)
    return out


# --- rules within one file ------------------------------------------------------------------

# (condition, table) -> columns unique per unit's file (sections 4, 5). contacts.referral_id:
# "a referral is answered by at most one contact" (5.3).
UNIQUE_COLUMNS = {
    ("sct_ssc", "patients"): ["patient_id"],
    ("sct_ssc", "referrals"): ["referral_id"],
    ("sct_ssc", "transplants"): ["transplant_id"],
    ("sct_ssc", "followup"): ["transplant_id"],
    ("skeletal_dysplasia", "patients"): ["patient_id"],
    ("skeletal_dysplasia", "referrals"): ["referral_id"],
    ("skeletal_dysplasia", "contacts"): ["contact_id", "referral_id"],
}


def _present(frame: pd.DataFrame, column: str) -> pd.Series:
    return frame[column].notna()


def _is(column: str, values) -> Callable[[pd.DataFrame], pd.Series]:
    return lambda frame: frame[column].isin(list(values))


# (condition, table) -> [(column, must be filled when, must be empty when, the condition in words, companion column)]
# DATA_CONTRACT.md 4.2, 4.5, 5.1, 5.3, 5.4 ("iff"). A companion cell that is itself invalid
# (an unknown contact type) makes neither demand: its own failure says what to fix.
REQUIRED_IF = {
    ("sct_ssc", "referrals"): [
        ("sct_offered", lambda f: _present(f, "decision_date"), lambda f: ~_present(f, "decision_date"), "decision_date is filled", "decision_date"),
        ("care_plan", lambda f: _present(f, "assessment_date"), lambda f: ~_present(f, "assessment_date"), "assessment_date is filled", "assessment_date"),
    ],
    ("sct_ssc", "followup"): [
        ("death_transplant_related", lambda f: _present(f, "death_date"), lambda f: ~_present(f, "death_date"), "death_date is filled", "death_date"),
    ],
    ("skeletal_dysplasia", "patients"): [
        ("specific_diagnosis_date", None, _is("diagnosis_at_referral", ["specific"]), "diagnosis_at_referral is unclear or none",
         "diagnosis_at_referral"),
    ],
    ("skeletal_dysplasia", "contacts"): [
        ("visit_mode", _is("contact_type", VISIT_CONTACT_TYPES), _is("contact_type", ["mdk", "treatment_conference"]),
         "contact_type is new_visit or return_visit", "contact_type"),
    ],
    ("skeletal_dysplasia", "survey"): [
        ("answer", lambda f: _present(f, "response_date"), lambda f: ~_present(f, "response_date"), "response_date is filled", "response_date"),
    ],
}

# (condition, table) -> [(reported column, earlier column, later column)]: later >= earlier.
DATE_ORDER = {
    ("sct_ssc", "referrals"): [
        ("assessment_date", "referral_date", "assessment_date"),
        ("decision_date", "referral_date", "decision_date"),
    ],
    ("sct_ssc", "transplants"): [
        ("mobilization_date", "decision_date", "mobilization_date"),
        ("reinfusion_date", "mobilization_date", "reinfusion_date"),
        ("discharge_date", "reinfusion_date", "discharge_date"),
    ],
    ("sct_ssc", "survey"): [("response_date", "sent_date", "response_date")],
    ("sct_ssc", "followup"): [
        ("death_date", "death_date", "last_followup_date"),
        ("heart_failure_date", "heart_failure_date", "last_followup_date"),
        ("lung_failure_date", "lung_failure_date", "last_followup_date"),
        ("kidney_failure_date", "kidney_failure_date", "last_followup_date"),
    ],
    ("skeletal_dysplasia", "patients"): [("specific_diagnosis_date", "birth_date", "specific_diagnosis_date")],
    ("skeletal_dysplasia", "survey"): [("response_date", "sent_date", "response_date")],
    ("registry", "units"): [("permit_end", "permit_start", "permit_end")],
}


def date_columns(model: type[pa.DataFrameModel]) -> list[str]:
    return [name for name, kind in model_kinds(model).items() if kind == "date"]


def _usable(values: pd.Series) -> pd.Series:
    """Ids that take part in cross-row rules: present and not redacted (its own failure stands)."""
    return values.notna() & values.ne(REDACTED)


def table_rule_failures(
    condition_id: str,
    table: str,
    model: type[pa.DataFrameModel],
    frame: pd.DataFrame,
    report_year: int | None,
    dated: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Rules within one table's rows (of all units): uniqueness, required-if, date order, report year.

    `dated` is the frame with its date columns parsed (see `with_dates`), computed when not given.
    """
    key = (condition_id, table)
    parts = []
    for column in UNIQUE_COLUMNS.get(key, []):
        repeated = frame.duplicated(["unit_id", column], keep="first") & _usable(frame[column])
        message = (
            "A referral is answered by at most one contact; this referral_id is already set on an earlier contact. "
            "Keep it only on the first visit that answers the referral."
            if key == ("skeletal_dysplasia", "contacts") and column == "referral_id"
            else f"This {column} already appears on an earlier row of the file; each {column} must be unique."
        )
        parts.append(rules.failures_at(frame[repeated], column, rules.UNIQUE, message))
    if key == ("skeletal_dysplasia", "survey"):
        # INDICATORS.md 3, P1: the latest answer counts, so two answers on one date are ambiguous.
        twice = frame.duplicated(["unit_id", "patient_id", "response_date"], keep="first") & frame["response_date"].notna()
        twice &= _usable(frame["patient_id"])
        parts.append(
            rules.failures_at(
                frame[twice], "response_date", rules.DUPLICATE_ANSWER_DATE,
                "The patient already has a survey answer with this response_date on an earlier row; keep one answer per date.",
            )
        )
    for column, fill_when, empty_when, condition, companion in REQUIRED_IF.get(key, []):
        if fill_when is not None:
            parts.append(
                rules.failures_at(frame[fill_when(frame) & frame[column].isna()], column, rules.REQUIRED_IF,
                                  f"{column} is required when {condition}; fill it in or correct {companion}.")
            )
        parts.append(
            rules.failures_at(frame[empty_when(frame) & frame[column].notna()], column, rules.REQUIRED_IF,
                              f"{column} must be empty unless {condition}; empty it or correct {companion}.")
        )
    if dated is None:
        dated = with_dates(frame, date_columns(model))
    dates = {column: dated[column] for column in date_columns(model)}
    for reported, earlier, later in DATE_ORDER.get(key, []):
        wrong = dates[later] < dates[earlier]
        parts.append(
            rules.failures_at(frame[wrong], reported, rules.DATE_ORDER,
                              f"{later} must be on or after {earlier} on the same row; correct the dates.")
        )
    if report_year is not None:
        last_day = pd.Timestamp(date(report_year, 12, 31))
        for column, values in dates.items():
            parts.append(
                rules.failures_at(frame[values > last_day], column, rules.DATE_AFTER_REPORT_YEAR,
                                  f"{column} lies after 31 December {report_year}, the end of the report year; correct the date.")
            )
    return rules.concat(parts)


# --- rules across the tables of one unit's delivery -------------------------------------------


def _keys(frame: pd.DataFrame, column: str) -> pd.MultiIndex:
    return pd.MultiIndex.from_arrays([frame["unit_id"], frame[column]])


def delivery_rule_failures(
    condition_id: str, tables: dict[str, pd.DataFrame], dated: dict[str, pd.DataFrame], read_units: dict[str, set[str]]
) -> pd.DataFrame:
    """References to patients.csv and referrals.csv, and dates against birth and referral (sections 3-5).

    Only units whose referenced file was read are checked: when patients.csv itself is
    unreadable, its own failure says what to fix and every row would otherwise fail.
    """
    parts = []
    patients = tables["patients"]
    patient_keys = _keys(patients, "patient_id")
    births = dated["patients"].loc[_usable(patients["patient_id"]), ["unit_id", "patient_id", "birth_date"]]
    births = births.rename(columns={"birth_date": "birth"}).drop_duplicates(["unit_id", "patient_id"])
    for table, frame in tables.items():
        if table == "patients":
            continue
        checked = frame["unit_id"].isin(read_units.get("patients", set())) & _usable(frame["patient_id"])
        unknown = checked & ~_keys(frame, "patient_id").isin(patient_keys)
        parts.append(
            rules.failures_at(frame[unknown], "patient_id", rules.REFERENCE,
                              "This patient_id has no row in the unit's patients.csv; add the patient there or correct the id.")
        )
        # Section 4.1/5.1: birth_date not after any event date of the patient, in any table.
        born = frame[["unit_id", "patient_id"]].merge(births, on=["unit_id", "patient_id"], how="left")["birth"].to_numpy()
        for column in date_columns(table_model(condition_id, table)):
            early = dated[table][column].to_numpy() < born
            parts.append(
                rules.failures_at(frame[early], column, rules.DATE_ORDER,
                                  f"{column} is before the patient's birth_date in patients.csv; correct one of the dates.")
            )
    if condition_id == "skeletal_dysplasia":
        contacts, referrals = tables["contacts"], tables["referrals"]
        named = contacts["unit_id"].isin(read_units.get("referrals", set())) & _usable(contacts["referral_id"])
        unknown = named & ~_keys(contacts, "referral_id").isin(_keys(referrals, "referral_id"))
        parts.append(
            rules.failures_at(contacts[unknown], "referral_id", rules.REFERENCE,
                              "This referral_id names no referral in the unit's referrals.csv; correct the id or add the referral.")
        )
        referral_dates = dated["referrals"].loc[_usable(referrals["referral_id"]), ["unit_id", "referral_id", "referral_date"]]
        referral_dates = referral_dates.rename(columns={"referral_date": "referral"}).drop_duplicates(["unit_id", "referral_id"])
        answered = contacts[["unit_id", "referral_id"]].merge(referral_dates, on=["unit_id", "referral_id"], how="left")
        early = dated["contacts"]["contact_date"].to_numpy() < answered["referral"].to_numpy()
        parts.append(
            rules.failures_at(contacts[early], "contact_date", rules.DATE_ORDER,
                              "contact_date is before the referral_date of the referral it answers; correct the date or the referral_id.")
        )
    return rules.concat(parts)

