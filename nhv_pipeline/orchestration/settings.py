"""The pipeline's configuration, as a Dagster resource: shown in the UI, set per deployment.

Values come from the environment of the process that loads the definitions (the CLI,
`dagster dev`, the daemon) through Dagster's `EnvVar`, so the UI shows where each one
comes from; an unset variable means the default of the spec.
"""

from __future__ import annotations

import os

from dagster import ConfigurableResource, EnvVar

SUPPRESSION_THRESHOLD_ENV = "NHV_SUPPRESSION_THRESHOLD"
POOLED_YEARS_ENV = "NHV_POOLED_YEARS"
MARCH_RUN_CRON_ENV = "NHV_MARCH_RUN_CRON"
MARCH_RUN_TIMEZONE_ENV = "NHV_MARCH_RUN_TIMEZONE"
RERUN_LATER_YEARS_ENV = "NHV_RERUN_LATER_YEARS"

DEFAULT_SUPPRESSION_THRESHOLD = 5
DEFAULT_MARCH_RUN_CRON = "0 6 31 3 *"
DEFAULT_MARCH_RUN_TIMEZONE = "Europe/Stockholm"


class NhvSettings(ConfigurableResource):
    """PUBLICATION.md 3: primary suppression below `suppression_threshold` (default 5).
    INDICATORS.md 2: the pooled window of a pooled indicator (sct B2), in years (default: the specification's)."""

    suppression_threshold: int = DEFAULT_SUPPRESSION_THRESHOLD
    pooled_years: int = 0
    """0 = the specification's own pooling (3 years for sct B2)."""

    @property
    def pooled_years_override(self) -> int | None:
        return self.pooled_years or None


def settings_from_environment() -> NhvSettings:
    """The settings resource, taking each value from its environment variable when that is set."""
    values = {}
    if os.environ.get(SUPPRESSION_THRESHOLD_ENV, "").strip():
        values["suppression_threshold"] = EnvVar.int(SUPPRESSION_THRESHOLD_ENV)
    if os.environ.get(POOLED_YEARS_ENV, "").strip():
        values["pooled_years"] = EnvVar.int(POOLED_YEARS_ENV)
    return NhvSettings(**values)


def resolved_pooled_years() -> int | None:
    """The pooled-years setting as the asset graph needs it at load time (the lineage of a pooled indicator)."""
    raw = os.environ.get(POOLED_YEARS_ENV, "").strip()
    if not raw:
        return None
    years = int(raw)
    if years < 1:
        raise ValueError(f"{POOLED_YEARS_ENV} must be a whole number of years, at least 1")
    return years


def march_run_cron() -> str:
    return os.environ.get(MARCH_RUN_CRON_ENV, "").strip() or DEFAULT_MARCH_RUN_CRON


def march_run_timezone() -> str:
    return os.environ.get(MARCH_RUN_TIMEZONE_ENV, "").strip() or DEFAULT_MARCH_RUN_TIMEZONE


def rerun_later_years() -> bool:
    """Whether the delivery sensor re-runs the later published years after an earlier year's publication
    changed (`NHV_RERUN_LATER_YEARS=1`). Off by default: the sensor otherwise publishes nothing, and
    republishing a year is the operator's decision; the run that changed the earlier year names them."""
    return os.environ.get(RERUN_LATER_YEARS_ENV, "").strip().lower() in ("1", "true", "yes", "on")
