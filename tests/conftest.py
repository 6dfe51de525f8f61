"""Shared fixtures: the committed sample deliveries, and one full pipeline run over them."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from pipeline_helpers import Workspace, make_workspace

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DATA = REPO_ROOT / "data_raw"


SAMPLE_SEED = 20260331
"""The seed the committed sample was made with (`make sample-data`)."""

#: The kinds of test, one folder each (tests/<kind>/) and a pytest marker of the same name
#: (registered in pyproject.toml). `make check` runs the in-process kinds, unit and contract (no
#: browser, no database, no pipeline run in a subprocess); `make test` runs every kind.
KINDS = ("unit", "contract", "pipeline", "browser", "faults", "scale")


def pytest_configure(config):
    _export_condition_modules_path()


def _export_condition_modules_path() -> None:
    """Let a process a test starts (the command line, `dagster`, a code server) register the same
    conditions as this one: with NHV_CONDITION_MODULES set, PYTHONPATH is made absolute (a child may
    run in another directory) and gains the folder each of those modules is imported from (a module
    this process finds through pytest's own sys.path, such as tests/register_third_condition.py)."""
    from nhv_pipeline.conditions import EXTRA_MODULES_ENV

    modules = [name.strip() for name in os.environ.get(EXTRA_MODULES_ENV, "").split(",") if name.strip()]
    if not modules:
        return
    entries = [str(Path(entry).resolve()) for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep) if entry]
    for module in modules:
        spec = importlib.util.find_spec(module.split(".")[0])
        if spec is None:
            continue  # the registry's own import reports the missing module
        if spec.submodule_search_locations:
            entries += [str(Path(location).resolve().parent) for location in spec.submodule_search_locations]
        elif spec.origin:
            entries.append(str(Path(spec.origin).resolve().parent))
    os.environ["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(entries))


def pytest_collection_modifyitems(config, items):
    for item in items:
        kind = item.path.parent.name
        if kind in KINDS:
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
