"""Registers generated copies of the two real conditions, for the many-conditions benchmark.

Imported through `NHV_CONDITION_MODULES=benchmarks.forty_conditions` (with the repository
root on PYTHONPATH). `NHV_BENCHMARK_CONDITIONS` says how many conditions there are in all
(default 40, the two real ones included): copies alternate between the two and are named
`<real id>_c<number>`, each with its own units and sample data.
"""

from __future__ import annotations

import dataclasses
import os

from nhv_pipeline.core.condition import Specification
from nhv_pipeline.conditions import register, registered


def copy_condition(original, new_id: str):
    def spec(version: Specification) -> Specification:
        return Specification(
            version.version, version.date, version.from_report_year,
            tuple(dataclasses.replace(indicator, condition_id=new_id) for indicator in version.indicators),
        )

    return dataclasses.replace(
        original,
        condition_id=new_id,
        name=f"{original.name} (kopia {new_id})",
        specifications=tuple(spec(version) for version in original.specifications),
        sample_units=tuple(dataclasses.replace(unit, condition_id=new_id) for unit in original.sample_units),
    )


def register_copies(total: int) -> None:
    real = registered()
    for number in range(len(real), total):
        original = real[number % len(real)]
        register(copy_condition(original, f"{original.condition_id}_c{number:02d}"))


register_copies(int(os.environ.get("NHV_BENCHMARK_CONDITIONS", "40")))
