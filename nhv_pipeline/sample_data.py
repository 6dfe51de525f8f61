"""Seeded synthetic sample deliveries: a complete ``data_raw/`` tree.

Everything written here is invented. No row describes a real person: identifiers are
``P`` + digits, dates and codes are drawn from a seeded ``numpy`` generator, so the
same ``seed`` and ``scale`` always give byte-identical files.

The tree follows ``DATA_CONTRACT.md`` (layout §1, file format §2, identifiers §3,
tables §4 and §5) and is shaped so that every indicator of ``INDICATORS.md`` has
something to count, including the edge cases the rules single out: rows dated outside
the measurement year, a transplant whose stay crosses New Year (it is carried into
the next delivery, §4.3), deaths within 100 days with and without relation to the
transplant (R1), organ failures before and after the two-year horizon (R2), children
under one year and 17/18-year-olds (skeletal dysplasia B3), specific diagnoses dated
in and before the period (R1), every survey answer including "no opinion" (P1), and a
unit without a permit in a cohort year.

The world of each unit is generated once (patients, referrals, transplants and their
outcomes on a continuous time line); each delivery D(R) is then a *view* of that world
as the unit would extract it in February of R. That is what keeps patients,
transplants and follow-up consistent across deliveries of one unit.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

DEFAULT_SEED = 20260331

DAY = np.timedelta64(1, "D")
NAT = np.datetime64("NaT", "D")


def _d(text: str) -> np.datetime64:
    return np.datetime64(text, "D")


# ---------------------------------------------------------------------------
# Registry (DATA_CONTRACT.md §1, units.csv) and table layouts (§4, §5)
# ---------------------------------------------------------------------------

#: Two-digit county codes of DATA_CONTRACT.md §3; ``99`` = not registered in Sweden.
REGION_CODES = (
    "01", "03", "04", "05", "06", "07", "08", "09", "10", "12", "13",
    "14", "17", "18", "19", "20", "21", "22", "23", "24", "25",
)
NOT_REGISTERED = "99"


@dataclass(frozen=True)
class SampleUnit:
    """One NHV unit of the sample registry and how its synthetic extracts look."""

    condition_id: str
    unit_id: str
    unit_name: str
    permit_start: str
    permit_end: str | None
    #: ``;`` for a unit that exports from Swedish Excel (DATA_CONTRACT.md §2).
    delimiter: str
    #: home regions of the unit's catchment, most frequent first
    catchment: tuple[str, ...]


SAMPLE_UNITS: tuple[SampleUnit, ...] = (
    SampleUnit("sct_ssc", "akademiska", "Akademiska sjukhuset", "2023-01-01", None, ",",
               ("03", "19", "21", "17", "18", "20", "24", "25", "22", "23")),
    SampleUnit("sct_ssc", "karolinska", "Karolinska Universitetssjukhuset", "2023-01-01", None, ";",
               ("01", "04", "09", "05", "06", "22")),
    # Permit from 2025: no delivery for measurement years 2023-2024, so no transplants
    # in the 2023 cohort, which R2 (lag 3) reads in report year 2026.
    SampleUnit("sct_ssc", "sus", "Skånes universitetssjukhus", "2025-01-01", None, ",",
               ("12", "07", "10", "08", "13")),
    SampleUnit("skeletal_dysplasia", "karolinska_sd", "Karolinska Universitetssjukhuset",
               "2025-09-01", None, ",", ("01", "03", "04", "09", "05", "21", "19", "22", "25")),
    SampleUnit("skeletal_dysplasia", "sahlgrenska_sd", "Sahlgrenska Universitetssjukhuset",
               "2025-09-01", None, ";", ("14", "13", "17", "06", "12", "07", "08", "10", "18")),
)

#: Condition start (INDICATORS.md §1).
CONDITION_START = {"sct_ssc": _d("2023-01-01"), "skeletal_dysplasia": _d("2025-09-01")}

#: Report years the sample covers per condition.
SAMPLE_REPORT_YEARS: dict[str, tuple[int, ...]] = {
    "sct_ssc": (2024, 2025, 2026),
    "skeletal_dysplasia": (2026,),
}

#: Column order of every table (DATA_CONTRACT.md §4, §5).
TABLE_COLUMNS: dict[str, dict[str, tuple[str, ...]]] = {
    "sct_ssc": {
        "patients": ("patient_id", "sex", "birth_date", "home_region"),
        "referrals": ("referral_id", "patient_id", "referral_date", "assessment_date",
                      "decision_date", "sct_offered", "care_plan"),
        "transplants": ("transplant_id", "patient_id", "decision_date", "mobilization_date",
                        "reinfusion_date", "discharge_date"),
        "survey": ("patient_id", "sent_date", "response_date"),
        "followup": ("transplant_id", "patient_id", "last_followup_date", "death_date",
                     "death_transplant_related", "heart_failure_date", "lung_failure_date",
                     "kidney_failure_date"),
    },
    "skeletal_dysplasia": {
        "patients": ("patient_id", "sex", "birth_date", "home_region", "diagnosis_at_referral",
                     "specific_diagnosis_date"),
        "referrals": ("referral_id", "patient_id", "referral_date", "approved"),
        "contacts": ("contact_id", "patient_id", "contact_date", "contact_type", "visit_mode",
                     "referral_id", "care_plan"),
        "survey": ("patient_id", "respondent", "sent_date", "response_date", "answer"),
    },
}

#: Survey answer options per respondent (DATA_CONTRACT.md §5.4), scale order.
SURVEY_ANSWERS = {
    "relative": ("Aldrig", "Sällan", "Ibland", "Ofta", "Alltid", "Ej aktuellt/Ingen uppfattning"),
    "patient": ("Nej, inte alls", "Nej, knappast", "I viss mån", "Ja, i stort sett",
                "Ja, helt och hållet", "Ingen uppfattning"),
}
_ANSWER_WEIGHTS = np.array([0.04, 0.08, 0.2, 0.33, 0.28, 0.07])


@dataclass(frozen=True)
class GenerationSummary:
    """What :func:`generate` wrote."""

    out_dir: Path
    seed: int
    scale: float
    #: every file written, relative to ``out_dir``, sorted
    files: tuple[Path, ...]
    #: data rows (header excluded) per (condition_id, report_year, table), all units summed
    rows: Mapping[tuple[str, int, str], int]
    #: data rows per (condition_id, report_year, unit_id, table)
    unit_rows: Mapping[tuple[str, int, str, str], int]

    @property
    def files_written(self) -> int:
        return len(self.files)

    def __str__(self) -> str:
        """One line for the CLI: files, rows per condition, seed and scale."""
        totals: dict[str, int] = {}
        for (condition_id, _report_year, _table), count in self.rows.items():
            totals[condition_id] = totals.get(condition_id, 0) + count
        rows = ", ".join(f"{condition_id} {count} rows" for condition_id, count in sorted(totals.items()))
        return f"{self.files_written} files; {rows}; seed {self.seed}, scale {self.scale:g}"


# ---------------------------------------------------------------------------
# Small vectorised helpers
# ---------------------------------------------------------------------------

def _scaled(n: int, scale: float) -> int:
    return max(1, int(round(int(n) * scale)))


def _days(rng: np.random.Generator, lo: int, hi: int, size: int) -> np.ndarray:
    """Whole-day offsets drawn uniformly from lo..hi, both included."""
    return rng.integers(lo, hi + 1, size).astype("timedelta64[D]")


def _between(rng: np.random.Generator, lo, hi, size: int) -> np.ndarray:
    """Dates drawn uniformly from lo..hi (scalars or arrays), both included."""
    lo = np.broadcast_to(np.asarray(lo, dtype="datetime64[D]"), (size,))
    hi = np.broadcast_to(np.asarray(hi, dtype="datetime64[D]"), (size,))
    span = (hi - lo).astype(np.int64) + 1
    return lo + (rng.random(size) * span).astype(np.int64).astype("timedelta64[D]")


def _year(dates: np.ndarray) -> np.ndarray:
    """Calendar year of each date; NaT gives -1."""
    years = dates.astype("datetime64[Y]").astype(np.int64) + 1970
    return np.where(np.isnat(dates), -1, years)


def _jan1(year: int) -> np.datetime64:
    return _d(f"{year}-01-01")


def _dec31(year: int) -> np.datetime64:
    return _d(f"{year}-12-31")


def _extract_date(report_year: int) -> np.datetime64:
    """The day a unit cuts its extract for the March delivery of ``report_year``.

    Events after it are not yet known to the delivery (a decision taken later is
    empty, an unanswered survey has no response date).
    """
    return _d(f"{report_year}-02-15")


def _flag(values: np.ndarray, present: np.ndarray | None = None) -> pd.arrays.IntegerArray:
    """A 1/0 column; empty where ``present`` is False (the contract's "iff" columns).

    An array, not a Series, so that assigning it never aligns on a filtered index.
    """
    values = np.asarray(values, dtype=np.int8)
    missing = np.zeros(len(values), dtype=bool) if present is None else ~np.asarray(present, dtype=bool)
    return pd.arrays.IntegerArray(values, missing)


def _regions(rng: np.random.Generator, unit: SampleUnit, size: int) -> np.ndarray:
    """Home regions: mostly the catchment, some from the whole country, a few ``99``."""
    weights = 1.0 / np.arange(1, len(unit.catchment) + 1)
    local = rng.choice(np.array(unit.catchment), size, p=weights / weights.sum())
    national = rng.choice(np.array(REGION_CODES), size)
    draw = rng.random(size)
    return np.where(draw < 0.84, local, np.where(draw < 0.965, national, NOT_REGISTERED))


def _ids(prefix: str, unit_no: int, count: int, start: int = 0) -> np.ndarray:
    """Pseudonymous ids ``<prefix><6+ digits>``: letters first, so never a personnummer (§3)."""
    numbers = unit_no * 100_000 + start + np.arange(1, count + 1)
    return np.char.add(prefix, np.char.zfill(numbers.astype(str), 6))


def _drop_same_day_answers(survey: pd.DataFrame) -> pd.DataFrame:
    """Keep one answer per patient and response date (INDICATORS.md §3 P1: two is an error)."""
    duplicate = survey["response_date"].notna() & survey.duplicated(["patient_id", "response_date"])
    return survey.loc[~duplicate].reset_index(drop=True)


# ---------------------------------------------------------------------------
# sct_ssc (DATA_CONTRACT.md §4)
# ---------------------------------------------------------------------------

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


def _sct_measurement_years(unit: SampleUnit) -> list[int]:
    permit_start = _d(unit.permit_start)
    years = []
    for report_year in SAMPLE_REPORT_YEARS["sct_ssc"]:
        year = report_year - 1
        start = max(_jan1(year), CONDITION_START["sct_ssc"])
        permit_end = _d(unit.permit_end) if unit.permit_end else _dec31(year)
        if permit_start <= _dec31(year) and permit_end >= start:
            years.append(year)
    return years


def _sct_world(rng: np.random.Generator, unit: SampleUnit, unit_no: int, scale: float) -> _SctWorld:
    years = _sct_measurement_years(unit)
    permit_start = _d(unit.permit_start)

    # --- transplants, 5-15 per year, built backwards from the reinfusion date ------
    reinfusion_parts, crossing_parts = [], []
    for year in years:
        n = _scaled(rng.integers(5, 16), scale)
        reinfusion = _between(rng, max(_jan1(year), permit_start), _dec31(year), n)
        # One stay per year crosses New Year: reinfused by 24 December, at least 14 days
        # admitted, so it is in D(year+1) still admitted and in D(year+2) discharged (§4.3).
        reinfusion[0] = _d(f"{year}-12-24") - rng.integers(0, 5) * DAY
        crossing = np.zeros(n, dtype=bool)
        crossing[0] = True
        reinfusion_parts.append(reinfusion)
        crossing_parts.append(crossing)
    reinfusion = np.concatenate(reinfusion_parts)
    crossing = np.concatenate(crossing_parts)
    order = np.argsort(reinfusion, kind="stable")
    reinfusion, crossing = reinfusion[order], crossing[order]
    n_tx = len(reinfusion)

    mobilization = reinfusion - _days(rng, 21, 45, n_tx)
    decision = mobilization - _days(rng, 14, 60, n_tx)
    assessment = decision - _days(rng, 0, 42, n_tx)
    referral = assessment - _days(rng, 7, 56, n_tx)
    discharge = reinfusion + _days(rng, 14, 35, n_tx)
    tx_year = _year(reinfusion)

    # --- outcomes: rare random deaths and organ failures ------------------------------
    draw = rng.random(n_tx)
    early, late = draw < 0.03, (draw >= 0.03) & (draw < 0.07)
    death = np.full(n_tx, NAT)
    death[early] = reinfusion[early] + _days(rng, 15, 99, int(early.sum()))
    death[late] = reinfusion[late] + _days(rng, 101, 1000, int(late.sum()))
    related = np.where(early, rng.random(n_tx) < 0.7, rng.random(n_tx) < 0.3)
    failures = {}
    for organ in ("heart", "lung", "kidney"):
        hit = rng.random(n_tx) < 0.04
        failures[organ] = np.where(hit, reinfusion + _days(rng, 30, 1000, n_tx), NAT)

    # --- one patient transplanted twice (B2 counts a patient once, at the first) -------
    patient_of = np.arange(n_tx)
    reserved = crossing.copy()
    if len(years) >= 2:
        first = np.flatnonzero((tx_year == years[0]) & ~crossing)
        second = np.flatnonzero((tx_year == years[1]) & ~crossing)
        if len(first) and len(second):
            i, j = first[0], second[-1]
            if referral[j] > discharge[i] + 60 * DAY:
                patient_of[j] = patient_of[i]
                reserved[[i, j]] = True
                death[[i, j]] = NAT
                for organ in failures:
                    failures[organ][[i, j]] = NAT

    # --- planted outcomes -------------------------------------------------------------
    for year, kinds in _SCT_PLANTED_OUTCOMES.get(unit.unit_id, {}).items():
        candidates = np.flatnonzero((tx_year == year) & ~reserved)
        chosen = rng.choice(candidates, min(len(kinds), len(candidates)), replace=False)
        for k, kind in zip(chosen, kinds):
            death[k] = NAT
            for organ in failures:
                failures[organ][k] = NAT
            if kind.startswith("early_"):
                death[k] = reinfusion[k] + rng.integers(20, 96) * DAY
                related[k] = kind == "early_related"
            elif kind == "late_unrelated":
                death[k] = reinfusion[k] + rng.integers(250, 701) * DAY
                related[k] = False
            elif kind == "kidney_after_horizon":
                failures["kidney"][k] = reinfusion[k] + rng.integers(760, 901) * DAY
            else:
                low = 60 if kind == "kidney" else 100
                failures[kind][k] = reinfusion[k] + rng.integers(low, 701) * DAY
    # An organ fails before death or not at all; a patient who dies during the stay
    # is discharged on the day of death.
    for organ in failures:
        failures[organ] = np.where(failures[organ] > death, NAT, failures[organ])
    discharge = np.where(death < discharge, death, discharge)

    transplants = pd.DataFrame({
        "transplant_id": _ids("T", unit_no, n_tx),
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
    assessed_year = _year(assessment)
    for y_index, year in enumerate(years):
        target = _scaled(rng.integers(20, 41), scale)
        n_other = max(target - int((assessed_year == year).sum()), _scaled(4, scale), 2)
        n_unassessed = max(1, n_other // 15)
        n_assessed = n_other - n_unassessed
        o_assessment = _between(rng, max(_jan1(year), permit_start), _dec31(year), n_assessed)
        o_referral = o_assessment - _days(rng, 7, 56, n_assessed)
        # A referral received in the previous autumn, assessed in January: dated
        # outside the measurement year (DATA_CONTRACT.md §1).
        o_assessment[0] = _jan1(year) + rng.integers(2, 21) * DAY
        o_referral[0] = o_assessment[0] - rng.integers(25, 41) * DAY
        o_referral = np.concatenate([o_referral, _between(rng, _jan1(year), _dec31(year), n_unassessed)])
        o_assessment = np.concatenate([o_assessment, np.full(n_unassessed, NAT)])
        assessed = ~np.isnat(o_assessment)
        decided = assessed & (rng.random(n_other) < 0.8)
        o_decision = np.where(decided, o_assessment + _days(rng, 0, 60, n_other), NAT)
        # Patients referred again after an earlier, non-transplant referral.
        patients = np.arange(next_patient, next_patient + n_other)
        if y_index > 0 and other_parts:
            pool = pd.concat(other_parts)
            pool = pool.loc[pool["assessment_date"] < np.datetime64(_jan1(year) - 120 * DAY), "patient_no"]
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
    referrals.insert(0, "referral_id", _ids("R", unit_no, len(referrals)))

    # --- patients: adults 22-68 years at their first referral --------------------------
    first_event = referrals.groupby("patient_no")["referral_date"].min()
    n_pat = len(first_event)
    birth = first_event.to_numpy().astype("datetime64[D]") - _days(rng, 22 * 365, 68 * 365, n_pat)
    if unit_no == 1:
        birth[0] = _d("1976-02-29")  # a leap-day birthday (INDICATORS.md §1, age rule)
    patients = pd.DataFrame({
        "patient_no": first_event.index.to_numpy(),
        "patient_id": _ids("P", unit_no, n_pat),
        "sex": np.where(rng.random(n_pat) < 0.75, "K", "M"),
        "birth_date": birth,
        "home_region": _regions(rng, unit, n_pat),
    })
    ids = patients.set_index("patient_no")["patient_id"]
    referrals["patient_id"] = referrals["patient_no"].map(ids)
    transplants["patient_id"] = transplants["patient_no"].map(ids)
    return _SctWorld(patients, referrals, transplants)


def _sct_delivery(rng: np.random.Generator, world: _SctWorld, report_year: int) -> dict[str, pd.DataFrame]:
    """The unit's extract for ``report_year``: D(R) of INDICATORS.md §1."""
    year = report_year - 1
    extract = _extract_date(report_year)
    columns = TABLE_COLUMNS["sct_ssc"]

    # referrals.csv: the referrals assessed in the measurement year (unassessed ones by
    # referral date); a decision taken after the extract date is not known yet.
    ref = world.referrals
    key_date = ref["assessment_date"].fillna(ref["referral_date"])
    ref = ref.loc[key_date.dt.year == year].copy()
    known = ref["decision_date"].notna() & (ref["decision_date"] <= pd.Timestamp(extract))
    ref["decision_date"] = ref["decision_date"].where(known)
    ref["sct_offered"] = _flag(ref["sct_offered"].to_numpy(), known.to_numpy())
    ref["care_plan"] = _flag(ref["care_plan"].to_numpy(), ref["assessment_date"].notna().to_numpy())
    ref = ref.reset_index(drop=True)

    # transplants.csv (§4.3): reinfused in R-1, or discharged in R-1. A stay still
    # running at New Year has an empty discharge date here and is filled in D(R+1).
    tx_all = world.transplants
    tx = tx_all.loc[(tx_all["reinfusion_date"].dt.year == year)
                    | (tx_all["discharge_date"].dt.year == year)].copy()
    tx["discharge_date"] = tx["discharge_date"].where(tx["discharge_date"] <= pd.Timestamp(_dec31(year)))
    tx = tx.reset_index(drop=True)

    # followup.csv (§4.5): every transplant reinfused in R-3..R-1, status as known on a
    # day between mid-November and the extract date. Alive patients of the R2 cohort are
    # followed at least to the two-year horizon (completeness rule, INDICATORS.md §2).
    fu = tx_all.loc[tx_all["reinfusion_date"].dt.year.between(report_year - 3, year)].copy()
    n_fu = len(fu)
    reinfusion = fu["reinfusion_date"].to_numpy().astype("datetime64[D]")
    known_until = np.maximum(_between(rng, _d(f"{year}-11-15"), extract, n_fu), reinfusion + 7 * DAY)
    r2_cohort = _year(reinfusion) == report_year - 3
    known_until = np.where(r2_cohort, np.maximum(known_until, reinfusion + 730 * DAY), known_until)
    death = fu["death_date"].to_numpy().astype("datetime64[D]")
    dead = death <= known_until
    last = np.where(dead, death, known_until)
    fu["last_followup_date"] = last
    fu["death_date"] = np.where(dead, death, NAT)
    fu["death_transplant_related"] = _flag(fu["death_transplant_related"].to_numpy(), dead)
    for organ in ("heart", "lung", "kidney"):
        column = f"{organ}_failure_date"
        dates = fu[column].to_numpy().astype("datetime64[D]")
        fu[column] = np.where(dates <= last, dates, NAT)
    fu = fu.reset_index(drop=True)

    # survey.csv (§4.4): sent after an assessment or after discharge from the transplant stay.
    assessed = ref.loc[ref["assessment_date"].notna()]
    after_assessment = assessed.loc[rng.random(len(assessed)) < 0.5]
    a_sent = after_assessment["assessment_date"].to_numpy().astype("datetime64[D]") \
        + _days(rng, 7, 28, len(after_assessment))
    discharged = tx.loc[tx["discharge_date"].notna()]
    d_sent = discharged["discharge_date"].to_numpy().astype("datetime64[D]") + _days(rng, 14, 30, len(discharged))
    alive = ~(discharged["death_date"].to_numpy().astype("datetime64[D]") <= d_sent)
    survey = pd.DataFrame({
        "patient_id": np.concatenate([after_assessment["patient_id"].to_numpy(),
                                      discharged["patient_id"].to_numpy()[alive]]),
        "sent_date": np.concatenate([a_sent, d_sent[alive]]),
    })
    response = survey["sent_date"].to_numpy().astype("datetime64[D]") + _days(rng, 1, 45, len(survey))
    answered = (rng.random(len(survey)) < 0.65) & (response <= extract)
    survey["response_date"] = np.where(answered, response, NAT)
    survey = survey.sort_values(["patient_id", "sent_date"], kind="stable", ignore_index=True)
    survey = _drop_same_day_answers(survey)

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


# ---------------------------------------------------------------------------
# skeletal_dysplasia (DATA_CONTRACT.md §5)
# ---------------------------------------------------------------------------

def _skd_delivery(rng: np.random.Generator, unit: SampleUnit, unit_no: int, scale: float,
                  report_year: int) -> dict[str, pd.DataFrame]:
    period_start = max(_jan1(report_year - 1), CONDITION_START["skeletal_dysplasia"])
    period_end = _dec31(report_year - 1)
    extract = _extract_date(report_year)
    window_start = period_start - 31 * DAY  # the extract reaches a month before the period
    columns = TABLE_COLUMNS["skeletal_dysplasia"]

    # --- patients: infants, children, 17/18-year-olds at the child/adult boundary, adults
    n = _scaled(rng.integers(100, 201), scale)
    group = rng.choice(4, n, p=[0.08, 0.40, 0.10, 0.42])
    reference = period_start + 45 * DAY
    birth = np.select(
        [group == 0, group == 1, group == 2],
        [_between(rng, reference - 300 * DAY, reference - 75 * DAY, n),
         reference - _days(rng, 366, 16 * 365, n),
         reference - _days(rng, 17 * 365 + 10, 18 * 365 + 300, n)],
        reference - _days(rng, 19 * 365, 80 * 365, n),
    ).astype("datetime64[D]")
    birth[0] = _d("2016-02-29" if unit_no % 2 else "1996-02-29")  # a leap-day birthday
    diagnosis = rng.choice(np.array(["specific", "unclear", "none"]), n, p=[0.5, 0.3, 0.2])
    patient_id = _ids("P", unit_no, n)
    earliest = birth + 7 * DAY

    # --- referrals: most patients are newly referred; some twice ---------------------
    referred = rng.random(n) < 0.8
    referred[0] = True
    r_patient = np.flatnonzero(referred)
    second = r_patient[rng.random(len(r_patient)) < 0.06]
    r_patient = np.concatenate([r_patient, second])
    n_ref = len(r_patient)
    r_date = _between(rng, np.maximum(period_start - 60 * DAY, earliest[r_patient]),
                      period_end - 15 * DAY, n_ref)
    approved = rng.random(n_ref) < np.where(np.arange(n_ref) < n_ref - len(second), 0.86, 0.4)
    referrals = pd.DataFrame({"patient_no": r_patient, "referral_date": r_date, "approved": approved.astype(np.int8)})
    referrals = referrals.sort_values(["referral_date", "patient_no"], kind="stable", ignore_index=True)
    referrals["referral_id"] = _ids("R", unit_no, n_ref)

    # --- contacts -------------------------------------------------------------------
    # The new visit that answers a referral (§5.3): most approved referrals, a few
    # non-approved ones; not yet answered when the visit falls after the extract date.
    answer_p = np.where(referrals["approved"].to_numpy() == 1, 0.85, 0.3)
    visit_date = referrals["referral_date"].to_numpy().astype("datetime64[D]") + _days(rng, 10, 120, n_ref)
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
        "contact_date": _between(rng, np.maximum(window_start, earliest[rv_patient] + 7 * DAY), extract,
                                 len(rv_patient)),
        "contact_type": "return_visit",
    })
    mdk_patient = np.flatnonzero(rng.random(n) < 0.3)
    mdk = pd.DataFrame({
        "patient_no": mdk_patient,
        "contact_date": _between(rng, np.maximum(window_start, earliest[mdk_patient] + 7 * DAY), extract,
                                 len(mdk_patient)),
        "contact_type": "mdk",
    })
    tc_patient = np.flatnonzero(rng.random(n) < 0.1)
    conferences = pd.DataFrame({
        "patient_no": tc_patient,
        "contact_date": _between(rng, np.maximum(period_start, earliest[tc_patient] + 7 * DAY), extract,
                                 len(tc_patient)),
        "contact_type": "treatment_conference",
    })
    contacts = pd.concat([new_visits, returns, mdk, conferences], ignore_index=True)
    is_visit = contacts["contact_type"].isin(["new_visit", "return_visit"]).to_numpy()
    contacts["visit_mode"] = np.where(is_visit, np.where(rng.random(len(contacts)) < 0.22, "digital", "physical"),
                                      None)
    contacts = contacts.sort_values(["contact_date", "patient_no", "contact_type"], kind="stable",
                                    ignore_index=True)
    contacts["contact_id"] = _ids("C", unit_no, len(contacts))

    # --- specific diagnosis date for unclear/none (§5.1): set at an assessment in the
    # period for some, earlier than the period for some (out of R1's denominator).
    assessment = contacts["contact_type"] != "treatment_conference"
    in_period = assessment & contacts["contact_date"].between(pd.Timestamp(period_start), pd.Timestamp(period_end))
    last_assessment = contacts.loc[in_period].groupby("patient_no")["contact_date"].max()
    last_assessment = last_assessment.reindex(range(n)).to_numpy().astype("datetime64[D]")
    draw = rng.random(n)
    before = np.maximum(_between(rng, _d("2023-01-01"), period_start - DAY, n), birth + 30 * DAY)
    specific_date = np.where(draw < 0.40, last_assessment, np.where(draw < 0.55, before, NAT))
    specific_date = np.where(diagnosis != "specific", specific_date, NAT).astype("datetime64[D]")

    # care_plan (§5.3): handed out at assessments of patients with a specific diagnosis.
    c_patient = contacts["patient_no"].to_numpy()
    c_date = contacts["contact_date"].to_numpy().astype("datetime64[D]")
    diagnosed = (diagnosis[c_patient] == "specific") | (specific_date[c_patient] <= c_date)
    plan = assessment.to_numpy() & diagnosed & (rng.random(len(contacts)) < 0.45)
    contacts["care_plan"] = _flag(plan)

    # --- survey (§5.4): after some visits, to the patient (adult) or a relative (child)
    visits = contacts.loc[contacts["contact_type"].isin(["new_visit", "return_visit"])
                          & (contacts["contact_date"] <= pd.Timestamp(period_end))]
    visits = visits.loc[rng.random(len(visits)) < 0.5]
    s_patient = visits["patient_no"].to_numpy()
    sent = visits["contact_date"].to_numpy().astype("datetime64[D]") + _days(rng, 3, 14, len(visits))
    age_years = (sent - birth[s_patient]).astype(np.int64) / 365.25
    respondent = np.where(age_years >= 18, "patient", "relative")
    response = sent + _days(rng, 1, 40, len(visits))
    responded = (rng.random(len(visits)) < 0.6) & (response <= extract)
    choice = rng.choice(6, len(visits), p=_ANSWER_WEIGHTS)
    # Every answer option occurs at least once per respondent kind (P1 meets them all).
    for kind in ("patient", "relative"):
        rows = np.flatnonzero(responded & (respondent == kind))[:6]
        choice[rows] = np.arange(len(rows))
    answer = np.where(respondent == "patient", np.array(SURVEY_ANSWERS["patient"])[choice],
                      np.array(SURVEY_ANSWERS["relative"])[choice])
    survey = pd.DataFrame({
        "patient_no": s_patient,
        "respondent": respondent,
        "sent_date": sent,
        "response_date": np.where(responded, response, NAT),
        "answer": np.where(responded, answer, None),
    })
    survey["patient_id"] = patient_id[s_patient]
    survey = survey.sort_values(["patient_id", "sent_date"], kind="stable", ignore_index=True)
    survey = _drop_same_day_answers(survey)

    patients = pd.DataFrame({
        "patient_id": patient_id,
        "sex": np.where(rng.random(n) < 0.5, "K", "M"),
        "birth_date": birth,
        "home_region": _regions(rng, unit, n),
        "diagnosis_at_referral": diagnosis,
        "specific_diagnosis_date": specific_date,
    })
    referrals["patient_id"] = patient_id[referrals["patient_no"].to_numpy()]
    contacts["patient_id"] = patient_id[c_patient]
    referrals["approved"] = _flag(referrals["approved"].to_numpy())
    return {
        "patients": patients[list(columns["patients"])],
        "referrals": referrals[list(columns["referrals"])],
        "contacts": contacts[list(columns["contacts"])],
        "survey": survey[list(columns["survey"])],
    }


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------

