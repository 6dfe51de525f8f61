"""A third NHV condition, defined only here: proof that an area is one package and no core change.

`test_area` is shaped like a real newcomer (three tables, two specification versions):
- B1, a count of distinct patients with a visit in P(R), by sex and by the area's own `age_group`
  (labelled in its own words, not another area's);
- B2, the distribution of age (completed years) at the patient's first visit in P(R) (the B1 population);
- S1, the distribution of a questionnaire score (a number column 0-10) over the visits in P(R),
  as a measure kind of the area's own (`score`);
- R1, a proportion over a cohort read from the previous delivery: the visits of D(R-1) dated in
  its measurement year R-2 (cohort lag 2), with `improved` = 1 in the numerator; begins in 2026;
- W1, a count of visits in a window of its own, 1 December R-2 to 30 November R-1, read from
  D(R-1) and D(R); begins in 2026;
- version 2.0, from report year 2027, adds F1: the share of follow-ups (a table that is empty in
  the first deliveries) where the patient is still improved.
A patient keeps sex and birth date across deliveries: a rule over the unit's earlier deliveries
with the shared helper. The tests register it (`register_third_condition` for a whole session
through NHV_CONDITION_MODULES, or `nhv_pipeline.conditions.register` in one test).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
from pandera.typing import Series

from nhv_pipeline.core import sample_data as tools
from nhv_pipeline.core.condition import Condition, Counts, DeliveryContext, DeliveryRule, Population, Specification
from nhv_pipeline.contract.history import changed_since_earlier, earlier_rows, latest_earlier
from nhv_pipeline.contract.schema import (
    TextModel,
    bool_field,
    date_field,
    home_region_field,
    id_field,
    number_field,
    sex_field,
    unique_per_unit,
)
from nhv_pipeline.indicators.model import Indicator, RuleContext, TableInput, attach_patient, current
from nhv_pipeline.indicators.stats import age_in_completed_years
from nhv_pipeline.core.periods import RelativeWindow

CONDITION_ID = "test_area"


class Patients(TextModel):
    """test_area patients.csv."""

    patient_id: Series[object] = id_field("Pseudonymous patient id, unique in the file.")
    sex: Series[object] = sex_field()
    birth_date: Series[object] = date_field("Birth date.")
    home_region: Series[object] = home_region_field()

    unique_patient = unique_per_unit("patient_id")


class Visits(TextModel):
    """test_area visits.csv: one row per visit."""

    visit_id: Series[object] = id_field("Visit id, unique in the file.")
    patient_id: Series[object] = id_field("The patient; in patients.csv.")
    visit_date: Series[object] = date_field("Date of the visit.")
    improved: Series[object] = bool_field("1 = the patient's condition improved after the visit.")
    score: Series[object] = number_field("Questionnaire score after the visit, 0-10.", 0, 10, required=False)

    unique_visit = unique_per_unit("visit_id")


class Followup(TextModel):
    """test_area followup.csv: one row per follow-up of a visit (none in the first deliveries)."""

    followup_id: Series[object] = id_field("Follow-up id, unique in the file.")
    patient_id: Series[object] = id_field("The patient; in patients.csv.")
    followup_date: Series[object] = date_field("Date of the follow-up.")
    still_improved: Series[object] = bool_field("1 = the improvement held at the follow-up.")

    unique_followup = unique_per_unit("followup_id")


def patients_keep_their_facts(ctx: DeliveryContext):
    """A patient keeps sex and birth date across the unit's deliveries (the shared earlier-deliveries helper)."""
    units = ctx.read_units.get("patients", set())
    earlier = [earlier_rows(ctx.data_root, ctx.condition, "patients", year, units, key="patient_id")
               for year in range(ctx.condition.first_report_year, ctx.report_year)]
    latest = latest_earlier(earlier, "patient_id")
    if latest.empty:
        return latest.iloc[0:0]
    return changed_since_earlier(ctx.tables["patients"], latest, "patient_id", ("sex", "birth_date"))


def _visits_in_period(ctx: RuleContext) -> pd.DataFrame:
    visits = ctx.table("visits")
    return visits[ctx.in_period(visits["visit_date"])]


