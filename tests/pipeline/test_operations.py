"""The March schedule and the delivery sensor."""

from __future__ import annotations

import json
import os
from datetime import datetime
from unittest.mock import PropertyMock, patch
from zoneinfo import ZoneInfo

from dagster import DagsterInstance, RunRequest, SkipReason, build_schedule_context, build_sensor_context

from nhv_pipeline.orchestration.partitions import first_report_year
from nhv_pipeline.orchestration.schedules import march_run, march_run_key
from nhv_pipeline.orchestration.sensors import changed_deliveries, delivery_state, make_delivery_sensor


def test_the_march_run_defaults_to_0600_on_31_march_stockholm_time():
    assert march_run.cron_schedule == "0 6 31 3 *"
    assert march_run.execution_timezone == "Europe/Stockholm"
    assert march_run.default_status.value == "STOPPED"


def _repository(tmp_path):
    from nhv_pipeline.orchestration.graph import build_definitions

    return build_definitions(str(tmp_path / "data_raw"), str(tmp_path / "warehouse")).get_repository_def()


def test_the_march_run_asks_for_the_report_year_of_its_tick_with_a_run_key_per_year(tmp_path):
    tick = datetime(2027, 3, 31, 6, 0, tzinfo=ZoneInfo("Europe/Stockholm"))
    repository = _repository(tmp_path)
    request = march_run(build_schedule_context(scheduled_execution_time=tick, repository_def=repository))
    assert isinstance(request, RunRequest)
    assert request.partition_key == "2027"
    assert request.tags["dagster/partition"] == "2027" and request.tags["nhv/warehouse"] == "writer"
    assert request.run_key == march_run_key(2027) == "march-run-2027"
    assert set(request.asset_selection) == set(repository.asset_graph.materializable_asset_keys)


def test_the_march_run_of_a_year_leaves_out_the_assets_that_begin_later(tmp_path):
    """Report year 2025: nothing of a condition started in 2025, no indicator first produced in 2026."""
    tick = datetime(2025, 3, 31, 6, 0, tzinfo=ZoneInfo("Europe/Stockholm"))
    request = march_run(build_schedule_context(scheduled_execution_time=tick, repository_def=_repository(tmp_path)))
    selected = {key.to_user_string() for key in request.asset_selection}
    assert "results/sct_ssc/R1" in selected and "raw/sct_ssc/patients" in selected and "published/publication" in selected
    assert "results/sct_ssc/R2" not in selected
    assert not any("skeletal_dysplasia" in key for key in selected)


def _deliver(root, year, condition, unit, files):
    folder = root / str(year) / condition / unit
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")


def _tick(sensor, cursor, instance):
    context = build_sensor_context(cursor=cursor, instance=instance)
    result = sensor(context)
    return result, context.cursor


def test_the_sensor_triggers_once_per_changed_delivery_and_never_for_unchanged_files(tmp_path):
    root = tmp_path / "data_raw"
    _deliver(root, 2026, "sct_ssc", "akademiska", {"patients.csv": "patient_id\nP1\n"})
    sensor = make_delivery_sensor(root, tmp_path / "warehouse")  # its own, empty warehouse: nothing loaded yet
    with DagsterInstance.ephemeral() as instance:
        first, cursor = _tick(sensor, None, instance)
        assert [r.partition_key for r in first] == ["2026"]

        again, cursor = _tick(sensor, cursor, instance)
        assert isinstance(again, SkipReason)

        # Same content, newer file time: not a new delivery.
        patients = root / "2026" / "sct_ssc" / "akademiska" / "patients.csv"
        os.utime(patients, (patients.stat().st_atime + 100, patients.stat().st_mtime + 100))
        touched, cursor = _tick(sensor, cursor, instance)
        assert isinstance(touched, SkipReason)

        # A corrected file in 2026 and a new unit in 2025: one validation run per report year.
        patients.write_text("patient_id\nP1\nP2\n", encoding="utf-8")
        _deliver(root, 2025, "sct_ssc", "karolinska", {"patients.csv": "patient_id\nP9\n"})
        changed, cursor = _tick(sensor, cursor, instance)
        assert sorted(r.partition_key for r in changed) == ["2025", "2026"]
        assert len({r.run_key for r in changed}) == 2
        assert "sct_ssc/akademiska" in next(r for r in changed if r.partition_key == "2026").tags["nhv/units"]

        quiet, _ = _tick(sensor, cursor, instance)
        assert isinstance(quiet, SkipReason)


