"""The condition registry: the NHV conditions (permit areas) the pipeline knows, one package each.

Every subpackage of this folder is a shipped area and exposes one `CONDITION`
(a `nhv_pipeline.core.condition.Condition` whose id is the folder's name). They are found with
`pkgutil.iter_modules(__path__)`, the way PUDL's `metadata/resources/__init__.py` finds its
resource modules, and registered in alphabetical order of their folders (sct_ssc,
skeletal_dysplasia): the order the sample data seeds, the catalogue and the published files
follow. Then each module named in NHV_CONDITION_MODULES is imported; it registers its own
conditions with `register` (a deployment's areas kept outside this repository, the benchmark's
generated ones, the tests' third area). Adding an area: a folder here; nothing to add in this
file. See the README, "Add a condition".

The packages are imported on the first lookup (`registered`, `condition_ids`,
`get_condition`, `register`), not when this package is imported. A condition package never
imports this module's functions, and neither does a shared library (contract, indicators,
publication, submission, labels, sample data): they are given `Condition` objects. Only the
edges look conditions up here: the command line and its operations, the sensor and the Dagster
definitions.
"""

from __future__ import annotations

import importlib
import os
import pkgutil

from nhv_pipeline.core.condition import Condition

EXTRA_MODULES_ENV = "NHV_CONDITION_MODULES"
"""Comma-separated modules that register more conditions after the shipped ones (a deployment's own
areas kept outside this repository, or the benchmark's generated ones)."""

_REGISTRY: dict[str, Condition] = {}
_LOADED = False


def shipped_packages() -> tuple[str, ...]:
    """The folders of the shipped areas, in registration (alphabetical) order."""
    return tuple(sorted(module.name for module in pkgutil.iter_modules(__path__) if module.ispkg))


def _shipped(name: str) -> Condition:
    condition = getattr(importlib.import_module(f"{__name__}.{name}"), "CONDITION", None)
    if not isinstance(condition, Condition):
        raise TypeError(f"nhv_pipeline/conditions/{name}/ has no CONDITION (a nhv_pipeline.core.condition.Condition)")
    if condition.condition_id != name:
        raise ValueError(f"nhv_pipeline/conditions/{name}/ declares the condition {condition.condition_id!r}; "
                         "a condition's folder is named by its id")
    return condition


def _load() -> None:
    """Register the shipped areas, then import NHV_CONDITION_MODULES (once)."""
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    for name in shipped_packages():
        _add(_shipped(name), replace=False)
    for module in filter(None, (name.strip() for name in os.environ.get(EXTRA_MODULES_ENV, "").split(","))):
        importlib.import_module(module)


def _add(condition: Condition, *, replace: bool) -> Condition:
    if condition.condition_id in _REGISTRY and not replace:
        if _REGISTRY[condition.condition_id] is condition:
            return condition
        raise ValueError(f"condition {condition.condition_id!r} is registered already")
    _REGISTRY[condition.condition_id] = condition
    return condition


def register(condition: Condition, *, replace: bool = False) -> Condition:
    """Add a condition after the shipped ones (in registration order). `replace` swaps a registered one (tests)."""
    _load()
    return _add(condition, replace=replace)


def unregister(condition_id: str) -> None:
    """Remove a condition (tests that register one of their own clean up with this)."""
    _REGISTRY.pop(condition_id, None)


def registered() -> tuple[Condition, ...]:
    """Every registered condition, in registration order."""
    _load()
    return tuple(_REGISTRY.values())


def condition_ids() -> tuple[str, ...]:
    return tuple(condition.condition_id for condition in registered())


def get_condition(condition_id: str) -> Condition:
    _load()
    try:
        return _REGISTRY[condition_id]
    except KeyError:
        known = ", ".join(_REGISTRY) or "none"
        raise KeyError(f"unknown condition {condition_id!r}; registered conditions: {known}") from None
