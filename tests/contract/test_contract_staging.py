"""to_staged typing, write_unit_reports, and the public catalogue of the contract."""

from __future__ import annotations

import codecs
import csv
import io
from datetime import date

import pandas as pd
import pytest

from contract_fixtures import SCT, SCT_UNIT, SKD, baseline, make_root, run, sct_path, set_cell
from nhv_pipeline.contract import (
    FAILURE_COLUMNS,
    RULES,
    contract_columns,
    measurement_period_of,
    read_registry,
    table_model,
    to_staged,
    validate_delivery,
    write_unit_reports,
)
from nhv_pipeline.conditions import get_condition, registered
from nhv_pipeline.contract import rules as rule_module


def test_to_staged_types_columns_from_the_models(tmp_path):
    validation = run(tmp_path)
    staged = to_staged(get_condition(SCT), "referrals", validation.tables["referrals"])
    assert list(staged.columns) == [*contract_columns(get_condition(SCT), "referrals"), "report_year", "unit_id", "source_file", "source_line"]
    assert str(staged["referral_date"].dtype) == "datetime64[ns]"
    assert staged.loc[0, "referral_date"] == pd.Timestamp("2025-01-10")
    assert str(staged["sct_offered"].dtype) == "boolean"
    assert staged["sct_offered"].tolist() == [True] and staged["care_plan"].tolist() == [True]
    assert staged["referral_id"].dtype == object and staged.loc[0, "referral_id"] == "R3"
    assert staged["report_year"].dtype == "int64" and staged["source_line"].dtype == "int64"
    assert staged.loc[0, "unit_id"] == SCT_UNIT


def test_to_staged_keeps_missing_values_missing(tmp_path):
    validation = run(tmp_path)
    followup = to_staged(get_condition(SCT), "followup", validation.tables["followup"])
    assert followup["death_date"].isna().all() and str(followup["death_date"].dtype) == "datetime64[ns]"
    assert followup["death_transplant_related"].isna().all() and str(followup["death_transplant_related"].dtype) == "boolean"
    contacts = to_staged(get_condition(SKD), "contacts", run(tmp_path / "skd", condition=SKD).tables["contacts"])
    assert contacts["visit_mode"].tolist() == ["physical", None, "digital"]
    assert contacts["care_plan"].tolist() == [True, False, False]


def test_to_staged_of_empty_table(tmp_path):
    files = baseline()
    files[sct_path(2026, "survey")] = files[sct_path(2026, "survey")][:1]
    staged = to_staged(get_condition(SCT), "survey", run(tmp_path, files).tables["survey"])
    assert staged.empty and str(staged["sent_date"].dtype) == "datetime64[ns]"


def read_report(path):
    """A unit report as Swedish Excel reads it: UTF-8 with a byte-order mark, `;` between fields."""
    data = path.read_bytes()
    assert data.startswith(codecs.BOM_UTF8), path
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))


HEADERS = ["fil", "rad", "kolumn", "regel", "meddelande"]


def test_write_unit_reports_one_file_per_unit_and_registry(tmp_path):
    files = baseline()
    set_cell(files, sct_path(2026, "survey"), 2, "sent_date", "2025-02-30")
    files["units.csv"].append([SCT, "okand", "", "2023-01-01", ""])  # unit_name missing: a registry failure
    root = make_root(tmp_path, files)
    validation = validate_delivery(root, 2026, get_condition(SCT), read_registry(root, registered()).units, units=[SCT_UNIT], conditions=registered())
    out = tmp_path / "validation"
    written = write_unit_reports(validation.failures, out, 2026, get_condition(SCT), [SCT_UNIT, "annan"])
    folder = out / "2026" / SCT
    assert written == [
        folder / "annan.csv", folder / "annan.html", folder / f"{SCT_UNIT}.csv", folder / f"{SCT_UNIT}.html", folder / "_registry.csv",
    ]
    assert read_report(folder / f"{SCT_UNIT}.csv")[0] == HEADERS
    assert [row[:4] for row in read_report(folder / f"{SCT_UNIT}.csv")[1:]] == [
        [sct_path(2026, "survey"), "2", "sent_date", "date_format"]
    ]
    assert read_report(folder / "annan.csv") == [HEADERS]  # passed
    assert [row[:4] for row in read_report(folder / "_registry.csv")[1:]] == [["units.csv", "4", "unit_name", "required"]]
    assert sorted(p.name for p in folder.iterdir()) == [
        "_registry.csv", "annan.csv", "annan.html", f"{SCT_UNIT}.csv", f"{SCT_UNIT}.html",
    ]  # no temp files left


