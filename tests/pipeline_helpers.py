"""Running the real command line against temporary data roots, warehouses and Dagster homes."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Workspace:
    data_raw: Path
    warehouse: Path
    dagster_home: Path

    def cli(self, *args: str, timeout: int = 600, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        env = {
            **os.environ,
            "DAGSTER_HOME": str(self.dagster_home),
            "NHV_DATA_RAW": str(self.data_raw),
            "NHV_WAREHOUSE_DIR": str(self.warehouse),
            **(env or {}),
        }
        return subprocess.run(
            [sys.executable, "-m", "nhv_pipeline.operations.cli", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )


#: What registers the session's conditions in a process a test starts (NHV_CONDITION_MODULES, the variable
#: the benchmark's generated areas read, and the path those modules are found on): kept when a test strips
#: the pipeline's settings (NHV_*, DAGSTER_*) from a child's environment.
REGISTRATION_VARIABLES = ("NHV_CONDITION_MODULES", "NHV_BENCHMARK_CONDITIONS", "PYTHONPATH")


def without_settings(environ: dict[str, str]) -> dict[str, str]:
    """`environ` without the pipeline's settings (DAGSTER_*, NHV_*), the conditions' registration kept."""
    return {key: value for key, value in environ.items()
            if key in REGISTRATION_VARIABLES or not key.startswith(("DAGSTER", "NHV_"))}


def conditions_in(report_year: int) -> list[str]:
    """The registered conditions that have a part in a report year: the shipped ones and any the session
    registers (NHV_CONDITION_MODULES), in registration order."""
    from nhv_pipeline.conditions import registered

    return [c.condition_id for c in registered() if c.first_report_year <= report_year]


def changed_files(folder: Path, before: dict[str, str]) -> set[str]:
    """The files of `folder` added, removed or changed since `before` (a `tree_digest`)."""
    after = tree_digest(folder)
    return {name for name in set(before) | set(after) if before.get(name) != after.get(name)}


def assert_part_not_replaced(folder: Path, before: dict[str, str], condition_id: str, report_year: int) -> None:
    """A run that could not replace `condition_id`'s part of a published year (`folder`, `before` its
    `tree_digest`) left that part as it was. When the condition is the year's only one nothing was
    published: the folder is byte for byte the same. Otherwise the other areas' parts were published
    again with their unchanged figures: only the files that describe the publication and carry its
    time (manifest, data package, the preview page) may differ, and the manifest says the condition's
    part was kept."""
    import json

    changed = changed_files(folder, before)
    if conditions_in(report_year) == [condition_id]:
        assert changed == set()
        return
    assert changed <= {"manifest.json", "datapackage.json", "index.html"}, changed
    if changed:
        part = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["conditions"][condition_id]
        assert part["status"] == "kept", part


def make_workspace(root: Path, sample: Path) -> Workspace:
    """A fresh copy of the sample deliveries with an empty warehouse and Dagster home."""
    data_raw = root / "data_raw"
    shutil.copytree(sample, data_raw)
    (root / "dagster_home").mkdir()
    return Workspace(data_raw=data_raw, warehouse=root / "warehouse", dagster_home=root / "dagster_home")


def tree_digest(folder: Path) -> dict[str, str]:
    """Relative path -> SHA-256 of every file below `folder`."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def break_sex_code(patients: Path) -> None:
    """Give the patient on line 4 of a patients.csv a sex code outside the contract (`code`)."""
    lines = patients.read_text(encoding="utf-8").split("\n")
    lines[3] = lines[3].replace(",K,", ",Q,").replace(",M,", ",Q,")
    patients.write_text("\n".join(lines), encoding="utf-8")


# --- the rule of SECURITY item 4: an unhandled exception inside a step is a defect in itself ---------


def _error_chain(error) -> str:
    names = []
    while error is not None:
        names.append(f"{error.cls_name}: {error.message.strip().splitlines()[0] if error.message.strip() else ''}")
        error = error.cause
    return " <- ".join(names)


def unhandled_errors(events, warehouse: Path) -> list[str]:
    """What in a run's events is no contract failure: a failed step whose error is neither our `Failure`
    (a rule or a refusal, said in words) nor a machine fault (`recovery.machine_fault_message`: a full
    disk, a damaged warehouse), and an indicator that was not computed because its code raised."""
    from dagster import DagsterEventType

    from nhv_pipeline.operations.recovery import machine_fault_message

    found = []
    for event in events:
        if event.is_step_failure:
            data = event.step_failure_data
            if data.user_failure_data is None and (data.error is None or machine_fault_message(data.error, warehouse) is None):
                found.append(f"step {event.step_key}: {_error_chain(data.error) if data.error else 'no error info'}")
        elif event.event_type == DagsterEventType.ASSET_MATERIALIZATION:
            why = event.event_specific_data.materialization.metadata.get("not_computed_because")
            if why is not None and str(why.value).startswith("the computation failed"):
                found.append(f"{event.asset_key.to_user_string()}: {why.value}")
    return found


def unhandled_errors_in_home(dagster_home: Path, warehouse: Path) -> list[str]:
    """`unhandled_errors` over every run stored in a Dagster home (the runs of `nhv-pipeline` commands)."""
    from dagster import DagsterInstance

    found = []
    with DagsterInstance.from_config(str(dagster_home)) as instance:
        for run in instance.get_runs():
            events = [entry.dagster_event for entry in instance.all_logs(run.run_id) if entry.dagster_event is not None]
            found += [f"run {run.run_id}: {line}" for line in unhandled_errors(events, warehouse)]
    return found


def run_in_process(data_raw: Path, warehouse: Path, plan: list[tuple[str, int]]) -> list[str]:
    """Run the selections of `plan` ((job name, report year), in order) over a data root in this
    process with an ephemeral instance, as `nhv-pipeline run` does; the unhandled errors they met."""
    from dagster import DagsterInstance

    from nhv_pipeline.orchestration.graph import build_definitions
    from nhv_pipeline.orchestration.jobs import execute_in_process

    defs = build_definitions(str(data_raw), str(warehouse))
    found = []
    quiet = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
    with DagsterInstance.ephemeral() as instance:
        for name, year in plan:
            result = execute_in_process(defs, name, year, instance=instance, run_config=quiet, raise_on_error=False)
            found += [f"{name} {year}: {line}" for line in unhandled_errors(result.all_events, warehouse)]
    return found
