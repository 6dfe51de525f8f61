"""Synthetic skeletal_dysplasia deliveries (DATA_CONTRACT.md §5), for `nhv-pipeline sample-data`.

Everything here is invented (see `nhv_pipeline.core.sample_data`): infants, children,
17/18-year-olds at the child/adult boundary and adults, specific diagnoses dated in and
before the period, and every survey answer including "no opinion".
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from nhv_pipeline.core import sample_data as tools
from nhv_pipeline.contract.schema import model_columns

from .contract import ANSWER_SCALES, TABLES

#: Report years the sample covers.
REPORT_YEARS = (2026,)

UNITS = (
    tools.SampleUnit("skeletal_dysplasia", "karolinska_sd", "Karolinska Universitetssjukhuset",
                     "2025-09-01", None, ",", ("01", "03", "04", "09", "05", "21", "19", "22", "25")),
    tools.SampleUnit("skeletal_dysplasia", "sahlgrenska_sd", "Sahlgrenska Universitetssjukhuset",
                     "2025-09-01", None, ";", ("14", "13", "17", "06", "12", "07", "08", "10", "18")),
)

#: How often each answer of a scale is given, in scale order.
_ANSWER_WEIGHTS = np.array([0.04, 0.08, 0.2, 0.33, 0.28, 0.07])

def _skd_delivery(rng: np.random.Generator, unit: tools.SampleUnit, unit_no: int, scale: float,
                  report_year: int, start: np.datetime64) -> dict[str, pd.DataFrame]:
    period_start = max(tools.jan1(report_year - 1), start)
    period_end = tools.dec31(report_year - 1)
    extract = tools.extract_date(report_year)
    window_start = period_start - 31 * tools.DAY  # the extract reaches a month before the period
    columns = {table: model_columns(model) for table, model in TABLES.items()}

    # --- patients: infants, children, 17/18-year-olds at the child/adult boundary, adults
    n = tools.scaled(rng.integers(100, 201), scale)
    group = rng.choice(4, n, p=[0.08, 0.40, 0.10, 0.42])
    reference = period_start + 45 * tools.DAY
    birth = np.select(
        [group == 0, group == 1, group == 2],
        [tools.between(rng, reference - 300 * tools.DAY, reference - 75 * tools.DAY, n),
         reference - tools.days(rng, 366, 16 * 365, n),
         reference - tools.days(rng, 17 * 365 + 10, 18 * 365 + 300, n)],
        reference - tools.days(rng, 19 * 365, 80 * 365, n),
    ).astype("datetime64[D]")
    birth[0] = tools.d("2016-02-29" if unit_no % 2 else "1996-02-29")  # a leap-day birthday
    diagnosis = rng.choice(np.array(["specific", "unclear", "none"]), n, p=[0.5, 0.3, 0.2])
    patient_id = tools.ids("P", unit_no, n)
    earliest = birth + 7 * tools.DAY

    # --- referrals: most patients are newly referred; some twice ---------------------
    referred = rng.random(n) < 0.8
    referred[0] = True
    r_patient = np.flatnonzero(referred)
    second = r_patient[rng.random(len(r_patient)) < 0.06]
    r_patient = np.concatenate([r_patient, second])
    n_ref = len(r_patient)
    r_date = tools.between(rng, np.maximum(period_start - 60 * tools.DAY, earliest[r_patient]),
                      period_end - 15 * tools.DAY, n_ref)
    approved = rng.random(n_ref) < np.where(np.arange(n_ref) < n_ref - len(second), 0.86, 0.4)
    referrals = pd.DataFrame({"patient_no": r_patient, "referral_date": r_date, "approved": approved.astype(np.int8)})
    referrals = referrals.sort_values(["referral_date", "patient_no"], kind="stable", ignore_index=True)
    referrals["referral_id"] = tools.ids("R", unit_no, n_ref)

    # --- contacts -------------------------------------------------------------------
    # The new visit that answers a referral (§5.3): most approved referrals, a few
    # non-approved ones; not yet answered when the visit falls after the extract date.
    answer_p = np.where(referrals["approved"].to_numpy() == 1, 0.85, 0.3)
    visit_date = referrals["referral_date"].to_numpy().astype("datetime64[D]") + tools.days(rng, 10, 120, n_ref)
    answered = (rng.random(n_ref) < answer_p) & (visit_date <= extract)
    new_visits = pd.DataFrame({
        "patient_no": referrals["patient_no"].to_numpy()[answered],
        "contact_date": visit_date[answered],
        "contact_type": "new_visit",
        "referral_id": referrals["referral_id"].to_numpy()[answered],
    })
    # Return visits: every known (not newly referred) patient, some of the others.
    returning = np.flatnonzero(~referred | (rng.random(n) < 0.3))
    repeats = rng.integers(1, 4, len(returning))
    rv_patient = np.repeat(returning, repeats)
    returns = pd.DataFrame({
        "patient_no": rv_patient,
        "contact_date": tools.between(rng, np.maximum(window_start, earliest[rv_patient] + 7 * tools.DAY), extract,
                                 len(rv_patient)),
        "contact_type": "return_visit",
    })
    mdk_patient = np.flatnonzero(rng.random(n) < 0.3)
    mdk = pd.DataFrame({
        "patient_no": mdk_patient,
        "contact_date": tools.between(rng, np.maximum(window_start, earliest[mdk_patient] + 7 * tools.DAY), extract,
                                 len(mdk_patient)),
        "contact_type": "mdk",
    })
    tc_patient = np.flatnonzero(rng.random(n) < 0.1)
    conferences = pd.DataFrame({
        "patient_no": tc_patient,
        "contact_date": tools.between(rng, np.maximum(period_start, earliest[tc_patient] + 7 * tools.DAY), extract,
                                 len(tc_patient)),
        "contact_type": "treatment_conference",
    })
    contacts = pd.concat([new_visits, returns, mdk, conferences], ignore_index=True)
    is_visit = contacts["contact_type"].isin(["new_visit", "return_visit"]).to_numpy()
    contacts["visit_mode"] = np.where(is_visit, np.where(rng.random(len(contacts)) < 0.22, "digital", "physical"),
                                      None)
    contacts = contacts.sort_values(["contact_date", "patient_no", "contact_type"], kind="stable",
                                    ignore_index=True)
    contacts["contact_id"] = tools.ids("C", unit_no, len(contacts))

    # --- specific diagnosis date for unclear/none (§5.1): set at an assessment in the
    # period for some, earlier than the period for some (out of R1's denominator).
    assessment = contacts["contact_type"] != "treatment_conference"
    in_period = assessment & contacts["contact_date"].between(pd.Timestamp(period_start), pd.Timestamp(period_end))
    last_assessment = contacts.loc[in_period].groupby("patient_no")["contact_date"].max()
    last_assessment = last_assessment.reindex(range(n)).to_numpy().astype("datetime64[D]")
    draw = rng.random(n)
    before = np.maximum(tools.between(rng, tools.d("2023-01-01"), period_start - tools.DAY, n), birth + 30 * tools.DAY)
    specific_date = np.where(draw < 0.40, last_assessment, np.where(draw < 0.55, before, tools.NAT))
    specific_date = np.where(diagnosis != "specific", specific_date, tools.NAT).astype("datetime64[D]")

    # care_plan (§5.3): handed out at assessments of patients with a specific diagnosis.
    c_patient = contacts["patient_no"].to_numpy()
    c_date = contacts["contact_date"].to_numpy().astype("datetime64[D]")
    diagnosed = (diagnosis[c_patient] == "specific") | (specific_date[c_patient] <= c_date)
    plan = assessment.to_numpy() & diagnosed & (rng.random(len(contacts)) < 0.45)
    contacts["care_plan"] = tools.flag(plan)

    # --- survey (§5.4): after some visits, to the patient (adult) or a relative (child)
    visits = contacts.loc[contacts["contact_type"].isin(["new_visit", "return_visit"])
                          & (contacts["contact_date"] <= pd.Timestamp(period_end))]
    visits = visits.loc[rng.random(len(visits)) < 0.5]
    s_patient = visits["patient_no"].to_numpy()
    sent = visits["contact_date"].to_numpy().astype("datetime64[D]") + tools.days(rng, 3, 14, len(visits))
    age_years = (sent - birth[s_patient]).astype(np.int64) / 365.25
    respondent = np.where(age_years >= 18, "patient", "relative")
    response = sent + tools.days(rng, 1, 40, len(visits))
    responded = (rng.random(len(visits)) < 0.6) & (response <= extract)
    choice = rng.choice(6, len(visits), p=_ANSWER_WEIGHTS)
    # Every answer option occurs at least once per respondent kind (P1 meets them all).
    for kind in ("patient", "relative"):
        rows = np.flatnonzero(responded & (respondent == kind))[:6]
        choice[rows] = np.arange(len(rows))
    answer = np.where(respondent == "patient", np.array(ANSWER_SCALES["patient"])[choice],
                      np.array(ANSWER_SCALES["relative"])[choice])
    survey = pd.DataFrame({
        "patient_no": s_patient,
        "respondent": respondent,
        "sent_date": sent,
        "response_date": np.where(responded, response, tools.NAT),
        "answer": np.where(responded, answer, None),
    })
    survey["patient_id"] = patient_id[s_patient]
    survey = survey.sort_values(["patient_id", "sent_date"], kind="stable", ignore_index=True)
    survey = tools.drop_same_day_answers(survey)

    patients = pd.DataFrame({
        "patient_id": patient_id,
        "sex": np.where(rng.random(n) < 0.5, "K", "M"),
        "birth_date": birth,
        "home_region": tools.regions(rng, unit, n),
        "diagnosis_at_referral": diagnosis,
        "specific_diagnosis_date": specific_date,
    })
    referrals["patient_id"] = patient_id[referrals["patient_no"].to_numpy()]
    contacts["patient_id"] = patient_id[c_patient]
    referrals["approved"] = tools.flag(referrals["approved"].to_numpy())
    return {
        "patients": patients[list(columns["patients"])],
        "referrals": referrals[list(columns["referrals"])],
        "contacts": contacts[list(columns["contacts"])],
        "survey": survey[list(columns["survey"])],
    }


def deliveries(condition, seed_parts: list[int], unit: tools.SampleUnit, unit_no: int,
               scale: float) -> dict[int, dict[str, pd.DataFrame]]:
    """Every delivery D(R) of one unit: report year -> table -> frame."""
    start = np.datetime64(condition.start, "D")
    return {
        report_year: _skd_delivery(np.random.default_rng([*seed_parts, report_year]), unit, unit_no, scale,
                                   report_year, start)
        for report_year in REPORT_YEARS
    }
