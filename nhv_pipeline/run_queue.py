"""`nhv-pipeline queue` (formerly `submit`): queue report years for the Dagster daemon, as a schedule or the sensor does.

`nhv-pipeline run` executes in this process. On a shared instance (the operator guide's
PostgreSQL recipe) a run is instead submitted to the instance's run queue and started by
the daemon, one warehouse writer at a time. The assets begin at different report years, so
there is no named job to `dagster job launch`: each run is one of Dagster's implicit asset
job over the assets of a selection that have the year (jobs.py), as the UI launches it.
"""

from __future__ import annotations

CODE_LOCATION = "nhv_pipeline"
"""The code location's name, as `pyproject.toml` ([tool.dagster] code_location_name) gives it to
`dagster dev` and `dagster-daemon run`: the daemon starts a queued run from the location it names."""


def queue_report_years(years: list[int], name: str, trigger: str = "cli_queue") -> list[str]:
    """Queue one run per report year (in this order) on the instance of DAGSTER_HOME; their run ids."""
    from dagster import DagsterInstance
    from dagster._core.definitions.selector import JobSubsetSelector
    from dagster._core.workspace.context import WorkspaceProcessContext
    from dagster._core.workspace.load_target import ModuleTarget
    from dagster.version import __version__

    from nhv_pipeline.jobs import ASSET_JOB, run_selection, run_tags

    target = ModuleTarget(
        module_name="nhv_pipeline.definitions", attribute=None, working_directory=None, location_name=CODE_LOCATION
    )
    run_ids = []
    with DagsterInstance.get() as instance, WorkspaceProcessContext(
        instance, target, version=__version__, read_only=False
    ) as process:
        workspace = process.create_request_context()
        location = workspace.get_code_location(CODE_LOCATION)
        repository = next(iter(location.get_repositories().values()))
        for year in years:
            keys = run_selection(repository.asset_graph, name, year)
            remote_job = location.get_job(
                JobSubsetSelector(
                    location_name=location.name,
                    repository_name=repository.name,
                    job_name=ASSET_JOB,
                    op_selection=None,
                    asset_selection=set(keys),
                )
            )
            plan = location.get_execution_plan(
                remote_job, {}, step_keys_to_execute=None, known_state=None, instance=instance
            ).execution_plan_snapshot
            run = instance.create_run(
                job_name=ASSET_JOB,
                run_id=None,
                run_config={},
                resolved_op_selection=remote_job.resolved_op_selection,
                step_keys_to_execute=plan.step_keys_to_execute,
                op_selection=None,
                status=None,
                root_run_id=None,
                parent_run_id=None,
                tags={**run_tags(name, year), "nhv/trigger": trigger},
                job_snapshot=remote_job.job_snapshot,
                execution_plan_snapshot=plan,
                parent_job_snapshot=remote_job.parent_job_snapshot,
                remote_job_origin=remote_job.get_remote_origin(),
                job_code_origin=remote_job.get_python_origin(),
                asset_selection=frozenset(keys),
                asset_check_selection=None,
                asset_graph=repository.asset_graph,
            )
            instance.submit_run(run.run_id, workspace)
            run_ids.append(run.run_id)
    return run_ids