def _as_text(values: pd.Series) -> list[str]:
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.strftime("%Y-%m-%d").fillna("").tolist()
    return values.astype("string").fillna("").tolist()


def _write_csv(path: Path, frame: pd.DataFrame, delimiter: str) -> None:
    """UTF-8, ``\\n`` line ends, minimal quoting (DATA_CONTRACT.md §2)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = [_as_text(frame[name]) for name in frame.columns]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        writer.writerow(list(frame.columns))
        writer.writerows(zip(*columns))


README_TEXT = """\
# Synthetic sample deliveries

**Everything in this folder is synthetic.** It was generated by

    nhv-pipeline sample-data --out data_raw --seed {seed}{scale_option}

from a seeded random generator (`nhv_pipeline/sample_data.py`). No row describes a
real patient: identifiers are invented (`P` + digits), dates, sexes and home regions
are random draws. Never put real patient data in this repository.

The tree follows `DATA_CONTRACT.md`: `units.csv`, then
`<report_year>/<condition_id>/<unit_id>/<table>.csv`, for `sct_ssc` report years
2024-2026 and `skeletal_dysplasia` report year 2026. Some units write `;` as the
delimiter (Swedish Excel style), the rest `,`.

Re-running the command with the same seed and scale gives byte-identical files.
"""


def generate(out_dir: Path, seed: int = DEFAULT_SEED, scale: float = 1.0) -> GenerationSummary:
    """Write a complete synthetic ``data_raw/`` tree under ``out_dir``.

    ``scale`` multiplies the row volumes (at 1: sct_ssc 20-40 referrals and 5-15
    transplants per unit and year; skeletal_dysplasia 100-200 patients per unit).
    Files the generator owns are overwritten; nothing else in ``out_dir`` is touched.
    """
    if scale <= 0:
        raise ValueError("scale must be positive")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    rows: dict[tuple[str, int, str], int] = {}
    unit_rows: dict[tuple[str, int, str, str], int] = {}

    def write(relative: Path, frame: pd.DataFrame, delimiter: str = ",") -> None:
        _write_csv(out_dir / relative, frame, delimiter)
        written.append(relative)

    write(Path("units.csv"), pd.DataFrame({
        "condition_id": [u.condition_id for u in SAMPLE_UNITS],
        "unit_id": [u.unit_id for u in SAMPLE_UNITS],
        "unit_name": [u.unit_name for u in SAMPLE_UNITS],
        "permit_start": [u.permit_start for u in SAMPLE_UNITS],
        "permit_end": [u.permit_end or "" for u in SAMPLE_UNITS],
    }))

    for unit_no, unit in enumerate(SAMPLE_UNITS, start=1):
        condition_no = list(SAMPLE_REPORT_YEARS).index(unit.condition_id)
        if unit.condition_id == "sct_ssc":
            world = _sct_world(np.random.default_rng([seed, condition_no, unit_no]), unit, unit_no, scale)
            report_years = [y + 1 for y in _sct_measurement_years(unit)]
        else:
            report_years = list(SAMPLE_REPORT_YEARS[unit.condition_id])
        for report_year in report_years:
            rng = np.random.default_rng([seed, condition_no, unit_no, report_year])
            if unit.condition_id == "sct_ssc":
                tables = _sct_delivery(rng, world, report_year)
            else:
                tables = _skd_delivery(rng, unit, unit_no, scale, report_year)
            for table, frame in tables.items():
                write(Path(str(report_year), unit.condition_id, unit.unit_id, f"{table}.csv"),
                      frame, unit.delimiter)
                key = (unit.condition_id, report_year, table)
                rows[key] = rows.get(key, 0) + len(frame)
                unit_rows[(unit.condition_id, report_year, unit.unit_id, table)] = len(frame)

    scale_option = "" if scale == 1 else f" --scale {scale:g}"
    readme = out_dir / "README.md"
    readme.write_text(README_TEXT.format(seed=seed, scale_option=scale_option), encoding="utf-8", newline="\n")
    written.append(Path("README.md"))

    return GenerationSummary(out_dir=out_dir, seed=seed, scale=scale, files=tuple(sorted(written)),
                             rows=rows, unit_rows=unit_rows)
