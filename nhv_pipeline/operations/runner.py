"""What the CLI does: run report years as Dagster runs, or validate without a warehouse."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pandas as pd

from nhv_pipeline.conditions import condition_ids, get_condition, registered
from nhv_pipeline.contract import FAILURE_COLUMNS, read_registry, validate_delivery, write_unit_reports
from nhv_pipeline.contract.names import shown_name
from nhv_pipeline.contract.reports import failure_summary_lines, read_unit_report
from nhv_pipeline.core.faults import fault_point
from nhv_pipeline.core.periods import delivered_report_years, misnamed_year_folders
from nhv_pipeline.operations.recovery import machine_fault_message, process_tags


def lag_years() -> int:
    """How far back a report year reads deliveries: the longest delivery lag of any indicator's inputs.

    Derived from the catalogue (for the two conditions here: a pooled window of three
    deliveries, and cohorts read from D(R-1) and D(R-2)). Rules across deliveries read
    the earlier files themselves, from the data root.
    """
    from nhv_pipeline.indicators import make_catalogue

    return max([0, *(-spec.offsets[0] for indicator in make_catalogue(registered()) for spec in indicator.inputs)])


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def validate_only(
    data_raw: Path, report_year: int, condition: str | None, unit: str | None, report_dir: str | None
) -> int:
    registry = read_registry(data_raw, registered())
    conditions = [condition] if condition else list(condition_ids())
    if unit:
        known = _known_units(data_raw, report_year, conditions, registry.units)
        if unit not in known:
            _say(
                f"error: no unit {unit!r} in units.csv or under {data_raw / str(report_year)} for "
                f"{', '.join(conditions)}; known units: {', '.join(shown_name(name) for name in sorted(known)) or 'none'}."
            )
            return 2
    all_failures = [registry.failures.assign(report_year=report_year)] if len(registry.failures) else []
    for condition_id in conditions:
        result = validate_delivery(
            data_raw, report_year, get_condition(condition_id), registry.units, units=[unit] if unit else None,
            conditions=registered(),
        )
        failures = result.failures
        if unit:
            failures = failures[failures["unit_id"].isin([unit, ""])]
        units = sorted(set(result.files["unit_id"]) | set(failures["unit_id"]) - {""}) if len(result.files) else sorted(set(failures["unit_id"]) - {""})
        _say(
            f"{report_year} {condition_id}: {_count(len(result.files), 'file')} from {_count(len(units), 'unit')}, "
            f"{_count(len(failures), 'failure')}."
        )
        if report_dir:
            written = write_unit_reports(failures, Path(report_dir), report_year, get_condition(condition_id), [unit] if unit else units)
            for path in written:
                _say(f"  report: {path}")
        all_failures.append(failures)
    failures = pd.concat(all_failures, ignore_index=True) if all_failures else pd.DataFrame(columns=FAILURE_COLUMNS)
    failures = failures.drop_duplicates()
    for line in failure_summary_lines(failures):
        _say(f"FAILED {line}")
    if failures.empty:
        _say("All deliveries checked follow the data contract.")
        return 0
    _say(f"{_count(len(failures), 'contract failure')}. Fix them in the delivery and check again.")
    return 1


def submission_command(data_raw: Path, condition_id: str, unit_id: str, report_year: int, out: Path) -> int:
    """`nhv-pipeline submission` (SUBMISSION.md 6): 0 when the submission was written, 1 when validation failed."""
    from nhv_pipeline.submission.make import make_submission

    registry = read_registry(data_raw, registered())
    known = _known_units(data_raw, report_year, [condition_id], registry.units)
    if unit_id not in known:
        _say(
            f"error: no unit {unit_id!r} in units.csv or under {data_raw / str(report_year)} for {condition_id}; "
            f"known units: {', '.join(sorted(known)) or 'none'}."
        )
        return 2
    from nhv_pipeline.submission import intake

    folder = data_raw / str(report_year) / condition_id / unit_id
    if folder.is_dir() and intake.delivery_kind((entry.name for entry in folder.iterdir()), get_condition(condition_id)) != intake.EXTRACT:
        _say(
            f"error: {folder} holds a submission file, not the extract tables; `submission` makes a submission from "
            "the unit's extract (SUBMISSION.md 6). Point --data-raw at the extract."
        )
        return 2
    out.mkdir(parents=True, exist_ok=True)
    made = make_submission(data_raw, get_condition(condition_id), unit_id, report_year, out, conditions=registered())
    for path in made.written:
        _say(f"  wrote {path}")
    for line in failure_summary_lines(made.failures):
        _say(f"FAILED {line}")
    if len(made.failures):
        _say(
            f"{_count(len(made.failures), 'contract failure')}: no submission was written. Fix them in the extract "
            f"(see the validation reports under {out}) and run the command again."
        )
        return 1
    _say(f"Submission of {unit_id} for {condition_id}, report year {report_year}: {len(made.frame)} rows in {out}.")
    return 0


def template_command(condition_id: str, report_year: int, unit_id: str | None, out: Path) -> int:
    """`nhv-pipeline template` (SUBMISSION.md 7)."""
    from nhv_pipeline.submission.workbook import write_template

    condition = get_condition(condition_id)
    if report_year < condition.first_report_year:
        _say(f"error: {condition_id} has no report year before {condition.first_report_year}.")
        return 2
    if out.suffix.lower() != ".xlsx":
        _say(f"error: the template is an Excel workbook: name it FILE.xlsx, not {out.name!r}.")
        return 2
    out.parent.mkdir(parents=True, exist_ok=True)
    write_template(condition, report_year, out, unit=unit_id)
    _say(f"Wrote the {condition_id} template for report year {report_year} to {out}.")
    return 0


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _known_units(data_raw: Path, report_year: int, conditions: list[str], units: pd.DataFrame) -> set[str]:
    """Units `--unit` may name: registered for the conditions, or with a folder in the report year (checked as such)."""
    known = set(units.loc[units["condition_id"].isin(conditions), "unit_id"])
    for condition_id in conditions:
        folder = data_raw / str(report_year) / condition_id
        if folder.is_dir():
            known |= {entry.name for entry in folder.iterdir() if entry.is_dir()}
    return known


DEFAULT_INSTANCE_YAML = """\
# Dagster instance of this repository (written once; edit freely, see the README's operator guide).
# Storage: SQLite in this folder, in Dagster's default layout, through a storage class that keeps
# each database's connection open instead of opening one per event (nhv_pipeline/orchestration/storage.py).
# base_dir is this folder: change it when you move the folder.
storage:
  custom:
    module: nhv_pipeline.orchestration.storage
    class: SqliteStorage
    config:
      base_dir: {home}
