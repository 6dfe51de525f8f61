"""sct_ssc indicator rules, one small function per indicator (INDICATORS.md section 2).

Each rule turns the staged tables its catalogue entry declares into a population;
the shared engine (`nhv_pipeline.indicators.engine`) makes the result rows.
"""

from __future__ import annotations

import pandas as pd

from nhv_pipeline.indicators.model import RuleContext, attach_patient
from nhv_pipeline.indicators.building_blocks import survey_response_rate
from nhv_pipeline.indicators.stats import age_in_completed_years, day_difference

#: INDICATORS.md 2: R1 counts survival 100 days after reinfusion; R2 looks two years (730 days) ahead.
#: The follow-up completeness rule of the contract (history.py) uses the same horizons.
R1_DAYS = 100
R2_DAYS = 730
#: The organ failures that end progression-free survival (R2; DATA_CONTRACT.md 4.5).
ORGAN_FAILURE_DATES = ("heart_failure_date", "lung_failure_date", "kidney_failure_date")

_PATIENT_KEY = ["report_year", "unit_id", "patient_id"]


# --- populations ---------------------------------------------------------


def _b1_population(ctx: RuleContext) -> pd.DataFrame:
    """Referrals with `assessment_date` in P(R) ("the B1 population" is their patients)."""
    return ctx.shared("sct_ssc B1 referrals", _referrals_assessed)  # B1, T1 and Ö1 start from it: made once per step


def _referrals_assessed(ctx: RuleContext) -> pd.DataFrame:
    referrals = ctx.table("referrals")
    return referrals[ctx.in_period(referrals["assessment_date"])]


def _transplants(ctx: RuleContext) -> pd.DataFrame:
    """`_transplants_once` of the transplants table, made once per step for the rules that read it in one window."""
    return ctx.shared("sct_ssc transplants once", lambda context: _transplants_once(context.table("transplants")))


def _transplants_once(transplants: pd.DataFrame) -> pd.DataFrame:
    """Each transplant once by (unit_id, transplant_id) across deliveries.

    DATA_CONTRACT.md 4.3: a transplant keeps id, patient and dates across
    deliveries (only `discharge_date` may be filled in later), so the copy of
    the latest delivery is kept.
    """
    return transplants.sort_values(["unit_id", "transplant_id", "report_year"]).drop_duplicates(
        ["unit_id", "transplant_id"], keep="last"
    )


def _with_followup(ctx: RuleContext, cohort: pd.DataFrame, indicator_id: str) -> pd.DataFrame:
    """The cohort's outcomes from followup.csv of D(R) (DATA_CONTRACT.md 4.5)."""
    followup = ctx.table("followup")
    followup = followup[followup["report_year"] == ctx.report_year]
    outcome_columns = ["death_date", "death_transplant_related", *ORGAN_FAILURE_DATES]
    joined = cohort.merge(
        followup[["unit_id", "transplant_id", *outcome_columns]],
        on=["unit_id", "transplant_id"],
        how="left",
        validate="one_to_one",
        indicator="_followup",
    )
    missing = int((joined["_followup"] != "both").sum())
    if missing:
        # A validation error upstream (DATA_CONTRACT.md 4.5); never guess an outcome.
        raise ValueError(
            f"sct_ssc {indicator_id}: {missing} cohort transplant(s) have no followup row "
            f"in the delivery of report year {ctx.report_year}"
        )
    return joined.drop(columns="_followup")


# --- rules -----------------------------------------------------------------


def b1_patients(ctx: RuleContext) -> pd.DataFrame:
    """Count of distinct patients with a referral assessed in P(R), by home_region and sex."""
    patients = _b1_population(ctx)[_PATIENT_KEY].drop_duplicates()
    return attach_patient(patients, ctx.table("patients"), ["home_region", "sex"])


def b2_age(ctx: RuleContext) -> pd.DataFrame:
    """Age in completed years at the first reinfusion in the pooled window, one per patient."""
    transplants = _transplants(ctx)
    transplants = transplants[ctx.in_period(transplants["reinfusion_date"])]
    first = transplants.sort_values(
        ["unit_id", "patient_id", "reinfusion_date", "transplant_id"]
    ).drop_duplicates(["unit_id", "patient_id"], keep="first")
    # Birth date from patients.csv of the delivery the kept transplant row came from.
    first = attach_patient(first, ctx.table("patients"), ["birth_date"])
    first["x"] = age_in_completed_years(first["birth_date"], first["reinfusion_date"]).astype("float64")
    return first[["unit_id", "patient_id", "x"]]


