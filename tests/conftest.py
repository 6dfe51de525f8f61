"""Shared fixtures: the committed sample deliveries, and one full pipeline run over them."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline_helpers import Workspace, make_workspace

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DATA = REPO_ROOT / "data_raw"


SAMPLE_SEED = 20260331
"""The seed the committed sample was made with (`make sample-data`)."""


def _committed_conditions() -> set[str]:
    lines = (SAMPLE_DATA / "units.csv").read_text(encoding="utf-8").splitlines()[1:]
    return {line.split(",", 1)[0] for line in lines if line}


@pytest.fixture(scope="session")
def sample_data(tmp_path_factory) -> Path:
    """The committed sample deliveries; with more conditions registered (NHV_CONDITION_MODULES), the
    same sample made for every registered condition (the shipped ones' files are byte-identical)."""
    from nhv_pipeline.condition import condition_ids
    from nhv_pipeline.sample_data import generate

    assert (SAMPLE_DATA / "units.csv").is_file(), "the committed sample deliveries are missing"
    if set(condition_ids()) <= _committed_conditions():
        return SAMPLE_DATA
    out = tmp_path_factory.mktemp("sample_all_conditions") / "data_raw"
    generate(out, seed=SAMPLE_SEED)
    return out


@pytest.fixture(scope="session")
def full_run(tmp_path_factory, sample_data) -> tuple[Workspace, object]:
    """`nhv-pipeline run --all` over a copy of the sample deliveries (about a minute, once per session)."""
    workspace = make_workspace(tmp_path_factory.mktemp("full_run"), sample_data)
    completed = workspace.cli("run", "--all")
    return workspace, completed
