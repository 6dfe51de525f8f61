"""Value rules of the contract, as failure rows: the pandera models plus the rules they cannot hold.

Per-cell rules (required, date, boolean, code) run through the pandera models with
`lazy=True`; rules across rows and tables are pandas expressions over the raw text
frames of all units at once (keyed by `unit_id`, since ids are local to a unit).
Failure rows are built from pandera's failure cases using only index, column and
check name: the failing values are never read (DATA_CONTRACT.md 3).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pandera.pandas as pa

from nhv_pipeline.core.condition import Condition
from nhv_pipeline.core.keys import key_codes

from . import rules
from .reader import REDACTED
from .schema import (
    CHECK_RULES,
    usable,
    model_columns,
    model_kinds,
    model_schema,
    table_model,
    with_dates,
)

# --- per-cell rules through pandera -------------------------------------------------------


def _cell_message(rule: str, column: str, model: type[pa.DataFrameModel]) -> str:
    if rule == rules.REQUIRED:
        return f"{column} är obligatorisk; fyll i den på raden."
    if rule == rules.DATE_FORMAT:
        return f"{column} ska vara ett verkligt datum skrivet ÅÅÅÅ-MM-DD; rätta datumet."
    if rule == rules.BOOL_FORMAT:
        return f"{column} ska vara 1 (ja) eller 0 (nej); rätta cellen."
    if rule == rules.ID_FORMAT:
        return (f"{column} ska vara vanlig text på en rad, bara printbara ASCII-tecken (inga osynliga tecken som "
                "nollbreddsmellanslag eller BOM, inga å, ä, ö eller bokstäver ur andra alfabet), och inte börja med =, +, - "
                "eller @ (ett kalkylprogram kör den då som en formel); leverera enhetens pseudonyma id som text.")
    if rule == rules.CODE:
        statistics = model_schema(model).columns[column].checks[0].statistics
        allowed = statistics["allowed"]
        return f"{column} ska vara en av {', '.join(allowed)} (exakt så skriven); rätta koden."
    if rule == rules.NUMBER:
        statistics = model_schema(model).columns[column].checks[0].statistics
        low, high = (_number_text(statistics[bound]) for bound in ("minimum", "maximum"))
        return f"{column} ska vara ett tal från {low} till {high}, skrivet med siffror (decimaler med punkt eller komma); rätta cellen."
    return f"{column} bryter mot datakontraktets regel för kolumnen; rätta cellen."


def _number_text(value: float) -> str:
    """A range bound as the unit reads it: 10 rather than 10.0, a decimal comma."""
    return (str(int(value)) if float(value).is_integer() else str(value)).replace(".", ",")


def model_failures(model: type[pa.DataFrameModel], frame: pd.DataFrame) -> pd.DataFrame:
    """Run a text-layer model lazily over a raw frame and map its failure cases to file and line.

    Column checks name their rule by the check (CHECK_RULES); the model's table rules are
    named `<rule>.<column>` and carry their message as the check's error text.
    """
    if frame.empty:
        return rules.concat([])
    lineage = [c for c in ("unit_id",) if c in frame.columns]
    try:
        # inplace: the selection is a frame of its own, which a model without coercion never changes,
        # so pandera need not copy it again.
        model.validate(frame[[*model_columns(model), *lineage]], lazy=True, inplace=True)
        return rules.concat([])
    except pa.errors.SchemaErrors as errors:
        # never "failure_case": it holds values
        cases = errors.failure_cases[["schema_context", "column", "check", "check_number", "index"]]
    cases = cases[cases["index"].notna()]
    table_level = cases["schema_context"].eq("DataFrameSchema").to_numpy()
    schema_checks = model_schema(model).checks
    parts = []
    if (~table_level).any():
        cell = cases[~table_level]
        # A cell withheld as an identity number has its own failure; its placeholder breaks no other rule.
        withheld = [
            isinstance(c, str) and c in frame.columns and frame.at[i, c] == REDACTED
            for c, i in zip(cell["column"], cell["index"], strict=True)
        ]
        cell = cell[[not w for w in withheld]]
    if (~table_level).any() and len(cell):
        check = cell["check"].astype(str).str.split("(", n=1).str[0]
        mapped = check.map(lambda name: CHECK_RULES.get(name, (rules.CODE, None)))
        rule = mapped.str[0]
        column = mapped.str[1].where(mapped.str[1].notna(), cell["column"]).fillna("").astype(str)
        rows = frame.loc[cell["index"].to_numpy()]
        out = _located(rows, column.to_numpy(), rule.to_numpy())
        messages = {pair: _cell_message(*pair, model) for pair in set(zip(out["rule"], out["column"], strict=True))}
        out["message"] = pd.Series(list(zip(out["rule"], out["column"], strict=True)), dtype=object).map(messages)
        parts.append(out)
    if table_level.any():
        # A model-level check reports every column of a failing row: keep one case per (check, row).
        table = cases[table_level].drop_duplicates(["check_number", "index"])
        declared = [schema_checks[int(number)] for number in table["check_number"]]
        rule, column = zip(*(check.name.split(".", 1) for check in declared), strict=True)
        out = _located(frame.loc[table["index"].to_numpy()], list(column), list(rule))
        out["message"] = [check.error for check in declared]
        parts.append(out)
    return rules.concat(parts)


def _located(rows: pd.DataFrame, column, rule) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "unit_id": rows["unit_id"].to_numpy(),
            "file": rows["source_file"].to_numpy(),
            "line": rows["source_line"].to_numpy(),
            "column": column,
            "rule": rule,
        }
    )


# --- rules within one file ------------------------------------------------------------------


def date_columns(model: type[pa.DataFrameModel]) -> list[str]:
    return [name for name, kind in model_kinds(model).items() if kind == "date"]


def table_rule_failures(
    model: type[pa.DataFrameModel],
    frame: pd.DataFrame,
    report_year: int | None,
    dated: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The rule every table shares beyond its model: no date after 31 December of the report year (section 1).

    The table's own rules (uniqueness per unit, required-if, date order) are model-level
    checks and run with `model_failures`. `dated` is the frame with its date columns
    parsed (see `with_dates`), computed when not given.
    """
    if report_year is None:
        return rules.concat([])
    if dated is None:
        dated = with_dates(frame, date_columns(model))
    last_day = pd.Timestamp(date(report_year, 12, 31))
    return rules.concat(
        rules.failures_where(frame, dated[column] > last_day, column, rules.DATE_AFTER_REPORT_YEAR,
                          f"{column} ligger efter 31 december {report_year}, inrapporteringsårets slut; rätta datumet.")
        for column in date_columns(model)
    )


