"""The DuckDB warehouse I/O: partition replacement, empty slices, schema changes, the writer lock."""

from __future__ import annotations

from nhv_pipeline.conditions import get_condition
import os
import stat
import subprocess
import sys
import textwrap
import time

import pandas as pd
import pytest

from nhv_pipeline.orchestration.resources import (
    Warehouse,
    WarehouseLockTimeout,
    WarehousePermissionError,
    connect,
    one_transaction,
    read_rows,
    replace_rows,
    secure_warehouse,
    stored_columns,
    table_exists,
    table_name,
)


def test_table_name_joins_condition_and_table_inside_the_layer_schema():
    assert table_name(["staged", "sct_ssc", "patients"]) == ("staged", "sct_ssc_patients")
    assert table_name(["results", "indicator_results"]) == ("results", "indicator_results")


def test_rerunning_a_report_year_replaces_only_its_rows(tmp_path):
    database = tmp_path / "nhv.duckdb"
    with connect(database) as con:
        replace_rows(con, "staged", "t", pd.DataFrame({"report_year": [2024, 2024], "x": [1, 2]}), 2024)
        replace_rows(con, "staged", "t", pd.DataFrame({"report_year": [2025], "x": [3]}), 2025)
        replace_rows(con, "staged", "t", pd.DataFrame({"report_year": [2024], "x": [9]}), 2024)
        rows = read_rows(con, "staged", "t", None).sort_values("x")
    assert rows["x"].tolist() == [3, 9]


def test_writes_in_one_transaction_commit_together_and_an_error_leaves_every_table_as_it_was(tmp_path):
    database = tmp_path / "nhv.duckdb"
    with connect(database) as con:
        replace_rows(con, "staged", "a", pd.DataFrame({"report_year": [2024], "x": [1]}), 2024)
        with pytest.raises(RuntimeError), one_transaction(con):
            replace_rows(con, "staged", "a", pd.DataFrame({"report_year": [2024], "x": [2]}), 2024)
            replace_rows(con, "staged", "b", pd.DataFrame({"report_year": [2024], "x": [3]}), 2024)
            raise RuntimeError("the step failed half-way")
        assert read_rows(con, "staged", "a", [2024])["x"].tolist() == [1]
        assert not table_exists(con, "staged", "b")
        with one_transaction(con):
            replace_rows(con, "staged", "a", pd.DataFrame({"report_year": [2024], "x": [2]}), 2024)
            with one_transaction(con):  # a nested block joins the outer transaction
                replace_rows(con, "staged", "b", pd.DataFrame({"report_year": [2024], "x": [3]}), 2024)
    with connect(database) as con:  # committed: another connection sees both
        assert read_rows(con, "staged", "a", [2024])["x"].tolist() == [2]
        assert read_rows(con, "staged", "b", [2024])["x"].tolist() == [3]


def test_a_warehouse_transaction_outside_a_run_holds_one_connection_for_the_block(tmp_path):
    warehouse = Warehouse(warehouse_dir=str(tmp_path))
    with pytest.raises(RuntimeError), warehouse.transaction():
        warehouse.store(["staged", "c", "t"], pd.DataFrame({"report_year": [2024], "x": [1]}), 2024)
        with warehouse.connection() as con:  # the block's connection: it sees the uncommitted rows
            assert read_rows(con, "staged", "c_t", [2024])["x"].tolist() == [1]
        raise RuntimeError("the step failed half-way")
    with warehouse.connection() as con:
        assert not table_exists(con, "staged", "c_t")


def test_an_empty_slice_is_written_and_clears_the_report_year(tmp_path):
    database = tmp_path / "nhv.duckdb"
    with connect(database) as con:
        replace_rows(con, "staged", "t", pd.DataFrame({"report_year": [2024], "x": [1]}), 2024)
        replace_rows(con, "staged", "t", pd.DataFrame({"report_year": pd.Series([], dtype="int64"), "x": pd.Series([], dtype="int64")}), 2024)
        assert read_rows(con, "staged", "t", [2024]).empty


