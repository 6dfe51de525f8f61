"""The delivery contract as pandera models: one per condition and table (DATA_CONTRACT.md 4, 5).

These are *text-layer* models: every column is the stripped text the unit delivered
(None for an empty cell). They are the one source of truth for the contract's
columns, their descriptions (shown by the UI as column schemas), the per-cell rules
(required, date, boolean, code) and the typed staging layer (`metadata["kind"]`).
Rules that span rows, tables or deliveries live beside them in `checks.py`.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera import extensions
from pandera.typing import Series

CONDITIONS = ("sct_ssc", "skeletal_dysplasia")

# INDICATORS.md 1: the first day each condition's follow-up covers.
CONDITION_START = {"sct_ssc": date(2023, 1, 1), "skeletal_dysplasia": date(2025, 9, 1)}

TABLES = {
    "sct_ssc": ("patients", "referrals", "transplants", "survey", "followup"),
    "skeletal_dysplasia": ("patients", "referrals", "contacts", "survey"),
}

# DATA_CONTRACT.md 3: SCB county (län) codes, plus the project's own 99 = not registered in Sweden.
HOME_REGIONS = (
    "01", "03", "04", "05", "06", "07", "08", "09", "10", "12", "13",
    "14", "17", "18", "19", "20", "21", "22", "23", "24", "25", "99",
)  # fmt: skip
SEXES = ("K", "M")
DIAGNOSES_AT_REFERRAL = ("specific", "unclear", "none")
CONTACT_TYPES = ("new_visit", "return_visit", "mdk", "treatment_conference")
VISIT_CONTACT_TYPES = ("new_visit", "return_visit")
VISIT_MODES = ("physical", "digital")
RESPONDENTS = ("patient", "relative")
# DATA_CONTRACT.md 5.4: each respondent has its own questionnaire and answer scale.
ANSWER_SCALES = {
    "relative": ("Aldrig", "Sällan", "Ibland", "Ofta", "Alltid", "Ej aktuellt/Ingen uppfattning"),
    "patient": ("Nej, inte alls", "Nej, knappast", "I viss mån", "Ja, i stort sett", "Ja, helt och hållet", "Ingen uppfattning"),
}

DATE_PATTERN = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"  # ASCII digits only (a regex \d also matches other scripts' digits)


def parse_dates(values: pd.Series) -> pd.Series:
    """Text to datetime64: strictly YYYY-MM-DD and a real calendar date, else NaT (section 2)."""
    shaped = values.astype(object).str.fullmatch(DATE_PATTERN).to_numpy(dtype=object) == True  # noqa: E712 - None is no
    text = np.where(shaped, values.to_numpy(dtype=object), None)
    return pd.Series(pd.to_datetime(text, format="%Y-%m-%d", errors="coerce"), index=values.index, dtype="datetime64[ns]")


def with_dates(frame: pd.DataFrame, date_columns) -> pd.DataFrame:
    """The frame with its date columns parsed once, for the rules that compare dates."""
    return frame.assign(**{column: parse_dates(frame[column]) for column in date_columns})


def _register(**kwargs):
    """Register a custom pandera check once; a re-imported module finds it registered already."""

    def decorator(fn):
        if not hasattr(pa.Check, fn.__name__):
            extensions.register_check_method(**kwargs)(fn)
        return fn

    return decorator


@_register(statistics=[])
def date_format(values: pd.Series) -> pd.Series:
    """Dates `YYYY-MM-DD` that exist in the calendar (2023-02-29 does not; section 2)."""
    return parse_dates(values).notna()


@_register(statistics=[])
def bool_format(values: pd.Series) -> pd.Series:
    """Booleans are written 1 or 0 (section 2)."""
    return values.isin(("1", "0"))


# An id is one line of plain text. A first character = + - @ makes a spreadsheet run the cell
# as a formula (OWASP "CSV injection"), and a control character (tab, newline, NUL) breaks
# every line-based view of the id; neither is a pseudonymous id (DATA_CONTRACT.md 3).
ID_FORMULA_START = r"[=+\-@]"
ID_CONTROL_CHARACTER = r"[\x00-\x1f\x7f-\x9f]"


@_register(statistics=[])
def id_text(values: pd.Series) -> pd.Series:
    """Ids that no spreadsheet runs as a formula and that hold no control character (section 3)."""
    text = values.astype(object).astype("string")
    bad = text.str.match(ID_FORMULA_START) | text.str.contains(ID_CONTROL_CHARACTER, regex=True)
    return ~bad.fillna(False).astype(bool)


@_register(statistics=["allowed"])
def code(values: pd.Series, *, allowed) -> pd.Series:
    """A coded value is one of the contract's codes, exactly as written there (sections 3-5)."""
    return values.isin(list(allowed))


