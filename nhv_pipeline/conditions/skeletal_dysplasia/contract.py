"""The skeletal_dysplasia tables as text-layer pandera models, with their rules (DATA_CONTRACT.md 5).

Per-cell rules are in the fields; uniqueness per unit, the `iff` columns, date order and
the answer scale are model-level checks. The rule across tables is in delivery_rules.py.
"""

from __future__ import annotations

import pandas as pd
from pandera.typing import Series

from nhv_pipeline.contract import rules
from nhv_pipeline.contract.schema import (
    TextModel,
    bool_field,
    code_field,
    date_field,
    date_order,
    empty_unless,
    home_region_field,
    id_field,
    present,
    required_when,
    sex_field,
    table_rule,
    text_field,
    unique_per_unit,
    usable,
)

DIAGNOSES_AT_REFERRAL = ("specific", "unclear", "none")
CONTACT_TYPES = ("new_visit", "return_visit", "mdk", "treatment_conference")
VISIT_CONTACT_TYPES = ("new_visit", "return_visit")
#: INDICATORS.md 3: an assessment (bedömning) is a physical or digital visit, or an MDK with or
#: without the patient. A treatment conference is not an assessment.
ASSESSMENT_TYPES = ("new_visit", "return_visit", "mdk")
VISIT_MODES = ("physical", "digital")
RESPONDENTS = ("patient", "relative")
#: DATA_CONTRACT.md 5.4: each respondent has its own questionnaire and answer scale, in scale order.
ANSWER_SCALES = {
    "relative": ("Aldrig", "Sällan", "Ibland", "Ofta", "Alltid", "Ej aktuellt/Ingen uppfattning"),
    "patient": ("Nej, inte alls", "Nej, knappast", "I viss mån", "Ja, i stort sett", "Ja, helt och hållet", "Ingen uppfattning"),
}

_SCALES_TEXT = "; ".join(f"{respondent}: {', '.join(scale)}" for respondent, scale in ANSWER_SCALES.items())


def _is(column: str, values):
    return lambda df: df[column].isin(list(values))


class Patients(TextModel):
    """skeletal_dysplasia patients.csv (5.1)."""

    patient_id: Series[object] = id_field("Pseudonymous patient id, unique in the file; never a personal identity number.")
    sex: Series[object] = sex_field("Legal sex at assessment: K (kvinna) or M (man).")
    birth_date: Series[object] = date_field("Birth date; not after any event date of the patient.")
    home_region: Series[object] = home_region_field()
    diagnosis_at_referral: Series[object] = code_field(
        "`specific` (a specific skeletal dysplasia diagnosis), `unclear` or `none`.", DIAGNOSES_AT_REFERRAL
    )
    specific_diagnosis_date: Series[object] = date_field(
        "Date the unit established a specific diagnosis; only for `unclear`/`none`.", required=False
    )

    unique_patient = unique_per_unit("patient_id")
    diagnosis_date_only_when_unclear = empty_unless(
        "specific_diagnosis_date", _is("diagnosis_at_referral", ["specific"]),
        "diagnosis_at_referral är unclear eller none", "diagnosis_at_referral",
    )
    diagnosed_after_birth = date_order("specific_diagnosis_date", "birth_date", "specific_diagnosis_date")


class Referrals(TextModel):
    """skeletal_dysplasia referrals.csv (5.2)."""

    referral_id: Series[object] = id_field("Referral id, unique in the file.")
    patient_id: Series[object] = id_field("The referred patient; in patients.csv.")
    referral_date: Series[object] = date_field("Date the referral was received and registered.")
    approved: Series[object] = bool_field(
        "1 = asks for an assessment within the NHV definition; 0 = misdirected, incomplete, or a regional question."
    )

    unique_referral = unique_per_unit("referral_id")


