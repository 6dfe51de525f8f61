"""Shared fixtures: the committed sample deliveries, and one full pipeline run over them."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline_helpers import Workspace, make_workspace

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DATA = REPO_ROOT / "data_raw"


@pytest.fixture(scope="session")
def sample_data() -> Path:
    assert (SAMPLE_DATA / "units.csv").is_file(), "the committed sample deliveries are missing"
    return SAMPLE_DATA


@pytest.fixture(scope="session")
def full_run(tmp_path_factory, sample_data) -> tuple[Workspace, object]:
    """`nhv-pipeline run --all` over a copy of the sample deliveries (about a minute, once per session)."""
    workspace = make_workspace(tmp_path_factory.mktemp("full_run"), sample_data)
    completed = workspace.cli("run", "--all")
    return workspace, completed
