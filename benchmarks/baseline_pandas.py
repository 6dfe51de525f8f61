"""pandas baseline: the 17 indicators from the delivered CSVs, with nothing else.

The same indicators as `baseline_plain.py`, written from INDICATORS.md the way a pandas
user would: `pd.read_csv` per file, concatenated per table, then filters, merges and
group-bys. It does not validate, keeps no warehouse and publishes nothing; the
benchmark compares the full pipeline against it (`benchmarks/against_baselines.py`).

    .venv/bin/python benchmarks/baseline_pandas.py data_raw --out /tmp/pandas.csv
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

STARTS = {"sct_ssc": pd.Timestamp("2023-01-01"), "skeletal_dysplasia": pd.Timestamp("2025-09-01")}
B2_POOLED_YEARS = 3
ASSESSMENT_TYPES = ["new_visit", "return_visit", "mdk"]
VISIT_TYPES = ["new_visit", "return_visit"]
B2_CONTACT_TYPES = ["mdk", "new_visit", "treatment_conference"]
POSITIVE_ANSWERS = ["Ofta", "Alltid", "Ja, i stort sett", "Ja, helt och hållet"]
ORGAN_FAILURE_DATES = ["heart_failure_date", "lung_failure_date", "kidney_failure_date"]
OUTPUT_COLUMNS = ["report_year", "condition_id", "indicator_id", "measure", "level", "unit_id", "breakdown",
                  "breakdown_value", "n", "value", "numerator", "denominator", "mean", "sd", "p10", "median", "p90"]


def read_table(path: Path) -> pd.DataFrame:
    with path.open(encoding="utf-8-sig") as handle:
        header = handle.readline()
    sep = ";" if header.count(";") > header.count(",") else ","
    frame = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, encoding="utf-8-sig", skip_blank_lines=True)
    frame.columns = [c.strip().lower() for c in frame.columns]
    frame = frame.apply(lambda c: c.str.strip())
    return frame.mask(frame.eq(""))


def load(data_raw: Path) -> tuple[dict, pd.DataFrame]:
    parts: dict = {}
    for path in sorted(data_raw.glob("[0-9][0-9][0-9][0-9]/*/*/*.csv")):
        year, condition_id, unit_id = int(path.parts[-4]), path.parts[-3], path.parts[-2]
        parts.setdefault((condition_id, path.stem), []).append(read_table(path).assign(report_year=year, unit_id=unit_id))
    tables = {}
    for key, frames in parts.items():
        frame = pd.concat(frames, ignore_index=True)
        for column in frame.columns:
            if column.endswith("_date"):
                frame[column] = pd.to_datetime(frame[column], format="%Y-%m-%d")
        tables[key] = frame
    units = read_table(data_raw / "units.csv")
    units["permit_start"] = pd.to_datetime(units["permit_start"])
    units["permit_end"] = pd.to_datetime(units["permit_end"])
    return tables, units


def window(start: pd.Timestamp, last_year: int, years: int = 1) -> tuple[pd.Timestamp, pd.Timestamp]:
    return max(pd.Timestamp(last_year - years + 1, 1, 1), start), pd.Timestamp(last_year, 12, 31)


def inside(dates: pd.Series, period) -> pd.Series:
    return dates.between(period[0], period[1]).fillna(False)


def age_in_years(birth: pd.Series, at: pd.Series) -> pd.Series:
    """Completed years; a 29 February birthday falls on 1 March in a common year."""
    month, dom = birth.dt.month.to_numpy().copy(), birth.dt.day.to_numpy().copy()
    year = at.dt.year
    leap = ((year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))).to_numpy()
    shift = (month == 2) & (dom == 29) & ~leap
    month[shift], dom[shift] = 3, 1
    before = (at.dt.month.to_numpy() < month) | ((at.dt.month.to_numpy() == month) & (at.dt.day.to_numpy() < dom))
    return pd.Series(at.dt.year.to_numpy() - birth.dt.year.to_numpy() - before.astype(int), index=birth.index)


def summarise(kind: str, population: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    if kind == "count":
        out = population.groupby(by, sort=True).size().rename("n").reset_index() if by else pd.DataFrame({"n": [len(population)]})
        out["value"] = out["n"].astype(float)
        return out
    if kind == "distribution":
        def stats(x: pd.Series) -> pd.Series:
            q = np.percentile(x, [10, 50, 90]) if len(x) else [np.nan] * 3
            return pd.Series({"n": len(x), "mean": x.mean() if len(x) else np.nan, "sd": x.std(ddof=1),
                              "p10": q[0], "median": q[1], "p90": q[2]})
        x = population["x"].astype(float)
        out = x.groupby([population[c] for c in by], sort=True).apply(stats).unstack().reset_index() if by else stats(x).to_frame().T
        out["value"] = out["mean"]
        return out
    hit = population["hit"].astype(bool)
    if by:
        grouped = hit.groupby([population[c] for c in by], sort=True)
        out = pd.DataFrame({"numerator": grouped.sum(), "denominator": grouped.size()}).reset_index()
    else:
        out = pd.DataFrame({"numerator": [int(hit.sum())], "denominator": [len(hit)]})
    out["n"] = out["denominator"]
    out["value"] = np.where(out["denominator"] > 0, 100.0 * out["numerator"] / out["denominator"].where(out["denominator"] > 0), np.nan)
    return out


def result_rows(kind, population, breakdowns, permit_units, riket_percentiles=True) -> pd.DataFrame:
    empty = summarise(kind, population.iloc[0:0], [])
    parts = []
    for breakdown in breakdowns:
        if breakdown == "total":
            riket = summarise(kind, population, []).assign(level="riket", unit_id="")
            units = summarise(kind, population, ["unit_id"]).assign(level="enhet")
            absent = sorted(set(permit_units) - set(units["unit_id"]))
            if absent:
                units = pd.concat([units, pd.concat([empty] * len(absent), ignore_index=True).assign(unit_id=absent, level="enhet")])
            parts.append(pd.concat([riket, units.sort_values("unit_id")]).assign(breakdown="total", breakdown_value="total"))
        else:
            riket = summarise(kind, population, [breakdown]).assign(level="riket", unit_id="")
            units = summarise(kind, population, ["unit_id", breakdown]).assign(level="enhet")
            parts.append(pd.concat([riket, units]).rename(columns={breakdown: "breakdown_value"}).assign(breakdown=breakdown))
    out = pd.concat(parts, ignore_index=True)
    if kind == "distribution" and not riket_percentiles:
        out.loc[out["level"] == "riket", ["p10", "median", "p90"]] = np.nan
    return out


def permitted(units: pd.DataFrame, condition_id: str, period) -> list[str]:
    u = units[units["condition_id"] == condition_id]
    ok = (u["permit_start"] <= period[1]) & (u["permit_end"].isna() | (u["permit_end"] >= period[0]))
    return sorted(u.loc[ok, "unit_id"])


def delivery(tables: dict, condition_id: str, table: str, years) -> pd.DataFrame:
    frame = tables.get((condition_id, table))
    if frame is None:
        return pd.DataFrame(columns=["report_year", "unit_id", "patient_id"])
    return frame[frame["report_year"].isin(list(years))]


def with_patient(frame: pd.DataFrame, patients: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    return frame.merge(patients[["report_year", "unit_id", "patient_id", *columns]], on=["report_year", "unit_id", "patient_id"], how="left")


def response_rate(survey: pd.DataFrame, period) -> pd.DataFrame:
    sent = survey[inside(survey["sent_date"], period)]
    return sent.assign(hit=sent["response_date"].notna()).groupby(["unit_id", "patient_id"], as_index=False)["hit"].any()


def sct_ssc(tables, year):
    c, start = "sct_ssc", STARTS["sct_ssc"]
    period = window(start, year - 1)
    patients = delivery(tables, c, "patients", range(year - 2, year + 1))
    out = []
    referrals = delivery(tables, c, "referrals", [year])
    assessed = referrals[inside(referrals["assessment_date"], period)]
    b1 = with_patient(assessed[["report_year", "unit_id", "patient_id"]].drop_duplicates(), patients, ["home_region", "sex"])
    out.append(("B1", "count", "count", b1, ["total", "home_region", "sex"], period, True))

    pooled = window(start, year - 1, B2_POOLED_YEARS)
    transplants = delivery(tables, c, "transplants", range(year - 2, year + 1))
    once = transplants.sort_values(["unit_id", "transplant_id", "report_year"]).drop_duplicates(["unit_id", "transplant_id"], keep="last")
    once = once[inside(once["reinfusion_date"], pooled)]
    first = once.sort_values(["unit_id", "patient_id", "reinfusion_date", "transplant_id"]).drop_duplicates(["unit_id", "patient_id"])
    first = with_patient(first, patients, ["birth_date"])
    out.append(("B2", "distribution", "distribution", first.assign(x=age_in_years(first["birth_date"], first["reinfusion_date"])),
                ["total"], pooled, False))

    current = delivery(tables, c, "transplants", [year])
    reinfused = current[inside(current["reinfusion_date"], period)]
    out.append(("B3", "count", "count", with_patient(reinfused, patients, ["home_region"]), ["total", "home_region"], period, True))
    stays = current[inside(current["discharge_date"], period)]
    out.append(("B4", "distribution", "distribution", stays.assign(x=(stays["discharge_date"] - stays["reinfusion_date"]).dt.days),
                ["total"], period, True))
    decided = assessed[assessed["decision_date"].notna()]
    out.append(("T1", "distribution", "distribution",
                decided.assign(x=(decided["decision_date"] - decided["referral_date"]).dt.days,
                               sct_offered=np.where(decided["sct_offered"] == "1", "yes", "no")),
                ["total", "sct_offered"], period, True))
    out.append(("T2", "distribution", "distribution", reinfused.assign(x=(reinfused["mobilization_date"] - reinfused["decision_date"]).dt.days),
                ["total"], period, True))
    followup = delivery(tables, c, "followup", [year]).drop(columns=["report_year", "patient_id"], errors="ignore")
    if year >= 2025:
        cohort_window = window(start, year - 2)
        cohort = delivery(tables, c, "transplants", [year - 1])
        cohort = cohort[inside(cohort["reinfusion_date"], cohort_window)].merge(followup, on=["unit_id", "transplant_id"], how="left")
        day_100 = cohort["reinfusion_date"] + pd.Timedelta(days=100)
        excluded = (cohort["death_date"] <= day_100).fillna(False) & cohort["death_transplant_related"].eq("0")
        cohort, day_100 = cohort[~excluded], day_100[~excluded]
        out.append(("R1", "proportion", "proportion", cohort.assign(hit=cohort["death_date"].isna() | (cohort["death_date"] > day_100)),
                    ["total"], cohort_window, True))
    if year >= 2026:
        cohort_window = window(start, year - 3)
        cohort = delivery(tables, c, "transplants", [year - 2])
        cohort = cohort[inside(cohort["reinfusion_date"], cohort_window)].merge(followup, on=["unit_id", "transplant_id"], how="left")
        horizon = cohort["reinfusion_date"] + pd.Timedelta(days=730)
        organ = pd.concat([(cohort[col] <= horizon).fillna(False) for col in ORGAN_FAILURE_DATES], axis=1).any(axis=1)
        alive = cohort["death_date"].isna() | (cohort["death_date"] > horizon)
        out.append(("R2", "proportion", "proportion", cohort.assign(hit=alive & ~organ), ["total"], cohort_window, True))
    if year >= 2025:
        out.append(("P1", "response_rate", "proportion", response_rate(delivery(tables, c, "survey", [year]), period), ["total"], period, True))
    plans = assessed.assign(hit=assessed["care_plan"].eq("1")).groupby(["unit_id", "patient_id"], as_index=False)["hit"].any()
    out.append(("Ö1", "proportion", "proportion", plans, ["total"], period, True))
    return out


def skeletal_dysplasia(tables, year):
    c = "skeletal_dysplasia"
    if year < 2026:
        return []
    period = window(STARTS[c], year - 1)
    patients = delivery(tables, c, "patients", [year])
    contacts = delivery(tables, c, "contacts", [year])
    contacts = contacts[inside(contacts["contact_date"], period)]
    assessments = contacts[contacts["contact_type"].isin(ASSESSMENT_TYPES)]
    first = assessments.groupby(["report_year", "unit_id", "patient_id"], as_index=False)["contact_date"].min()
    b1 = with_patient(first, patients, ["home_region", "sex", "birth_date", "diagnosis_at_referral", "specific_diagnosis_date"])
    out = [("B1", "count", "count", b1, ["total", "home_region", "sex"], period, True),
           ("B2", "count", "count", contacts[contacts["contact_type"].isin(B2_CONTACT_TYPES)], ["total", "contact_type"], period, True)]
    years = age_in_years(b1["birth_date"], b1["contact_date"])
    days = (b1["contact_date"] - b1["birth_date"]).dt.days
    out.append(("B3", "distribution", "distribution",
                b1.assign(x=np.where(years < 1, days / 365.0, years.astype(float)), age_group=np.where(years <= 17, "child", "adult")),
                ["total", "age_group"], period, True))
    referrals = delivery(tables, c, "referrals", [year])
    approved = referrals[referrals["approved"] == "1"][["unit_id", "referral_id", "referral_date"]]
    visits = contacts[contacts["contact_type"].isin(VISIT_TYPES) & contacts["referral_id"].notna()].merge(approved, on=["unit_id", "referral_id"])
    out.append(("T1", "distribution", "distribution", visits.assign(x=(visits["contact_date"] - visits["referral_date"]).dt.days), ["total"], period, True))
    diagnosed = b1["specific_diagnosis_date"]
    r1 = b1[b1["diagnosis_at_referral"].isin(["unclear", "none"]) & ~(diagnosed < period[0]).fillna(False)]
    out.append(("R1", "proportion", "proportion", r1.assign(hit=inside(r1["specific_diagnosis_date"], period)), ["total"], period, True))
    survey = delivery(tables, c, "survey", [year]).reset_index(drop=True)
    answered = survey[inside(survey["response_date"], period)].assign(order=lambda f: f.index)
    latest = answered.sort_values(["unit_id", "patient_id", "response_date", "order"]).drop_duplicates(["unit_id", "patient_id"], keep="last")
    out.append(("P1", "positive_share", "proportion", latest.assign(hit=latest["answer"].isin(POSITIVE_ANSWERS)), ["total", "respondent"], period, True))
    out.append(("P1", "response_rate", "proportion", response_rate(survey, period), ["total"], period, True))
    specific = b1[(b1["diagnosis_at_referral"] == "specific") | (b1["specific_diagnosis_date"] <= period[1]).fillna(False)]
    with_plan = contacts.loc[contacts["care_plan"] == "1", ["unit_id", "patient_id"]].drop_duplicates().assign(hit=True)
    o1 = specific[["unit_id", "patient_id"]].merge(with_plan, on=["unit_id", "patient_id"], how="left")
    out.append(("Ö1", "proportion", "proportion", o1.assign(hit=o1["hit"].eq(True)), ["total"], period, True))
    return out


def compute_frame(data_raw: Path) -> pd.DataFrame:
    tables, units = load(Path(data_raw))
    years = sorted({int(p.name) for p in Path(data_raw).iterdir() if p.is_dir() and p.name.isdigit() and len(p.name) == 4})
    parts = []
    for year in years:
        for condition_id, rules in (("sct_ssc", sct_ssc), ("skeletal_dysplasia", skeletal_dysplasia)):
            for indicator, measure, kind, population, breakdowns, period, riket_percentiles in rules(tables, year):
                rows = result_rows(kind, population, breakdowns, permitted(units, condition_id, period), riket_percentiles)
                parts.append(rows.assign(report_year=year, condition_id=condition_id, indicator_id=indicator, measure=measure))
    out = pd.concat(parts, ignore_index=True)
    return out.reindex(columns=OUTPUT_COLUMNS)


def compute_all(data_raw: Path) -> list[dict]:
    """Result rows as dicts (as baseline_plain.compute_all)."""
    return compute_frame(data_raw).to_dict("records")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("data_raw", type=Path)
    parser.add_argument("--out", type=Path, help="write the results here (default: a count on stdout)")
    args = parser.parse_args(argv)
    out = compute_frame(args.data_raw)
    if args.out:
        out.to_csv(args.out, index=False)
    print(f"{len(out)} result rows", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
