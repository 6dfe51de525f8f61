"""The delivery sensor: a new or corrected unit delivery is validated within minutes.

Deliveries are compared by content (SHA-256 of every file in a unit folder), not by
file time: touching or copying a folder unchanged triggers nothing. The cursor
keeps the digest of every file seen, so the log can say which files changed. Its
first tick starts from what the warehouse has loaded (the raw delivery inventories,
with every file's SHA-256), so a sensor turned on after `make run` triggers nothing
for the deliveries that run already validated.

With `NHV_RERUN_LATER_YEARS=1` (settings.py) the sensor also watches the publications: when
a report year's published results change (a corrected earlier year re-run), it starts a full
run of every later published year, which draws on it (trend charts, lagged deliveries), once
per correction (run keys from the changed results' SHA-256). A change made by such a re-run
starts nothing more: its later years were asked for with it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from dagster import DefaultSensorStatus, RunRequest, RunsFilter, SensorEvaluationContext, SkipReason, sensor

from nhv_pipeline.conditions import condition_ids, get_condition
from nhv_pipeline.contract.identity import contains_identity_number
from nhv_pipeline.contract.names import shown_name
from nhv_pipeline.orchestration.jobs import FULL, SELECTIONS, VALIDATE, run_selection, run_tags
from nhv_pipeline.core.periods import delivered_report_years, misnamed_year_folders
from nhv_pipeline.orchestration.resources import (
    WAREHOUSE_FILE,
    WarehouseLockTimeout,
    connect,
    default_data_raw,
    default_warehouse_dir,
    quoted,
    table_exists,
)
from nhv_pipeline.orchestration.settings import rerun_later_years

MINIMUM_INTERVAL_SECONDS = 120
WAREHOUSE_WAIT_SECONDS = 10.0
"""How long a tick waits for a busy warehouse before it skips and looks again next time."""


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def delivery_state(data_root: Path) -> dict[str, str]:
    """`"<report_year>/<condition_id>/<unit_id>/<file>"` -> SHA-256, for every delivered file.

    Every condition folder counts, registered or not: a folder of a condition the pipeline
    does not know is a change the operator must hear of (the sensor says so), not one to skip.
    """
    state: dict[str, str] = {}
    if not data_root.is_dir():
        return state
    # Only report-year folders (the runner's definition): a misnamed one is warned of by the sensor, not run.
    for year_dir in (data_root / str(year) for year in delivered_report_years(data_root)):
        for c, condition_dir in enumerate(sorted(p for p in year_dir.iterdir() if p.is_dir() and not p.is_symlink()), start=1):
            # DATA_CONTRACT.md 3: a name holding an identity number goes into neither the cursor nor the log;
            # any other is shown escaped (a newline or an escape sequence in it never reaches the log raw).
            condition = f"(folder {c})" if contains_identity_number(condition_dir.name) else shown_name(condition_dir.name)
            for u, unit_dir in enumerate(sorted(p for p in condition_dir.iterdir() if p.is_dir()), start=1):
                unit = f"(unit folder {u})" if contains_identity_number(unit_dir.name) else shown_name(unit_dir.name)
                for f, file in enumerate(sorted(p for p in unit_dir.iterdir() if p.is_file()), start=1):
                    name = f"(file {f})" if contains_identity_number(file.name) else shown_name(file.name)
                    state[f"{year_dir.name}/{condition}/{unit}/{name}"] = file_digest(file)
    return state


def loaded_state(warehouse_dir: Path) -> dict[str, str]:
    """What the warehouse has loaded, in `delivery_state`'s form: every raw delivery inventory's files and SHA-256.

    Raises WarehouseLockTimeout while a run holds the warehouse for longer than WAREHOUSE_WAIT_SECONDS.
    """
    database = Path(warehouse_dir) / WAREHOUSE_FILE
    if not database.is_file():
        return {}
    state: dict[str, str] = {}
    with connect(database, read_only=True, wait_seconds=WAREHOUSE_WAIT_SECONDS) as con:
        for condition_id in condition_ids():
            table = f"{condition_id}_delivery"
            if table_exists(con, "raw", table):
                state.update(con.execute(f"select path, sha256 from {quoted('raw', table)}").fetchall())
    return state


RERUN_TRIGGER = "rerun_after_correction"

RESULTS_FILE = "indicator_results.csv"
"""`publication.columns.RESULTS_CSV`, named here: importing the publication package would load SciPy
into every definitions load, where the sensor is built (tests/unit/test_pure_modules.py)."""


def published_state(warehouse_dir: Path) -> dict[str, str]:
    """Report year -> SHA-256 of its published results (`published/<R>/indicator_results.csv`)."""
    published = Path(warehouse_dir) / "published"
    if not published.is_dir():
        return {}
    return {
        folder.name: file_digest(folder / RESULTS_FILE)
        for folder in sorted(published.iterdir())
        if folder.name.isdigit() and (folder / RESULTS_FILE).is_file()
    }


def _read_cursor(cursor: str) -> tuple[dict[str, str], dict[str, str] | None]:
    """(deliveries, publications or None): the cursor is the delivery state alone while the re-runs are off."""
    state = json.loads(cursor)
    if isinstance(state.get("deliveries"), dict):
        return state["deliveries"], state.get("published")
    return state, None


def _cursor(deliveries: dict[str, str], published: dict[str, str] | None) -> str:
    if published is None:
        return json.dumps(deliveries, sort_keys=True)
    return json.dumps({"deliveries": deliveries, "published": published}, sort_keys=True)


def later_year_reruns(context: SensorEvaluationContext, before: dict[str, str] | None, now: dict[str, str], asset_graph):
    """The full runs of the later published years after an earlier year's publication changed."""
    if before is None:  # the first look: nothing to compare with yet
        return []
    requests = []
    for year, digest in sorted(now.items()):
        if before.get(year) in (None, digest):
            continue
        latest = context.instance.get_runs(filters=RunsFilter(tags={"dagster/partition": year}), limit=1)
        if latest and latest[0].tags.get("nhv/trigger") == RERUN_TRIGGER:
            continue  # republished by a re-run this sensor asked for: its later years were asked for with it
        later = [other for other in sorted(now) if int(other) > int(year)]
        if later:
            context.log.info(
                "Report year %s's publication changed; re-running the later published years that draw on it: %s.",
                year, ", ".join(later),
            )
        for other in later:
            requests.append(
                RunRequest(
                    run_key=f"rerun-{other}-after-{year}-{digest[:16]}",
                    partition_key=other,
                    asset_selection=run_selection(asset_graph, FULL, int(other)) if asset_graph else None,
                    tags={**run_tags(FULL, int(other)), "nhv/trigger": RERUN_TRIGGER, "nhv/corrected_year": year},
                )
            )
    return requests


