"""Configuration is Dagster config read when the definitions are built, not environment read at import."""

from __future__ import annotations

from nhv_pipeline.definitions import build_definitions
from nhv_pipeline.orchestration.settings import NhvSettings, settings_from_environment


def test_settings_default_to_the_spec_when_no_variable_is_set(monkeypatch):
    monkeypatch.delenv("NHV_SUPPRESSION_THRESHOLD", raising=False)
    monkeypatch.delenv("NHV_POOLED_YEARS", raising=False)
    settings = settings_from_environment()
    assert (settings.suppression_threshold, settings.pooled_years_override) == (5, None)


def test_the_suppression_threshold_comes_from_its_environment_variable_through_envvar(monkeypatch, tmp_path):
    monkeypatch.setenv("NHV_SUPPRESSION_THRESHOLD", "7")
    defs = build_definitions(str(tmp_path), str(tmp_path / "warehouse"))
    resource = defs.resources["settings"]
    assert isinstance(resource, NhvSettings)
    # The UI shows the variable's name, not a copied value.
    assert getattr(resource.suppression_threshold, "env_var_name", None) == "NHV_SUPPRESSION_THRESHOLD"
    assert resource.process_config_and_initialize().suppression_threshold == 7


def test_the_march_cron_is_read_when_the_definitions_are_built(monkeypatch, tmp_path):
    monkeypatch.setenv("NHV_MARCH_RUN_CRON", "30 5 1 4 *")
    monkeypatch.setenv("NHV_MARCH_RUN_TIMEZONE", "UTC")
    schedule = build_definitions(str(tmp_path), str(tmp_path / "warehouse")).get_schedule_def("march_run")
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("30 5 1 4 *", "UTC")


def test_pooled_years_reshape_the_pooled_indicator_and_its_lineage(monkeypatch, tmp_path):
    """INDICATORS.md 2: sct B2's window length is configuration (default 3); 2 years reads D(R-1)..D(R)."""
    from dagster import AssetKey

    def b2_reads(year: str) -> list[str]:
        """The years of sct transplants that B2's report year `year` reads, as the lineage maps them."""
        graph = build_definitions(str(tmp_path), str(tmp_path / "warehouse")).resolve_asset_graph()
        b2, transplants = AssetKey(["results", "sct_ssc", "B2"]), AssetKey(["staged", "sct_ssc", "transplants"])
        b2_years, transplant_years = graph.get(b2).partitions_def, graph.get(transplants).partitions_def
        result = graph.get_partition_mapping(b2, transplants).get_upstream_mapped_partitions_result_for_partitions(
            b2_years.empty_subset().with_partition_keys([year]), b2_years, transplant_years
        )
        return sorted(result.partitions_subset.get_partition_keys())

    monkeypatch.delenv("NHV_POOLED_YEARS", raising=False)
    assert b2_reads("2026") == ["2024", "2025", "2026"]
    assert b2_reads("2025") == ["2024", "2025"]  # no delivery before the first report year
    monkeypatch.setenv("NHV_POOLED_YEARS", "2")
    assert b2_reads("2026") == ["2025", "2026"]
