"""skeletal_dysplasia indicator rules, one small function per indicator (INDICATORS.md section 3).

Every indicator reads only the delivery of the report year, D(R).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from nhv_pipeline.indicators.model import RuleContext, attach_patient
from nhv_pipeline.indicators.building_blocks import survey_response_rate
from nhv_pipeline.indicators.stats import age_in_completed_years, day_difference

from .contract import ASSESSMENT_TYPES, VISIT_CONTACT_TYPES

#: B2 counts these contacts; return visits are not counted.
B2_CONTACT_TYPES = ("mdk", "new_visit", "treatment_conference")

#: P1 numerator: the positive answers of both questionnaires.
POSITIVE_ANSWERS = ("Ofta", "Alltid", "Ja, i stort sett", "Ja, helt och hållet")

_PATIENT_KEY = ["report_year", "unit_id", "patient_id"]


# --- populations ---------------------------------------------------------


def _assessments(ctx: RuleContext) -> pd.DataFrame:
    contacts = ctx.table("contacts")
    return contacts[contacts["contact_type"].isin(ASSESSMENT_TYPES) & ctx.in_period(contacts["contact_date"])]


#: The patient attributes the rules read of the B1 population.
_B1_ATTRIBUTES = ["home_region", "sex", "diagnosis_at_referral", "specific_diagnosis_date"]


def _b1_population(ctx: RuleContext, columns: list[str]) -> pd.DataFrame:
    """Distinct patients with at least one assessment in P(R), with patient attributes (of `_B1_ATTRIBUTES`)."""
    # B1, R1 and Ö1 start from it: made once per step.
    return ctx.shared("skeletal_dysplasia B1 population", _b1_with_attributes)[_PATIENT_KEY + columns]


def _b1_with_attributes(ctx: RuleContext) -> pd.DataFrame:
    patients = _assessments(ctx)[_PATIENT_KEY].drop_duplicates()
    return attach_patient(patients, ctx.table("patients"), _B1_ATTRIBUTES)


# --- rules -----------------------------------------------------------------


def b1_patients(ctx: RuleContext) -> pd.DataFrame:
    """Count of the B1 population, by home_region (`99` its own value) and sex."""
    return _b1_population(ctx, ["home_region", "sex"])


def b2_contacts(ctx: RuleContext) -> pd.DataFrame:
    """Count of MDK assessments, new visits and treatment conferences in P(R)."""
    contacts = ctx.table("contacts")
    counted = contacts[
        contacts["contact_type"].isin(B2_CONTACT_TYPES) & ctx.in_period(contacts["contact_date"])
    ]
    return counted[["unit_id", "contact_id", "contact_type"]]


def b3_age(ctx: RuleContext) -> pd.DataFrame:
    """Age at the patient's first assessment in P(R), B1 population.

    Completed years; a child under 1 year counts as (days since birth) / 365
    (seed B3: "barnets ålder i antal dagar dividerat med 365"). Age group by
    completed years: child <= 17, adult >= 18.
    """
    first = (
        _assessments(ctx)
        .groupby(_PATIENT_KEY, as_index=False, sort=True)["contact_date"]
        .min()
    )
    first = attach_patient(first, ctx.table("patients"), ["birth_date"])
    years = age_in_completed_years(first["birth_date"], first["contact_date"])
    days = day_difference(first["contact_date"], first["birth_date"])
    first["x"] = np.where(years < 1, days / 365.0, years.astype("float64"))
    first["age_group"] = np.where(years <= 17, "child", "adult")
    first["age_group"] = first["age_group"].astype("object")
    return first[["unit_id", "patient_id", "age_group", "x"]]


def t1_referral_to_visit(ctx: RuleContext) -> pd.DataFrame:
    """Days from an approved referral to the visit that answers it, visits in P(R).

    The referral is looked up in referrals.csv of the same delivery; a visit
    whose referral_id names no approved referral there is not counted.
    """
    contacts = ctx.table("contacts")
    visits = contacts[
        contacts["contact_type"].isin(VISIT_CONTACT_TYPES)
        & ctx.in_period(contacts["contact_date"])
        & contacts["referral_id"].notna()
    ]
    referrals = ctx.table("referrals")
    approved = referrals[referrals["approved"].eq(True).fillna(False).astype(bool)]
    answered = visits.merge(
        approved[["report_year", "unit_id", "referral_id", "referral_date"]],
        on=["report_year", "unit_id", "referral_id"],
        how="inner",
        validate="many_to_one",
    )
    answered["x"] = day_difference(answered["contact_date"], answered["referral_date"]).astype("float64")
    return answered[["unit_id", "contact_id", "x"]]


def r1_specific_diagnosis(ctx: RuleContext) -> pd.DataFrame:
    """Share of the B1 population with an unclear/no diagnosis at referral that got a
    specific diagnosis in P(R); a diagnosis set before P(R) leaves the denominator."""
    population = _b1_population(ctx, ["diagnosis_at_referral", "specific_diagnosis_date"])
    diagnosed = population["specific_diagnosis_date"]
    before_period = (diagnosed < ctx.period_start).fillna(False)
    population = population[
        population["diagnosis_at_referral"].isin(("unclear", "none")) & ~before_period
    ].copy()
    population["hit"] = ctx.in_period(population["specific_diagnosis_date"])
    return population[["unit_id", "patient_id", "hit"]]


def p1_patient_experience(ctx: RuleContext) -> dict[str, pd.DataFrame]:
    """positive_share: each respondent once, with the latest answer in P(R);
    "no opinion" stays in the denominator. response_rate: as sct_ssc P1."""
    survey = ctx.table("survey")
    answered = survey[ctx.in_period(survey["response_date"])]
    # Two answers of one patient on one date are a validation error; source_line
    # keeps the choice deterministic should one slip through.
    latest = answered.sort_values(["unit_id", "patient_id", "response_date", "source_line"]).drop_duplicates(
        ["unit_id", "patient_id"], keep="last"
    )
    latest = latest.assign(hit=latest["answer"].isin(POSITIVE_ANSWERS))
    return {
        "positive_share": latest[["unit_id", "patient_id", "respondent", "hit"]],
        "response_rate": survey_response_rate(ctx),
    }


def o1_care_plan(ctx: RuleContext) -> pd.DataFrame:
    """B1 population with a specific diagnosis by the end of P(R); hit: a contact in
    P(R) (any type) with `care_plan` = 1."""
    population = _b1_population(ctx, ["diagnosis_at_referral", "specific_diagnosis_date"])
    diagnosed_by_end = (population["diagnosis_at_referral"] == "specific") | (
        population["specific_diagnosis_date"] <= ctx.period_end
    ).fillna(False)
    population = population[diagnosed_by_end]
    contacts = ctx.table("contacts")
    with_plan = contacts[
        ctx.in_period(contacts["contact_date"]) & contacts["care_plan"].eq(True).fillna(False).astype(bool)
    ][_PATIENT_KEY].drop_duplicates()
    population = population.merge(with_plan, on=_PATIENT_KEY, how="left", indicator="_plan")
    population["hit"] = population["_plan"] == "both"
    return population[["unit_id", "patient_id", "hit"]]