run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
# One warehouse writer at a time: DuckDB takes one writing process per file, and a run holds
# the warehouse from its first step to its last. Every asset is in the pool `nhv_warehouse`;
# with run granularity the queue starts a run only when no other run of that pool is in
# progress (runs launched by the daemon: schedule, sensor, UI). Every nhv job also carries the
# run tag `nhv/warehouse`, limited to one run as well.
concurrency:
  pools:
    granularity: run
    default_limit: 1
  runs:
    tag_concurrency_limits:
      - key: nhv/warehouse
        limit: 1
# Run monitoring (needs the daemon, which `dagster dev` starts): a run that never starts is failed
# after 3 minutes. The default run launcher cannot tell that a run's process was killed, so a run
# still in progress after 2 hours is failed too (the longest benchmarked run takes about a minute);
# `nhv-pipeline run` fails the runs of its own killed processes at once (see the README).
run_monitoring:
  enabled: true
  start_timeout_seconds: 180
  max_runtime_seconds: 7200
  poll_interval_seconds: 120
  free_slots_after_run_end_seconds: 300
telemetry:
  enabled: false
nux:
  enabled: false
"""


def dagster_home() -> Path:
    home = Path(os.environ.get("DAGSTER_HOME") or Path.cwd() / ".dagster_home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        (home / "dagster.yaml").write_text(DEFAULT_INSTANCE_YAML.replace("{home}", json.dumps(str(home))), encoding="utf-8")
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def run_report_years(
    data_raw: Path, warehouse_dir: Path, report_year: int | None, run_all: bool, quiet: bool = False
) -> int:
    """Materialize the report years; 0 only when every run succeeded and every check passed."""
    os.environ["NHV_DATA_RAW"] = str(data_raw)
    os.environ["NHV_WAREHOUSE_DIR"] = str(warehouse_dir)
    home = dagster_home()

    from dagster import DagsterInstance

    from nhv_pipeline.orchestration.assets.staged import loaded_slices
    from nhv_pipeline.orchestration.graph import build_definitions
    from nhv_pipeline.operations.recovery import prepare_warehouse
    from nhv_pipeline.orchestration.resources import (
        PipelinePaths, Warehouse, WarehousePermissionError, ensure_warehouse_pool, exclusive_lock, secure_warehouse,
    )  # fmt: skip

    checked = _checked_report_years(data_raw, [report_year] if report_year is not None else [], run_all)
    if checked is None:
        return 2
    years, delivered = checked
    try:  # owner-only before anything is written into it (resources.py: who may read the warehouse)
        secure_warehouse(warehouse_dir, lambda message: _say(f"warning: {message}"))
    except WarehousePermissionError as error:
        _say(f"error: {error}")
        return 1

    if not quiet:
        _say(f"Dagster home: {home}\nData root: {data_raw}\nWarehouse: {warehouse_dir}")
    # One CLI run per warehouse at a time: a second one waits here, before it touches the
    # Dagster home or the warehouse (see the operator guide in the README).
    with exclusive_lock(warehouse_dir / ".run.lock", f"The warehouse {warehouse_dir}", announce=_say):
        defs = build_definitions(str(data_raw), str(warehouse_dir))
        paths = PipelinePaths(data_raw=str(data_raw), warehouse_dir=str(warehouse_dir))
        with DagsterInstance.get() as instance:
            ensure_warehouse_pool(instance)
            problem = prepare_warehouse(warehouse_dir, instance, _say)
            if problem is not None:
                _say(f"error: {problem}")
                return 1
            warehouse = Warehouse(warehouse_dir=str(warehouse_dir))
            # What is loaded, read once: the plan asks for every table of every condition of each earlier year.
            loads = loaded_slices(warehouse)
            plan = _plan(paths, years, delivered, run_all, lambda *key: loads.get(key, set()))
            return _run_plan(defs, instance, plan, warehouse_dir, quiet)


def queue_runs(data_raw: Path, warehouse_dir: Path, report_years: list[int] | None, run_all: bool, selection: str) -> int:
    """Queue report years for the daemon (`nhv-pipeline queue`); 0 when every run was queued."""
    os.environ["NHV_DATA_RAW"] = str(data_raw)
    os.environ["NHV_WAREHOUSE_DIR"] = str(warehouse_dir)
    dagster_home()
    from nhv_pipeline.operations.queue import queue_report_years

    checked = _checked_report_years(data_raw, sorted(report_years or []), run_all)
    if checked is None:
        return 2
    years, _ = checked
    for year, key in zip(years, queue_report_years(warehouse_dir, years, selection), strict=True):
        _say(f"Queued {selection} for report year {year} (request {key}); the daemon's run_queue_sensor starts it.")
    return 0


def _checked_report_years(data_raw: Path, requested: list[int], run_all: bool) -> tuple[list[int], list[int]] | None:
    """The report years to run or queue, and those delivered; None (after saying why) when there are none to take.

    A misnamed folder under the data root, or a year outside the pipeline's report years, stops
    the command before anything runs: `run` and `queue` refuse the same things with the same words.
    """
    from nhv_pipeline.orchestration.partitions import report_year_partitions

    misnamed = misnamed_year_folders(data_raw)
    for folder in misnamed:
        _say(
            f"error: the folder '{shown_name(folder.name)}' in the data root {data_raw} is not a report year; rename it to "
            "the four-digit report year of its delivery round (like 2026) or move it out of the data root, then re-run."
        )
    if misnamed:
        return None
    delivered = delivered_report_years(data_raw)
    years = delivered if run_all else requested
    valid_keys = set(report_year_partitions.get_partition_keys())
    for year in years:
        if str(year) not in valid_keys:
            _say(
                f"error: report year {year} is outside the pipeline's report years "
                f"({min(valid_keys)}..{max(valid_keys)})."
            )
            return None
    if not years:
        _say(f"error: no report year folders (like 2026/) under {data_raw}.")
        return None
    return years, delivered


def _plan(paths, years: list[int], delivered: list[int], run_all: bool, loaded_report_years) -> list[tuple[str, int]]:
    """The runs to make: each report year, preceded by earlier deliveries its lags read that are not loaded."""
    from nhv_pipeline.orchestration.jobs import DELIVERIES, FULL

    plan: list[tuple[str, int]] = []
    for year in years:
        if not run_all:
            for earlier in range(year - lag_years(), year):
                if earlier in delivered and not _is_loaded(paths, earlier, loaded_report_years):
                    plan.append((DELIVERIES, earlier))
        plan.append((FULL, year))
    return plan


def _run_plan(defs, instance, plan: list[tuple[str, int]], warehouse_dir: Path, quiet: bool) -> int:
    """Run the planned jobs in order; a failed year does not stop later years from being tried.

    The FAILED lines of every failed year come last, after Dagster's log, where a person reads
    them; with `quiet` Dagster logs nothing and only they and the summary are printed.
    """
    progress = (lambda message: None) if quiet else _say
    # CRITICAL: a failed step is logged at ERROR level with its stack trace; quiet leaves that to the FAILED lines.
    run_config = {"loggers": {"console": {"config": {"log_level": "CRITICAL" if quiet else "INFO"}}}}
    from nhv_pipeline.orchestration.jobs import execute_in_process

    data_raw = Path(os.environ["NHV_DATA_RAW"])
    failed: list[tuple[int, str, list[str]]] = []
    changed: list[tuple[int, int]] = []  # (report year whose publication changed, its place in the plan)
    for index, (name, year) in enumerate(plan):
        if index:
            fault_point("between_years")
        progress(f"==> {name} for report year {year}")
        # The run validates the year again: its reports are replaced as a whole, so none of an
        # earlier run (of a unit folder since removed, say) is read or printed as this run's.
        shutil.rmtree(warehouse_dir / "validation" / str(year), ignore_errors=True)
        published_before = _publication_digest(warehouse_dir, year)
        # Only the assets that have the year: a condition not yet started, or an indicator not yet
        # produced, has no partition for it, so no empty step is recorded (jobs.run_selection).
        result = execute_in_process(
            defs,
            name,
            year,
            instance=instance,
            run_config=run_config,
            raise_on_error=False,
            tags={"nhv/trigger": "cli", **process_tags()},
        )
        failed_checks = [
            evaluation
            for evaluation in result.get_asset_check_evaluations()
            if not evaluation.passed and evaluation.severity.value == "ERROR"
        ]
        early = _deliveries_before_start(data_raw, warehouse_dir, year)
        run_id, succeeded = result.run_id, result.success and not failed_checks and not early
        lines = [] if succeeded else _failure_lines(result, failed_checks, warehouse_dir, year)
        # The result holds every step output of the run: dropped now, not when the next year's run returns.
        del result, failed_checks
        if succeeded:
            progress(f"<== report year {year}: succeeded (run {run_id}).")
            if _publication_digest(warehouse_dir, year) != published_before:
                changed.append((year, index))
            continue
        progress(f"<== report year {year}: FAILED (run {run_id}); the failures follow at the end.")
        failed.append((year, run_id, lines))
    for line in _later_years_to_rerun(warehouse_dir, plan, changed):
        _say(line)
    if not failed:
        _say(
            f"Done. Warehouse: {warehouse_dir / 'nhv.duckdb'}; publications: {warehouse_dir / 'published'}; "
            f"validation reports: {warehouse_dir / 'validation'}. See the runs with `make ui`."
        )
        return 0
    for _, _, lines in failed:
        for line in lines:
            _say(line)
    for year, run_id, _ in failed:
        _say(f"Report year {year}: FAILED (run {run_id}). Validation reports per unit: {warehouse_dir / 'validation' / str(year)}")
    return 1


def _publication_digest(warehouse_dir: Path, year: int) -> str | None:
    """The SHA-256 of a report year's published results, None when it has none."""
    import hashlib

    from nhv_pipeline.publication.columns import RESULT_FILE_STEM

    path = warehouse_dir / "published" / str(year) / f"{RESULT_FILE_STEM}.csv"
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def _later_years_to_rerun(warehouse_dir: Path, plan: list[tuple[str, int]], changed: list[tuple[int, int]]) -> list[str]:
    """One line per report year whose publication this run changed, naming the later published years that draw on it.

    A later year's trend charts show the earlier years' published figures (PUBLICATION.md), and
    its indicators read earlier deliveries through their lags: until it is re-run it shows the
    old figure. Years run again later in this same plan are up to date and not named.
    """
    from nhv_pipeline.orchestration.jobs import FULL
    from nhv_pipeline.publication.export import published_years

    lines = []
    published = published_years(warehouse_dir / "published")
    for year, index in changed:
        rerun = {later for name, later in plan[index + 1:] if name == FULL}
        stale = [later for later in published if later > year and later not in rerun]
        if stale:
            lines.append(
                f"note: report year {year}'s publication changed; later report years draw on it (their trend charts, "
                f"and the earlier deliveries their indicators read) and still show the old figures: "
                f"{', '.join(map(str, stale))}. Re-run them: "
                + "; ".join(f"nhv-pipeline run --report-year {later}" for later in stale) + "."
            )
    return lines