def test_an_empty_first_slice_creates_the_table(tmp_path):
    with connect(tmp_path / "nhv.duckdb") as con:
        empty = pd.DataFrame({"report_year": pd.Series([], dtype="int64"), "x": pd.Series([], dtype="float64")})
        replace_rows(con, "results", "t", empty, 2024)
        assert list(read_rows(con, "results", "t", [2024]).columns) == ["report_year", "x"]


def test_a_new_column_rebuilds_the_table_and_keeps_other_years(tmp_path):
    with connect(tmp_path / "nhv.duckdb") as con:
        replace_rows(con, "results", "t", pd.DataFrame({"report_year": [2024], "x": [1]}), 2024)
        replace_rows(con, "results", "t", pd.DataFrame({"report_year": [2025], "x": [2], "y": ["b"]}), 2025)
        rows = read_rows(con, "results", "t", None).sort_values("report_year")
    assert rows["x"].tolist() == [1, 2]
    assert rows["y"].isna().tolist() == [True, False]


def test_reading_a_table_never_written_gives_an_empty_frame(tmp_path):
    with connect(tmp_path / "nhv.duckdb") as con:
        assert read_rows(con, "staged", "missing", [2024]).empty


def test_table_exists_knows_tables_only_and_leaves_an_open_transaction_usable(tmp_path):
    with connect(tmp_path / "nhv.duckdb") as con:
        replace_rows(con, "staged", "t", pd.DataFrame({"report_year": [2024], "x": [1]}), 2024)
        con.execute('create view "staged"."v" as select 1 as x')
        assert table_exists(con, "staged", "t")
        assert not table_exists(con, "staged", "v")  # a view is not a table
        assert not table_exists(con, "staged", "missing")
        assert not table_exists(con, "no_such_schema", "t")
        con.execute("begin transaction")
        assert not table_exists(con, "staged", "missing")
        con.execute('insert into "staged"."t" values (2025, 2)')  # the failed lookup did not abort the transaction
        con.execute("commit")
        assert read_rows(con, "staged", "t", None)["x"].tolist() == [1, 2]



def test_stored_columns_gives_a_tables_columns_in_order_and_none_for_views_and_missing_tables(tmp_path):
    with connect(tmp_path / "nhv.duckdb") as con:
        replace_rows(con, "staged", "t", pd.DataFrame({"report_year": [2024], "b x": [1], "a": ["z"]}), 2024)
        con.execute('create view "staged"."v" as select 1 as x')
        assert stored_columns(con, "staged", "t") == ["report_year", "b x", "a"]
        assert stored_columns(con, "staged", "v") is None
        assert stored_columns(con, "staged", "missing") is None
        assert stored_columns(con, "no_such_schema", "t") is None


def test_a_first_write_in_a_new_schema_inside_a_transaction_is_rolled_back_with_it(tmp_path):
    with connect(tmp_path / "nhv.duckdb") as con:
        with pytest.raises(RuntimeError, match="stop"):
            with one_transaction(con):
                replace_rows(con, "fresh", "t", pd.DataFrame({"report_year": [2024], "x": [1]}), 2024)
                assert read_rows(con, "fresh", "t", None)["x"].tolist() == [1]
                raise RuntimeError("stop")
        assert not table_exists(con, "fresh", "t")
        with one_transaction(con):
            replace_rows(con, "fresh", "t", pd.DataFrame({"report_year": [2024], "x": [1]}), 2024)
            replace_rows(con, "fresh", "t", pd.DataFrame({"report_year": [2025], "x": [2]}), 2025)
            replace_rows(con, "fresh", "u", pd.DataFrame({"x": [3]}), None)
        assert read_rows(con, "fresh", "t", None)["x"].tolist() == [1, 2]
        assert read_rows(con, "fresh", "u", None)["x"].tolist() == [3]


