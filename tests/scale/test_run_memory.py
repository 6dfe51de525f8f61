"""What a run keeps in memory. At the 1000x volume the peak is the validation of the largest delivery
round and the indicator steps that read its staged tables (benchmarks/RESULTS.md)."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
from dagster import AssetKey, DagsterInstance

from nhv_pipeline.conditions import registered
from nhv_pipeline.contract.schema import parse_dates, with_dates
from nhv_pipeline.definitions import build_definitions
from nhv_pipeline.orchestration.jobs import DELIVERIES, execute_in_process


def test_with_dates_shares_the_text_columns_and_leaves_the_frame_as_it_was():
    frame = pd.DataFrame({
        "patient_id": ["p1", "p2", None, "p4"],
        "code": ["1", "2", "3", None],
        "birth_date": ["2024-02-29", "2023-02-29", None, "2025-12-31"],
        "visit_date": ["2025-01-01", "x", "2025-13-01", None],
        "source_line": [2, 3, 4, 5],
    })
    before = frame.copy()
    dated = with_dates(frame, ["birth_date", "visit_date"])
    pd.testing.assert_frame_equal(frame, before)  # still the delivered text
    expected = before.assign(birth_date=parse_dates(before["birth_date"]), visit_date=parse_dates(before["visit_date"]))
    pd.testing.assert_frame_equal(dated, expected)
    assert dated["birth_date"].isna().tolist() == [False, True, True, False]  # 2023-02-29 is no date
    # The text columns are the frame's own arrays, not a copy of a million pointers per column.
    assert np.shares_memory(dated["patient_id"].to_numpy(), frame["patient_id"].to_numpy())


def test_the_raw_step_writes_its_tables_itself_and_hands_dagster_no_rows(tmp_path, sample_data):
    warehouse = tmp_path / "warehouse"
    defs = build_definitions(str(sample_data), str(warehouse))
    with DagsterInstance.ephemeral() as instance:
        result = execute_in_process(defs, DELIVERIES, 2026, instance=instance)
        assert result.success
        materialized = {
            event.asset_key: event.materialization.metadata for event in result.get_asset_materialization_events()
        }
        handled: dict[str, set[str]] = {}
        for event in result.all_events:
            if event.is_handled_output:
                handled.setdefault(event.step_key, set()).add(event.event_specific_data.output_name)
        # The inventory is a frame the publication loads: the IO manager stores it.
        assert all("delivery" in handled[f"raw_{condition.condition_id}"] for condition in registered())
        with duckdb.connect(str(warehouse / "nhv.duckdb"), read_only=True) as con:
            for condition in registered():
                for table in condition.table_names:
                    # No rows kept as the step's output, and no IO manager called for it (no HANDLED_OUTPUT event).
                    assert not isinstance(result.output_for_node(f"raw_{condition.condition_id}", table), pd.DataFrame)
                    assert table not in handled[f"raw_{condition.condition_id}"]
                    metadata = materialized[AssetKey(["raw", condition.condition_id, table])]
                    stored = con.execute(
                        f"select count(*) from raw.{condition.condition_id}_{table} where report_year = 2026"
                    ).fetchone()[0]
                    # Every delivered row (a table may be legitimately empty in an area's first years).
                    files = (sample_data / "2026" / condition.condition_id).glob(f"*/{table}.csv")
                    assert stored == sum(path.read_text(encoding="utf-8").count("\n") - 1 for path in files)
                    assert metadata["row_count"].value == stored
                    assert metadata["warehouse_table"].value == f"raw.{condition.condition_id}_{table}"
