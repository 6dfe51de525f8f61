"""Plain-Python baseline: the 17 indicators from the delivered CSVs, with nothing else.

A straightforward script written from INDICATORS.md (the normative indicator rules),
using only the standard library: the csv module, dicts and lists. It does not validate
(a delivery is taken as well-formed), keeps no warehouse and publishes nothing; it is
what a user would write to get the unsuppressed figures, and the benchmark compares
the full pipeline against it (`benchmarks/against_baselines.py`).

    .venv/bin/python benchmarks/baseline_plain.py data_raw --out /tmp/plain.csv

Output: one row per (report_year, condition, indicator, measure, level, unit,
breakdown, value), with n, value, numerator, denominator, mean, sd, p10, median, p90.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from datetime import date, timedelta
from pathlib import Path

#: INDICATORS.md 1: the condition starts.
STARTS = {"sct_ssc": date(2023, 1, 1), "skeletal_dysplasia": date(2025, 9, 1)}
#: INDICATORS.md 2, B2: the pooled window, in measurement years (default 3).
B2_POOLED_YEARS = 3
ASSESSMENT_TYPES = {"new_visit", "return_visit", "mdk"}
VISIT_TYPES = {"new_visit", "return_visit"}
B2_CONTACT_TYPES = {"mdk", "new_visit", "treatment_conference"}
POSITIVE_ANSWERS = {"Ofta", "Alltid", "Ja, i stort sett", "Ja, helt och hållet"}
OUTPUT_COLUMNS = ["report_year", "condition_id", "indicator_id", "measure", "level", "unit_id", "breakdown",
                  "breakdown_value", "n", "value", "numerator", "denominator", "mean", "sd", "p10", "median", "p90"]

_DATES: dict[str, date] = {}


def day(text: str | None) -> date | None:
    """A delivered date (YYYY-MM-DD) or None for an empty cell."""
    if text is None:
        return None
    value = _DATES.get(text)
    if value is None:
        value = _DATES[text] = date.fromisoformat(text)
    return value


def read_table(path: Path) -> list[dict]:
    """Rows as dicts: header names lower-cased, cells stripped, an empty cell None."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        header_line = handle.readline()
        delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
        handle.seek(0)
        if handle.read(1) != "\ufeff":
            handle.seek(0)
        reader = csv.reader(handle, delimiter=delimiter)
        header = [name.strip().lower() for name in next(reader)]
        rows = []
        for line_no, fields in enumerate(reader, start=2):
            if not any(f.strip() for f in fields):
                continue
            row = {name: (value.strip() or None) for name, value in zip(header, fields)}
            row["source_line"] = line_no
            rows.append(row)
        return rows


def load(data_raw: Path) -> tuple[dict, list[dict]]:
    """{(report_year, condition, table): rows with unit_id and report_year} and the units registry."""
    tables: dict = {}
    for year_dir in sorted(p for p in data_raw.iterdir() if p.is_dir() and p.name.isdigit() and len(p.name) == 4):
        year = int(year_dir.name)
        for condition_dir in sorted(p for p in year_dir.iterdir() if p.is_dir()):
            for unit_dir in sorted(p for p in condition_dir.iterdir() if p.is_dir()):
                for path in sorted(unit_dir.glob("*.csv")):
                    rows = tables.setdefault((year, condition_dir.name, path.stem), [])
                    for row in read_table(path):
                        row["unit_id"] = unit_dir.name
                        row["report_year"] = year
                        rows.append(row)
    units = read_table(data_raw / "units.csv")
    return tables, units


def window(start: date, last_year: int, years: int = 1) -> tuple[date, date]:
    """`years` calendar years ending with `last_year`, cut at the condition start (INDICATORS.md 1)."""
    return max(date(last_year - years + 1, 1, 1), start), date(last_year, 12, 31)


def inside(value: date | None, period: tuple[date, date]) -> bool:
    return value is not None and period[0] <= value <= period[1]


def age_in_years(birth: date, at: date) -> int:
    """Completed years; a 29 February birthday falls on 1 March in a common year (INDICATORS.md 1)."""
    month, dom = birth.month, birth.day
    leap = at.year % 4 == 0 and (at.year % 100 != 0 or at.year % 400 == 0)
    if (month, dom) == (2, 29) and not leap:
        month, dom = 3, 1
    return at.year - birth.year - ((at.month, at.day) < (month, dom))


# --- statistics (INDICATORS.md 1) -------------------------------------------------------------


def percentile(ordered: list[float], q: float) -> float:
    """Hyndman & Fan type 7: linear interpolation between order statistics."""
    h = (len(ordered) - 1) * q
    low = math.floor(h)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (h - low) * (ordered[high] - ordered[low])