# --- rules across the tables of one unit's delivery -------------------------------------------


def key_match(
    left: pd.DataFrame, right: pd.DataFrame, on: list[str], values: np.ndarray, among: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For each row of `left`, on the key columns `on`, with the keys coded once for both answers:

    - does `right` have a row with the same key (`MultiIndex.isin`)?
    - `values` (one per row of `right`) of the first row of `right` with that key where `among`
      holds, missing where none (a left merge with those rows of `right` made unique on `on`).
    """
    codes, found = key_codes(left, right, on)
    present = np.zeros(len(codes) + len(found) + 1, dtype=bool)
    present[found] = True
    first = np.full(len(codes) + len(found) + 1, -1, dtype="int64")
    unique_codes, positions = np.unique(found[among], return_index=True)
    first[unique_codes] = positions
    return present[codes], pd.Series(values[among]).reindex(first[codes]).to_numpy()


def patient_rule_failures(
    condition: Condition, tables: dict[str, pd.DataFrame], dated: dict[str, pd.DataFrame], read_units: dict[str, set[str]]
) -> pd.DataFrame:
    """Every table's patient_id names a row of the unit's patients table, and no event predates the birth (sections 3-5).

    Only units whose patients file was read are checked: when it is unreadable, its own
    failure says what to fix and every row would otherwise fail.
    """
    patients_table = condition.patients_table
    if patients_table is None or patients_table not in tables:
        return rules.concat([])
    parts = []
    patients = tables[patients_table]
    # The birth of each (unit, patient) is that of its first row with a usable patient_id.
    with_birth = usable(patients["patient_id"]).to_numpy()
    births = dated[patients_table]["birth_date"].to_numpy()
    for table, frame in tables.items():
        if table == patients_table or "patient_id" not in frame.columns:
            continue
        known, born = key_match(frame, patients, ["unit_id", "patient_id"], births, with_birth)
        checked = frame["unit_id"].isin(read_units.get(patients_table, set())) & usable(frame["patient_id"])
        unknown = checked & ~known
        parts.append(
            rules.failures_where(frame, unknown, "patient_id", rules.REFERENCE,
                              f"Detta patient_id har ingen rad i enhetens {patients_table}.csv; lägg till patienten där eller rätta id:t.")
        )
        # Section 4.1/5.1: birth_date not after any event date of the patient, in any table.
        for column in date_columns(table_model(condition, table)):
            early = dated[table][column].to_numpy() < born
            parts.append(
                rules.failures_where(frame, early, column, rules.DATE_ORDER,
                                  f"{column} är före patientens birth_date i {patients_table}.csv; rätta ett av datumen.")
            )
    return rules.concat(parts)