def test_changed_deliveries_names_the_unit_and_files():
    previous = {"2026/sct_ssc/a/patients.csv": "x", "2026/sct_ssc/a/survey.csv": "y"}
    current = {"2026/sct_ssc/a/patients.csv": "z", "2026/sct_ssc/b/patients.csv": "w"}
    assert changed_deliveries(previous, current) == {
        ("2026", "sct_ssc", "a"): ["patients.csv (changed)", "survey.csv (removed)"],
        ("2026", "sct_ssc", "b"): ["patients.csv (added)"],
    }


def test_delivery_state_holds_only_digests_never_file_content(tmp_path):
    root = tmp_path / "data_raw"
    _deliver(root, 2026, "sct_ssc", "a", {"patients.csv": "patient_id\n199001011234\n"})
    state = delivery_state(root)
    assert "199001011234" not in json.dumps(state)
    assert list(state) == ["2026/sct_ssc/a/patients.csv"]


def test_the_first_tick_starts_from_what_the_warehouse_has_loaded(full_run):
    """After `make run`, a sensor with no cursor yet sees every unchanged file as known: no runs."""
    workspace, completed = full_run
    assert completed.returncode == 0, completed.stderr[-2000:]
    sensor = make_delivery_sensor(workspace.data_raw, workspace.warehouse)
    with DagsterInstance.ephemeral() as instance:
        first, cursor = _tick(sensor, None, instance)
        assert isinstance(first, SkipReason), first
        assert json.loads(cursor) == delivery_state(workspace.data_raw)


def test_the_first_tick_launches_only_what_the_warehouse_has_not_loaded(tmp_path):
    import duckdb

    root, warehouse = tmp_path / "data_raw", tmp_path / "warehouse"
    _deliver(root, 2026, "sct_ssc", "akademiska", {"patients.csv": "patient_id\nP1\n"})
    _deliver(root, 2025, "sct_ssc", "akademiska", {"patients.csv": "patient_id\nP0\n"})
    state = delivery_state(root)
    warehouse.mkdir()
    with duckdb.connect(str(warehouse / "nhv.duckdb")) as con:
        con.execute("create schema raw")
        con.execute("create table raw.sct_ssc_delivery (report_year integer, unit_id varchar, path varchar, sha256 varchar)")
        con.execute(
            "insert into raw.sct_ssc_delivery values (2026, 'akademiska', ?, ?)",
            ["2026/sct_ssc/akademiska/patients.csv", state["2026/sct_ssc/akademiska/patients.csv"]],
        )
    sensor = make_delivery_sensor(root, warehouse)
    with DagsterInstance.ephemeral() as instance:
        first, cursor = _tick(sensor, None, instance)
        assert [r.partition_key for r in first] == ["2025"]
        again, _ = _tick(sensor, cursor, instance)
        assert isinstance(again, SkipReason)


def test_the_sensor_takes_only_report_year_folders_the_runner_takes_and_warns_of_the_others(tmp_path):
    """`02026` and full-width `２０２６` pass `str.isdigit()` but are no report year (DATA_CONTRACT.md 1)."""
    root = tmp_path / "data_raw"
    for year in ("2026", "02026", "\uff12\uff10\uff12\uff16"):
        _deliver(root, year, "sct_ssc", "akademiska", {"patients.csv": "patient_id\nP1\n"})
    assert set(delivery_state(root)) == {"2026/sct_ssc/akademiska/patients.csv"}
    sensor = make_delivery_sensor(root, tmp_path / "warehouse")
    with DagsterInstance.ephemeral() as instance:
        context = build_sensor_context(cursor=None, instance=instance)
        with patch.object(type(context), "log", new_callable=PropertyMock) as log:
            first = sensor(context)
    assert [r.partition_key for r in first] == ["2026"]
    warnings = [call.args[0] % call.args[1:] for call in log.return_value.warning.call_args_list]
    assert any("'02026'" in message and "not a report year" in message for message in warnings), warnings
    assert any("'\uff12\uff10\uff12\uff16'" in message for message in warnings), warnings


def test_the_sensor_launches_nothing_for_a_delivery_before_its_condition_begins(tmp_path):
    root = tmp_path / "data_raw"
    _deliver(root, 2025, "skeletal_dysplasia", "karolinska_sd", {"patients.csv": "patient_id\nP1\n"})
    sensor = make_delivery_sensor(root, tmp_path / "warehouse")
    with DagsterInstance.ephemeral() as instance:
        context = build_sensor_context(cursor=None, instance=instance)
        with patch.object(type(context), "log", new_callable=PropertyMock) as log:
            result = sensor(context)
    assert isinstance(result, SkipReason)
    warnings = [call.args[0] % call.args[1:] for call in log.return_value.warning.call_args_list]
    assert any("2025/skeletal_dysplasia/karolinska_sd" in message and "(2026)" in message for message in warnings), warnings


