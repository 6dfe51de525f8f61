"""The sct_ssc tables as text-layer pandera models, with their rules within a table (DATA_CONTRACT.md 4).

Per-cell rules are in the fields; uniqueness per unit, the `iff` columns and date order
are model-level checks. Rules across deliveries are in `history.py`.
"""

from __future__ import annotations

from pandera.typing import Series

from nhv_pipeline.contract.schema import (
    TextModel,
    bool_field,
    date_field,
    date_order,
    empty_unless,
    home_region_field,
    id_field,
    present,
    required_when,
    sex_field,
    unique_per_unit,
)


def _iff(column: str, companion: str):
    """The contract's `iff`: `column` is filled exactly when `companion` is."""
    condition = f"{companion} är ifylld"
    return (
        required_when(column, present(companion), condition, companion),
        empty_unless(column, lambda df: df[companion].isna(), condition, companion),
    )


class Patients(TextModel):
    """sct_ssc patients.csv: one row per patient that appears in any table of the delivery (4.1)."""

    patient_id: Series[object] = id_field("Pseudonymous patient id, unique in the file; never a personal identity number.")
    sex: Series[object] = sex_field()
    birth_date: Series[object] = date_field("Birth date; not after any event date of the patient.")
    home_region: Series[object] = home_region_field()

    unique_patient = unique_per_unit("patient_id")


class Referrals(TextModel):
    """sct_ssc referrals.csv: one row per referral to the unit (4.2)."""

    referral_id: Series[object] = id_field("Referral id, unique in the file.")
    patient_id: Series[object] = id_field("The referred patient; in patients.csv.")
    referral_date: Series[object] = date_field("Registered referral received.")
    assessment_date: Series[object] = date_field("First assessment at the unit for this referral; on or after referral_date.", required=False)
    decision_date: Series[object] = date_field("Decision on whether to offer SCT; on or after referral_date.", required=False)
    sct_offered: Series[object] = bool_field("1 = offered SCT, 0 = not offered; filled exactly when decision_date is.", required=False)
    care_plan: Series[object] = bool_field("1 = individual care plan given at discharge; filled exactly when assessment_date is.", required=False)

    unique_referral = unique_per_unit("referral_id")
    sct_offered_filled, sct_offered_empty = _iff("sct_offered", "decision_date")
    care_plan_filled, care_plan_empty = _iff("care_plan", "assessment_date")
    assessed_after_referral = date_order("assessment_date", "referral_date", "assessment_date")
    decided_after_referral = date_order("decision_date", "referral_date", "decision_date")


class Transplants(TextModel):
    """sct_ssc transplants.csv: one row per stem cell transplantation (4.3)."""

    transplant_id: Series[object] = id_field("Transplant id, unique in the file, kept across all deliveries of the unit and never reused.")
    patient_id: Series[object] = id_field("The transplanted patient; in patients.csv.")
    decision_date: Series[object] = date_field("Decision at the multidisciplinary conference (MDK) that the patient will undergo SCT.")
    mobilization_date: Series[object] = date_field("Cell-mobilising cyclophosphamide dose given; on or after decision_date.")
    reinfusion_date: Series[object] = date_field("Stem cells returned to the patient; on or after mobilization_date.")
    discharge_date: Series[object] = date_field("Discharge from the inpatient stay; on or after reinfusion_date; empty = still admitted.", required=False)

    unique_transplant = unique_per_unit("transplant_id")
    mobilized_after_decision = date_order("mobilization_date", "decision_date", "mobilization_date")
    reinfused_after_mobilization = date_order("reinfusion_date", "mobilization_date", "reinfusion_date")
    discharged_after_reinfusion = date_order("discharge_date", "reinfusion_date", "discharge_date")


class Survey(TextModel):
    """sct_ssc survey.csv: patient survey (PREM) sent after care at the unit (4.4)."""

    patient_id: Series[object] = id_field("The surveyed patient; in patients.csv.")
    sent_date: Series[object] = date_field("Date the survey was sent.")
    response_date: Series[object] = date_field("Date of the answer; on or after sent_date; empty = no answer.", required=False)

    answered_after_sending = date_order("response_date", "sent_date", "response_date")


class Followup(TextModel):
    """sct_ssc followup.csv: outcome status of the transplants of years R-3..R-1 (4.5)."""

    transplant_id: Series[object] = id_field("A transplant of this unit, from this or an earlier delivery; unique in the file.")
    patient_id: Series[object] = id_field("The transplant's patient.")
    last_followup_date: Series[object] = date_field("Latest date the patient's status is known.")
    death_date: Series[object] = date_field("Date of death; on or before last_followup_date.", required=False)
    death_transplant_related: Series[object] = bool_field("1 = death related to the transplantation; filled exactly when death_date is.", required=False)
    heart_failure_date: Series[object] = date_field("First date with ejection fraction < 30 % (MR heart or echocardiography).", required=False)
    lung_failure_date: Series[object] = date_field(
        "First date with resting pO2 < 8 kPa and/or pCO2 > 6.7 kPa without oxygen, or chronic need of oxygen.", required=False
    )
    kidney_failure_date: Series[object] = date_field(
        "First date with uraemia, persistent need of dialysis, or organ transplantation.", required=False
    )

    unique_transplant = unique_per_unit("transplant_id")
    death_relation_filled, death_relation_empty = _iff("death_transplant_related", "death_date")
    death_before_last_followup = date_order("death_date", "death_date", "last_followup_date")
    heart_before_last_followup = date_order("heart_failure_date", "heart_failure_date", "last_followup_date")
    lung_before_last_followup = date_order("lung_failure_date", "lung_failure_date", "last_followup_date")
    kidney_before_last_followup = date_order("kidney_failure_date", "kidney_failure_date", "last_followup_date")


TABLES = {
    "patients": Patients,
    "referrals": Referrals,
    "transplants": Transplants,
    "survey": Survey,
    "followup": Followup,
}
