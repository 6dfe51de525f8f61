"""sct_ssc rules that look back at a unit's earlier deliveries (DATA_CONTRACT.md 4.3, 4.5; INDICATORS.md 2).

A transplant keeps its id, patient and dates across deliveries; a followup row names
a transplant of the unit's delivery D(R), D(R-1) or D(R-2); and every transplant of
the R1 cohort (reinfused in R-2, delivered in D(R-1)) and the R2 cohort (reinfused in
R-3, delivered in D(R-2)) needs a followup row in D(R) reaching the indicator's horizon.
Earlier deliveries are read with the same reader; rows that are unreadable or break a
rule of their own file are simply not found.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from nhv_pipeline.core.condition import DeliveryContext
from nhv_pipeline.contract import rules
from nhv_pipeline.contract.history import changed_since_earlier, earlier_rows, latest_earlier
from nhv_pipeline.contract.schema import usable
from nhv_pipeline.core.periods import cohort_window

from .indicators import ORGAN_FAILURE_DATES, R1_DAYS, R2_DAYS

TRANSPLANT_FIELDS = ["patient_id", "decision_date", "mobilization_date", "reinfusion_date", "discharge_date"]


def earlier_transplants(data_root: Path, condition, year: int, unit_ids: set[str]) -> pd.DataFrame:
    """The valid rows of transplants.csv in D(year) of the given units, with `reinfusion` parsed and `delivery_year`."""
    return earlier_rows(data_root, condition, "transplants", year, unit_ids, key="transplant_id",
                        parsed={"reinfusion": "reinfusion_date"})


def _change_message(column: str, key: str, may_fill: bool) -> str:
    """The transplant wording of a changed field (DATA_CONTRACT.md 4.3)."""
    if may_fill:  # discharge_date: the one field that may go from empty to filled, never back or to another date
        return "discharge_date skiljer sig från det som levererades tidigare för transplantationen; bara ett tomt discharge_date får fyllas i senare."
    if column == "patient_id":
        return "Detta transplant_id levererades tidigare för en annan patient; en transplantation behåller sin patient och ett id återanvänds aldrig."
    return f"{column} skiljer sig från det som levererades tidigare för transplantationen; en transplantation behåller sina datum mellan leveranserna."


def _reported(frame: pd.DataFrame, mask: pd.Series, column: str, rule: str, message: str) -> pd.DataFrame:
    return rules.failures_where(frame, mask.fillna(False).astype(bool), column, rule, message)


def transplant_history(ctx: DeliveryContext) -> pd.DataFrame:
    """transplant_changed, earlier_delivery, organ failure vs reinfusion, followup_missing/_incomplete."""
    data_root, report_year, tables, dated, read_units = ctx.data_root, ctx.report_year, ctx.tables, ctx.dated, ctx.read_units
    transplants, followup = tables["transplants"], dated["followup"]
    units = read_units.get("transplants", set()) | read_units.get("followup", set())
    condition_id, start = ctx.condition.condition_id, ctx.condition.start
    first_year = start.year + 1
    delivered = {year: earlier_transplants(data_root, ctx.condition, year, units) for year in range(first_year, report_year)}
    parts = []

    # Section 4.3: compare with the latest earlier delivery that holds the transplant.
    latest = latest_earlier(delivered.values(), "transplant_id")
    now = transplants[usable(transplants["transplant_id"])]
    if not latest.empty:
        parts.append(changed_since_earlier(now, latest, "transplant_id", TRANSPLANT_FIELDS, rules.TRANSPLANT_CHANGED,
                                           may_fill=("discharge_date",), message=_change_message))

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