def _id(description: str, required: bool = True):
    return pa.Field(nullable=not required, id_text=(), description=description, metadata={"kind": "id"})


def _text(description: str, required: bool = True):
    return pa.Field(nullable=not required, description=description, metadata={"kind": "text"})


def _date(description: str, required: bool = True):
    return pa.Field(nullable=not required, date_format=(), description=description, metadata={"kind": "date"})


def _bool(description: str, required: bool = True):
    return pa.Field(nullable=not required, bool_format=(), description=description, metadata={"kind": "bool"})


def _code(description: str, allowed, required: bool = True):
    return pa.Field(
        nullable=not required, code={"allowed": list(allowed)}, description=description, metadata={"kind": "code"}
    )


class _TextModel(pa.DataFrameModel):
    class Config:
        strict = True
        coerce = False


# --- units.csv (DATA_CONTRACT.md 1) -------------------------------------------------------


class RegistryUnits(_TextModel):
    """units.csv: the registry of units and their NHV permits."""

    condition_id: Series[object] = _code("Condition: `sct_ssc` or `skeletal_dysplasia`.", CONDITIONS)
    unit_id: Series[object] = pa.Field(
        description="Unit id `[a-z0-9_]{2,40}`, unique per condition; the unit's folder name.",
        metadata={"kind": "text"},
    )
    unit_name: Series[object] = _text('Display name, e.g. "Akademiska sjukhuset".')
    permit_start: Series[object] = _date("First day the unit holds the NHV permit.")
    permit_end: Series[object] = _date("Last day of the permit; empty = still valid.", required=False)


# --- sct_ssc (DATA_CONTRACT.md 4) ---------------------------------------------------------


class SctPatients(_TextModel):
    """sct_ssc patients.csv: one row per patient that appears in any table of the delivery (4.1)."""

    patient_id: Series[object] = _id("Pseudonymous patient id, unique in the file; never a personal identity number.")
    sex: Series[object] = _code("Legal sex: K (kvinna) or M (man).", SEXES)
    birth_date: Series[object] = _date("Birth date; not after any event date of the patient.")
    home_region: Series[object] = _code("Two-digit county (län) code of the folkbokföring; 99 = not registered in Sweden.", HOME_REGIONS)


class SctReferrals(_TextModel):
    """sct_ssc referrals.csv: one row per referral to the unit (4.2)."""

    referral_id: Series[object] = _id("Referral id, unique in the file.")
    patient_id: Series[object] = _id("The referred patient; in patients.csv.")
    referral_date: Series[object] = _date("Registered referral received.")
    assessment_date: Series[object] = _date("First assessment at the unit for this referral; on or after referral_date.", required=False)
    decision_date: Series[object] = _date("Decision on whether to offer SCT; on or after referral_date.", required=False)
    sct_offered: Series[object] = _bool("1 = offered SCT, 0 = not offered; filled exactly when decision_date is.", required=False)
    care_plan: Series[object] = _bool("1 = individual care plan given at discharge; filled exactly when assessment_date is.", required=False)


class SctTransplants(_TextModel):
    """sct_ssc transplants.csv: one row per stem cell transplantation (4.3)."""

    transplant_id: Series[object] = _id("Transplant id, unique in the file, kept across all deliveries of the unit and never reused.")
    patient_id: Series[object] = _id("The transplanted patient; in patients.csv.")
    decision_date: Series[object] = _date("Decision at the multidisciplinary conference (MDK) that the patient will undergo SCT.")
    mobilization_date: Series[object] = _date("Cell-mobilising cyclophosphamide dose given; on or after decision_date.")
    reinfusion_date: Series[object] = _date("Stem cells returned to the patient; on or after mobilization_date.")
    discharge_date: Series[object] = _date("Discharge from the inpatient stay; on or after reinfusion_date; empty = still admitted.", required=False)