def changed_deliveries(previous: dict[str, str], current: dict[str, str]) -> dict[tuple[str, str, str], list[str]]:
    """(report_year, condition_id, unit_id) -> the files added, changed or removed there."""
    changes: dict[tuple[str, str, str], list[str]] = {}
    for name in sorted(set(previous) | set(current)):
        if previous.get(name) != current.get(name):
            year, condition, unit, file = name.split("/", 3)
            status = "added" if name not in previous else "removed" if name not in current else "changed"
            changes.setdefault((year, condition, unit), []).append(f"{file} ({status})")
    return changes


def make_delivery_sensor(data_root: Path | None = None, warehouse_dir: Path | None = None):
    @sensor(
        # Assets, not a job: they begin at different report years, so each request names those of its year.
        # With the re-runs of later years on, its requests may hold every asset of a year.
        asset_selection=SELECTIONS[FULL] if rerun_later_years() else SELECTIONS[VALIDATE],
        minimum_interval_seconds=MINIMUM_INTERVAL_SECONDS,
        default_status=DefaultSensorStatus.RUNNING,
        description="Validates a report year when a unit delivers a new or corrected folder under the data "
        "root (compared by file content). Writes the unit's validation report; publishes nothing.",
    )
    def delivery_sensor(context: SensorEvaluationContext):
        root = data_root or Path(default_data_raw())
        warehouse = warehouse_dir or Path(default_warehouse_dir())
        asset_graph = context.repository_def.asset_graph if context.repository_def is not None else None
        published_before = None
        if context.cursor:
            previous, published_before = _read_cursor(context.cursor)
        else:
            try:
                previous = loaded_state(warehouse)
            except WarehouseLockTimeout:
                return SkipReason("The warehouse is busy with a run; the first look at the deliveries waits for the next tick.")
        if root.is_dir():
            for number, folder in enumerate(misnamed_year_folders(root), start=1):
                # DATA_CONTRACT.md 3: a name holding an identity number is not repeated in the log.
                shown = f"(misnamed folder {number})" if contains_identity_number(folder.name) else f"'{shown_name(folder.name)}'"
                context.log.warning(
                    "The folder %s in the data root %s is not a report year (four ASCII digits, like 2026); "
                    "its deliveries are not validated. Rename it to the report year of its delivery round.",
                    shown, root,
                )
        published = published_state(warehouse) if rerun_later_years() else None
        reruns = later_year_reruns(context, published_before, published, asset_graph) if published is not None else []
        current = delivery_state(root)
        changes = changed_deliveries(previous, current)
        if not changes:
            context.update_cursor(_cursor(current, published))  # a first tick keeps what it started from
            return reruns or SkipReason(f"No new or changed deliveries under {root}.")
        years: dict[str, list[str]] = {}
        known = set(condition_ids())
        for (year, condition, unit), files in changes.items():
            if condition not in known:
                context.log.warning(
                    "Delivery folder %s/%s is not a registered condition (known: %s); it is not validated. "
                    "Rename the folder to the condition's id, or add the condition's package.",
                    year, condition, ", ".join(sorted(known)),
                )
                continue
            first = get_condition(condition).first_report_year
            if int(year) < first:
                # Its assets have no such report year; `nhv-pipeline run` reports it as outside every permit.
                context.log.warning(
                    "Delivery folder %s/%s/%s is for a report year before %s's first (%s); no unit may deliver "
                    "for it and it is not validated. Move it to the report year it belongs to.",
                    year, condition, unit, condition, first,
                )
                continue
            context.log.info("New or changed delivery: %s %s %s: %s", year, condition, unit, ", ".join(files))
            years.setdefault(year, []).append(f"{condition}/{unit}")
        if not years:
            context.update_cursor(_cursor(current, published))
            return reruns or SkipReason("Only folders of unregistered conditions, or of years before a condition begins, changed (see the log).")
        requests = []
        for year, units in sorted(years.items()):
            year_state = {k: v for k, v in current.items() if k.startswith(f"{year}/")}
            run_key = "delivery-" + hashlib.sha256(json.dumps(year_state, sort_keys=True).encode()).hexdigest()[:16]
            requests.append(
                RunRequest(
                    run_key=run_key,
                    partition_key=year,
                    # The assets that have the year; the partition tag is set here because they do not
                    # share one partitions definition (see jobs.py).
                    asset_selection=run_selection(asset_graph, VALIDATE, int(year)) if asset_graph else None,
                    tags={
                        **run_tags(VALIDATE, int(year)),
                        "nhv/trigger": "delivery_sensor",
                        "nhv/units": ",".join(sorted(units))[:200],
                    },
                )
            )
        context.update_cursor(_cursor(current, published))
        return requests + reruns

    return delivery_sensor

