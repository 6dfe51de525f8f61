"""Published indicator_results files and the whole-folder swap, PUBLICATION.md sections 1 and 2."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from nhv_pipeline.publication import (
    PUBLISHED_COLUMNS,
    RESULT_COLUMNS,
    format_results,
    load_history,
    publish_folder,
    published_years,
    read_results,
    recover_publications,
    round_half_away,
    suppress,
    write_results,
)

import nhv_pipeline.publication.swap as swap_module
from result_fixtures import NAN, frame, row


def sample() -> pd.DataFrame:
    """A small publication: a count with a withheld unit, a proportion, a distribution and Ö1."""
    return frame(
        [
            row("enhet", "b", n=3),
            row(n=17),
            row("enhet", "a", n=14),
            row(indicator="Ö1", measure="proportion", n=20, value=100 * 13 / 20, numerator=13, denominator=20,
                ci_low=43.28956, ci_high=81.8799),
            row(indicator="T1", measure="distribution", n=12, value=40.25, mean=40.25, sd=12.3456, p10=21.05,
                median=38.5, p90=60.15),
            row(breakdown="home_region", bvalue="01", n=9),
            row(breakdown="home_region", bvalue="99", n=8),
        ]
    )


# --- rounding (section 2) -----------------------------------------------------


@pytest.mark.parametrize(
    ("x", "expected"),
    [
        (0.25, 0.3),
        (2.45, 2.5),
        (-0.25, -0.3),
        (0.15, 0.2),  # binary 0.1499999...: plain round() gives 0.1
        (0.35, 0.4),  # binary 0.3499999...
        (2.675, 2.7),
        (1.04, 1.0),
        (64.99999, 65.0),
        (100 * 2 / 3, 66.7),
    ],
)
def test_round_half_away_from_zero_on_the_decimal_form(x, expected):
    assert round_half_away(x) == expected


def test_rounding_publishes_no_negative_zero_and_keeps_empty():
    r = round_half_away(-0.04)
    assert r == 0.0 and math.copysign(1.0, r) == 1.0
    assert math.isnan(round_half_away(NAN))
    assert math.isnan(round_half_away(None))


# --- format_results ---------------------------------------------------------


def test_format_results_sorts_as_section_2():
    out = format_results(sample())
    keys = list(zip(out["indicator_id"], out["measure"], out["level"], out["unit_id"], out["breakdown"],
                    out["breakdown_value"], strict=True))
    assert keys == [
        ("B1", "count", "riket", "", "total", "total"),
        ("B1", "count", "riket", "", "home_region", "01"),
        ("B1", "count", "riket", "", "home_region", "99"),
        ("B1", "count", "enhet", "a", "total", "total"),
        ("B1", "count", "enhet", "b", "total", "total"),
        ("T1", "distribution", "riket", "", "total", "total"),
        ("Ö1", "proportion", "riket", "", "total", "total"),
    ]


def test_format_results_rounds_floats_and_keeps_counts_integer():
    out = format_results(sample())
    assert list(out.columns) == RESULT_COLUMNS
    t1 = out[out["indicator_id"] == "T1"].iloc[0]
    assert (t1["value"], t1["mean"], t1["sd"], t1["p10"], t1["median"], t1["p90"]) == (40.3, 40.3, 12.3, 21.1, 38.5, 60.2)
    o1 = out[out["indicator_id"] == "Ö1"].iloc[0]
    assert (o1["value"], o1["ci_low"], o1["ci_high"]) == (65.0, 43.3, 81.9)
    assert str(out["report_year"].dtype) == "int64"
    for c in ["n", "numerator", "denominator"]:
        assert str(out[c].dtype) == "Int64"
    assert out["numerator"].isna().sum() == 6
    assert isinstance(out["period_start"].iloc[0], dt.date)
    assert out["suppressed"].dtype == bool


def test_format_results_rejects_a_frame_missing_columns():
    with pytest.raises(ValueError, match="lacks columns"):
        format_results(sample().drop(columns=["breakdown_label"]))


# --- the three files ----------------------------------------------------------


def test_csv_layout_header_empty_cells_booleans_and_line_ends(tmp_path):
    df = suppress(frame([row(n=17), row("enhet", "a", n=3), row("enhet", "b", n=14)]))
    write_results(format_results(df), tmp_path)
    data = (tmp_path / "indicator_results.csv").read_bytes()
    assert b"\r\n" not in data
    # PUBLICATION.md section 3 (issue 14): one mark for every suppressed cell, no reason column.
    assert data.decode("utf-8") == (
        ",".join(PUBLISHED_COLUMNS) + "\n"
        "2026,sct_ssc,B1,count,2025-01-01,2025-12-31,riket,,Riket,total,total,Totalt,17,17.0,,,,,,,,,,false\n"
        "2026,sct_ssc,B1,count,2025-01-01,2025-12-31,enhet,a,Sjukhus A,total,total,Totalt,,,,,,,,,,,,true\n"
        "2026,sct_ssc,B1,count,2025-01-01,2025-12-31,enhet,b,Sjukhus B,total,total,Totalt,,,,,,,,,,,,true\n"
    )
    assert PUBLISHED_COLUMNS == [c for c in RESULT_COLUMNS if c != "suppression_reason"]


def test_csv_neutralises_formula_text_but_not_negative_numbers(tmp_path):
    df = frame(
        [
            row("enhet", "a", unit_name="=HYPERLINK(1)", n=7),
            row("enhet", "b", unit_name="+46 8 123", n=8),
            row("enhet", "c", unit_name="-sjukhus", n=9),
            row("enhet", "d", unit_name="@SUM(A1)", n=10),
            row("enhet", "e", unit_name="\tflik", n=11),
            row("enhet", "f", unit_name="\rretur", n=12),
            row("enhet", "g", unit_name="Sjukhus G", n=13, value=-1.25, mean=-3.0),
        ]
    )
    write_results(df, tmp_path)
    with open(tmp_path / "indicator_results.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    names = {r["unit_id"]: r["unit_name"] for r in rows}
    assert names == {
        "a": "'=HYPERLINK(1)",
        "b": "'+46 8 123",
        "c": "'-sjukhus",
        "d": "'@SUM(A1)",
        "e": "'\tflik",
        "f": "'\rretur",
        "g": "Sjukhus G",
    }
    g = next(r for r in rows if r["unit_id"] == "g")
    assert (g["value"], g["mean"]) == ("-1.3", "-3.0")
    # Only the CSV (read by spreadsheets) is neutralised; typed files keep the text.
    as_json = json.loads((tmp_path / "indicator_results.json").read_text(encoding="utf-8"))
    assert as_json[0]["unit_name"] == "=HYPERLINK(1)"


def test_json_is_a_list_of_row_objects_with_null_and_real_unicode(tmp_path):
    # Issue 11 changes the JSON layout: a list of row objects (was {"columns", "rows"}).
    write_results(sample(), tmp_path)
    raw = (tmp_path / "indicator_results.json").read_bytes()
    assert "Ö1".encode() in raw
    doc = json.loads(raw)
    assert isinstance(doc, list) and len(doc) == 7
    assert all(list(r) == PUBLISHED_COLUMNS for r in doc)
    first = doc[0]
    assert first["indicator_id"] == "B1" and first["level"] == "riket"
    assert first["unit_id"] is None  # empty in the CSV: null here
    assert first["period_start"] == "2025-01-01"
    assert first["n"] == 17 and first["value"] == 17.0
    assert first["numerator"] is None and first["mean"] is None
    assert first["suppressed"] is False
    assert "suppression_reason" not in first
    last = doc[-1]
    assert (last["indicator_id"], last["value"], last["numerator"]) == ("Ö1", 65.0, 13)


def test_parquet_is_typed_and_carries_no_pandas_index(tmp_path):
    write_results(sample(), tmp_path)
    table = pq.read_table(tmp_path / "indicator_results.parquet")
    schema = table.schema
    assert schema.names == PUBLISHED_COLUMNS
    assert schema.field("report_year").type == pa.int64()
    assert schema.field("n").type == pa.int64()
    assert schema.field("value").type == pa.float64()
    assert schema.field("period_start").type == pa.date32()
    assert schema.field("suppressed").type == pa.bool_()
    assert schema.field("unit_id").type == pa.string()
    assert b"pandas" not in (schema.metadata or {})
    assert table.column("numerator").null_count == 6
    assert table.column("period_end")[0].as_py() == dt.date(2025, 12, 31)
    # Null where the CSV has an empty cell: unit_id at riket.
    unit_ids = table.column("unit_id").to_pylist()
    levels = table.column("level").to_pylist()
    assert [u for u, lv in zip(unit_ids, levels, strict=True) if lv == "riket"] == [None] * levels.count("riket")
    assert not schema.field("report_year").nullable and schema.field("unit_id").nullable


def test_same_input_gives_byte_identical_files(tmp_path):
    first = write_results(sample(), tmp_path / "one")
    shuffled = sample().iloc[[6, 2, 4, 0, 5, 3, 1]]
    second = write_results(shuffled, tmp_path / "two")
    assert [p.name for p in first] == [
        "indicator_results.csv",
        "indicator_results.parquet",
        "indicator_results.json",
    ]
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name
    again = write_results(sample(), tmp_path / "one")
    assert [p.read_bytes() for p in again] == [p.read_bytes() for p in second]


def test_read_results_gives_back_the_formatted_frame(tmp_path):
    published = format_results(suppress(sample()))
    write_results(published, tmp_path)
    # The published files hold no suppression reason (issue 14): it comes back without it.
    pd.testing.assert_frame_equal(read_results(tmp_path), published[PUBLISHED_COLUMNS])


# --- publish_folder: a publication is replaced as a whole (section 1) ----------


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def old_publication(root: Path) -> Path:
    year = root / "2026"
    year.mkdir(parents=True)
    (year / "indicator_results.csv").write_text("old\n")
    (year / "stale.txt").write_text("only in the old one\n")
    return year


def test_publish_folder_first_publication(tmp_path):
    with publish_folder(tmp_path, 2026) as staging:
        assert staging.parent == tmp_path and staging.name.startswith(".staging-2026-")
        (staging / "manifest.json").write_text("{}")
    assert snapshot(tmp_path) == {"2026/manifest.json": b"{}"}


def test_publish_folder_replaces_every_file_and_leaves_no_staging(tmp_path):
    old_publication(tmp_path)
    with publish_folder(tmp_path, 2026) as staging:
        (staging / "indicator_results.csv").write_text("new\n")
    assert snapshot(tmp_path / "2026") == {"indicator_results.csv": b"new\n"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2026"]


def test_exception_inside_leaves_previous_publication_byte_identical(tmp_path):
    old_publication(tmp_path)
    before = snapshot(tmp_path)
    with pytest.raises(RuntimeError, match="indicator failed"):
        with publish_folder(tmp_path, 2026) as staging:
            (staging / "indicator_results.csv").write_text("half written")
            raise RuntimeError("indicator failed")
    assert snapshot(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2026"]


def test_failed_swap_rename_puts_the_old_publication_back(tmp_path, monkeypatch):
    """Where no atomic exchange exists (another OS, a network file system), two renames are used."""
    monkeypatch.setattr(swap_module, "_exchange", lambda a, b: False)
    old_publication(tmp_path)
    before = snapshot(tmp_path)
    real_rename = os.rename

    def failing_rename(src, dst):
        if Path(src).name.startswith(".staging-"):
            raise OSError("disk trouble")
        return real_rename(src, dst)

    monkeypatch.setattr(os, "rename", failing_rename)
    with pytest.raises(OSError, match="disk trouble"):
        with publish_folder(tmp_path, 2026) as staging:
            (staging / "indicator_results.csv").write_text("new\n")
    monkeypatch.undo()
    assert snapshot(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2026"]


def test_crash_between_the_two_renames_is_recovered(tmp_path):
    # What a killed run leaves: the old publication renamed aside, no 2026,
    # and a staging folder.
    old = old_publication(tmp_path)
    before = snapshot(old)
    os.rename(old, tmp_path / ".retired-2026-deadbeef")
    (tmp_path / ".staging-2026-x").mkdir()
    assert recover_publications(tmp_path) == [tmp_path / "2026"]
    assert snapshot(tmp_path / "2026") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2026"]


def test_replaced_publication_goes_to_the_history_hook(tmp_path):
    old_publication(tmp_path)
    handed_over: list[dict[str, bytes]] = []
    with publish_folder(tmp_path, 2026, on_replaced=lambda p: handed_over.append(snapshot(p))) as staging:
        (staging / "indicator_results.csv").write_text("new\n")
    assert handed_over == [{"indicator_results.csv": b"old\n", "stale.txt": b"only in the old one\n"}]


def test_published_years_and_history_read_earlier_publications(tmp_path):
    for year in (2024, 2025, 2026):
        with publish_folder(tmp_path, year) as staging:
            write_results(sample().assign(report_year=year), staging)
    (tmp_path / "notes").mkdir()
    assert published_years(tmp_path) == [2024, 2025, 2026]
    history = load_history(tmp_path, before_year=2026)
    assert sorted(history) == [2024, 2025]
    assert set(history[2025]["report_year"]) == {2025}


def test_csv_text_round_trips_through_a_csv_reader(tmp_path):
    write_results(sample(), tmp_path)
    text = (tmp_path / "indicator_results.csv").read_text(encoding="utf-8")
    parsed = list(csv.reader(io.StringIO(text)))
    assert parsed[0] == PUBLISHED_COLUMNS
    assert all(len(r) == len(PUBLISHED_COLUMNS) for r in parsed)


def test_publishing_one_year_leaves_another_years_staging_alone(tmp_path):
    # Two partitions may publish at once: entering 2026 must not clean up 2025's work.
    other = tmp_path / ".staging-2025-busy"
    other.mkdir()
    (other / "indicator_results.csv").write_text("in progress\n")
    with publish_folder(tmp_path, 2026) as staging:
        (staging / "manifest.json").write_text("{}")
    assert (other / "indicator_results.csv").read_text() == "in progress\n"


# --- as a consumer reads them -------------------------------------------------------


def test_no_published_file_names_a_suppression_reason(tmp_path):
    """PUBLICATION.md section 3: the reason a cell was withheld is never published."""
    write_results(format_results(suppress(sample())), tmp_path)
    for path in tmp_path.iterdir():
        data = path.read_bytes()
        for word in (b"suppression_reason", b"small_n", b"complementary"):
            assert word not in data, (path.name, word)


def test_duckdb_reads_the_same_rows_from_csv_parquet_and_json(tmp_path):
    """A consumer's DuckDB: read_csv, read_parquet and read_json_auto give the same rows."""
    write_results(format_results(suppress(sample())), tmp_path)
    con = duckdb.connect()
    base = tmp_path / "indicator_results"
    cols = ", ".join(PUBLISHED_COLUMNS)
    sources = {
        "csv": f"read_csv('{base}.csv')",
        "parquet": f"read_parquet('{base}.parquet')",
        "json": f"read_json_auto('{base}.json')",
    }
    counts = {k: con.execute(f"select count(*) from {v}").fetchone()[0] for k, v in sources.items()}
    assert counts == {"csv": 7, "parquet": 7, "json": 7}
    for a in sources:
        for b in sources:
            if a != b:
                diff = con.execute(f"select {cols} from {sources[a]} except select {cols} from {sources[b]}").fetchall()
                assert diff == [], (a, b, diff)
    assert con.execute(f"select count(*) from {sources['parquet']} where unit_id is null").fetchone()[0] == 5  # the riket rows
    types = {r[0]: r[1] for r in con.execute(f"describe select * from {sources['json']}").fetchall()}
    assert types["period_start"] == "DATE" and types["suppressed"] == "BOOLEAN" and types["n"] == "BIGINT"
