"""A corrected delivery makes the assets downstream of its delivery round stale in the UI, and only those."""

from __future__ import annotations

import shutil

import pandas as pd
from dagster import AssetKey, DagsterInstance
from dagster._core.definitions.data_version import CachingStaleStatusResolver, StaleStatus
from dagster._core.loader import LoadingContextForTest

from nhv_pipeline.definitions import build_definitions
from nhv_pipeline.orchestration.jobs import DELIVERIES, FULL, VALIDATE, execute_in_process


def _status(defs, instance, key, partition="2026"):
    # The resolver the UI uses to mark assets stale (a Dagster internal; the test pins its verdict).
    resolver = CachingStaleStatusResolver(instance, defs.resolve_asset_graph(), LoadingContextForTest(instance))
    return resolver.get_status(AssetKey(key), partition)


def test_a_corrected_delivery_makes_its_downstream_stale_and_leaves_the_rest_fresh(tmp_path, sample_data):
    data_raw = tmp_path / "data_raw"
    shutil.copytree(sample_data, data_raw)
    defs = build_definitions(str(data_raw), str(tmp_path / "warehouse"))
    with DagsterInstance.ephemeral() as instance:
        # Both conditions have report year 2026 (the second one begins then); its lags read 2024 and 2025.
        for year in (2024, 2025, 2026):
            assert execute_in_process(defs, FULL, year, instance=instance).success
        assert _status(defs, instance, ["staged", "sct_ssc", "referrals"]) == StaleStatus.FRESH

        # Re-validating unchanged files changes nothing.
        assert execute_in_process(defs, VALIDATE, 2026, instance=instance).success
        assert _status(defs, instance, ["staged", "sct_ssc", "referrals"]) == StaleStatus.FRESH

        referrals = data_raw / "2026" / "sct_ssc" / "akademiska" / "referrals.csv"
        frame = pd.read_csv(referrals, dtype=str, keep_default_na=False)
        row = frame.index[frame["care_plan"] == "0"][0]
        frame.loc[row, "care_plan"] = "1"
        frame.to_csv(referrals, index=False, lineterminator="\n")
        assert execute_in_process(defs, VALIDATE, 2026, instance=instance).success

        # The validation run re-read the corrected files: the staged layer is now behind them.
        assert _status(defs, instance, ["staged", "sct_ssc", "referrals"]) == StaleStatus.STALE
        # The staged tables wait on the whole delivery round's check, so the round is stale as a whole;
        # the other condition stays fresh.
        assert _status(defs, instance, ["staged", "sct_ssc", "transplants"]) == StaleStatus.STALE
        assert _status(defs, instance, ["staged", "skeletal_dysplasia", "patients"]) == StaleStatus.FRESH
        assert _status(defs, instance, ["results", "skeletal_dysplasia", "B1"]) == StaleStatus.FRESH

        # Loading the corrected round moves the staleness on to the condition's indicators.
        assert execute_in_process(defs, DELIVERIES, 2026, instance=instance).success
        assert _status(defs, instance, ["staged", "sct_ssc", "referrals"]) == StaleStatus.FRESH
        assert _status(defs, instance, ["results", "sct_ssc", "O1"]) == StaleStatus.STALE
        assert _status(defs, instance, ["results", "skeletal_dysplasia", "B1"]) == StaleStatus.FRESH
