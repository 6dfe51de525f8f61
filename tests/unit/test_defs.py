"""The code location loads, and every asset carries what an operator reads in the UI."""

from __future__ import annotations

from dagster import AssetKey

from nhv_pipeline.conditions import registered
from nhv_pipeline.definitions import build_definitions, defs
from nhv_pipeline.indicators import make_catalogue

CATALOGUE = make_catalogue(registered())


def _graph():
    return build_definitions("/nonexistent/data_raw", "/nonexistent/warehouse").resolve_asset_graph()


def test_the_definitions_load_with_every_run_selection_schedule_and_sensor():
    from nhv_pipeline.orchestration.jobs import ASSET_JOB, SELECTIONS, run_selection
    from nhv_pipeline.orchestration.partitions import first_report_year

    # The assets begin at different report years: runs go through the implicit asset job, over the
    # assets of a named selection that have the year (no define_asset_job job can hold them all).
    assert defs.resolve_implicit_global_asset_job_def().name == ASSET_JOB
    graph = defs.resolve_asset_graph()
    assert set(SELECTIONS) == {"nhv_full", "nhv_deliveries", "nhv_validate"}
    for name in SELECTIONS:
        assert run_selection(graph, name, 2026), name
    # Every asset that has report year 2026; one of a version applying from a later year has none yet.
    later = {key for key in graph.materializable_asset_keys if first_report_year(graph.get(key).partitions_def) > 2026}
    assert set(run_selection(graph, "nhv_full", 2026)) == set(graph.materializable_asset_keys) - later
    assert defs.resolve_schedule_def("march_run")
    assert defs.resolve_sensor_def("delivery_sensor")


def test_asset_keys_are_prefixed_by_layer_and_condition():
    keys = {key.to_user_string() for key in _graph().get_all_asset_keys()}
    expected = {"registry/units", "results/indicator_results", "published/indicator_results", "published/publication"}
    for condition_id, tables in ((c.condition_id, c.table_names) for c in registered()):
        expected |= {f"raw/{condition_id}/{t}" for t in tables} | {f"staged/{condition_id}/{t}" for t in tables}
        expected.add(f"raw/{condition_id}/delivery")
        expected |= {f"raw/{condition_id}/submission", f"staged/{condition_id}/submission"}  # SUBMISSION.md
    expected |= {f"results/{i.condition_id}/{i.indicator_id.replace('Ö', 'O')}" for i in CATALOGUE}
    assert keys == expected


def test_every_asset_has_a_description_owner_group_and_kinds():
    graph = _graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.description, key
        assert node.owners == ["team:nhv-data"], key
        assert node.group_name in {"registry", "raw", "staged", "indicators", "published"}, key
        assert node.kinds, key
        assert node.partitions_def is not None, key


def test_indicator_assets_carry_the_swedish_name_category_tag_and_rule_version():
    graph = _graph()
    for indicator in CATALOGUE:
        node = graph.get(AssetKey(["results", indicator.condition_id, indicator.indicator_id.replace("Ö", "O")]))
        assert indicator.name in node.description
        assert node.code_version == indicator.rule_version
        assert node.tags["condition"] == indicator.condition_id
        assert node.tags["category"] in {"background", "access", "results", "patient_reported", "handover"}


def test_raw_and_staged_assets_document_their_columns_from_the_contract():
    graph = _graph()
    schema = graph.get(AssetKey(["staged", "sct_ssc", "transplants"])).metadata["dagster/column_schema"]
    columns = {column.name: column for column in schema.columns}
    assert columns["reinfusion_date"].type == "date"
    assert columns["reinfusion_date"].description
    assert "pandera" in graph.get(AssetKey(["raw", "sct_ssc", "transplants"])).kinds


def test_the_publication_is_expected_by_30_april():
    node = _graph().get(AssetKey(["published", "publication"]))
    assert node.freshness_policy is not None
    assert "30 4" in node.freshness_policy.deadline_cron


def test_every_asset_is_in_the_warehouse_pool_and_the_warehouse_is_a_resource():
    """Each asset writes to the one DuckDB file, so each is in the pool the instance limits to one run."""
    from nhv_pipeline.orchestration.resources import WAREHOUSE_POOL, Warehouse

    definitions = build_definitions("/nonexistent/data_raw", "/nonexistent/warehouse")
    graph = definitions.resolve_asset_graph()
    executable = [node.assets_def for node in graph.asset_nodes if node.assets_def.is_executable]
    assert executable
    assert {assets_def.node_def.name: assets_def.op.pool for assets_def in executable} == {
        assets_def.node_def.name: WAREHOUSE_POOL for assets_def in executable
    }
    warehouse = definitions.resources["warehouse"]
    assert warehouse.resource_cls is Warehouse  # bound once, shared by the IO manager and the assets
    assert definitions.resources["io_manager"].warehouse is warehouse
