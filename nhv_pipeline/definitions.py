"""The Dagster code location: `dagster dev` and `dagster asset materialize` find `defs` here."""

from __future__ import annotations

from nhv_pipeline.orchestration.graph import all_assets, build_definitions

__all__ = ["all_assets", "build_definitions", "defs"]

defs = build_definitions()