def test_the_same_columns_in_another_order_rebuild_the_table_keeping_other_years(tmp_path):
    with connect(tmp_path / "nhv.duckdb") as con:
        replace_rows(con, "results", "t", pd.DataFrame({"report_year": [2024], "x": [1], "y": ["a"]}), 2024)
        replace_rows(con, "results", "t", pd.DataFrame({"y": ["b"], "report_year": [2025], "x": [2]}), 2025)
        assert stored_columns(con, "results", "t") == ["y", "report_year", "x"]
        rows = read_rows(con, "results", "t", None).sort_values("report_year")
    assert rows["x"].tolist() == [1, 2] and rows["y"].tolist() == ["a", "b"]

HOLD_LOCK = textwrap.dedent(
    """
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1])
    con.execute("create table if not exists t(x int)")
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
    con.close()
    """
)


def _hold_lock(database, seconds):
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(database), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout.readline().strip() == "locked"
    return process


def test_a_second_writer_waits_for_the_first_to_release_the_warehouse(tmp_path):
    database = tmp_path / "nhv.duckdb"
    holder = _hold_lock(database, 1.5)
    started = time.monotonic()
    with connect(database, wait_seconds=30) as con:
        waited = time.monotonic() - started
        con.execute("insert into t values (1)")
        assert con.execute("select count(*) from t").fetchone()[0] == 1
    holder.wait()
    assert waited > 0.5


def test_a_writer_that_waits_too_long_stops_with_a_message_saying_what_to_do(tmp_path):
    database = tmp_path / "nhv.duckdb"
    holder = _hold_lock(database, 5)
    try:
        with pytest.raises(WarehouseLockTimeout, match="another process"):
            with connect(database, wait_seconds=0.5):
                pass
    finally:
        holder.kill()
        holder.wait()


def test_a_text_column_without_any_value_is_stored_as_text_so_later_years_can_fill_it(tmp_path):
    with connect(tmp_path / "nhv.duckdb") as con:
        replace_rows(con, "raw", "t", pd.DataFrame({"report_year": [2024], "death_date": [None]}), 2024)
        replace_rows(con, "raw", "t", pd.DataFrame({"report_year": [2025], "death_date": ["2024-05-01"]}), 2025)
        rows = read_rows(con, "raw", "t", None).sort_values("report_year")
    assert rows["death_date"].tolist()[1] == "2024-05-01"


def test_only_a_text_column_empty_in_every_row_is_typed_as_text_first(tmp_path):
    """An empty first cell says nothing of the rest: a column with a value further down keeps its values."""
    frame = pd.DataFrame(
        {
            "report_year": [2024, 2024, 2024],
            "empty": pd.Series([None, float("nan"), None], dtype=object),
            "late": [None, None, "2024-05-01"],
            "flag": [None, True, False],
        }
    )
    with connect(tmp_path / "nhv.duckdb") as con:
        replace_rows(con, "raw", "t", frame, 2024)
        types = dict(con.execute("select column_name, data_type from information_schema.columns where table_name = 't'").fetchall())
        rows = read_rows(con, "raw", "t", None)
    assert types["empty"] == "VARCHAR"
    assert types["late"] == "VARCHAR"
    assert types["flag"] == "BOOLEAN"  # typed from its values, not as text
    assert rows["late"].tolist() == [None, None, "2024-05-01"]
    assert rows["empty"].isna().all()


def test_the_loaded_slices_of_every_condition_are_read_in_one_query(tmp_path):
    """The CLI's plan asks for every table of every condition of each earlier year: one query, not one each."""
    from nhv_pipeline.orchestration.assets.staged import loaded_slices, record_load
    from nhv_pipeline.orchestration.resources import Warehouse

    warehouse = Warehouse(warehouse_dir=str(tmp_path))
    assert loaded_slices(warehouse) == {}  # nothing staged yet: no loads table
    record_load(warehouse, "a", "patients", 2024, 3)
    record_load(warehouse, "a", "patients", 2025, 0)  # an empty slice is loaded too
    record_load(warehouse, "a", "visits", 2025, 2)
    record_load(warehouse, "b", "patients", 2026, 1)
    record_load(warehouse, "a", "patients", 2025, 4)  # re-staged: still one year
    assert loaded_slices(warehouse) == {("a", "patients"): {2024, 2025}, ("a", "visits"): {2025}, ("b", "patients"): {2026}}