def summary(kind: str, members: list[dict], riket_percentiles: bool = True, level: str = "enhet") -> dict:
    nan = float("nan")
    if kind == "count":
        return {"n": len(members), "value": float(len(members))}
    if kind == "distribution":
        values = sorted(float(m["x"]) for m in members)
        n = len(values)
        if n == 0:
            return {"n": 0, "value": nan, "mean": nan, "sd": nan, "p10": nan, "median": nan, "p90": nan}
        mean = sum(values) / n
        sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n >= 2 else nan
        out = {"n": n, "value": mean, "mean": mean, "sd": sd,
               "p10": percentile(values, 0.1), "median": percentile(values, 0.5), "p90": percentile(values, 0.9)}
        if level == "riket" and not riket_percentiles:
            out.update(p10=nan, median=nan, p90=nan)
        return out
    numerator = sum(1 for m in members if m["hit"])
    denominator = len(members)
    return {"n": denominator, "numerator": numerator, "denominator": denominator,
            "value": 100.0 * numerator / denominator if denominator else nan}


def result_rows(kind: str, population: list[dict], breakdowns: list[str], permit_units: list[str],
                riket_percentiles: bool = True) -> list[dict]:
    """Total rows at riket and for every permitted or present unit; one-way breakdowns for values that occur (section 4)."""
    rows = []
    by_unit: dict[str, list[dict]] = {}
    for member in population:
        by_unit.setdefault(member["unit_id"], []).append(member)
    for breakdown in breakdowns:
        if breakdown == "total":
            rows.append({"level": "riket", "unit_id": "", "breakdown": "total", "breakdown_value": "total",
                         **summary(kind, population, riket_percentiles, "riket")})
            for unit_id in sorted(set(permit_units) | set(by_unit)):
                rows.append({"level": "enhet", "unit_id": unit_id, "breakdown": "total", "breakdown_value": "total",
                             **summary(kind, by_unit.get(unit_id, []), riket_percentiles, "enhet")})
            continue
        groups: dict[str, list[dict]] = {}
        unit_groups: dict[tuple[str, str], list[dict]] = {}
        for member in population:
            groups.setdefault(member[breakdown], []).append(member)
            unit_groups.setdefault((member["unit_id"], member[breakdown]), []).append(member)
        for value in sorted(groups):
            rows.append({"level": "riket", "unit_id": "", "breakdown": breakdown, "breakdown_value": value,
                         **summary(kind, groups[value], riket_percentiles, "riket")})
        for unit_id, value in sorted(unit_groups):
            rows.append({"level": "enhet", "unit_id": unit_id, "breakdown": breakdown, "breakdown_value": value,
                         **summary(kind, unit_groups[(unit_id, value)], riket_percentiles, "enhet")})
    return rows


def permitted(units: list[dict], condition_id: str, period: tuple[date, date]) -> list[str]:
    return sorted({u["unit_id"] for u in units if u["condition_id"] == condition_id
                   and day(u["permit_start"]) <= period[1]
                   and (u["permit_end"] is None or day(u["permit_end"]) >= period[0])})


# --- the indicators ---------------------------------------------------------------------------


