"""A third NHV condition, defined only here: proof that an area is one package and no core change.

`test_area` has two tables (patients, visits) and three indicators:
- B1, a count of distinct patients with a visit in P(R), by sex;
- B2, the distribution of age (completed years) at the patient's first visit in P(R);
- R1, a proportion over a cohort read from the previous delivery: the visits of D(R-1)
  dated in its measurement year R-2 (cohort lag 2, as INDICATORS.md counts lags; one
  delivery back), with `improved` = 1 in the numerator.

Everything a condition is, in one module: contract (pandera models with table rules),
rules, catalogue, labels and a sample generator. The tests register it with
`nhv_pipeline.condition.register` and unregister it after.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
from pandera.typing import Series

from nhv_pipeline import sample_data as tools
from nhv_pipeline.condition import Condition, Specification
from nhv_pipeline.contract.schema import (
    TextModel,
    bool_field,
    date_field,
    home_region_field,
    id_field,
    sex_field,
    unique_per_unit,
)
from nhv_pipeline.indicators.model import Indicator, RuleContext, TableInput, attach_patient, current
from nhv_pipeline.indicators.stats import age_in_completed_years

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

    unique_visit = unique_per_unit("visit_id")


def _visits_in_period(ctx: RuleContext) -> pd.DataFrame:
    visits = ctx.table("visits")
    return visits[ctx.in_period(visits["visit_date"])]


def b1_patients(ctx: RuleContext) -> pd.DataFrame:
    patients = _visits_in_period(ctx)[["report_year", "unit_id", "patient_id"]].drop_duplicates()
    return attach_patient(patients, ctx.table("patients"), ["sex"])


def b2_age(ctx: RuleContext) -> pd.DataFrame:
    first = _visits_in_period(ctx).groupby(["report_year", "unit_id", "patient_id"], as_index=False)["visit_date"].min()
    first = attach_patient(first, ctx.table("patients"), ["birth_date"])
    first["x"] = age_in_completed_years(first["birth_date"], first["visit_date"]).astype("float64")
    return first[["unit_id", "patient_id", "x"]]


def r1_improved(ctx: RuleContext) -> pd.DataFrame:
    cohort = _visits_in_period(ctx)
    return cohort.assign(hit=cohort["improved"].eq(True).fillna(False).astype(bool))[["unit_id", "visit_id", "hit"]]


_TEXTS = {
    "unit_of_measure": "Antal",
    "purpose": "Ett testområde.",
    "indicator_type": "Testmått",
    "data_source": "Test",
}

INDICATORS = (
    Indicator(
        condition_id=CONDITION_ID, indicator_id="B1", name="Antal patienter", measures=("count",),
        breakdowns=("total", "sex"), first_report_year=2025, cohort_lag=0, pooled_years=1,
        inputs=(current("visits"), current("patients")), rule_version="1", rule=b1_patients,
        measure_text="Antal patienter med besök.", category="Bakgrundsmått", direction="descriptive", **_TEXTS,
    ),
    Indicator(
        condition_id=CONDITION_ID, indicator_id="B2", name="Ålder", measures=("distribution",),
        breakdowns=("total",), first_report_year=2025, cohort_lag=0, pooled_years=1,
        inputs=(current("visits"), current("patients")), rule_version="1", rule=b2_age,
        measure_text="Ålder vid första besöket.", category="Bakgrundsmått", direction="descriptive", **_TEXTS,
    ),
    Indicator(
        condition_id=CONDITION_ID, indicator_id="R1", name="Andel förbättrade", measures=("proportion",),
        breakdowns=("total",), first_report_year=2026, cohort_lag=2, pooled_years=1,
        # The cohort year R-2 is the measurement year of the previous delivery D(R-1).
        inputs=(TableInput("visits", (-1, -1)),), rule_version="1", rule=r1_improved,
        measure_text="Andel besök följda av förbättring.", category="Resultatmått", direction="higher_is_better",
        **_TEXTS,
    ),
)

UNITS = (
    tools.SampleUnit(CONDITION_ID, "alpha", "Alfa sjukhus", "2024-01-01", None, ",", ("01", "03")),
    tools.SampleUnit(CONDITION_ID, "beta", "Beta sjukhus", "2024-01-01", None, ";", ("12",)),
)


def sample_deliveries(condition, seed_parts, unit, unit_no, scale):
    """A few random rows per delivery, 2025 and 2026 (the sample generator of the area)."""
    out = {}
    for report_year in (2025, 2026):
        rng = np.random.default_rng([*seed_parts, report_year])
        n = tools.scaled(6, scale)
        ids = tools.ids("T", unit_no, n)
        patients = pd.DataFrame({
            "patient_id": ids,
            "sex": rng.choice(["K", "M"], n),
            "birth_date": tools.between(rng, tools.d("1950-01-01"), tools.d("2005-12-31"), n),
            "home_region": rng.choice(np.array(unit.catchment), n),
        })
        visits = pd.DataFrame({
            "visit_id": tools.ids("V", unit_no, n),
            "patient_id": ids,
            "visit_date": tools.between(rng, tools.jan1(report_year - 1), tools.dec31(report_year - 1), n),
            "improved": tools.flag(rng.integers(0, 2, n)),
        })
        out[report_year] = {"patients": patients, "visits": visits}
    return out


CONDITION = Condition(
    condition_id=CONDITION_ID,
    name="Testområde",
    start=date(2024, 1, 1),
    tables={"patients": Patients, "visits": Visits},
    specifications=(Specification("1.0", "2024-01-01", 2025, INDICATORS),),
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
        "visit_id,patient_id,visit_date,improved\n"
        "V1,A1,2024-01-01,1\n"   # first day of the period
        "V2,A1,2024-06-01,0\n"   # the same patient again: counted once in B1, first visit in B2
        "V3,A2,2024-12-31,0\n"   # last day of the period
        "V4,A3,2023-12-31,1\n"   # the day before: outside every indicator
    ),
    "2025/test_area/beta/patients.csv": "patient_id;sex;birth_date;home_region\nB1;K;1970-01-01;12\n",
    "2025/test_area/beta/visits.csv": "visit_id;patient_id;visit_date;improved\nW1;B1;2024-03-01;1\n",
    # D(2026): measurement period 2025; R1 of 2026 reads the cohort 2024 from D(2025) above.
    "2026/test_area/alpha/patients.csv": "patient_id,sex,birth_date,home_region\nA1,K,1980-05-01,01\n",
    "2026/test_area/alpha/visits.csv": "visit_id,patient_id,visit_date,improved\nV9,A1,2025-02-02,1\n",
    "2026/test_area/beta/patients.csv": "patient_id,sex,birth_date,home_region\nB2,M,2001-07-01,12\n",
    "2026/test_area/beta/visits.csv": "visit_id,patient_id,visit_date,improved\nW9,B2,2025-07-01,0\n",
}