def _every_column_type(con) -> None:
    """A table with each stored type the layers use, NULLs included, and an all-NULL text column."""
    con.execute("create schema if not exists staged")
    con.execute(
        """
        create or replace table staged.typed as
        select * from (values
            (2024, 'A', 'a.csv', 2, 'x', null::varchar, '2025-01-01'::timestamp_ns, true, true, 1.5, 7::bigint,
             '2025-03-01'::timestamp, '2025-03-01'::date, 3::integer),
            (2024, 'A', 'a.csv', 3, null, null, null, false, null, null, null, null, null, null),
            (2025, 'B', 'b.csv', 2, 'Ö', null, '2024-02-29'::timestamp_ns, true, false, 2.0, 8, null, '2024-02-29', 4)
        ) as t(report_year, unit_id, source_file, source_line, code, empty_text, day, flag, maybe, share, n,
               stamp, date_only, small)
        """
    )


def test_read_rows_gives_the_frame_duckdb_gives(tmp_path):
    """Text columns are read through arrow (one Python string per distinct value), the rest as DuckDB
    converts them: the frame is the one `.df()` gives, column for column, type for type."""
    with connect(tmp_path / "nhv.duckdb") as con:
        _every_column_type(con)
        for years in (None, [2024, 2025], [2025], [2023]):
            # DuckDB's own types depend on the rows: a boolean column with a NULL becomes `boolean`, else `bool`.
            where = "" if years is None else f"where report_year in ({', '.join(map(str, years))})"
            wanted = con.execute(
                f"select * from staged.typed {where} order by report_year, unit_id, source_file, source_line"
            ).df()
            pd.testing.assert_frame_equal(read_rows(con, "staged", "typed", years), wanted, check_exact=True)


def test_read_rows_shares_one_string_per_distinct_text_value(tmp_path):
    with connect(tmp_path / "nhv.duckdb") as con:
        replace_rows(con, "staged", "t", pd.DataFrame({"report_year": [2024] * 1000, "code": ["ab" * 3] * 1000}), 2024)
        rows = read_rows(con, "staged", "t", None)
    assert rows["code"].tolist() == ["ababab"] * 1000
    assert len({id(value) for value in rows["code"]}) == 1


# --- who may read the warehouse (resources.py; PUBLICATION.md 5) ------------------------------------------

