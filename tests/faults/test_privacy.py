"""DATA_CONTRACT.md section 3: a personal identity number in a delivery never leaves the raw file."""

from __future__ import annotations

import json

import duckdb
import pytest
from dagster import DagsterEventType, DagsterInstance

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


def _event_log_holding(dagster_home, needles, monkeypatch) -> list[str]:
    """(run id, needle) of every record of every run's event log that holds one of the needles."""
    monkeypatch.setenv("DAGSTER_HOME", str(dagster_home))
    hits = []
    with DagsterInstance.get() as instance:
        for run in instance.get_runs():
            for record in instance.all_logs(run.run_id):
                text = repr(record)
                hits += [f"{run.run_id}: {needle}" for needle in needles if needle in text]
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


def test_the_dagster_home_holds_no_patient_value_after_a_failing_delivery(leaked_run, monkeypatch):
    """resources.py: the Dagster home keeps the operator's modes because it holds no patient value. Kept so.

    Every patient id and birth date of the failing unit's delivery: in no file of the Dagster home,
    and in no record of its event log.
    """
    import csv

    workspace, completed, _ = leaked_run
    assert completed.returncode == 1
    patients = workspace.data_raw / "2026" / "sct_ssc" / "akademiska" / "patients.csv"
    rows = list(csv.DictReader(patients.read_text(encoding="utf-8").splitlines()))
    values = sorted({row["patient_id"] for row in rows} | {row["birth_date"] for row in rows} - {IDENTITY_NUMBER})
    assert len(values) > 10
    assert _files_holding(workspace.dagster_home, values) == []
    assert _event_log_holding(workspace.dagster_home, values, monkeypatch) == []


def _nothing_of_sct_ssc_is_published(workspace) -> None:
    """The failing area has no part (none published before); the other area's part is published
    (PUBLICATION.md, top), and the manifest says why sct_ssc's is absent without repeating a value."""
    folder = workspace.warehouse / "published" / "2026"
    if not folder.exists():  # the registry failed: no area ran
        return
    conditions = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["conditions"]
    assert conditions["sct_ssc"]["status"] == "withheld"
    assert "identity_number" in conditions["sct_ssc"]["reason"]
    others = {condition_id for condition_id in conditions if condition_id != "sct_ssc"}
    assert "skeletal_dysplasia" in others and {conditions[c]["status"] for c in others} == {"updated"}
    rows = (folder / "indicator_results.csv").read_text(encoding="utf-8").splitlines()[1:]
    published = {row.split(",")[1] for row in rows}
    assert rows and "skeletal_dysplasia" in published and published <= others


def test_the_raw_file_is_not_modified_and_nothing_of_its_area_is_published(leaked_run):
    workspace, _, before = leaked_run
    assert tree_digest(workspace.data_raw) == before
    _nothing_of_sct_ssc_is_published(workspace)


# --- identity numbers anywhere: cells of any column, units.csv, header, folder and file names ----------

import csv  # noqa: E402
import io  # noqa: E402

PERSONAL = "19121212-1212"  # valid date and check digit
COORDINATION = "19121272-1219"  # day + 60, valid check digit


def _written_forms(number: str) -> list[str]:
    digits = number.replace("-", "")
    short = digits[2:]
    return sorted({number, digits, short, f"{short[:6]}-{short[6:]}", f"{short[:6]}+{short[6:]}",
                   f"{digits[:8]} {digits[8:]}", f"{short[:6]} {short[6:]}"})


HOSTILE_FORMS = _written_forms(PERSONAL) + _written_forms(COORDINATION) + ["pnr_1912"]


def _edit_csv(path, edit):
    text = path.read_text(encoding="utf-8-sig")
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","  # some sample units write Swedish Excel CSV
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    edit(rows)
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\n").writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")