def test_the_sensor_and_schedule_requests_resolve_as_the_daemon_resolves_them(tmp_path):
    """Assets with different first report years in one request: the daemon's resolution must accept it."""
    from nhv_pipeline.orchestration.graph import build_definitions

    root = tmp_path / "data_raw"
    _deliver(root, 2026, "sct_ssc", "akademiska", {"patients.csv": "patient_id\nP1\n"})
    defs = build_definitions(str(root), str(tmp_path / "warehouse"))
    repository = defs.get_repository_def()
    with DagsterInstance.ephemeral() as instance:
        sensor = defs.resolve_sensor_def("delivery_sensor")
        data = sensor.evaluate_tick(build_sensor_context(instance=instance, definitions=defs))
        assert [r.job_name for r in data.run_requests] == ["__ASSET_JOB"]
        (request,) = data.run_requests
        assert request.tags["dagster/partition"] == "2026" and request.tags["nhv/run"] == "nhv_validate"
        assert {key.path[0] for key in request.asset_selection} == {"registry", "raw"}
        assert any(key.path[1] == "skeletal_dysplasia" for key in request.asset_selection if key.path[0] == "raw")

        schedule = defs.resolve_schedule_def("march_run")
        tick = datetime(2025, 3, 31, 6, 0, tzinfo=ZoneInfo("Europe/Stockholm"))
        data = schedule.evaluate_tick(
            build_schedule_context(instance=instance, scheduled_execution_time=tick, repository_def=repository)
        )
        (request,) = data.run_requests
        assert request.tags["dagster/partition"] == "2025"
        assert all(first_report_year(repository.asset_graph.get(key).partitions_def) <= 2025 for key in request.asset_selection)


# --- `nhv-pipeline queue`: a request the run-queue sensor turns into runs (public APIs only) ------------------


def _queue_environment(monkeypatch, tmp_path, data_raw, warehouse) -> None:
    """What `queue_runs` sets in the process environment, set here so that it is undone after the test."""
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NHV_DATA_RAW", str(data_raw))
    monkeypatch.setenv("NHV_WAREHOUSE_DIR", str(warehouse))


def test_queue_leaves_a_request_that_the_queue_sensor_turns_into_one_run_per_year_in_order(tmp_path, sample_data, monkeypatch):
    from nhv_pipeline.orchestration.graph import build_definitions
    from nhv_pipeline.orchestration.jobs import run_selection
    from nhv_pipeline.operations.runner import queue_runs

    warehouse = tmp_path / "warehouse"
    _queue_environment(monkeypatch, tmp_path, sample_data, warehouse)
    assert queue_runs(sample_data, warehouse, [2026, 2024, 2025], False, "nhv_validate") == 0
    (request,) = (warehouse / "run_queue").iterdir()
    assert oct(request.stat().st_mode & 0o777) == "0o600"

    defs = build_definitions(str(sample_data), str(warehouse))
    sensor = defs.resolve_sensor_def("run_queue_sensor")
    graph = defs.resolve_asset_graph()
    with DagsterInstance.ephemeral() as instance:
        assert instance.get_runs() == []  # nothing is created by the command itself
        data = sensor.evaluate_tick(build_sensor_context(instance=instance, definitions=defs))
        assert [r.partition_key for r in data.run_requests] == ["2024", "2025", "2026"]  # oldest first
        for r in data.run_requests:
            assert r.tags["nhv/trigger"] == "cli_queue" and r.tags["nhv/run"] == "nhv_validate"
            assert r.tags["nhv/warehouse"] == "writer"
            assert list(r.asset_selection) == run_selection(graph, "nhv_validate", int(r.partition_key))
        assert len({r.run_key for r in data.run_requests}) == 3

        # The next tick starts nothing again and clears the request (its runs were requested with the
        # cursor of the tick before); a tick that started from an old cursor asks for the same run keys,
        # which Dagster starts once.
        again = sensor.evaluate_tick(build_sensor_context(instance=instance, definitions=defs, cursor=data.cursor))
        assert again.run_requests == [] and again.skip_message
        assert list((warehouse / "run_queue").iterdir()) == []
        assert queue_runs(sample_data, warehouse, [2026], False, "nhv_full") == 0
        later = sensor.evaluate_tick(build_sensor_context(instance=instance, definitions=defs, cursor=again.cursor))
        assert [(r.partition_key, r.tags["nhv/run"]) for r in later.run_requests] == [("2026", "nhv_full")]
        assert later.run_requests[0].run_key not in {r.run_key for r in data.run_requests}