def _mode(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture
def usual_umask():
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_a_new_warehouse_and_its_database_are_owner_only_under_the_usual_umask(tmp_path, usual_umask):
    from dagster import build_init_resource_context

    warehouse_dir = tmp_path / "warehouse"
    warehouse = Warehouse(warehouse_dir=str(warehouse_dir))
    context = build_init_resource_context()
    warehouse.setup_for_execution(context)
    try:
        warehouse.store(["staged", "c", "patients"], pd.DataFrame({"report_year": [2026], "patient_id": ["P1"]}), 2026)
        wal = warehouse_dir / "nhv.duckdb.wal"
        if wal.exists():
            assert _mode(wal) == 0o600
    finally:
        warehouse.teardown_after_execution(context)
    assert _mode(warehouse_dir) == 0o711  # traversable to published/, not listable
    assert _mode(warehouse_dir / "nhv.duckdb") == 0o600
    assert os.umask(0o022) == 0o022  # the run's umask is put back
    with connect(warehouse_dir / "nhv.duckdb") as con:
        con.execute("create table t as select 1 as x")
    assert all(_mode(p) == 0o600 for p in warehouse_dir.glob("nhv.duckdb*"))


def test_validation_reports_are_owner_only_and_published_is_for_everyone(tmp_path, usual_umask):
    from nhv_pipeline.contract import write_unit_reports
    from nhv_pipeline.contract.rules import FAILURE_COLUMNS, normalise_failures
    from nhv_pipeline.publication.swap import publish_folder
    from nhv_pipeline.orchestration.resources import owner_only_files

    warehouse_dir = tmp_path / "warehouse"
    secure_warehouse(warehouse_dir, lambda message: None)
    with owner_only_files():  # as inside a run
        written = write_unit_reports(normalise_failures(pd.DataFrame(columns=FAILURE_COLUMNS)), warehouse_dir / "validation", 2026, get_condition("sct_ssc"), ["akademiska"])
        with publish_folder(warehouse_dir / "published", 2026) as staging:
            (staging / "indicator_results.csv").write_text("x\n", encoding="utf-8")
    for folder in (warehouse_dir / "validation", warehouse_dir / "validation" / "2026", written[0].parent):
        assert _mode(folder) == 0o700, folder
    assert all(_mode(path) == 0o600 for path in written)
    assert _mode(warehouse_dir / "published") == 0o755
    assert _mode(warehouse_dir / "published" / "2026") == 0o755
    assert _mode(warehouse_dir / "published" / "2026" / "indicator_results.csv") == 0o644


def test_a_warehouse_found_looser_is_tightened_with_a_warning_naming_it(tmp_path, usual_umask):
    warehouse_dir = tmp_path / "warehouse"
    (warehouse_dir / "validation" / "2026" / "sct_ssc").mkdir(parents=True)
    (warehouse_dir / "published" / "2026").mkdir(parents=True)
    for name in ("nhv.duckdb", "nhv.duckdb.wal", "nhv.duckdb.replaced-20260101T000000Z"):
        (warehouse_dir / name).write_bytes(b"x")
    (warehouse_dir / "validation" / "2026" / "sct_ssc" / "akademiska.csv").write_bytes(b"x")
    (warehouse_dir / "published" / "2026" / "indicator_results.csv").write_bytes(b"x")
    os.chmod(warehouse_dir, 0o777)
    warnings: list[str] = []
    secure_warehouse(warehouse_dir, warnings.append)
    assert _mode(warehouse_dir) == 0o711
    assert [_mode(warehouse_dir / n) for n in ("nhv.duckdb", "nhv.duckdb.wal", "nhv.duckdb.replaced-20260101T000000Z")] == [0o600] * 3
    assert _mode(warehouse_dir / "validation" / "2026") == 0o700
    assert _mode(warehouse_dir / "validation" / "2026" / "sct_ssc" / "akademiska.csv") == 0o600
    assert _mode(warehouse_dir / "published" / "2026") == 0o755  # published stays readable
    assert _mode(warehouse_dir / "published" / "2026" / "indicator_results.csv") == 0o644
    assert any(str(warehouse_dir / "nhv.duckdb") in w and "0644" in w for w in warnings)
    assert any(str(warehouse_dir / "nhv.duckdb.wal") in w for w in warnings)
    assert any("validation" in w and "4 validation report" in w for w in warnings), warnings
    again: list[str] = []
    secure_warehouse(warehouse_dir, again.append)
    assert again == []


def test_a_warehouse_that_cannot_be_tightened_stops_the_run_saying_what_to_do(tmp_path, usual_umask, monkeypatch):
    import nhv_pipeline.orchestration.resources as resources

    warehouse_dir = tmp_path / "warehouse"
    warehouse_dir.mkdir()
    os.chmod(warehouse_dir, 0o711)
    (warehouse_dir / "nhv.duckdb").write_bytes(b"x")

    def refused(path, mode):
        raise PermissionError(1, "Operation not permitted", str(path))

    monkeypatch.setattr(resources.os, "chmod", refused)  # as for a file another account owns
    with pytest.raises(WarehousePermissionError) as raised:
        secure_warehouse(warehouse_dir, lambda message: None)
    message = str(raised.value)
    assert str(warehouse_dir / "nhv.duckdb") in message and "0644" in message and "chmod 600" in message


# --- many tables in a few queries (the results step) ----------------------------------------------------

def _result_rows(condition_id: str, indicator_id: str, year: int, count: int, **overrides) -> pd.DataFrame:
    """`count` result rows of one indicator and year, typed as the indicator engine types them."""
    from datetime import date

    from nhv_pipeline.indicators import RESULT_COLUMNS

    frame = pd.DataFrame({
        "report_year": [year] * count, "condition_id": [condition_id] * count, "indicator_id": [indicator_id] * count,
        "measure": ["proportion"] * count, "period_start": [date(year - 1, 1, 1)] * count,
        "period_end": [date(year - 1, 12, 31)] * count, "level": ["riket"] + ["enhet"] * (count - 1),
        "unit_id": [None] + [f"U{number}" for number in range(1, count)], "unit_name": [None] * count,
        "breakdown": ["total"] * count, "breakdown_value": [None] * count, "breakdown_label": ["Totalt"] * count,
        "n": pd.array([10 + number for number in range(count)], dtype="Int64"),
        "value": [0.5 + number / 10 for number in range(count)],
        "numerator": pd.array([5] * count, dtype="Int64"), "denominator": pd.array([10] * count, dtype="Int64"),
        **{column: [float("nan")] * count for column in ("ci_low", "ci_high", "mean", "sd", "p10", "median", "p90")},
        "suppressed": [False] * count, "suppression_reason": [None] * count,
    })[RESULT_COLUMNS]
    for column, values in overrides.items():
        frame[column] = values
    return frame


def test_reading_many_tables_in_one_query_gives_the_frame_their_concatenation_gives(tmp_path):
    """The results step's read of every indicator table: a table never written and one without rows for the
    year contribute nothing; types that differ between tables (text periods in a table first written empty,
    a count or a flag with a missing value) come out as the concatenation of one read per table makes them."""
    from nhv_pipeline.indicators import empty_result
    from nhv_pipeline.orchestration.resources import read_rows_of_tables

    year = 2026
    with connect(tmp_path / "nhv.duckdb") as con:
        replace_rows(con, "results", "area_a_B1", _result_rows("area_a", "B1", year, 3), year)
        replace_rows(con, "results", "area_a_B1", _result_rows("area_a", "B1", year - 1, 2), year - 1)
        replace_rows(con, "results", "area_a_R1", _result_rows("area_a", "R1", year - 1, 2), year - 1)  # none for R
        replace_rows(con, "results", "area_b_B1", empty_result().assign(report_year=pd.Series(dtype="int64")), year - 1)
        replace_rows(con, "results", "area_b_B1", _result_rows("area_b", "B1", year, 2), year)  # periods as text
        replace_rows(con, "results", "area_b_T2", _result_rows(
            "area_b", "T2", year, 4, n=pd.array([1, None, 3, 4], dtype="Int64"), suppressed=[False, None, True, False]
        ), year)
        replace_rows(con, "results", "area_c_B1", _result_rows("area_c", "B1", year, 2), year)
        tables = [("results", name) for name in (
            "area_a_B1", "area_a_R1", "area_a_P1", "area_b_B1", "area_b_T2", "area_c_B1", "area_c_T2",
        )]  # area_a_P1 and area_c_T2: never written
        types = dict(con.execute(
            "select table_name, data_type from duckdb_columns() where table_name like 'area_%' and column_name = 'period_start'"
        ).fetchall())
        assert types["area_b_B1"] == "VARCHAR" and types["area_a_B1"] == "DATE"  # two layouts
        for years in ([year], [year - 1], [year - 1, year]):
            frames = [frame for frame in (read_rows(con, schema, table, years) for schema, table in tables) if len(frame)]
            wanted = pd.concat(frames, ignore_index=True)
            got = read_rows_of_tables(con, tables, years)
            pd.testing.assert_frame_equal(got, wanted, check_exact=True)
            assert len(got) == {(year,): 11, (year - 1,): 4, (year - 1, year): 15}[tuple(years)]
        assert read_rows_of_tables(con, tables, [year - 5]).empty
        assert read_rows_of_tables(con, [("results", "area_a_P1")], [year]).empty
