"""The raw delivery contract (DATA_CONTRACT.md) as a pure library: reader, pandera models, rules.

No Dagster here: the assets, blocking checks and the `validate` CLI call this API.
"""

from .delivery import DeliveryValidation, permitted_units, validate_delivery
from .registry import RegistryResult, read_registry
from .reports import write_unit_reports
from .rules import FAILURE_COLUMNS, RULES
from .schema import (
    cohort_window,
    column_kinds,
    contract_columns,
    measurement_period,
    table_model,
)
from .staging import to_staged

__all__ = [
    "FAILURE_COLUMNS",
    "RULES",
    "measurement_period",
    "cohort_window",
    "table_model",
    "contract_columns",
    "column_kinds",
    "read_registry",
    "RegistryResult",
    "validate_delivery",
    "permitted_units",
    "DeliveryValidation",
    "to_staged",
    "write_unit_reports",
]


def __getattr__(name: str):
    """Views of the condition registry, for callers that want plain mappings (derived, never a copy)."""
    from nhv_pipeline.condition import registered

    if name == "CONDITIONS":
        return tuple(condition.condition_id for condition in registered())
    if name == "TABLES":
        return {condition.condition_id: condition.table_names for condition in registered()}
    if name == "CONDITION_START":
        return {condition.condition_id: condition.start for condition in registered()}
    raise AttributeError(name)
