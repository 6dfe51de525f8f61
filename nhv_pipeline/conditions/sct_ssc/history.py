"""sct_ssc rules that look back at a unit's earlier deliveries (DATA_CONTRACT.md 4.3, 4.5; INDICATORS.md 2).

A transplant keeps its id, patient and dates across deliveries; a followup row names
a transplant of the unit's delivery D(R), D(R-1) or D(R-2); and every transplant of
the R1 cohort (reinfused in R-2, delivered in D(R-1)) and the R2 cohort (reinfused in
R-3, delivered in D(R-2)) needs a followup row in D(R) reaching the indicator's horizon.
Earlier deliveries are read with the same reader; rows that are unreadable or break a
rule of their own file are simply not found.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd

from nhv_pipeline.condition import DeliveryContext
from nhv_pipeline.contract import rules
from nhv_pipeline.contract.checks import date_columns, model_failures, table_rule_failures
from nhv_pipeline.contract.reader import is_inside_root, is_regular_file, parse_contract_csv, read_bytes_limited
from nhv_pipeline.contract.schema import model_columns, usable, with_dates
from nhv_pipeline.periods import cohort_window

from .contract import Transplants
from .indicators import ORGAN_FAILURE_DATES, R1_DAYS, R2_DAYS

TRANSPLANT_FIELDS = ["patient_id", "decision_date", "mobilization_date", "reinfusion_date", "discharge_date"]


def earlier_transplants(data_root: Path, condition_id: str, year: int, unit_ids: set[str]) -> pd.DataFrame:
    """The valid rows of transplants.csv in D(year) of the given units.

    Text columns as delivered, plus `reinfusion` (parsed) and `delivery_year`. A row that
    breaks a rule of its own file, or whose id is ambiguous or redacted, is not found.
    """
    frames = []
    for unit_id in sorted(unit_ids):
        path = data_root / str(year) / condition_id / unit_id / "transplants.csv"
        if not is_regular_file(path) or not is_inside_root(path, data_root) or not is_inside_root(path.parent, data_root):
            continue
        data = read_bytes_limited(path)  # read-only, section 1; a too large file was reported in its own year
        if data is None:
            continue
        frames.append(_valid_transplants(data, path.relative_to(data_root).as_posix(), unit_id, year))
    return pd.concat([_no_transplants(), *frames], ignore_index=True) if frames else _no_transplants()


@lru_cache(maxsize=64)
def _valid_transplants(data: bytes, rel: str, unit_id: str, year: int) -> pd.DataFrame:
    """Content-keyed: every validation of later years re-reads the same immutable deliveries (section 1)."""
    columns = model_columns(Transplants)
    read = parse_contract_csv(data, rel, columns, ["transplant_id", "patient_id"])
    if read.frame is None:
        return _no_transplants()
    frame = read.frame.assign(unit_id=unit_id, source_file=rel)
    dated = with_dates(frame, date_columns(Transplants))
    broken = rules.concat([model_failures(Transplants, frame), table_rule_failures(Transplants, frame, year, dated)])
    ok = ~frame["source_line"].isin(broken["line"].dropna().astype("int64"))
    ok &= ~frame.duplicated("transplant_id", keep=False)
    ok &= usable(frame["transplant_id"]) & usable(frame["patient_id"])
    return frame.loc[ok, [*columns, "unit_id"]].assign(reinfusion=dated.loc[ok, "reinfusion_date"], delivery_year=year).reset_index(drop=True)


def _no_transplants() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype=object) for c in [*model_columns(Transplants), "unit_id"]}).assign(
        reinfusion=pd.Series([], dtype="datetime64[ns]"), delivery_year=pd.Series([], dtype="int64")
    )


def _reported(frame: pd.DataFrame, mask: pd.Series, column: str, rule: str, message: str) -> pd.DataFrame:
    return rules.failures_at(frame[mask.fillna(False).astype(bool)], column, rule, message)


def transplant_history(ctx: DeliveryContext) -> pd.DataFrame:
    """transplant_changed, earlier_delivery, organ failure vs reinfusion, followup_missing/_incomplete."""
    data_root, report_year, tables, dated, read_units = ctx.data_root, ctx.report_year, ctx.tables, ctx.dated, ctx.read_units
    transplants, followup = tables["transplants"], dated["followup"]
    units = read_units.get("transplants", set()) | read_units.get("followup", set())
    condition_id, start = ctx.condition.condition_id, ctx.condition.start
    first_year = start.year + 1
    delivered = {year: earlier_transplants(data_root, condition_id, year, units) for year in range(first_year, report_year)}
    parts = []

    # Section 4.3: compare with the latest earlier delivery that holds the transplant.
    latest = pd.concat([_no_transplants(), *delivered.values()], ignore_index=True)
    latest = latest.sort_values("delivery_year", ascending=False).drop_duplicates(["unit_id", "transplant_id"])
    now = transplants[usable(transplants["transplant_id"])]
    before = now[["unit_id", "transplant_id"]].merge(
        latest[["unit_id", "transplant_id", *TRANSPLANT_FIELDS]], on=["unit_id", "transplant_id"], how="left", indicator=True
    ).set_axis(now.index)
    for column in TRANSPLANT_FIELDS:
        known = (before["_merge"] == "both") & before[column].notna()
        if column == "discharge_date":  # the one field that may go from empty to filled, never back or to another date
            changed = known & (now[column].isna() | (now[column] != before[column]))
            message = "discharge_date skiljer sig från det som levererades tidigare för transplantationen; bara ett tomt discharge_date får fyllas i senare."
        elif column == "patient_id":
            changed = known & usable(now[column]) & (now[column] != before[column])
            message = "Detta transplant_id levererades tidigare för en annan patient; en transplantation behåller sin patient och ett id återanvänds aldrig."
        else:  # an empty required date is the `required` rule's failure, not a change
            changed = known & now[column].notna() & (now[column] != before[column])
            message = f"{column} skiljer sig från det som levererades tidigare för transplantationen; en transplantation behåller sina datum mellan leveranserna."
        parts.append(_reported(now, changed, column, rules.TRANSPLANT_CHANGED, message))

    # Section 4.5: a followup row names a transplant of D(R), D(R-1) or D(R-2) of the unit, and its patient.
    current = now.assign(reinfusion=dated["transplants"].loc[now.index, "reinfusion_date"])
    recent = [delivered[year] for year in (report_year - 1, report_year - 2) if year in delivered]
    known = pd.concat([current, *recent], ignore_index=True).drop_duplicates(["unit_id", "transplant_id"])
    checked = followup[followup["unit_id"].isin(read_units.get("followup", set())) & usable(followup["transplant_id"])]
    match = checked[["unit_id", "transplant_id"]].merge(
        known[["unit_id", "transplant_id", "patient_id", "reinfusion"]].rename(columns={"patient_id": "transplant_patient"}),
        on=["unit_id", "transplant_id"], how="left", indicator=True,
    ).set_axis(checked.index)
    parts.append(_reported(checked, match["_merge"] == "left_only", "transplant_id", rules.EARLIER_DELIVERY,
                           "Detta transplant_id anger ingen av enhetens transplantationer i denna leverans eller de två före den; rätta id:t."))
    other_patient = (match["_merge"] == "both") & usable(checked["patient_id"]) & (checked["patient_id"] != match["transplant_patient"])
    parts.append(_reported(checked, other_patient, "patient_id", rules.EARLIER_DELIVERY,
                           "patient_id är inte patienten för transplantationen som transplant_id anger; rätta ett av dem."))
    for column in ORGAN_FAILURE_DATES:  # INDICATORS.md 2: organ failure before reinfusion is invalid
        parts.append(_reported(checked, checked[column] < match["reinfusion"], column, rules.DATE_ORDER,
                               f"{column} är före transplantationens reinfusion_date; datum för organsvikt ligger mellan återgivningen och senaste uppföljning."))

    # INDICATORS.md 2, follow-up completeness; only units whose followup.csv was read.
    reporting = read_units.get("followup", set())
    # The cohort lags are the catalogue's (R1 lag 2, R2 lag 3), for the version in force.
    lags = {indicator.indicator_id: indicator.cohort_lag for indicator in ctx.condition.indicators_for(report_year)}
    for indicator, lag, days in ((i, lags[i], days) for i, days in (("R1", R1_DAYS), ("R2", R2_DAYS)) if i in lags):
        window = cohort_window(start, report_year, lag)
        source = delivered.get(report_year - lag + 1)  # cohort year R-k is read from D(R-k+1)
        if window is None or source is None or source.empty:
            continue
        in_window = source["reinfusion"].between(pd.Timestamp(window[0]), pd.Timestamp(window[1]))
        cohort = source[in_window & source["unit_id"].isin(reporting)]
        rows = cohort[["unit_id", "transplant_id", "reinfusion"]].merge(
            followup[usable(followup["transplant_id"])].drop_duplicates(["unit_id", "transplant_id"]),
            on=["unit_id", "transplant_id"], how="left", indicator=True,
        )
        missing = rows[rows["_merge"] == "left_only"]
        parts.append(pd.DataFrame({
            "unit_id": missing["unit_id"],
            "file": [f"{report_year}/{condition_id}/{unit}/followup.csv" for unit in missing["unit_id"]],
            "line": pd.Series(pd.NA, index=missing.index, dtype="Int64"),
            "column": "",
            "rule": rules.FOLLOWUP_MISSING,
            "message": [
                f"Transplantation {transplant} (återgiven kohortåret {report_year - lag}, indikator {indicator}) "
                "har ingen rad i followup.csv; lägg till dess uppföljningsstatus." for transplant in missing["transplant_id"]
            ],
        }))
        present = rows[rows["_merge"] == "both"]
        horizon = present["reinfusion"] + pd.Timedelta(days=days)
        if indicator == "R1":
            reached = present["death_date"].notna() | (present["last_followup_date"] >= horizon)
            need = "ett death_date, eller ett last_followup_date minst 100 dagar efter återgivningen"
        else:
            organ = pd.concat([present[c] <= horizon for c in ORGAN_FAILURE_DATES], axis=1).any(axis=1)
            reached = (present["death_date"] <= horizon) | organ | (present["last_followup_date"] >= horizon)
            need = "ett death_date eller datum för organsvikt inom 730 dagar från återgivningen, eller ett last_followup_date minst 730 dagar efter den"
        parts.append(rules.failures_at(present[~reached], "last_followup_date", rules.FOLLOWUP_INCOMPLETE,
                                       f"Uppföljningen av transplantationen i {indicator}-kohorten är för kort: den behöver {need}; "
                                       "uppdatera uppföljningsstatusen."))
    return rules.concat(parts)
