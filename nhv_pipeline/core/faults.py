"""Named points where the fault-injection tests kill the process (`tests/faults/test_faults.py`).

A run killed half-way must leave the warehouse, the publications and the run
queue in a state the next run recovers from. To test that without depending on
timing, the code calls `fault_point(name)` at the places a crash hurts most;
when the environment variable `NHV_FAULT_POINT` names that point, the process
sends itself SIGKILL there, as `kill -9` or the kernel's OOM killer would.
`NHV_FAULT_POINT=name#3` kills at the third time the point is reached. Unset (as
everywhere but in those tests) the call does nothing.
"""

from __future__ import annotations

import os
import signal
import sys

FAULT_POINT_ENV = "NHV_FAULT_POINT"

POINTS = {
    "warehouse_write:raw": "rows of a raw table are written inside the open transaction, before its commit",
    "warehouse_write:staged": "rows of a staged table are written inside the open transaction, before its commit",
    "validation_report": "raw loading: a unit's validation report is half written to its temporary file",
    "publish_swap": "the new publication is swapped in and the previous one not yet removed",
    "publish_swap_gap": "without an atomic exchange: the previous publication is renamed away, the new one not yet in",
    "between_years": "a report year's run has finished and the next one has not started",
}
"""Every point the code calls, and where it is (the tests read this list)."""

_reached: dict[str, int] = {}


def fault_point(name: str) -> None:
    """Kill this process with SIGKILL when NHV_FAULT_POINT names this point (and its count is reached)."""
    wanted = os.environ.get(FAULT_POINT_ENV)
    if not wanted:
        return
    point, _, nth = wanted.partition("#")
    if point != name:
        return
    _reached[name] = _reached.get(name, 0) + 1
    if _reached[name] == int(nth or 1):
        print(f"{FAULT_POINT_ENV}: killing process {os.getpid()} at {name}", file=sys.stderr, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