def test_write_unit_reports_replaces_older_report(tmp_path):
    out = tmp_path / "validation"
    failing = run(tmp_path / "a", _with_bad_survey()).failures
    write_unit_reports(failing, out, 2026, get_condition(SCT), [SCT_UNIT])
    write_unit_reports(run(tmp_path / "b").failures, out, 2026, get_condition(SCT), [SCT_UNIT])
    assert read_report(out / "2026" / SCT / f"{SCT_UNIT}.csv") == [HEADERS]
    assert not (out / "2026" / SCT / "_registry.csv").exists()


def _with_bad_survey():
    files = baseline()
    set_cell(files, sct_path(2026, "survey"), 2, "sent_date", "")
    return files


def test_missing_line_is_empty_in_report(tmp_path):
    files = baseline()
    del files[sct_path(2026, "survey")]
    validation = run(tmp_path, files)
    write_unit_reports(validation.failures, tmp_path / "v", 2026, get_condition(SCT), [SCT_UNIT])
    assert read_report(tmp_path / "v" / "2026" / SCT / f"{SCT_UNIT}.csv")[1][:4] == [
        sct_path(2026, "survey"), "", "", "missing_table",
    ]


def test_measurement_period_follows_indicators_section_1():
    assert measurement_period_of(get_condition(SKD), 2026) == (date(2025, 9, 1), date(2025, 12, 31))
    assert measurement_period_of(get_condition(SKD), 2027) == (date(2026, 1, 1), date(2026, 12, 31))
    assert measurement_period_of(get_condition(SKD), 2025) is None
    assert measurement_period_of(get_condition(SCT), 2024) == (date(2023, 1, 1), date(2023, 12, 31))
    assert measurement_period_of(get_condition(SCT), 2023) is None


def test_catalogue_constants_of_the_shipped_conditions():
    shipped = registered()[:2]
    assert tuple(c.condition_id for c in shipped) == ("sct_ssc", "skeletal_dysplasia"), "the shipped conditions come first, in order"
    assert {c.condition_id: c.start for c in shipped} == {"sct_ssc": date(2023, 1, 1), "skeletal_dysplasia": date(2025, 9, 1)}
    assert get_condition(SKD).table_names == ("patients", "referrals", "contacts", "survey")
    assert FAILURE_COLUMNS == ["report_year", "condition_id", "unit_id", "file", "line", "column", "rule", "message"]


@pytest.mark.conformance
@pytest.mark.parametrize(("condition_id", "table"), [(c.condition_id, t) for c in registered() for t in c.table_names])
def test_every_contract_column_has_a_description(condition_id, table):
    condition = get_condition(condition_id)
    schema = table_model(condition, table).to_schema()
    assert list(schema.columns) == contract_columns(condition, table)
    assert all(column.description for column in schema.columns.values())
    assert all(column.metadata["kind"] in {"id", "text", "date", "bool", "code", "number"} for column in schema.columns.values())


def test_every_rule_constant_is_documented():
    constants = {value for name, value in vars(rule_module).items() if name.isupper() and isinstance(value, str)}
    assert constants == set(RULES)
    assert {"encoding", "identity_number", "followup_incomplete", "registry", "path_outside_root"} <= set(RULES)


@pytest.mark.parametrize(("condition", "table"), [(SCT, "referrals"), (SCT, "followup"), (SKD, "contacts"), (SKD, "patients")])
def test_staged_select_types_as_to_staged_does(tmp_path, condition, table):
    """The staged step types in DuckDB: same columns, stored types and values as `to_staged`'s frame written by the IO manager."""
    import duckdb

    from nhv_pipeline.contract.staging import staged_select
    from nhv_pipeline.orchestration.resources import replace_rows

    raw = run(tmp_path, condition=condition).tables[table] if condition == SKD else run(tmp_path).tables[table]
    con = duckdb.connect()
    replace_rows(con, "raw", "t", raw, 2026)
    replace_rows(con, "staged", "from_frame", to_staged(get_condition(condition), table, raw), 2026)
    con.execute(f'create table staged.from_sql as {staged_select(get_condition(condition), table, "raw.t")}')
    assert con.execute("describe staged.from_sql").fetchall() == con.execute("describe staged.from_frame").fetchall()
    assert con.execute("select * from staged.from_sql except all select * from staged.from_frame").fetchall() == []
    assert con.execute("select count(*) from staged.from_sql").fetchall() == con.execute("select count(*) from staged.from_frame").fetchall()