class SctSurvey(_TextModel):
    """sct_ssc survey.csv: patient survey (PREM) sent after care at the unit (4.4)."""

    patient_id: Series[object] = _id("The surveyed patient; in patients.csv.")
    sent_date: Series[object] = _date("Date the survey was sent.")
    response_date: Series[object] = _date("Date of the answer; on or after sent_date; empty = no answer.", required=False)


class SctFollowup(_TextModel):
    """sct_ssc followup.csv: outcome status of the transplants of years R-3..R-1 (4.5)."""

    transplant_id: Series[object] = _id("A transplant of this unit, from this or an earlier delivery; unique in the file.")
    patient_id: Series[object] = _id("The transplant's patient.")
    last_followup_date: Series[object] = _date("Latest date the patient's status is known.")
    death_date: Series[object] = _date("Date of death; on or before last_followup_date.", required=False)
    death_transplant_related: Series[object] = _bool("1 = death related to the transplantation; filled exactly when death_date is.", required=False)
    heart_failure_date: Series[object] = _date("First date with ejection fraction < 30 % (MR heart or echocardiography).", required=False)
    lung_failure_date: Series[object] = _date(
        "First date with resting pO2 < 8 kPa and/or pCO2 > 6.7 kPa without oxygen, or chronic need of oxygen.", required=False
    )
    kidney_failure_date: Series[object] = _date(
        "First date with uraemia, persistent need of dialysis, or organ transplantation.", required=False
    )


# --- skeletal_dysplasia (DATA_CONTRACT.md 5) ------------------------------------------------


class SkdPatients(_TextModel):
    """skeletal_dysplasia patients.csv (5.1)."""

    patient_id: Series[object] = _id("Pseudonymous patient id, unique in the file; never a personal identity number.")
    sex: Series[object] = _code("Legal sex at assessment: K (kvinna) or M (man).", SEXES)
    birth_date: Series[object] = _date("Birth date; not after any event date of the patient.")
    home_region: Series[object] = _code("Two-digit county (län) code of the folkbokföring; 99 = not registered in Sweden.", HOME_REGIONS)
    diagnosis_at_referral: Series[object] = _code(
        "`specific` (a specific skeletal dysplasia diagnosis), `unclear` or `none`.", DIAGNOSES_AT_REFERRAL
    )
    specific_diagnosis_date: Series[object] = _date(
        "Date the unit established a specific diagnosis; only for `unclear`/`none`.", required=False
    )


class SkdReferrals(_TextModel):
    """skeletal_dysplasia referrals.csv (5.2)."""

    referral_id: Series[object] = _id("Referral id, unique in the file.")
    patient_id: Series[object] = _id("The referred patient; in patients.csv.")
    referral_date: Series[object] = _date("Date the referral was received and registered.")
    approved: Series[object] = _bool(
        "1 = asks for an assessment within the NHV definition; 0 = misdirected, incomplete, or a regional question."
    )


class SkdContacts(_TextModel):
    """skeletal_dysplasia contacts.csv: one row per assessment or measure at the unit (5.3)."""

    contact_id: Series[object] = _id("Contact id, unique in the file.")
    patient_id: Series[object] = _id("The patient; in patients.csv.")
    contact_date: Series[object] = _date("Date of the contact.")
    contact_type: Series[object] = _code(
        "`new_visit`, `return_visit`, `mdk` (multidisciplinary conference) or `treatment_conference`.", CONTACT_TYPES
    )
    visit_mode: Series[object] = _code("`physical` or `digital` for new_visit/return_visit; empty otherwise.", VISIT_MODES, required=False)
    referral_id: Series[object] = _id(
        "Set only on the first visit that answers a referral (at most one contact per referral); on or after the referral's date.",
        required=False,
    )
    care_plan: Series[object] = _bool("1 = a diagnosis-specific individual care plan was handed out at this contact.")