def sct_ssc(tables: dict, units: list[dict], year: int) -> list[dict]:
    """INDICATORS.md 2."""
    start = STARTS["sct_ssc"]
    c = "sct_ssc"

    def table(name: str, delivery: int) -> list[dict]:
        return tables.get((delivery, c, name), [])

    patients = {}
    for delivery in (year - 2, year - 1, year):
        for row in table("patients", delivery):
            patients[(delivery, row["unit_id"], row["patient_id"])] = row

    def patient(row: dict) -> dict:
        return patients[(row["report_year"], row["unit_id"], row["patient_id"])]

    period = window(start, year - 1)
    out: list[tuple] = []  # (indicator, measure, kind, population, breakdowns, window, riket_percentiles)

    assessed = [r for r in table("referrals", year) if inside(day(r["assessment_date"]), period)]
    b1 = {}
    for r in assessed:
        b1.setdefault((r["unit_id"], r["patient_id"]), r)
    out.append(("B1", "count", "count", [
        {"unit_id": u, "home_region": patient(r)["home_region"], "sex": patient(r)["sex"]} for (u, _), r in b1.items()
    ], ["total", "home_region", "sex"], period, True))

    pooled = window(start, year - 1, B2_POOLED_YEARS)
    latest: dict = {}
    for delivery in (year - 2, year - 1, year):  # later deliveries replace earlier copies of a transplant
        for t in table("transplants", delivery):
            latest[(t["unit_id"], t["transplant_id"])] = t
    first: dict = {}
    for t in latest.values():
        reinfusion = day(t["reinfusion_date"])
        if inside(reinfusion, pooled):
            key = (t["unit_id"], t["patient_id"])
            if key not in first or (reinfusion, t["transplant_id"]) < (day(first[key]["reinfusion_date"]), first[key]["transplant_id"]):
                first[key] = t
    out.append(("B2", "distribution", "distribution", [
        {"unit_id": t["unit_id"], "x": age_in_years(day(patient(t)["birth_date"]), day(t["reinfusion_date"]))}
        for t in first.values()
    ], ["total"], pooled, False))

    current = table("transplants", year)
    reinfused = [t for t in current if inside(day(t["reinfusion_date"]), period)]
    out.append(("B3", "count", "count", [{"unit_id": t["unit_id"], "home_region": patient(t)["home_region"]} for t in reinfused],
                ["total", "home_region"], period, True))
    out.append(("B4", "distribution", "distribution", [
        {"unit_id": t["unit_id"], "x": (day(t["discharge_date"]) - day(t["reinfusion_date"])).days}
        for t in current if inside(day(t["discharge_date"]), period)
    ], ["total"], period, True))
    out.append(("T1", "distribution", "distribution", [
        {"unit_id": r["unit_id"], "x": (day(r["decision_date"]) - day(r["referral_date"])).days,
         "sct_offered": "yes" if r["sct_offered"] == "1" else "no"}
        for r in assessed if r["decision_date"] is not None
    ], ["total", "sct_offered"], period, True))
    out.append(("T2", "distribution", "distribution", [
        {"unit_id": t["unit_id"], "x": (day(t["mobilization_date"]) - day(t["decision_date"])).days} for t in reinfused
    ], ["total"], period, True))

    followup = {(f["unit_id"], f["transplant_id"]): f for f in table("followup", year)}
    if year >= 2025:  # R1: cohort year R-2 from D(R-1), outcome from followup of D(R)
        cohort_window = window(start, year - 2)
        cohort = []
        for t in table("transplants", year - 1):
            reinfusion = day(t["reinfusion_date"])
            if not inside(reinfusion, cohort_window):
                continue
            f = followup[(t["unit_id"], t["transplant_id"])]
            death, day_100 = day(f["death_date"]), reinfusion + timedelta(days=100)
            if death is not None and death <= day_100 and f["death_transplant_related"] == "0":
                continue
            cohort.append({"unit_id": t["unit_id"], "hit": death is None or death > day_100})
        out.append(("R1", "proportion", "proportion", cohort, ["total"], cohort_window, True))
    if year >= 2026:  # R2: cohort year R-3 from D(R-2)
        cohort_window = window(start, year - 3)
        cohort = []
        for t in table("transplants", year - 2):
            reinfusion = day(t["reinfusion_date"])
            if not inside(reinfusion, cohort_window):
                continue
            f = followup[(t["unit_id"], t["transplant_id"])]
            horizon = reinfusion + timedelta(days=730)
            death = day(f["death_date"])
            organ = any(day(f[c]) is not None and day(f[c]) <= horizon
                        for c in ("heart_failure_date", "lung_failure_date", "kidney_failure_date"))
            cohort.append({"unit_id": t["unit_id"], "hit": (death is None or death > horizon) and not organ})
        out.append(("R2", "proportion", "proportion", cohort, ["total"], cohort_window, True))
    if year >= 2025:
        out.append(("P1", "response_rate", "proportion", response_rate(table("survey", year), period), ["total"], period, True))
    care_plan: dict = {}
    for r in assessed:
        key = (r["unit_id"], r["patient_id"])
        care_plan[key] = care_plan.get(key, False) or r["care_plan"] == "1"
    out.append(("Ö1", "proportion", "proportion", [{"unit_id": u, "hit": hit} for (u, _), hit in care_plan.items()],
                ["total"], period, True))
    return _rows(c, year, out, units)


def response_rate(survey: list[dict], period: tuple[date, date]) -> list[dict]:
    """Recipients: distinct patients with a row sent in P(R); responders: a response_date on such a row."""
    recipients: dict = {}
    for s in survey:
        if inside(day(s["sent_date"]), period):
            key = (s["unit_id"], s["patient_id"])
            recipients[key] = recipients.get(key, False) or s["response_date"] is not None
    return [{"unit_id": u, "hit": hit} for (u, _), hit in recipients.items()]