def b3_transplants(ctx: RuleContext) -> pd.DataFrame:
    """Count of transplants with `reinfusion_date` in P(R), by the patient's home_region."""
    transplants = _transplants(ctx)
    transplants = transplants[ctx.in_period(transplants["reinfusion_date"])]
    return attach_patient(transplants, ctx.table("patients"), ["home_region"])


def b4_length_of_stay(ctx: RuleContext) -> pd.DataFrame:
    """Days from reinfusion to discharge, for stays ended (`discharge_date`) in P(R)."""
    transplants = _transplants(ctx)
    stays = transplants[ctx.in_period(transplants["discharge_date"])].copy()
    stays["x"] = day_difference(stays["discharge_date"], stays["reinfusion_date"]).astype("float64")
    return stays[["unit_id", "transplant_id", "x"]]


def t1_time_to_decision(ctx: RuleContext) -> pd.DataFrame:
    """Days from referral to decision, for referrals assessed in P(R) with a decision."""
    referrals = _b1_population(ctx)
    decided = referrals[referrals["decision_date"].notna()].copy()
    decided["x"] = day_difference(decided["decision_date"], decided["referral_date"]).astype("float64")
    decided["sct_offered"] = decided["sct_offered"].map({True: "yes", False: "no"}).astype("object")
    return decided[["unit_id", "referral_id", "sct_offered", "x"]]


def t2_time_to_treatment(ctx: RuleContext) -> pd.DataFrame:
    """Days from the MDK decision to the mobilising dose, transplants reinfused in P(R)."""
    transplants = _transplants(ctx)
    transplants = transplants[ctx.in_period(transplants["reinfusion_date"])].copy()
    transplants["x"] = day_difference(
        transplants["mobilization_date"], transplants["decision_date"]
    ).astype("float64")
    return transplants[["unit_id", "transplant_id", "x"]]


def r1_survival_100_days(ctx: RuleContext) -> pd.DataFrame:
    """Alive 100 days after reinfusion; cohort year R-2 (lag 2).

    Excluded: death on or before reinfusion + 100 days, not related to the
    transplantation. Numerator: no death, or death after reinfusion + 100 days
    (a death on day 100 itself is not "alive 100 days after").
    """
    cohort = _transplants(ctx)
    cohort = cohort[ctx.in_period(cohort["reinfusion_date"])]
    cohort = _with_followup(ctx, cohort, "R1")
    day_100 = cohort["reinfusion_date"] + pd.Timedelta(days=R1_DAYS)
    died_by_day_100 = (cohort["death_date"] <= day_100).fillna(False)
    unrelated = cohort["death_transplant_related"].eq(False).fillna(False).astype(bool)
    cohort = cohort[~(died_by_day_100 & unrelated)].copy()
    day_100 = cohort["reinfusion_date"] + pd.Timedelta(days=R1_DAYS)
    cohort["hit"] = cohort["death_date"].isna() | (cohort["death_date"] > day_100)
    return cohort[["unit_id", "transplant_id", "hit"]]


def r2_progression_free_survival(ctx: RuleContext) -> pd.DataFrame:
    """Alive without organ failure at h = reinfusion + 730 days; cohort year R-3 (lag 3).

    Denominator: the whole cohort (no exclusions).
    """
    cohort = _transplants(ctx)
    cohort = cohort[ctx.in_period(cohort["reinfusion_date"])]
    cohort = _with_followup(ctx, cohort, "R2").copy()
    horizon = cohort["reinfusion_date"] + pd.Timedelta(days=R2_DAYS)
    alive = cohort["death_date"].isna() | (cohort["death_date"] > horizon)
    organ_failure = pd.Series(False, index=cohort.index)
    for column in ORGAN_FAILURE_DATES:
        organ_failure |= (cohort[column] <= horizon).fillna(False)
    cohort["hit"] = alive & ~organ_failure
    return cohort[["unit_id", "transplant_id", "hit"]]


def p1_response_rate(ctx: RuleContext) -> dict[str, pd.DataFrame]:
    """The seed leaves the P1 question undefined: only the response rate is published."""
    return {"response_rate": survey_response_rate(ctx)}


def o1_care_plan(ctx: RuleContext) -> pd.DataFrame:
    """B1 population; hit: `care_plan` = 1 on a referral assessed in P(R)."""
    referrals = _b1_population(ctx)
    referrals = referrals.assign(hit=referrals["care_plan"].eq(True).fillna(False).astype(bool))
    return referrals.groupby(["unit_id", "patient_id"], as_index=False, sort=True)["hit"].any()
