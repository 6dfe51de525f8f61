"""datapackage.json (Frictionless Data Package) and the published files as a consumer reads them.

PUBLICATION.md section 1: every publication folder has a data package whose
Table Schema is generated from the same column declaration as the exports.
The package of a real publication is validated with `frictionless validate`,
the CLI a publisher would run.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from frictionless import validate

from nhv_pipeline.conditions import registered
from nhv_pipeline.indicators import catalogue_entries, make_catalogue
from nhv_pipeline.publication import COLUMNS, PUBLISHED_COLUMNS, format_results, suppress, table_schema, write_results
from nhv_pipeline.publication.datapackage import write_datapackage
from nhv_pipeline.publication.columns import BREAKDOWNS, LEVELS, MEASURES, PRIMARY_KEY
from result_fixtures import frame, row

CATALOGUE = make_catalogue(registered())

YEARS = [2024, 2025, 2026]
FRICTIONLESS = Path(sys.executable).with_name("frictionless")


def small_publication(folder: Path) -> Path:
    results = frame(
        [
            row(n=17),
            row("enhet", "a", n=3),
            row("enhet", "b", n=14),
            row(breakdown="sex", bvalue="K", n=9),
            row(breakdown="sex", bvalue="M", n=8),
            row(indicator="Ö1", measure="proportion", n=20, value=65.0, numerator=13, denominator=20,
                ci_low=43.3, ci_high=81.9),
        ]
    )
    write_results(format_results(suppress(results)), folder)
    (folder / "indicator_catalogue.json").write_text(
        json.dumps(catalogue_entries(make_catalogue(registered())), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    return write_datapackage(folder, 2026, "0.2.0", "2026-03-31T06:00:00Z")


def errors(report) -> list[tuple]:
    return [tuple(e) for e in report.flatten(["taskNumber", "rowNumber", "fieldName", "type"])]


# --- one declaration --------------------------------------------------------------


def test_table_schema_arrow_schema_and_csv_header_come_from_one_declaration(tmp_path):
    small_publication(tmp_path)
    schema = table_schema()
    assert [f["name"] for f in schema["fields"]] == PUBLISHED_COLUMNS
    header = (tmp_path / "indicator_results.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header.split(",") == PUBLISHED_COLUMNS
    arrow = pq.read_schema(tmp_path / "indicator_results.parquet")
    assert arrow.names == PUBLISHED_COLUMNS
    kinds = {c.name: c.kind for c in COLUMNS}
    arrow_kinds = {"int64": "integer", "double": "number", "date32[day]": "date", "bool": "boolean", "string": "string"}
    for field in arrow:
        assert arrow_kinds[str(field.type)] == kinds[field.name], field.name
    assert "suppression_reason" not in PUBLISHED_COLUMNS
    assert schema["primaryKey"] == PRIMARY_KEY and schema["missingValues"] == [""]


def test_the_enums_of_section_2_are_the_shipped_vocabularies():
    fields = {f["name"]: f for f in table_schema()["fields"]}
    assert fields["measure"]["constraints"]["enum"] == list(MEASURES)
    assert fields["level"]["constraints"]["enum"] == list(LEVELS) == ["riket", "enhet"]
    assert fields["breakdown"]["constraints"]["enum"] == list(BREAKDOWNS)


@pytest.mark.conformance
def test_enums_cover_every_measure_and_breakdown_of_the_catalogue():
    fields = {f["name"]: f for f in table_schema(catalogue_entries(make_catalogue(registered())))["fields"]}
    measures, breakdowns = fields["measure"]["constraints"]["enum"], fields["breakdown"]["constraints"]["enum"]
    assert measures[: len(MEASURES)] == list(MEASURES) and breakdowns[: len(BREAKDOWNS)] == list(BREAKDOWNS)
    for indicator in CATALOGUE:
        assert set(indicator.measures) <= set(measures), indicator.key
        for measure in indicator.measures:
            assert set(indicator.breakdowns_for(measure)) <= set(breakdowns), indicator.key


# --- frictionless on a small publication ---------------------------------------------


def test_a_small_publication_validates(tmp_path):
    package = small_publication(tmp_path)
    report = validate(str(package))
    assert report.valid, errors(report)
    descriptor = json.loads(package.read_text(encoding="utf-8"))
    names = [r["name"] for r in descriptor["resources"]]
    assert names == ["indicator_results", "indicator_results_parquet", "indicator_results_json", "indicator_catalogue"]


def test_validation_catches_a_value_outside_the_vocabulary(tmp_path):
    package = small_publication(tmp_path)
    csv = tmp_path / "indicator_results.csv"
    csv.write_text(csv.read_text(encoding="utf-8").replace(",proportion,", ",andel,"), encoding="utf-8")
    write_datapackage(tmp_path, 2026, "0.2.0", "2026-03-31T06:00:00Z")  # fresh hash: only the enum fails
    report = validate(str(package))
    assert not report.valid
    assert {(e[2], e[3]) for e in errors(report)} == {("measure", "constraint-error")}


def test_validation_catches_a_file_changed_after_packaging(tmp_path):
    package = small_publication(tmp_path)
    catalogue = tmp_path / "indicator_catalogue.json"
    catalogue.write_text(catalogue.read_text(encoding="utf-8").replace("Antal", "Summa", 1), encoding="utf-8")
    report = validate(str(package))
    assert not report.valid
    assert {e[3] for e in errors(report)} == {"hash-count"}


def test_validation_catches_a_duplicate_primary_key(tmp_path):
    package = small_publication(tmp_path)
    csv = tmp_path / "indicator_results.csv"
    lines = csv.read_text(encoding="utf-8").splitlines()
    csv.write_text("\n".join(lines + [lines[1]]) + "\n", encoding="utf-8")
    write_datapackage(tmp_path, 2026, "0.2.0", "2026-03-31T06:00:00Z")
    report = validate(str(package))
    assert "primary-key" in {e[3] for e in errors(report)}


# --- the real publications ----------------------------------------------------------


@pytest.fixture(scope="module")
def published(full_run) -> Path:
    workspace, completed = full_run
    assert completed.returncode == 0, completed.stderr[-3000:]
    return workspace.warehouse / "published"


@pytest.mark.parametrize("report_year", YEARS)
def test_frictionless_validate_passes_on_the_real_publication(published, report_year):
    package = published / str(report_year) / "datapackage.json"
    assert package.is_file()
    done = subprocess.run(
        [str(FRICTIONLESS), "validate", "--json", str(package)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert report["valid"] is True
    rows = {t["name"]: t["stats"].get("rows") for t in report["tasks"]}
    csv_rows = sum(1 for _ in (published / str(report_year) / "indicator_results.csv").open(encoding="utf-8")) - 1
    assert rows["indicator_results"] == csv_rows > 0


@pytest.mark.parametrize("report_year", YEARS)
def test_duckdb_reads_the_same_rows_from_every_format_of_the_real_publication(published, report_year):
    base = published / str(report_year) / "indicator_results"
    con = duckdb.connect()
    cols = ", ".join(PUBLISHED_COLUMNS)
    sources = [f"read_csv('{base}.csv')", f"read_parquet('{base}.parquet')", f"read_json_auto('{base}.json')"]
    counts = {con.execute(f"select count(*) from {s}").fetchone()[0] for s in sources}
    assert len(counts) == 1 and counts.pop() > 0
    for a in sources:
        for b in sources:
            if a != b:
                assert con.execute(f"select {cols} from {a} except select {cols} from {b}").fetchall() == [], (a, b)
    # Null where the CSV is empty: every riket row has a null unit_id in the typed files.
    riket = con.execute(f"select count(*) from {sources[1]} where level = 'riket'").fetchone()[0]
    assert con.execute(f"select count(*) from {sources[1]} where unit_id is null").fetchone()[0] == riket > 0


@pytest.mark.parametrize("report_year", YEARS)
def test_no_published_file_of_the_real_publication_names_a_suppression_reason(published, report_year):
    folder = published / str(report_year)
    with duckdb.connect() as con:
        assert con.execute(f"select count(*) from read_csv('{folder}/indicator_results.csv') where suppressed").fetchone()[0] > 0
    for path in folder.iterdir():
        if path.is_file():
            data = path.read_bytes()
            for word in (b"suppression_reason", b"small_n", b"complementary"):
                assert word not in data, (path.name, word)


def test_the_reason_stays_in_the_warehouse(full_run):
    """PUBLICATION.md section 3: the published files drop it, the warehouse keeps it for analysts."""
    workspace, _ = full_run
    with duckdb.connect(str(workspace.warehouse / "nhv.duckdb"), read_only=True) as con:
        reasons = dict(con.execute(
            "select suppression_reason, count(*) from published.indicator_results where suppressed group by 1"
        ).fetchall())
    # The disclosure audit's extra cells keep their own reason there (issue 14): the sample needs some.
    assert set(reasons) == {"small_n", "complementary", "audit"}