def b1_patients(ctx: RuleContext) -> pd.DataFrame:
    visits = _visits_in_period(ctx)
    first = visits.groupby(["report_year", "unit_id", "patient_id"], as_index=False)["visit_date"].min()
    first = attach_patient(first, ctx.table("patients"), ["sex", "birth_date"])
    age = age_in_completed_years(first["birth_date"], first["visit_date"])
    return first.assign(age_group=np.where(age < 18, "young", "grown"))[["unit_id", "patient_id", "sex", "age_group"]]


def b2_age(ctx: RuleContext) -> pd.DataFrame:
    first = _visits_in_period(ctx).groupby(["report_year", "unit_id", "patient_id"], as_index=False)["visit_date"].min()
    first = attach_patient(first, ctx.table("patients"), ["birth_date"])
    first["x"] = age_in_completed_years(first["birth_date"], first["visit_date"]).astype("float64")
    return first[["unit_id", "patient_id", "x"]]


def s1_score(ctx: RuleContext) -> pd.DataFrame:
    visits = _visits_in_period(ctx)
    scored = visits[visits["score"].notna()]
    return scored.assign(x=scored["score"].astype("float64"))[["unit_id", "visit_id", "x"]]


def w1_window_visits(ctx: RuleContext) -> pd.DataFrame:
    visits = ctx.table("visits")
    return visits[ctx.in_period(visits["visit_date"])].drop_duplicates(["unit_id", "visit_id"])[["unit_id", "visit_id"]]


def f1_still_improved(ctx: RuleContext) -> pd.DataFrame:
    followup = ctx.table("followup")
    held = followup[ctx.in_period(followup["followup_date"])]
    return held.assign(hit=held["still_improved"].eq(True).fillna(False).astype(bool))[["unit_id", "followup_id", "hit"]]


def r1_improved(ctx: RuleContext) -> pd.DataFrame:
    cohort = _visits_in_period(ctx)
    return cohort.assign(hit=cohort["improved"].eq(True).fillna(False).astype(bool))[["unit_id", "visit_id", "hit"]]


_TEXTS = {
    "unit_of_measure": "Antal",
    "purpose": "Ett testområde.",
    "indicator_type": "Testmått",
    "data_source": "Test",
}

#: What every indicator of the area shares: its texts, rule version 1, no pooling.
_COMMON = {"condition_id": CONDITION_ID, "rule_version": "1", "pooled_years": 1, **_TEXTS}
#: B1 and B2 both count the patients seen in P(R), from the same two tables.
_PATIENTS_SEEN = {"inputs": (current("visits"), current("patients")), "counts": (Counts("patients_seen"),),
                  "n_counts": "patienter med besök under mätperioden (varje patient räknas en gång)",
                  "first_report_year": 2025, "cohort_lag": 0, "category": "Bakgrundsmått", "direction": "descriptive"}