class Contacts(TextModel):
    """skeletal_dysplasia contacts.csv: one row per assessment or measure at the unit (5.3)."""

    contact_id: Series[object] = id_field("Contact id, unique in the file.")
    patient_id: Series[object] = id_field("The patient; in patients.csv.")
    contact_date: Series[object] = date_field("Date of the contact.")
    contact_type: Series[object] = code_field(
        "`new_visit`, `return_visit`, `mdk` (multidisciplinary conference) or `treatment_conference`.", CONTACT_TYPES
    )
    visit_mode: Series[object] = code_field(
        "`physical` or `digital` for new_visit/return_visit; empty otherwise.", VISIT_MODES, required=False
    )
    referral_id: Series[object] = id_field(
        "Set only on the first visit that answers a referral (at most one contact per referral); on or after the referral's date.",
        required=False,
    )
    care_plan: Series[object] = bool_field("1 = a diagnosis-specific individual care plan was handed out at this contact.")

    unique_contact = unique_per_unit("contact_id")
    # 5.3: "a referral is answered by at most one contact".
    one_contact_per_referral = unique_per_unit(
        "referral_id",
        "En remiss besvaras av högst en kontakt; detta referral_id står redan på en tidigare kontakt. "
        "Behåll det bara på det första besöket som besvarar remissen.",
    )
    # A contact type that is itself invalid makes neither demand: its own failure says what to fix.
    visit_mode_on_visits = required_when(
        "visit_mode", _is("contact_type", VISIT_CONTACT_TYPES), "contact_type är new_visit eller return_visit", "contact_type"
    )
    no_visit_mode_otherwise = empty_unless(
        "visit_mode", _is("contact_type", ["mdk", "treatment_conference"]),
        "contact_type är new_visit eller return_visit", "contact_type",
    )


class Survey(TextModel):
    """skeletal_dysplasia survey.csv: PREM survey to adult patients or to relatives of children (5.4)."""

    patient_id: Series[object] = id_field("The patient the survey concerns; in patients.csv.")
    respondent: Series[object] = code_field("`patient` (adult questionnaire) or `relative` (relatives of a child).", RESPONDENTS)
    sent_date: Series[object] = date_field("Date the survey was sent.")
    response_date: Series[object] = date_field("Date of the answer; on or after sent_date; empty = no answer.", required=False)
    answer: Series[object] = text_field("Answer on the respondent's scale; filled exactly when response_date is.", required=False)

    @table_rule(
        rules.CODE, "answer",
        f"answer ska vara ett värde på den svarandes egen skala ({_SCALES_TEXT}); rätta svaret eller respondent.",
    )
    def answer_scale(df: pd.DataFrame) -> pd.Series:
        """The answer belongs to the respondent's own scale (5.4); with an unknown respondent, to either."""
        ok = df["answer"].isna() | (
            ~df["respondent"].isin(list(ANSWER_SCALES)) & df["answer"].isin([a for s in ANSWER_SCALES.values() for a in s])
        )
        for respondent, scale in ANSWER_SCALES.items():
            ok |= (df["respondent"] == respondent) & df["answer"].isin(scale)
        return ok

    # INDICATORS.md 3, P1: the latest answer counts, so two answers on one date are ambiguous.
    @table_rule(
        rules.DUPLICATE_ANSWER_DATE, "response_date",
        "Patienten har redan ett enkätsvar med detta response_date på en tidigare rad; behåll ett svar per datum.",
    )
    def one_answer_per_date(df: pd.DataFrame) -> pd.Series:
        twice = df.duplicated(["unit_id", "patient_id", "response_date"], keep="first") & df["response_date"].notna()
        return ~(twice & usable(df["patient_id"]))

    answer_filled = required_when("answer", present("response_date"), "response_date är ifylld", "response_date")
    answer_empty = empty_unless("answer", lambda df: df["response_date"].isna(), "response_date är ifylld", "response_date")
    answered_after_sending = date_order("response_date", "sent_date", "response_date")


TABLES = {"patients": Patients, "referrals": Referrals, "contacts": Contacts, "survey": Survey}