class SkdSurvey(_TextModel):
    """skeletal_dysplasia survey.csv: PREM survey to adult patients or to relatives of children (5.4)."""

    patient_id: Series[object] = _id("The patient the survey concerns; in patients.csv.")
    respondent: Series[object] = _code("`patient` (adult questionnaire) or `relative` (relatives of a child).", RESPONDENTS)
    sent_date: Series[object] = _date("Date the survey was sent.")
    response_date: Series[object] = _date("Date of the answer; on or after sent_date; empty = no answer.", required=False)
    answer: Series[object] = _text("Answer on the respondent's scale; filled exactly when response_date is.", required=False)

    @pa.dataframe_check(name="answer_scale")
    @classmethod
    def answer_on_respondents_scale(cls, df: pd.DataFrame) -> pd.Series:
        """The answer belongs to the respondent's own scale (5.4); with an unknown respondent, to either."""
        ok = df["answer"].isna() | (
            ~df["respondent"].isin(list(ANSWER_SCALES)) & df["answer"].isin([a for s in ANSWER_SCALES.values() for a in s])
        )
        for respondent, scale in ANSWER_SCALES.items():
            ok |= (df["respondent"] == respondent) & df["answer"].isin(scale)
        return ok.astype(bool)


# pandera check name -> (rule, column override); the column comes from the failure case otherwise.
CHECK_RULES = {
    "not_nullable": ("required", None),
    "date_format": ("date_format", None),
    "bool_format": ("bool_format", None),
    "code": ("code", None),
    "id_text": ("id_format", None),
    "answer_scale": ("code", "answer"),
}

_MODELS: dict[tuple[str, str], type[pa.DataFrameModel]] = {
    ("sct_ssc", "patients"): SctPatients,
    ("sct_ssc", "referrals"): SctReferrals,
    ("sct_ssc", "transplants"): SctTransplants,
    ("sct_ssc", "survey"): SctSurvey,
    ("sct_ssc", "followup"): SctFollowup,
    ("skeletal_dysplasia", "patients"): SkdPatients,
    ("skeletal_dysplasia", "referrals"): SkdReferrals,
    ("skeletal_dysplasia", "contacts"): SkdContacts,
    ("skeletal_dysplasia", "survey"): SkdSurvey,
}


def table_model(condition_id: str, table: str) -> type[pa.DataFrameModel]:
    """The text-layer pandera model of one table of a condition."""
    try:
        return _MODELS[(condition_id, table)]
    except KeyError:
        raise KeyError(f"no contract table {table!r} for condition {condition_id!r}") from None


@lru_cache(maxsize=None)
def model_schema(model: type[pa.DataFrameModel]) -> pa.DataFrameSchema:
    """The model's DataFrameSchema, built once."""
    return model.to_schema()


def model_columns(model: type[pa.DataFrameModel]) -> list[str]:
    """A model's columns in declaration (= contract) order."""
    return list(model_schema(model).columns)


def model_kinds(model: type[pa.DataFrameModel]) -> dict[str, str]:
    """column -> kind (id, text, date, bool, code): drives identity checks and staging types."""
    return {name: col.metadata["kind"] for name, col in model_schema(model).columns.items()}


def contract_columns(condition_id: str, table: str) -> list[str]:
    """The contract's columns of a table, in contract order."""
    return model_columns(table_model(condition_id, table))


def column_kinds(condition_id: str, table: str) -> dict[str, str]:
    return model_kinds(table_model(condition_id, table))


def _year_window(condition_id: str, year: int) -> tuple[date, date] | None:
    start = max(date(year, 1, 1), CONDITION_START[condition_id])
    end = date(year, 12, 31)
    return (start, end) if start <= end else None


def measurement_period(condition_id: str, report_year: int) -> tuple[date, date] | None:
    """P(R) = max(1 Jan R-1, condition start)..31 Dec R-1 (INDICATORS.md 1); None when empty."""
    return _year_window(condition_id, report_year - 1)


def cohort_window(condition_id: str, report_year: int, lag: int) -> tuple[date, date] | None:
    """Window of cohort year R-lag, cut at the condition start (INDICATORS.md 1); None when empty."""
    return _year_window(condition_id, report_year - lag)
