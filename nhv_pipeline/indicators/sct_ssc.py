"""`sct_ssc` — stem cell transplantation at systemic sclerosis (INDICATORS.md section 2).

One small rule per indicator, then the ten catalogue entries. Texts are from
seed 000_230e9ad7520d9e65.txt (version 1.0, 2023-01-03).
"""

from __future__ import annotations

import pandas as pd

from nhv_pipeline.indicators.model import (
    SPEC_VERSION,
    Indicator,
    RuleContext,
    TableInput,
    attach_patient,
)
from nhv_pipeline.indicators.stats import age_in_completed_years, day_difference

CONDITION_ID = "sct_ssc"

#: sct B2 pools this many measurement years (seed B2: "aggregeras på fler år";
#: INDICATORS.md section 2: configuration, default 3).
DEFAULT_B2_POOLED_YEARS = 3

_PATIENT_KEY = ["report_year", "unit_id", "patient_id"]


# --- populations ---------------------------------------------------------


def _b1_population(ctx: RuleContext) -> pd.DataFrame:
    """Referrals with `assessment_date` in P(R) ("the B1 population" is their patients)."""
    referrals = ctx.table("referrals")
    return referrals[ctx.in_period(referrals["assessment_date"])]


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
    outcome_columns = [
        "death_date", "death_transplant_related",
        "heart_failure_date", "lung_failure_date", "kidney_failure_date",
    ]  # fmt: skip
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
    transplants = _transplants_once(ctx.table("transplants"))
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
    transplants = _transplants_once(ctx.table("transplants"))
    transplants = transplants[ctx.in_period(transplants["reinfusion_date"])]
    return attach_patient(transplants, ctx.table("patients"), ["home_region"])


def b4_length_of_stay(ctx: RuleContext) -> pd.DataFrame:
    """Days from reinfusion to discharge, for stays ended (`discharge_date`) in P(R)."""
    transplants = _transplants_once(ctx.table("transplants"))
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
    transplants = _transplants_once(ctx.table("transplants"))
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
    cohort = _transplants_once(ctx.table("transplants"))
    cohort = cohort[ctx.in_period(cohort["reinfusion_date"])]
    cohort = _with_followup(ctx, cohort, "R1")
    day_100 = cohort["reinfusion_date"] + pd.Timedelta(days=100)
    died_by_day_100 = (cohort["death_date"] <= day_100).fillna(False)
    unrelated = cohort["death_transplant_related"].eq(False).fillna(False).astype(bool)
    cohort = cohort[~(died_by_day_100 & unrelated)].copy()
    day_100 = cohort["reinfusion_date"] + pd.Timedelta(days=100)
    cohort["hit"] = cohort["death_date"].isna() | (cohort["death_date"] > day_100)
    return cohort[["unit_id", "transplant_id", "hit"]]


def r2_progression_free_survival(ctx: RuleContext) -> pd.DataFrame:
    """Alive without organ failure at h = reinfusion + 730 days; cohort year R-3 (lag 3).

    Denominator: the whole cohort (no exclusions).
    """
    cohort = _transplants_once(ctx.table("transplants"))
    cohort = cohort[ctx.in_period(cohort["reinfusion_date"])]
    cohort = _with_followup(ctx, cohort, "R2").copy()
    horizon = cohort["reinfusion_date"] + pd.Timedelta(days=730)
    alive = cohort["death_date"].isna() | (cohort["death_date"] > horizon)
    organ_failure = pd.Series(False, index=cohort.index)
    for column in ("heart_failure_date", "lung_failure_date", "kidney_failure_date"):
        organ_failure |= (cohort[column] <= horizon).fillna(False)
    cohort["hit"] = alive & ~organ_failure
    return cohort[["unit_id", "transplant_id", "hit"]]


def survey_response_rate(ctx: RuleContext) -> pd.DataFrame:
    """Recipients: distinct patients with a survey row sent in P(R); hit: a response on such a row.

    Shared with skeletal_dysplasia P1 `response_rate` (INDICATORS.md section 3).
    """
    survey = ctx.table("survey")
    sent = survey[ctx.in_period(survey["sent_date"])]
    sent = sent.assign(hit=sent["response_date"].notna())
    return sent.groupby(["unit_id", "patient_id"], as_index=False, sort=True)["hit"].any()


def p1_response_rate(ctx: RuleContext) -> dict[str, pd.DataFrame]:
    """The seed leaves the P1 question undefined: only the response rate is published."""
    return {"response_rate": survey_response_rate(ctx)}


def o1_care_plan(ctx: RuleContext) -> pd.DataFrame:
    """B1 population; hit: `care_plan` = 1 on a referral assessed in P(R)."""
    referrals = _b1_population(ctx)
    referrals = referrals.assign(hit=referrals["care_plan"].eq(True).fillna(False).astype(bool))
    return referrals.groupby(["unit_id", "patient_id"], as_index=False, sort=True)["hit"].any()


# --- catalogue ---------------------------------------------------------------

