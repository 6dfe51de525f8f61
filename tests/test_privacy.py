"""DATA_CONTRACT.md section 3: a personal identity number in a delivery never leaves the raw file."""

from __future__ import annotations

import duckdb
import pytest
from dagster import DagsterInstance

from pipeline_helpers import make_workspace, tree_digest

IDENTITY_NUMBER = "19121212-1212"
FORMS = [IDENTITY_NUMBER, IDENTITY_NUMBER.replace("-", ""), IDENTITY_NUMBER[2:], IDENTITY_NUMBER[2:].replace("-", "")]


def _files_holding(folder, needles):
    hits = []
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            hits += [f"{path}: {n}" for n in needles if n.encode() in data]
    return hits


def _warehouse_values_holding(database, needles):
    """Every text value of every table, so compression inside the DuckDB file cannot hide a hit."""
    hits = []
    with duckdb.connect(str(database), read_only=True) as con:
        tables = con.execute("select table_schema, table_name from information_schema.tables").fetchall()
        for schema, table in tables:
            columns = [r[0] for r in con.execute(f'describe "{schema}"."{table}"').fetchall()]
            for column in columns:
                values = con.execute(f'select distinct cast("{column}" as varchar) from "{schema}"."{table}"').fetchall()
                hits += [f"{schema}.{table}.{column}" for (v,) in values if v and any(n in v for n in needles)]
    return hits


@pytest.fixture(scope="module")
def leaked_run(tmp_path_factory, sample_data):
    workspace = make_workspace(tmp_path_factory.mktemp("privacy"), sample_data)
    patients = workspace.data_raw / "2026" / "sct_ssc" / "akademiska" / "patients.csv"
    lines = patients.read_text(encoding="utf-8").split("\n")
    original_id = lines[1].split(",")[0]
    lines[1] = lines[1].replace(original_id, IDENTITY_NUMBER, 1)
    patients.write_text("\n".join(lines), encoding="utf-8")
    before = tree_digest(workspace.data_raw)
    completed = workspace.cli("run", "--report-year", "2026")
    return workspace, completed, before


def test_the_run_fails_and_names_file_line_column_and_rule(leaked_run):
    _, completed, _ = leaked_run
    assert completed.returncode == 1
    assert "2026/sct_ssc/akademiska/patients.csv line 2, column patient_id: [identity_number]" in completed.stderr


def test_the_identity_number_is_not_on_stdout_or_stderr(leaked_run):
    _, completed, _ = leaked_run
    for form in FORMS:
        assert form not in completed.stdout
        assert form not in completed.stderr


def test_the_identity_number_is_nowhere_under_the_warehouse(leaked_run):
    workspace, _, _ = leaked_run
    assert _files_holding(workspace.warehouse, FORMS) == []
    assert _warehouse_values_holding(workspace.warehouse / "nhv.duckdb", FORMS) == []


def test_the_identity_number_is_not_in_the_dagster_event_log(leaked_run, monkeypatch):
    workspace, _, _ = leaked_run
    assert _files_holding(workspace.dagster_home, FORMS) == []
    monkeypatch.setenv("DAGSTER_HOME", str(workspace.dagster_home))
    with DagsterInstance.get() as instance:
        runs = instance.get_runs()
        assert runs
        for run in runs:
            for record in instance.all_logs(run.run_id):
                text = repr(record)
                assert not any(form in text for form in FORMS), run.run_id


def test_the_raw_file_is_not_modified_and_nothing_is_published(leaked_run):
    workspace, _, before = leaked_run
    assert tree_digest(workspace.data_raw) == before
    assert not (workspace.warehouse / "published" / "2026").exists()