_B1 = Indicator(
    **_COMMON, **_PATIENTS_SEEN, indicator_id="B1", name="Antal patienter", measures=("count",),
    breakdowns=("total", "sex", "age_group"), rule=b1_patients, measure_text="Antal patienter med besök.",
)
_B2 = Indicator(
    **_COMMON, **_PATIENTS_SEEN, indicator_id="B2", name="Ålder", measures=("distribution",),
    breakdowns=("total",), rule=b2_age, measure_text="Ålder vid första besöket.",
)
_S1 = Indicator(
    **_COMMON, indicator_id="S1", name="Poäng efter besök", measures=("score",), breakdowns=("total",),
    first_report_year=2025, cohort_lag=0, inputs=(current("visits"),), rule=s1_score,
    counts=(Counts("scored_visits"),), n_counts="besök under mätperioden med en poäng",
    measure_text="Enkätpoäng (0-10) efter besöket.",
    category="Patientrapporterat mått", direction="higher_is_better",
)
_R1 = Indicator(
    **_COMMON, indicator_id="R1", name="Andel förbättrade", measures=("proportion",), breakdowns=("total",),
    first_report_year=2026, cohort_lag=2,
    # The cohort year R-2 is the measurement year of the previous delivery D(R-1).
    inputs=(TableInput("visits", (-1, -1)),), rule=r1_improved, counts=(Counts("cohort_visits"),),
    n_counts="besök i kohortåret (nämnaren)",
    measure_text="Andel besök följda av förbättring.", category="Resultatmått", direction="higher_is_better",
)
_W1 = Indicator(
    **_COMMON, indicator_id="W1", name="Besök december-november", measures=("count",), breakdowns=("total",),
    first_report_year=2026, cohort_lag=0, inputs=(TableInput("visits", (-1, 0)),), rule=w1_window_visits,
    window=RelativeWindow((-2, 12, 1), (-1, 11, 30)), counts=(Counts("window_visits"),),
    n_counts="besök från 1 december två år före inrapporteringsåret till 30 november året före",
    measure_text="Antal besök från 1 december två år före inrapporteringsåret till 30 november året före.",
    category="Bakgrundsmått", direction="descriptive",
)
_F1 = Indicator(
    **_COMMON, indicator_id="F1", name="Bestående förbättring", measures=("proportion",), breakdowns=("total",),
    first_report_year=2027, cohort_lag=0, inputs=(current("followup"),), rule=f1_still_improved,
    counts=(Counts("followups"),), n_counts="uppföljningar under mätperioden (nämnaren)",
    measure_text="Andel uppföljningar där förbättringen består.",
    category="Resultatmått", direction="higher_is_better",
)

INDICATORS = (_B1, _B2, _S1, _R1, _W1)
#: Version 2.0 (from report year 2027) adds F1; the others carry over.
INDICATORS_2 = (*INDICATORS, _F1)

POPULATIONS = (
    Population("patients_seen", "patients with a visit in P(R)"),
    Population("scored_visits", "visits in P(R) with a score"),
    Population("cohort_visits", "visits of cohort year R-2"),
    Population("window_visits", "visits from 1 December R-2 to 30 November R-1"),
    Population("followups", "follow-ups in P(R)"),
)

UNITS = (
    tools.SampleUnit(CONDITION_ID, "alpha", "Alfa sjukhus", "2024-01-01", None, ",", ("01", "03")),
    tools.SampleUnit(CONDITION_ID, "beta", "Beta sjukhus", "2024-01-01", None, ";", ("12",)),
)