_BAKGRUND = "Bakgrundsmått"
_PAS = "Patientadministrativa system"
_DISTRIBUTION_UNIT_DAYS = "Tid i antal dagar (medelvärde och standardavvikelse, 10:e percentil, median, 90:e percentil)"


def _current(table: str) -> TableInput:
    return TableInput(table, (0, 0))


def indicators(b2_pooled_years: int = DEFAULT_B2_POOLED_YEARS) -> tuple[Indicator, ...]:
    """The ten sct_ssc indicators; `b2_pooled_years` is the B2 pooling configuration."""
    if b2_pooled_years < 1:
        raise ValueError("b2_pooled_years must be at least 1")
    version, spec_date = SPEC_VERSION[CONDITION_ID]
    common = {"condition_id": CONDITION_ID, "spec_version": version, "spec_date": spec_date}
    b2_offsets = (-(b2_pooled_years - 1), 0)
    return (
        Indicator(
            **common,
            indicator_id="B1",
            name="Antal patienter",
            measures=("count",),
            breakdowns=("total", "home_region", "sex"),
            first_report_year=2024, cohort_lag=0, pooled_years=1,
            inputs=(_current("referrals"), _current("patients")),
            rule_version="1",
            rule=b1_patients,
            measure_text="Antal patienter som bedömts inför eventuell behandling inom NHV-definitionen för SCT vid systemisk skleros.",
            unit_of_measure="Antal",
            purpose=(
                "Att få en bild av det totala antalet patienter, eventuell fördelning av diagnoser inom "
                "tillståndet och patienternas hemortsregion. Att kunna följa utvecklingen, "
                "remitteringsmönster och patientfördelning inom nationell högspecialiserad vård."
            ),
            category=_BAKGRUND, indicator_type="Bakgrundsmått", direction="descriptive", data_source=_PAS,
        ),
        Indicator(
            **common,
            indicator_id="B2",
            name="Ålder hos patienter",
            measures=("distribution",),
            breakdowns=("total",),
            first_report_year=2024, cohort_lag=0, pooled_years=b2_pooled_years,
            inputs=(TableInput("transplants", b2_offsets), TableInput("patients", b2_offsets)),
            rule_version="1",
            rule=b2_age,
            riket_percentiles=False,
            measure_text="Ålder hos patienter med systemisk skleros som genomgått stamcellstransplantation.",
            unit_of_measure="Ålder i antal år (medelvärde och standardavvikelse, 10:e percentil, median, 90:e percentil)",
            purpose=(
                "Att ge en bild av patienternas ålder vid NHV-enheten. Att kunna följa utvecklingen och "
                "patientfördelning inom nationell högspecialiserad vård."
            ),
            category=_BAKGRUND, indicator_type="Bakgrundsmått", direction="descriptive", data_source=_PAS,
        ),
        Indicator(
            **common,
            indicator_id="B3",
            name="Antal stamcellstransplantationer",
            measures=("count",),
            breakdowns=("total", "home_region"),
            first_report_year=2024, cohort_lag=0, pooled_years=1,
            inputs=(_current("transplants"), _current("patients")),
            rule_version="1",
            rule=b3_transplants,
            measure_text="Antal stamcellstransplantationer utförda på patienter med systemisk skleros",
            unit_of_measure="Antal",
            purpose=(
                "Att få en bild av det totala antalet stamcellstransplantationer vid NHV-enheterna. "
                "Att kunna följa utvecklingen inom nationell högspecialiserad vård."
            ),
            category=_BAKGRUND, indicator_type="Bakgrundsmått", direction="descriptive", data_source=_PAS,
        ),
        Indicator(
            **common,
            indicator_id="B4",
            name="Vårdtid",
            measures=("distribution",),
            breakdowns=("total",),
            first_report_year=2024, cohort_lag=0, pooled_years=1,
            inputs=(_current("transplants"),),
            rule_version="1",
            rule=b4_length_of_stay,
            measure_text="Vårdtid på NHV-enheten per inneliggande behandlingstillfälle för patienter inom definitionen för viss vård vid SCT.",
            unit_of_measure="Tid i antal dygn (medelvärde och standardavvikelse, 10:e percentil, median, 90:e percentil)",
            purpose="Att ge en bild av hur länge patienter inom NHV-definitionen vårdas vid NHV-enheten.",
            category=_BAKGRUND, indicator_type="Bakgrundsmått", direction="descriptive", data_source=_PAS,
        ),
        Indicator(
            **common,
            indicator_id="T1",
            name="Tid till beslut om stamcellstransplantation",
            measures=("distribution",),
            breakdowns=("total", "sct_offered"),
            first_report_year=2024, cohort_lag=0, pooled_years=1,
            inputs=(_current("referrals"),),
            rule_version="1",
            rule=t1_time_to_decision,
            measure_text="Tid från remiss till beslut om stamcellstransplantation",
            unit_of_measure=_DISTRIBUTION_UNIT_DAYS,
            purpose=(
                "Att säkerställa att patienter får vård i tid. Att följa utredningstiden inför "
                "stamcellstransplantation vid systemisk skleros."
            ),
            category="Tillgänglighetsmått", indicator_type="Processindikator",
            direction="lower_is_better", data_source=_PAS,
        ),
        Indicator(
            **common,
            indicator_id="T2",
            name="Tid från beslut om stamcellstransplantation till påbörjad stamcellsbehandling",
            measures=("distribution",),
            breakdowns=("total",),
            first_report_year=2024, cohort_lag=0, pooled_years=1,
            inputs=(_current("transplants"),),
            rule_version="1",
            rule=t2_time_to_treatment,
            measure_text="Tid från beslut om stamcellstransplantation till påbörjad stamcellsbehandling",
            unit_of_measure=_DISTRIBUTION_UNIT_DAYS,
            purpose="Att säkerställa att patienter får vård i tid.",
            category="Tillgänglighetsmått", indicator_type="Processindikator",
            direction="lower_is_better", data_source=_PAS,
        ),
        Indicator(
            **common,
            indicator_id="R1",
            name="Transplantationsrelaterad överlevnad",
            measures=("proportion",),
            breakdowns=("total",),
            first_report_year=2025, cohort_lag=2, pooled_years=1,
            # Cohort year R-2 is the measurement year of D(R-1); outcomes from D(R).
            inputs=(TableInput("transplants", (-1, -1)), _current("followup")),
            rule_version="1",
            rule=r1_survival_100_days,
            measure_text="Andel patienter som är vid liv 100 dagar efter återföring av stamceller.",
            unit_of_measure="Andel i procent",
            purpose=(
                "Måttet avser att mäta kvaliteten/överlevnaden efter behandlingen inom definitionen av SCT, "
                "och det fortsatta omhändertagandet i vårdkedjan efter utskrivning från NHV-enheten"
            ),
            category="Resultatmått", indicator_type="Resultatindikator", direction="higher_is_better",
            data_source="Patientadministrativa system eller kvalitetsregister",
        ),
        Indicator(
            **common,
            indicator_id="R2",
            name="Sjukdomsfri överlevnad",
            measures=("proportion",),
            breakdowns=("total",),
            first_report_year=2026, cohort_lag=3, pooled_years=1,
            # Cohort year R-3 is the measurement year of D(R-2); outcomes from D(R).
            inputs=(TableInput("transplants", (-2, -2)), _current("followup")),
            rule_version="1",
            rule=r2_progression_free_survival,
            measure_text="Andel patienter som är vid liv utan att deras sjukdom förvärrats inom två år efter återföring av celler",
            unit_of_measure="Andel patienter",
            purpose="Måttet avser att mäta kvaliteten på behandlingen av SCT.",
            category="Resultatmått", indicator_type="Resultatindikator", direction="higher_is_better",
            data_source="Lokala datakällor. På sikt Kvalitetsregister SCT.",
        ),
        Indicator(
            **common,
            indicator_id="P1",
            name="Patientnöjdhet",
            measures=("response_rate",),
            breakdowns=("total",),
            first_report_year=2025, cohort_lag=0, pooled_years=1,
            inputs=(_current("survey"),),
            rule_version="1",
            rule=p1_response_rate,
            # The seed leaves Mått and Mätenhet empty (development indicator); the
            # published measure is the response rate its "Om redovisningsnivåer" names.
            measure_text=(
                "Enkätens svarsfrekvens (antal patienter som behandlats/vårdats på NHV-enhet och som "
                "besvarat enkäten). Frågan i enkäten är ännu inte definierad (utvecklingsindikator)."
            ),
            unit_of_measure="Svarsfrekvens, andel i procent",
            purpose=(
                "Att mäta patientens upplevelse av vården för att utveckla verksamheten. Att mäta "
                "patientens upplevelse av vården, delaktighet/inflytande och möjlighet att påverka "
                "besluten i den egna vården."
            ),
            # The seed's Riktning is empty: a response rate has no desired direction here.
            category="Patientrapporterat mått", indicator_type="Utvecklingsindikator",
            direction="descriptive", data_source="Lokal datakälla",
        ),
        Indicator(
            **common,
            indicator_id="Ö1",
            name="Individuell vårdplan",
            measures=("proportion",),
            breakdowns=("total",),
            first_report_year=2024, cohort_lag=0, pooled_years=1,
            inputs=(_current("referrals"),),
            rule_version="1",
            rule=o1_care_plan,
            measure_text="Andel bedömda patienter som erhåller en individuell vårdplan",
            unit_of_measure="Andel i procent",
            purpose=(
                "Att säkerställa att patienten får en individuell vårdplan. Att säkerställa "
                "informationsöverföring från NHV till ansvarig vårdenhet i remitterande region samt att "
                "säkerställa och visa på en trygg övergång från NHV till vården i patientens hemregion. "
                "Främja samverkan mellan NHV-enhet och remittent, öka patientsäkerheten samt förbättra "
                "vårdkedjan för patienter som behandlas inom NHV-definitionen."
            ),
            category="Överrapporteringsmått", indicator_type="Processindikator",
            direction="higher_is_better", data_source=_PAS,
        ),
    )