def test_on_linux_the_swap_is_one_atomic_exchange_and_never_renames_the_year_away(tmp_path, monkeypatch):
    """At every instant published/<R> exists: the old folder is never renamed aside first."""
    old_publication(tmp_path)
    real_rename = os.rename

    def guarded_rename(src, dst):
        assert Path(src) != tmp_path / "2026", "the publication was renamed away: for a moment there was none"
        return real_rename(src, dst)

    monkeypatch.setattr(os, "rename", guarded_rename)
    with publish_folder(tmp_path, 2026) as staging:
        (staging / "indicator_results.csv").write_text("new\n")
    assert snapshot(tmp_path / "2026") == {"indicator_results.csv": b"new\n"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2026"]


def test_a_failing_exchange_leaves_the_previous_publication_and_no_staging(tmp_path, monkeypatch):
    old_publication(tmp_path)
    before = snapshot(tmp_path)

    def failing_exchange(a, b):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(swap_module, "_exchange", failing_exchange)
    with pytest.raises(OSError, match="Input/output"):
        with publish_folder(tmp_path, 2026) as staging:
            (staging / "indicator_results.csv").write_text("new\n")
    assert snapshot(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2026"]


def test_readers_always_find_one_whole_publication_while_it_is_replaced(tmp_path):
    """A reader polling published/2026 during 200 swaps never misses it, and (through a directory
    descriptor, as a consumer should read a folder) never sees files of two publications."""
    import threading

    def publish(version: int) -> None:
        with publish_folder(tmp_path, 2026) as staging:
            for name in ("indicator_results.csv", "indicator_results.json", "manifest.json"):
                (staging / name).write_text(f"{version}\n" * 100)

    publish(0)
    problems: list[str] = []
    whole_reads: list[int] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            try:
                fd = os.open(tmp_path / "2026", os.O_RDONLY | os.O_DIRECTORY)
            except FileNotFoundError:
                problems.append("published/2026 was missing")
                continue
            try:
                texts = set()
                for name in ("indicator_results.csv", "indicator_results.json", "manifest.json"):
                    with open(name, encoding="utf-8", opener=lambda path, flags: os.open(path, flags, dir_fd=fd)) as fh:
                        texts.add(fh.read())
            except FileNotFoundError:
                continue  # the publication this read began with was replaced and removed: read again
            finally:
                os.close(fd)
            whole_reads.append(1)
            if len(texts) != 1 or len(set(next(iter(texts)).split())) != 1:
                problems.append("files of two publications, or a half-written file")

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for version in range(1, 201):
            publish(version)
    finally:
        done.set()
        reader.join()
    assert problems == [] and len(whole_reads) > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2026"]


_KILLED_PUBLISH = """
import sys
from pathlib import Path
import nhv_pipeline.publication.swap as swap
if sys.argv[2] == "no-exchange":
    swap._exchange = lambda a, b: False
with swap.publish_folder(Path(sys.argv[1]), 2026) as staging:
    (staging / "indicator_results.csv").write_text("new\\n")
"""


def _publish_killed_at(tmp_path, point: str, exchange: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "NHV_FAULT_POINT": point}
    return subprocess.run(
        [sys.executable, "-c", _KILLED_PUBLISH, str(tmp_path), exchange], env=env, capture_output=True, text=True,
        timeout=120,
    )


def test_killed_right_after_the_exchange_the_new_publication_is_in_place(tmp_path):
    old_publication(tmp_path)
    killed = _publish_killed_at(tmp_path, "publish_swap", "exchange")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert snapshot(tmp_path / "2026") == {"indicator_results.csv": b"new\n"}
    assert recover_publications(tmp_path) == []  # the leftover (the old folder) is removed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2026"]


def test_killed_between_the_two_renames_the_next_recovery_restores_the_old_publication(tmp_path):
    old = old_publication(tmp_path)
    before = snapshot(old)
    killed = _publish_killed_at(tmp_path, "publish_swap_gap", "no-exchange")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert not (tmp_path / "2026").exists()  # what the fallback leaves: recovery is needed
    assert recover_publications(tmp_path) == [tmp_path / "2026"]
    assert snapshot(tmp_path / "2026") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2026"]


def test_result_order_is_the_stable_sort_of_the_section_2_keys_ties_included():
    """`result_order` (np.lexsort) must order rows exactly as a stable sort of `result_sort_keys` does,
    duplicate keys keeping their order, empty unit ids and breakdown values first."""
    import numpy as np

    from nhv_pipeline.indicators.engine import result_order, result_sort_keys

    rng = np.random.default_rng(12)
    for _ in range(100):
        n = int(rng.integers(0, 40))
        frame = pd.DataFrame(
            {
                "report_year": rng.integers(2024, 2027, n),
                "condition_id": rng.choice(["a", "b"], n),
                "indicator_id": rng.choice(["B1", "Ö1", "T1", "R2"], n),
                "measure": rng.choice(["m", "n"], n),
                "level": rng.choice(["riket", "enhet"], n),
                "unit_id": rng.choice(np.array(["", "SE1", "SE2", None], dtype=object), n),
                "breakdown": rng.choice(["total", "sex", "ålder"], n),
                "breakdown_value": rng.choice(np.array(["1", "2", "10", "total", None], dtype=object), n),
            }
        )
        keys = result_sort_keys(frame)
        expected = keys.sort_values(list(keys.columns), kind="mergesort").index.to_numpy()
        assert result_order(frame).tolist() == expected.tolist()


def test_the_engine_orders_one_indicators_rows_as_result_order_does():
    """`engine._row_order` (one indicator's rows sorted as dicts, before its frame is made) must give the order
    `result_order` gives the same rows: the same keys, ties in their order, empty unit ids and values first."""
    import numpy as np

    from nhv_pipeline.indicators.engine import _row_order, result_order

    columns = ["report_year", "condition_id", "indicator_id", "measure", "level", "unit_id", "breakdown",
               "breakdown_value", "position"]
    rng = np.random.default_rng(25)
    for _ in range(100):
        n = int(rng.integers(0, 40))
        rows = [
            {
                "report_year": 2026, "condition_id": "a", "indicator_id": "Ö1",
                "measure": str(rng.choice(["m", "n", "Ö"])),
                "level": str(rng.choice(["riket", "enhet"])),
                "unit_id": rng.choice(np.array(["", "SE1", "SE10", "SE2", None, math.nan], dtype=object)),
                "breakdown": str(rng.choice(["total", "sex", "ålder"])),
                "breakdown_value": rng.choice(np.array(["1", "2", "10", "total", "Ö", None, math.nan], dtype=object)),
                "position": i,
            }
            for i in range(n)
        ]
        expected = result_order(pd.DataFrame(rows, columns=columns))
        assert [row["position"] for row in sorted(rows, key=_row_order)] == expected.tolist()