@pytest.fixture(scope="module", params=["registry", "delivery"])
def hostile_run(request, tmp_path_factory, sample_data):
    """units.csv with identity numbers (the registry check stops the run before any delivery is read), or
    a delivery with them in cells, a header, a unit folder name and a file name."""
    workspace = make_workspace(tmp_path_factory.mktemp(f"privacy_{request.param}"), sample_data)
    raw = workspace.data_raw
    unit = raw / "2026" / "sct_ssc" / "akademiska"

    def units(rows):
        rows.append(["sct_ssc", "191212121212", "Nytt sjukhus", "2023-01-01", ""])
        rows.append(["skeletal_dysplasia", "extra_sd", "Akademiska 19121212-1212", "2025-09-01", ""])

    def patients(rows):
        rows[1][0] = "19121212 1212"
        rows[2][0] = "P19121212-1212"
        rows[3][0] = "P100001\n19121212-1212"  # quoted, with an embedded newline
        rows[4][2] = "191212121212"  # birth_date

    def referrals(rows):
        rows[1][rows[0].index("care_plan")] = "191212121212"

    def header(rows):
        rows[0].append("pnr_191212121212")
        for r in rows[1:]:
            r.append("1")

    if request.param == "registry":
        _edit_csv(raw / "units.csv", units)
        before = tree_digest(raw)
        return request.param, workspace, workspace.cli("run", "--report-year", "2026"), before
    _edit_csv(unit / "patients.csv", patients)
    _edit_csv(unit / "referrals.csv", referrals)
    _edit_csv(raw / "2026" / "sct_ssc" / "karolinska" / "transplants.csv", header)
    folder = raw / "2026" / "sct_ssc" / PERSONAL
    folder.mkdir()
    (folder / "patients.csv").write_text("patient_id,sex,birth_date,home_region\nP1,K,1970-01-01,01\n", encoding="utf-8")
    (unit / f"{COORDINATION}.csv").write_text("a\n1\n", encoding="utf-8")
    before = tree_digest(raw)
    completed = workspace.cli("run", "--report-year", "2026")
    return request.param, workspace, completed, before


def test_every_form_fails_the_run_and_is_named_by_file_line_and_column(hostile_run, monkeypatch):
    kind, workspace, completed, _ = hostile_run
    assert completed.returncode == 1
    if kind == "registry":
        # The registry check stops the run before any delivery is read; its metadata names the cells.
        assert "FAILED check registry_contract on registry/units" in completed.stderr
        monkeypatch.setenv("DAGSTER_HOME", str(workspace.dagster_home))
        with DagsterInstance.get() as instance:
            run = instance.get_runs(limit=1)[0]
            evaluation = next(
                r.dagster_event.event_specific_data
                for r in instance.all_logs(run.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION)
                if r.dagster_event.event_specific_data.check_name == "registry_contract"
            )
        table = evaluation.metadata["first_failures"].value
        # The two rows appended last (units.csv lists every registered area's units before them).
        last = len((workspace.data_raw / "units.csv").read_text(encoding="utf-8").splitlines())
        assert f"| units.csv | {last - 1} | unit_id | identity_number |" in table
        assert f"| units.csv | {last} | unit_name | identity_number |" in table
        return
    assert "[identity_number]" in completed.stderr
    assert "entry 1 of 4 in 2026/sct_ssc" in completed.stderr
    assert "entry 1 of 6 in 2026/sct_ssc/akademiska" in completed.stderr
    reports = workspace.warehouse / "validation" / "2026" / "sct_ssc"
    text = "".join(p.read_text(encoding="utf-8-sig") for p in sorted(reports.glob("*.csv"))).replace(";", ",")
    for where in ["patients.csv,2,patient_id", "patients.csv,3,patient_id", "patients.csv,4,patient_id",
                  "patients.csv,6,birth_date", "referrals.csv,2,care_plan", "transplants.csv,1,#7"]:
        assert where in text, where


def test_no_form_reaches_output_warehouse_dagster_home_or_event_log(hostile_run, monkeypatch):
    _, workspace, completed, _ = hostile_run
    for form in HOSTILE_FORMS:
        assert form not in completed.stdout, form
        assert form not in completed.stderr, form
    assert _files_holding(workspace.warehouse, HOSTILE_FORMS) == []
    assert _warehouse_values_holding(workspace.warehouse / "nhv.duckdb", HOSTILE_FORMS) == []
    assert _files_holding(workspace.dagster_home, HOSTILE_FORMS) == []
    assert _event_log_holding(workspace.dagster_home, HOSTILE_FORMS, monkeypatch) == []


def test_the_hostile_delivery_is_not_modified_and_nothing_of_its_area_is_published(hostile_run):
    _, workspace, _, before = hostile_run
    assert tree_digest(workspace.data_raw) == before
    _nothing_of_sct_ssc_is_published(workspace)


def test_the_delivery_sensor_state_names_such_folders_and_files_by_position(tmp_path):
    from nhv_pipeline.orchestration.sensors import delivery_state

    unit = tmp_path / "2026" / "sct_ssc" / PERSONAL
    unit.mkdir(parents=True)
    (unit / "patients.csv").write_text("x\n", encoding="utf-8")
    (tmp_path / "2026" / "sct_ssc" / "ks").mkdir()
    (tmp_path / "2026" / "sct_ssc" / "ks" / f"{COORDINATION}.csv").write_text("x\n", encoding="utf-8")
    state = delivery_state(tmp_path)
    assert sorted(state) == ["2026/sct_ssc/(unit folder 1)/patients.csv", "2026/sct_ssc/ks/(file 1)"]
