"""Synthetic sct_ssc deliveries (DATA_CONTRACT.md §4), for `nhv-pipeline sample-data`.

Everything here is invented (see `nhv_pipeline.core.sample_data`). The world of each unit
(patients, referrals, transplants and their outcomes on one time line) is generated
once; each delivery D(R) is a view of it as the unit would extract it in February of R,
which keeps patients, transplants and follow-up consistent across deliveries.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from nhv_pipeline.core import sample_data as tools
from nhv_pipeline.contract.schema import model_columns

from .contract import TABLES

#: Report years the sample covers.
REPORT_YEARS = (2024, 2025, 2026)

UNITS = (
    tools.SampleUnit("sct_ssc", "akademiska", "Akademiska sjukhuset", "2023-01-01", None, ",",
                     ("03", "19", "21", "17", "18", "20", "24", "25", "22", "23")),
    tools.SampleUnit("sct_ssc", "karolinska", "Karolinska Universitetssjukhuset", "2023-01-01", None, ";",
                     ("01", "04", "09", "05", "06", "22")),
    # Permit from 2025: no delivery for measurement years 2023-2024, so no transplants
    # in the 2023 cohort, which R2 (lag 3) reads in report year 2026.
    tools.SampleUnit("sct_ssc", "sus", "Skånes universitetssjukhus", "2025-01-01", None, ",",
                     ("12", "07", "10", "08", "13")),
)

#: Outcomes placed on purpose so that R1 and R2 meet every branch of their rules even
#: at scale 1, where random deaths are rare: keyed by unit and reinfusion year.
_SCT_PLANTED_OUTCOMES: dict[str, dict[int, tuple[str, ...]]] = {
    "akademiska": {2023: ("early_related", "heart", "late_unrelated"), 2024: ("early_unrelated",)},
    "karolinska": {2023: ("early_unrelated", "lung", "kidney_after_horizon"),
                   2024: ("early_related", "kidney")},
}


@dataclass
class _SctWorld:
    patients: pd.DataFrame
    referrals: pd.DataFrame
    #: transplants with their true outcome (death, relation, organ failure dates)
    transplants: pd.DataFrame


def _sct_measurement_years(unit: tools.SampleUnit, start: np.datetime64) -> list[int]:
    permit_start = tools.d(unit.permit_start)
    years = []
    for report_year in REPORT_YEARS:
        year = report_year - 1
        start = max(tools.jan1(year), start)
        permit_end = tools.d(unit.permit_end) if unit.permit_end else tools.dec31(year)
        if permit_start <= tools.dec31(year) and permit_end >= start:
            years.append(year)
    return years


def _sct_world(rng: np.random.Generator, unit: tools.SampleUnit, unit_no: int, scale: float,
               start: np.datetime64) -> _SctWorld:
    years = _sct_measurement_years(unit, start)
    permit_start = tools.d(unit.permit_start)

    # --- transplants, 5-15 per year, built backwards from the reinfusion date ------
    reinfusion_parts, crossing_parts = [], []
    for year in years:
        n = tools.scaled(rng.integers(5, 16), scale)
        reinfusion = tools.between(rng, max(tools.jan1(year), permit_start), tools.dec31(year), n)
        # One stay per year crosses New Year: reinfused by 24 December, at least 14 days
        # admitted, so it is in D(year+1) still admitted and in D(year+2) discharged (§4.3).
        reinfusion[0] = tools.d(f"{year}-12-24") - rng.integers(0, 5) * tools.DAY
        crossing = np.zeros(n, dtype=bool)
        crossing[0] = True
        reinfusion_parts.append(reinfusion)
        crossing_parts.append(crossing)
    reinfusion = np.concatenate(reinfusion_parts)
    crossing = np.concatenate(crossing_parts)
    order = np.argsort(reinfusion, kind="stable")
    reinfusion, crossing = reinfusion[order], crossing[order]
    n_tx = len(reinfusion)

    mobilization = reinfusion - tools.days(rng, 21, 45, n_tx)
    decision = mobilization - tools.days(rng, 14, 60, n_tx)
    assessment = decision - tools.days(rng, 0, 42, n_tx)
    referral = assessment - tools.days(rng, 7, 56, n_tx)
    discharge = reinfusion + tools.days(rng, 14, 35, n_tx)
    tx_year = tools.year(reinfusion)

    # --- outcomes: rare random deaths and organ failures ------------------------------
    draw = rng.random(n_tx)
    early, late = draw < 0.03, (draw >= 0.03) & (draw < 0.07)
    death = np.full(n_tx, tools.NAT)
    death[early] = reinfusion[early] + tools.days(rng, 15, 99, int(early.sum()))
    death[late] = reinfusion[late] + tools.days(rng, 101, 1000, int(late.sum()))
    related = np.where(early, rng.random(n_tx) < 0.7, rng.random(n_tx) < 0.3)
    failures = {}
    for organ in ("heart", "lung", "kidney"):
        hit = rng.random(n_tx) < 0.04
        failures[organ] = np.where(hit, reinfusion + tools.days(rng, 30, 1000, n_tx), tools.NAT)

    # --- one patient transplanted twice (B2 counts a patient once, at the first) -------
    patient_of = np.arange(n_tx)
    reserved = crossing.copy()
    if len(years) >= 2:
        first = np.flatnonzero((tx_year == years[0]) & ~crossing)
        second = np.flatnonzero((tx_year == years[1]) & ~crossing)
        if len(first) and len(second):
            i, j = first[0], second[-1]
            if referral[j] > discharge[i] + 60 * tools.DAY:
                patient_of[j] = patient_of[i]
                reserved[[i, j]] = True
                death[[i, j]] = tools.NAT
                for organ in failures:
                    failures[organ][[i, j]] = tools.NAT

    # --- planted outcomes -------------------------------------------------------------
    for year, kinds in _SCT_PLANTED_OUTCOMES.get(unit.unit_id, {}).items():
        candidates = np.flatnonzero((tx_year == year) & ~reserved)
        chosen = rng.choice(candidates, min(len(kinds), len(candidates)), replace=False)
        for k, kind in zip(chosen, kinds):
            death[k] = tools.NAT
            for organ in failures:
                failures[organ][k] = tools.NAT
            if kind.startswith("early_"):
                death[k] = reinfusion[k] + rng.integers(20, 96) * tools.DAY
                related[k] = kind == "early_related"
            elif kind == "late_unrelated":
                death[k] = reinfusion[k] + rng.integers(250, 701) * tools.DAY
                related[k] = False
            elif kind == "kidney_after_horizon":
                failures["kidney"][k] = reinfusion[k] + rng.integers(760, 901) * tools.DAY
            else:
                low = 60 if kind == "kidney" else 100
                failures[kind][k] = reinfusion[k] + rng.integers(low, 701) * tools.DAY
    # An organ fails before death or not at all; a patient who dies during the stay
    # is discharged on the day of death.
    for organ in failures:
        failures[organ] = np.where(failures[organ] > death, tools.NAT, failures[organ])
    discharge = np.where(death < discharge, death, discharge)

    transplants = pd.DataFrame({
        "transplant_id": tools.ids("T", unit_no, n_tx),
        "patient_no": patient_of,
        "decision_date": decision,
        "mobilization_date": mobilization,
        "reinfusion_date": reinfusion,
        "discharge_date": discharge,
        "death_date": death,
        "death_transplant_related": related.astype(np.int8),
        "heart_failure_date": failures["heart"],
        "lung_failure_date": failures["lung"],
        "kidney_failure_date": failures["kidney"],
    })

    # --- referrals: one behind each transplant, plus the others of each year -----------
    linked = pd.DataFrame({
        "patient_no": patient_of,
        "referral_date": referral,
        "assessment_date": assessment,
        "decision_date": decision,
        "sct_offered": np.ones(n_tx, dtype=np.int8),
        "care_plan": (rng.random(n_tx) < 0.8).astype(np.int8),
    })
    next_patient = n_tx
    other_parts = []
    assessed_year = tools.year(assessment)
    for y_index, year in enumerate(years):
        target = tools.scaled(rng.integers(20, 41), scale)
        n_other = max(target - int((assessed_year == year).sum()), tools.scaled(4, scale), 2)
        n_unassessed = max(1, n_other // 15)
        n_assessed = n_other - n_unassessed
        o_assessment = tools.between(rng, max(tools.jan1(year), permit_start), tools.dec31(year), n_assessed)
        o_referral = o_assessment - tools.days(rng, 7, 56, n_assessed)
        # A referral received in the previous autumn, assessed in January: dated
        # outside the measurement year (DATA_CONTRACT.md §1).
        o_assessment[0] = tools.jan1(year) + rng.integers(2, 21) * tools.DAY
        o_referral[0] = o_assessment[0] - rng.integers(25, 41) * tools.DAY
        o_referral = np.concatenate([o_referral, tools.between(rng, tools.jan1(year), tools.dec31(year), n_unassessed)])
        o_assessment = np.concatenate([o_assessment, np.full(n_unassessed, tools.NAT)])
        assessed = ~np.isnat(o_assessment)
        decided = assessed & (rng.random(n_other) < 0.8)
        o_decision = np.where(decided, o_assessment + tools.days(rng, 0, 60, n_other), tools.NAT)
        # Patients referred again after an earlier, non-transplant referral.
        patients = np.arange(next_patient, next_patient + n_other)
        if y_index > 0 and other_parts:
            pool = pd.concat(other_parts)
            pool = pool.loc[pool["assessment_date"] < np.datetime64(tools.jan1(year) - 120 * tools.DAY), "patient_no"]
            pool = np.unique(pool.to_numpy())
            again = np.flatnonzero(rng.random(n_other) < 0.08)[: len(pool)]
            patients[again] = rng.choice(pool, len(again), replace=False)
        next_patient += n_other
        other_parts.append(pd.DataFrame({
            "patient_no": patients,
            "referral_date": o_referral,
            "assessment_date": o_assessment,
            "decision_date": o_decision,
            "sct_offered": (rng.random(n_other) < 0.2).astype(np.int8),
            "care_plan": (rng.random(n_other) < 0.7).astype(np.int8),
        }))
    referrals = pd.concat([linked, *other_parts], ignore_index=True)
    referrals = referrals.sort_values(["referral_date", "patient_no"], kind="stable", ignore_index=True)
    referrals.insert(0, "referral_id", tools.ids("R", unit_no, len(referrals)))

    # --- patients: adults 22-68 years at their first referral --------------------------
    first_event = referrals.groupby("patient_no")["referral_date"].min()
    n_pat = len(first_event)
    birth = first_event.to_numpy().astype("datetime64[D]") - tools.days(rng, 22 * 365, 68 * 365, n_pat)
    if unit_no == 1:
        birth[0] = tools.d("1976-02-29")  # a leap-day birthday (INDICATORS.md §1, age rule)
    patients = pd.DataFrame({
        "patient_no": first_event.index.to_numpy(),
        "patient_id": tools.ids("P", unit_no, n_pat),
        "sex": np.where(rng.random(n_pat) < 0.75, "K", "M"),
        "birth_date": birth,
        "home_region": tools.regions(rng, unit, n_pat),
    })
    ids = patients.set_index("patient_no")["patient_id"]
    referrals["patient_id"] = referrals["patient_no"].map(ids)
    transplants["patient_id"] = transplants["patient_no"].map(ids)
    return _SctWorld(patients, referrals, transplants)


def _sct_delivery(rng: np.random.Generator, world: _SctWorld, report_year: int) -> dict[str, pd.DataFrame]:
    """The unit's extract for ``report_year``: D(R) of INDICATORS.md §1."""
    year = report_year - 1
    extract = tools.extract_date(report_year)
    columns = {table: model_columns(model) for table, model in TABLES.items()}

    # referrals.csv: the referrals assessed in the measurement year (unassessed ones by
    # referral date); a decision taken after the extract date is not known yet.
    ref = world.referrals
    key_date = ref["assessment_date"].fillna(ref["referral_date"])
    ref = ref.loc[key_date.dt.year == year].copy()
    known = ref["decision_date"].notna() & (ref["decision_date"] <= pd.Timestamp(extract))
    ref["decision_date"] = ref["decision_date"].where(known)
    ref["sct_offered"] = tools.flag(ref["sct_offered"].to_numpy(), known.to_numpy())
    ref["care_plan"] = tools.flag(ref["care_plan"].to_numpy(), ref["assessment_date"].notna().to_numpy())
    ref = ref.reset_index(drop=True)

    # transplants.csv (§4.3): reinfused in R-1, or discharged in R-1. A stay still
    # running at New Year has an empty discharge date here and is filled in D(R+1).
    tx_all = world.transplants
    tx = tx_all.loc[(tx_all["reinfusion_date"].dt.year == year)
                    | (tx_all["discharge_date"].dt.year == year)].copy()
    tx["discharge_date"] = tx["discharge_date"].where(tx["discharge_date"] <= pd.Timestamp(tools.dec31(year)))
    tx = tx.reset_index(drop=True)

    # followup.csv (§4.5): every transplant reinfused in R-3..R-1, status as known on a
    # day between mid-November and the extract date. Alive patients of the R2 cohort are
    # followed at least to the two-year horizon (completeness rule, INDICATORS.md §2).
    fu = tx_all.loc[tx_all["reinfusion_date"].dt.year.between(report_year - 3, year)].copy()
    n_fu = len(fu)
    reinfusion = fu["reinfusion_date"].to_numpy().astype("datetime64[D]")
    known_until = np.maximum(tools.between(rng, tools.d(f"{year}-11-15"), extract, n_fu), reinfusion + 7 * tools.DAY)
    r2_cohort = tools.year(reinfusion) == report_year - 3
    known_until = np.where(r2_cohort, np.maximum(known_until, reinfusion + 730 * tools.DAY), known_until)
    death = fu["death_date"].to_numpy().astype("datetime64[D]")
    dead = death <= known_until
    last = np.where(dead, death, known_until)
    fu["last_followup_date"] = last
    fu["death_date"] = np.where(dead, death, tools.NAT)
    fu["death_transplant_related"] = tools.flag(fu["death_transplant_related"].to_numpy(), dead)
    for organ in ("heart", "lung", "kidney"):
        column = f"{organ}_failure_date"
        dates = fu[column].to_numpy().astype("datetime64[D]")
        fu[column] = np.where(dates <= last, dates, tools.NAT)
    fu = fu.reset_index(drop=True)

    # survey.csv (§4.4): sent after an assessment or after discharge from the transplant stay.
    assessed = ref.loc[ref["assessment_date"].notna()]
    after_assessment = assessed.loc[rng.random(len(assessed)) < 0.5]
    a_sent = after_assessment["assessment_date"].to_numpy().astype("datetime64[D]") \
        + tools.days(rng, 7, 28, len(after_assessment))
    discharged = tx.loc[tx["discharge_date"].notna()]
    d_sent = discharged["discharge_date"].to_numpy().astype("datetime64[D]") + tools.days(rng, 14, 30, len(discharged))
    alive = ~(discharged["death_date"].to_numpy().astype("datetime64[D]") <= d_sent)
    survey = pd.DataFrame({
        "patient_id": np.concatenate([after_assessment["patient_id"].to_numpy(),
                                      discharged["patient_id"].to_numpy()[alive]]),
        "sent_date": np.concatenate([a_sent, d_sent[alive]]),
    })
    response = survey["sent_date"].to_numpy().astype("datetime64[D]") + tools.days(rng, 1, 45, len(survey))
    answered = (rng.random(len(survey)) < 0.65) & (response <= extract)
    survey["response_date"] = np.where(answered, response, tools.NAT)
    survey = survey.sort_values(["patient_id", "sent_date"], kind="stable", ignore_index=True)
    survey = tools.drop_same_day_answers(survey)

    # patients.csv (§4.1): one row per patient appearing in any table of the delivery.
    present = pd.concat([ref["patient_id"], tx["patient_id"], fu["patient_id"], survey["patient_id"]])
    patients = world.patients.loc[world.patients["patient_id"].isin(present)]

    return {
        "patients": patients.sort_values("patient_id")[list(columns["patients"])],
        "referrals": ref.sort_values("referral_id")[list(columns["referrals"])],
        "transplants": tx.sort_values("transplant_id")[list(columns["transplants"])],
        "survey": survey[list(columns["survey"])],
        "followup": fu.sort_values("transplant_id")[list(columns["followup"])],
    }


def deliveries(condition, seed_parts: list[int], unit: tools.SampleUnit, unit_no: int,
               scale: float) -> dict[int, dict[str, pd.DataFrame]]:
    """Every delivery D(R) of one unit: report year -> table -> frame."""
    start = np.datetime64(condition.start, "D")
    world = _sct_world(np.random.default_rng(seed_parts), unit, unit_no, scale, start)
    return {
        year + 1: _sct_delivery(np.random.default_rng([*seed_parts, year + 1]), world, year + 1)
        for year in _sct_measurement_years(unit, start)
    }