def skeletal_dysplasia(tables: dict, units: list[dict], year: int) -> list[dict]:
    """INDICATORS.md 3 (all indicators from report year 2026, delivery D(R) only)."""
    c = "skeletal_dysplasia"
    if year < 2026:
        return []
    period = window(STARTS[c], year - 1)
    patients = {(p["unit_id"], p["patient_id"]): p for p in tables.get((year, c, "patients"), [])}
    contacts = [k for k in tables.get((year, c, "contacts"), []) if inside(day(k["contact_date"]), period)]
    first_assessment: dict = {}
    for k in contacts:
        if k["contact_type"] in ASSESSMENT_TYPES:
            key = (k["unit_id"], k["patient_id"])
            when = day(k["contact_date"])
            if key not in first_assessment or when < first_assessment[key]:
                first_assessment[key] = when
    b1 = {key: patients[key] for key in first_assessment}
    out: list[tuple] = []
    out.append(("B1", "count", "count", [{"unit_id": u, "home_region": p["home_region"], "sex": p["sex"]}
                                         for (u, _), p in b1.items()], ["total", "home_region", "sex"], period, True))
    out.append(("B2", "count", "count", [{"unit_id": k["unit_id"], "contact_type": k["contact_type"]}
                                         for k in contacts if k["contact_type"] in B2_CONTACT_TYPES],
                ["total", "contact_type"], period, True))
    ages = []
    for (u, pid), when in first_assessment.items():
        birth = day(b1[(u, pid)]["birth_date"])
        years = age_in_years(birth, when)
        ages.append({"unit_id": u, "x": (when - birth).days / 365.0 if years < 1 else float(years),
                     "age_group": "child" if years <= 17 else "adult"})
    out.append(("B3", "distribution", "distribution", ages, ["total", "age_group"], period, True))
    approved = {(r["unit_id"], r["referral_id"]): day(r["referral_date"])
                for r in tables.get((year, c, "referrals"), []) if r["approved"] == "1"}
    out.append(("T1", "distribution", "distribution", [
        {"unit_id": k["unit_id"], "x": (day(k["contact_date"]) - approved[(k["unit_id"], k["referral_id"])]).days}
        for k in contacts
        if k["contact_type"] in VISIT_TYPES and k["referral_id"] is not None and (k["unit_id"], k["referral_id"]) in approved
    ], ["total"], period, True))
    r1 = []
    for key, p in b1.items():
        diagnosed = day(p["specific_diagnosis_date"])
        if p["diagnosis_at_referral"] in ("unclear", "none") and not (diagnosed is not None and diagnosed < period[0]):
            r1.append({"unit_id": key[0], "hit": inside(diagnosed, period)})
    out.append(("R1", "proportion", "proportion", r1, ["total"], period, True))
    survey = tables.get((year, c, "survey"), [])
    latest: dict = {}
    for s in survey:
        answered = day(s["response_date"])
        if inside(answered, period):
            key = (s["unit_id"], s["patient_id"])
            if key not in latest or (answered, s["source_line"]) > (day(latest[key]["response_date"]), latest[key]["source_line"]):
                latest[key] = s
    out.append(("P1", "positive_share", "proportion", [
        {"unit_id": s["unit_id"], "respondent": s["respondent"], "hit": s["answer"] in POSITIVE_ANSWERS} for s in latest.values()
    ], ["total", "respondent"], period, True))
    out.append(("P1", "response_rate", "proportion", response_rate(survey, period), ["total"], period, True))
    with_plan = {(k["unit_id"], k["patient_id"]) for k in contacts if k["care_plan"] == "1"}
    o1 = []
    for key, p in b1.items():
        diagnosed = day(p["specific_diagnosis_date"])
        if p["diagnosis_at_referral"] == "specific" or (diagnosed is not None and diagnosed <= period[1]):
            o1.append({"unit_id": key[0], "hit": key in with_plan})
    out.append(("Ö1", "proportion", "proportion", o1, ["total"], period, True))
    return _rows(c, year, out, units)


def _rows(condition_id: str, year: int, out: list[tuple], units: list[dict]) -> list[dict]:
    rows = []
    for indicator, measure, kind, population, breakdowns, period, riket_percentiles in out:
        for row in result_rows(kind, population, breakdowns, permitted(units, condition_id, period), riket_percentiles):
            rows.append({"report_year": year, "condition_id": condition_id, "indicator_id": indicator, "measure": measure, **row})
    return rows


def compute_all(data_raw: Path) -> list[dict]:
    """Every indicator of every delivered report year (sct_ssc from 2024, skeletal_dysplasia from 2026)."""
    tables, units = load(Path(data_raw))
    years = sorted({year for year, _, _ in tables})
    rows = []
    for year in years:
        if year >= 2024:
            rows += sct_ssc(tables, units, year)
        rows += skeletal_dysplasia(tables, units, year)
    return rows


def write(rows: list[dict], out) -> None:
    writer = csv.DictWriter(out, fieldnames=OUTPUT_COLUMNS, restval="", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()})


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("data_raw", type=Path)
    parser.add_argument("--out", type=Path, help="write the results here (default: a count on stdout)")
    args = parser.parse_args(argv)
    rows = compute_all(args.data_raw)
    if args.out:
        with args.out.open("w", encoding="utf-8", newline="") as handle:
            write(rows, handle)
    print(f"{len(rows)} result rows", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