def sample_deliveries(condition, seed_parts, unit, unit_no, scale):
    """A few random rows per delivery, 2025 and 2026; followup.csv is empty in 2025 (the sample generator of the area)."""
    out = {}
    n = tools.scaled(6, scale)
    ids = tools.ids("T", unit_no, n)
    facts = np.random.default_rng([*seed_parts, 0])  # a patient keeps sex and birth date across deliveries
    sexes = facts.choice(["K", "M"], n)
    births = tools.between(facts, tools.d("1950-01-01"), tools.d("2015-12-31"), n)
    for report_year in (2025, 2026):
        rng = np.random.default_rng([*seed_parts, report_year])
        patients = pd.DataFrame({
            "patient_id": ids,
            "sex": sexes,
            "birth_date": births,
            "home_region": rng.choice(np.array(unit.catchment), n),
        })
        # Every patient once, a third of them twice; about a quarter of the visits without a score.
        visiting = np.concatenate([ids, ids[: max(1, n // 3)]])
        m = len(visiting)
        scores = rng.integers(0, 21, m) / 2
        visits = pd.DataFrame({
            "visit_id": tools.ids(f"V{report_year}", unit_no, m),
            "patient_id": visiting,
            "visit_date": tools.between(rng, tools.jan1(report_year - 1), tools.dec31(report_year - 1), m),
            "improved": tools.flag(rng.integers(0, 2, m)),
            "score": [
                "" if skip else (f"{value:.1f}".replace(".", ",") if value % 1 else f"{value:.0f}")
                for value, skip in zip(scores, rng.random(m) < 0.25, strict=True)
            ],
        })
        followup = pd.DataFrame({"followup_id": [], "patient_id": [], "followup_date": [], "still_improved": []})
        if report_year > 2025:
            followup = pd.DataFrame({
                "followup_id": tools.ids("F", unit_no, n),
                "patient_id": ids,
                "followup_date": tools.between(rng, tools.jan1(report_year - 1), tools.dec31(report_year - 1), n),
                "still_improved": tools.flag(rng.integers(0, 2, n)),
            })
        out[report_year] = {"patients": patients, "visits": visits, "followup": followup}
    return out


CONDITION = Condition(
    condition_id=CONDITION_ID,
    name="Testområde",
    start=date(2024, 1, 1),
    tables={"patients": Patients, "visits": Visits, "followup": Followup},
    specifications=(
        Specification("1.0", "2024-01-01", 2025, INDICATORS),
        Specification("2.0", "2026-05-01", 2027, INDICATORS_2),
    ),
    delivery_rules=(
        DeliveryRule("patients_keep_their_facts", ("patients",), patients_keep_their_facts, reads_earlier_deliveries=True),
    ),
    populations=POPULATIONS,
    measure_kinds={"score": "distribution"},
    measure_names={"score": "Poäng"},
    # Its own words for its age groups (another area words its `age_group` otherwise).
    breakdown_labels={"age_group": {"young": "Yngre än 18 år", "grown": "18 år eller äldre"}},
    breakdown_names={"age_group": "Ålder vid första besöket"},
    sample_data=sample_deliveries,
    sample_units=UNITS,
)


# --- a hand-made delivery tree for the condition, with the numbers the tests expect -------------------

UNITS_CSV_ROWS = "test_area,alpha,Alfa sjukhus,2024-01-01,\ntest_area,beta,Beta sjukhus,2024-01-01,\n"

FILES = {
    # D(2025): measurement period 2024-01-01..2024-12-31.
    "2025/test_area/alpha/patients.csv": (
        "patient_id,sex,birth_date,home_region\n"
        "A1,K,1980-05-01,01\n"
        "A2,M,1990-01-01,03\n"
        "A3,K,2000-12-31,01\n"
    ),
    "2025/test_area/alpha/visits.csv": (
        "visit_id,patient_id,visit_date,improved,score\n"
        "V1,A1,2024-01-01,1,0\n"    # first day of the period; the lowest score
        "V2,A1,2024-06-01,0,\"3,5\"\n"  # the same patient again: counted once in B1, first visit in B2
        "V3,A2,2024-12-31,0,10\n"   # last day of the period (and in W1 of 2026: 1 December 2024 on); the highest score
        "V4,A3,2023-12-31,1,7\n"    # the day before: outside every indicator
    ),
    "2025/test_area/beta/patients.csv": "patient_id;sex;birth_date;home_region\nB1;K;1970-01-01;12\n",
    "2025/test_area/beta/visits.csv": "visit_id;patient_id;visit_date;improved;score\nW1;B1;2024-03-01;1;\n",
    "2025/test_area/alpha/followup.csv": "followup_id,patient_id,followup_date,still_improved\n",  # none yet
    "2025/test_area/beta/followup.csv": "followup_id;patient_id;followup_date;still_improved\n",
    # D(2026): measurement period 2025; R1 of 2026 reads the cohort 2024 from D(2025) above.
    "2026/test_area/alpha/patients.csv": "patient_id,sex,birth_date,home_region\nA1,K,1980-05-01,01\n",
    "2026/test_area/alpha/visits.csv": "visit_id,patient_id,visit_date,improved,score\nV9,A1,2025-02-02,1,8\nV10,A1,2025-12-01,0,\n",
    "2026/test_area/alpha/followup.csv": "followup_id,patient_id,followup_date,still_improved\nF1,A1,2025-03-01,1\n",
    "2026/test_area/beta/patients.csv": "patient_id,sex,birth_date,home_region\nB2,M,2010-07-01,12\n",  # 15: young
    "2026/test_area/beta/visits.csv": "visit_id,patient_id,visit_date,improved,score\nW9,B2,2025-07-01,0,5\n",
    "2026/test_area/beta/followup.csv": "followup_id,patient_id,followup_date,still_improved\n",
}