def test_queue_says_what_it_queued_and_where_the_daemon_takes_it(tmp_path, sample_data, monkeypatch, capsys):
    from nhv_pipeline.operations.runner import queue_runs

    _queue_environment(monkeypatch, tmp_path, sample_data, tmp_path / "warehouse")
    assert queue_runs(sample_data, tmp_path / "warehouse", [2025], False, "nhv_full") == 0
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Queued nhv_full for report year 2025 (request ")
    assert "run_queue_sensor" in lines[0]


def test_the_run_queue_uses_no_private_dagster_module():
    """Issue 25: run creation through `dagster._core` broke on upgrades at run time; only public APIs here."""
    import inspect

    import nhv_pipeline.operations.queue as run_queue

    assert "dagster._" not in inspect.getsource(run_queue)
    assert "create_run" not in inspect.getsource(run_queue)


# --- after a corrected earlier year is republished: the later years that draw on it (SECURITY item 9) -------


def _publish_fake(warehouse, year: int, text: str) -> None:
    folder = warehouse / "published" / str(year)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "indicator_results.csv").write_text(text, encoding="utf-8")


def test_the_sensor_reruns_the_later_published_years_once_per_correction_when_turned_on(tmp_path, monkeypatch):
    from dagster import job, op

    from nhv_pipeline.orchestration.graph import build_definitions
    from nhv_pipeline.orchestration.jobs import run_selection
    from nhv_pipeline.orchestration.settings import RERUN_LATER_YEARS_ENV

    root, warehouse = tmp_path / "data_raw", tmp_path / "warehouse"
    root.mkdir()
    for year in (2024, 2025, 2026):
        _publish_fake(warehouse, year, f"figures of {year}\n")

    def tick(cursor):
        defs = build_definitions(str(root), str(warehouse))
        data = defs.resolve_sensor_def("delivery_sensor").evaluate_tick(
            build_sensor_context(instance=instance, definitions=defs, cursor=cursor)
        )
        return data, defs

    with DagsterInstance.ephemeral() as instance:
        # Off by default: a changed publication starts nothing (the run that changed it said what to re-run).
        first, _ = tick(None)
        _publish_fake(warehouse, 2024, "corrected figures of 2024\n")
        off, _ = tick(first.cursor)
        assert off.run_requests == []

        monkeypatch.setenv(RERUN_LATER_YEARS_ENV, "1")
        _publish_fake(warehouse, 2024, "figures of 2024\n")
        start, _ = tick(None)  # the first look only records what is published
        assert start.run_requests == []
        _publish_fake(warehouse, 2024, "corrected figures of 2024\n")
        corrected, defs = tick(start.cursor)
        assert [r.partition_key for r in corrected.run_requests] == ["2025", "2026"]
        graph = defs.resolve_asset_graph()
        for request in corrected.run_requests:
            assert request.tags["nhv/run"] == "nhv_full" and request.tags["nhv/trigger"] == "rerun_after_correction"
            assert request.tags["nhv/corrected_year"] == "2024"
            assert list(request.asset_selection) == run_selection(graph, "nhv_full", int(request.partition_key))
        retried, _ = tick(start.cursor)  # a tick retried from the old cursor asks for the same runs
        assert [r.run_key for r in retried.run_requests] == [r.run_key for r in corrected.run_requests]
        assert tick(corrected.cursor)[0].run_requests == []  # once per correction

        # The re-run of 2025 changed its publication too: its later years were already asked for.
        @op
        def rerun():
            pass

        @job
        def republished():
            rerun()

        republished.execute_in_process(
            instance=instance, tags={"dagster/partition": "2025", "nhv/trigger": "rerun_after_correction"}
        )
        _publish_fake(warehouse, 2025, "figures of 2025 after the correction of 2024\n")
        assert tick(corrected.cursor)[0].run_requests == []

        # A correction of 2025 of its own: 2026 is asked for again, with a run key of its own.
        _publish_fake(warehouse, 2025, "corrected figures of 2025\n")
        republished.execute_in_process(instance=instance, tags={"dagster/partition": "2025", "nhv/trigger": "cli"})
        again, _ = tick(corrected.cursor)
        assert [r.partition_key for r in again.run_requests] == ["2026"]
        assert again.run_requests[0].run_key not in {r.run_key for r in corrected.run_requests}
