"""Shared fixtures: the committed sample deliveries, and one full pipeline run over them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipeline_helpers import Workspace, make_workspace

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DATA = REPO_ROOT / "data_raw"


SAMPLE_SEED = 20260331
"""The seed the committed sample was made with (`make sample-data`)."""

#: Each test file's kind, a pytest marker of the same name (registered in pyproject.toml).
#: `make check` runs the in-process kinds, unit and contract (no browser, no database, no
#: pipeline run in a subprocess); `make test` runs every kind.
KINDS = {
    "unit": (
        "test_attach_patient.py", "test_audit_solver.py", "test_baselines.py", "test_catalogue.py",
        "test_defs.py", "test_disclosure.py", "test_disclosure_audit.py", "test_export.py",
        "test_identity_prefilter.py", "test_indicators_sct_ssc.py", "test_indicators_skeletal_dysplasia.py",
        "test_invariants.py", "test_populations.py", "test_preview.py", "test_pure_modules.py",
        "test_reader_fast_path.py", "test_reader_properties.py", "test_sample_data.py", "test_settings.py",
        "test_stats.py", "test_submission_cells.py", "test_submission_combine.py",
        "test_submission_contract.py", "test_submission_publication.py", "test_submission_workbook.py",
        "test_verdicts.py", "test_warehouse.py",
    ),
    "contract": (
        "test_contract_format.py", "test_contract_history.py", "test_contract_keys.py",
        "test_contract_layout.py", "test_contract_staging.py", "test_contract_values.py",
        "test_submission_workbook_intake.py", "test_unit_feedback.py",
    ),
    "pipeline": (
        "test_areas_fail_alone.py", "test_cli.py", "test_conditions_as_packages.py", "test_conformance.py",
        "test_corrections.py", "test_dagster_cli.py", "test_dagster_storage.py", "test_datapackage.py",
        "test_engine_gaps.py", "test_manifest.py", "test_materialize.py", "test_operations.py",
        "test_partitions.py", "test_pipeline.py", "test_pipeline_contract.py", "test_published_audit.py",
        "test_staleness.py", "test_submission_make.py",
    ),
    "browser": (
        "test_browser_preview.py", "test_browser_unit_report.py", "test_submission_equivalence.py",
        "test_webserver.py",
    ),
    "faults": (
        "test_contract_privacy.py", "test_faults.py", "test_hostile_deliveries.py",
        "test_hostile_submissions.py", "test_privacy.py",
    ),
    "scale": (
        "test_concurrency.py", "test_postgres.py", "test_run_memory.py",
    ),
}
_KIND_OF = {name: kind for kind, names in KINDS.items() for name in names}


def pytest_collection_modifyitems(config, items):
    for item in items:
        kind = _KIND_OF.get(item.path.name)
        if kind is not None:
            item.add_marker(kind)


@pytest.fixture(scope="session")
def sample_data(tmp_path_factory) -> Path:
    """The committed sample deliveries; with more conditions registered for the session
    (NHV_CONDITION_MODULES), the same sample made for every registered condition (the shipped
    ones' files are byte-identical). A condition one test registers for itself does not count."""
    from nhv_pipeline.conditions import EXTRA_MODULES_ENV, registered
    from nhv_pipeline.core.sample_data import generate

    assert (SAMPLE_DATA / "units.csv").is_file(), "the committed sample deliveries are missing"
    registered()  # the session's conditions are loaded before any test registers one of its own
    if not os.environ.get(EXTRA_MODULES_ENV, "").strip():
        return SAMPLE_DATA
    out = tmp_path_factory.mktemp("sample_all_conditions") / "data_raw"
    generate(out, registered(), seed=SAMPLE_SEED)
    return out


@pytest.fixture(scope="session")
def full_run(tmp_path_factory, sample_data) -> tuple[Workspace, object]:
    """`nhv-pipeline run --all` over a copy of the sample deliveries (about a minute, once per session)."""
    workspace = make_workspace(tmp_path_factory.mktemp("full_run"), sample_data)
    completed = workspace.cli("run", "--all")
    return workspace, completed


@pytest.fixture
def area_registered():
    """The test-only third condition (tests/third_condition.py) registered for the test; left registered
    when the session registers it (NHV_CONDITION_MODULES=register_third_condition)."""
    import third_condition
    from nhv_pipeline.conditions import condition_ids, register, unregister

    already = third_condition.CONDITION_ID in condition_ids()
    register(third_condition.CONDITION)
    try:
        yield third_condition.CONDITION
    finally:
        if not already:
            unregister(third_condition.CONDITION_ID)
