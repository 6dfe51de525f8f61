"""The raw delivery contract (DATA_CONTRACT.md) as a pure library: reader, pandera models, rules.

No Dagster here: the assets, blocking checks and the `validate` CLI call this API.
"""

import sys


def _pandera_without_hypothesis() -> None:
    """Let pandera load its check backend without hypothesis (and the trio and pytest it pulls in).

    pandera's pandas checks import its data-synthesis strategies, which import hypothesis
    when it is installed (a dev dependency here): about 0.4 s of every `nhv-pipeline
    validate`. The pipeline never synthesises data from its models, so pandera is loaded
    as it is where hypothesis is not installed (its own fallback). A process that has
    already imported hypothesis (the test suite) is left as it is.
    """
    if "hypothesis" in sys.modules or "pandera.strategies.base_strategies" in sys.modules:
        return
    sys.modules["hypothesis"] = None  # an import of it raises ImportError, pandera's cue
    try:
        import pandera.strategies.base_strategies  # noqa: F401
    finally:
        del sys.modules["hypothesis"]


_pandera_without_hypothesis()

from .delivery import DeliveryValidation, permitted_units, validate_delivery
from .units import RegistryResult, read_registry
from .reports import write_unit_reports
from .rules import FAILURE_COLUMNS, RULES
from .schema import (
    cohort_window,
    column_kinds,
    contract_columns,
    measurement_period_of,
    table_model,
)
from .staging import to_staged

__all__ = [
    "FAILURE_COLUMNS",
    "RULES",
    "measurement_period_of",
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

