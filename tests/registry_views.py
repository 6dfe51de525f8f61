"""Plain views of the condition registry for the tests to compare against.

Derived from the registry when this module is imported, after any test-only condition
(`NHV_CONDITION_MODULES`) has been registered; never a second copy of a fact.
"""

from __future__ import annotations

from nhv_pipeline.condition import registered
from nhv_pipeline.indicators import make_catalogue

CONDITIONS = tuple(condition.condition_id for condition in registered())
TABLES = {condition.condition_id: condition.table_names for condition in registered()}
CONDITION_START = {condition.condition_id: condition.start for condition in registered()}
CATALOGUE = make_catalogue()