def _deliveries_before_start(data_raw: Path, warehouse_dir: Path, year: int) -> list[str]:
    """Conditions with a delivery folder for a report year before their first one; checked here.

    Their assets have no partition for that year, so the run does not read the folder; its
    measurement period is empty and every unit is outside its permit (DATA_CONTRACT.md 1). The
    contract check says so in the units' validation reports, and the year fails like any
    failed delivery, rather than the folder being passed over without a word.
    """
    early = [c.condition_id for c in registered() if year < c.first_report_year and (data_raw / str(year) / c.condition_id).is_dir()]
    if early:
        registry = read_registry(data_raw, registered())
        for condition_id in early:
            condition = get_condition(condition_id)
            failures = validate_delivery(data_raw, year, condition, registry.units, conditions=registered()).failures
            units = sorted(set(failures["unit_id"]) - {""})
            write_unit_reports(failures, warehouse_dir / "validation", year, condition, units)
    return early


def _is_loaded(paths, year: int, loaded_report_years) -> bool:
    conditions = [
        c for c in registered() if c.first_report_year <= year and (paths.data_root / str(year) / c.condition_id).is_dir()
    ]
    return all(year in loaded_report_years(c.condition_id, t) for c in conditions for t in c.table_names)


def _failure_lines(result, failed_checks, warehouse_dir: Path, year: int) -> list[str]:
    """One FAILED line per failed check, per contract rule broken (with its count) and per failed step;
    then one `error:` line per machine fault (a full disk, a damaged warehouse) saying what to do."""
    lines = [
        f"FAILED check {e.check_name} on {e.asset_key.to_user_string()} ({year})" + _why(e) for e in failed_checks
    ]
    lines += [f"FAILED {line}" for line in failure_summary_lines(_validation_failures(warehouse_dir, year))]
    faults: list[str] = []
    for event in result.all_events:
        if event.is_step_failure:
            error = event.step_failure_data.error
            # The first line only: the stack trace is in the run's log (`make ui`), not for the terminal.
            message = error.message.strip().splitlines()[0] if error and error.message.strip() else "unknown error"
            lines.append(f"FAILED step {event.step_key} ({year}): {message}")
            fault = machine_fault_message(error, warehouse_dir) if error else None
            if fault is not None and fault not in faults:
                faults.append(fault)
    return lines + [f"error: {fault}" for fault in faults]


def _why(evaluation) -> str:
    """A check's own words on what failed (a condition's part kept or withheld), when it gives them."""
    why = evaluation.metadata.get("why")
    return f": {why.value}" if why is not None else ""


def _validation_failures(warehouse_dir: Path, year: int) -> pd.DataFrame:
    frames = []
    for report in sorted((warehouse_dir / "validation" / str(year)).glob("*/*.csv")):
        frame = read_unit_report(report)
        if frame.empty:
            continue
        unit_id = "" if report.stem == "_registry" else report.stem
        frames.append(
            frame.assign(
                report_year=year,
                condition_id=report.parent.name,
                unit_id=unit_id,
                line=pd.to_numeric(frame["line"], errors="coerce").astype("Int64"),
            )
        )
    if not frames:
        return pd.DataFrame(columns=FAILURE_COLUMNS)
    return pd.concat(frames, ignore_index=True)[FAILURE_COLUMNS]
