"""What a run costs before any of its work: the pipeline's own asset graph, with every step emptied.

    .venv/bin/python benchmarks/stack_floor.py                  # 1x sample data, 3 alternating rounds
    .venv/bin/python benchmarks/stack_floor.py --rounds 5 --data-raw /path/to/data_raw
    .venv/bin/python benchmarks/stack_floor.py --single-run    # also the floor of one run over the years

Two whole processes, alternately, each with a fresh Dagster home (as the baselines
benchmark runs the pipeline):

* full   `nhv-pipeline run --all --quiet`, as `make run` runs it;
* floor  this script with `--child`: the same start-up (the CLI's imports, the
         Dagster instance of `dagster_home()`, the definitions) and the same runs
         (`jobs.execute_in_process` of the same selections, report year by report
         year, in the same plan), over a copy of the asset graph whose steps do
         nothing. Every step keeps its assets, partitions, dependencies, pool and
         asset checks; its body yields `Output(None)` per asset (an asset made from
         specs has no value, so no IO manager is called) and a passing result per
         check. So Dagster records the runs, steps, outputs, materializations and
         check evaluations the pipeline's runs record (not its HANDLED_OUTPUT,
         LOADED_INPUT and log events), and no delivery is read, no table written.

The floor is what the pipeline would take if reading, validating, computing and
publishing took no time at all: a lower bound for any target on a full run
while each report year is a Dagster run. It does not depend on the volume of the
deliveries, only on the report years delivered.

With `--single-run` a third process measures the design the baselines issue points
at: one run over every report year, each step given the whole range
(`BackfillPolicy.single_run()`). Its assets all take the partitions of the first
report year (a step over a range needs them on one definition), so it records a few
more materializations than such a design would. The script's output does not show
it, but the event log of that run does: each check evaluation is stored once per
step, with no report year (`partition` is None), not once per year as now.

Not part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_benchmark import REPO, cli, measure  # noqa: E402


def emptied(assets_def, single_run: bool = False):
    """A multi-asset with the specs and checks of `assets_def` whose body does no work.

    `single_run`: every report year from the first in one step (`BackfillPolicy.single_run()`),
    all assets on the partitions of the pipeline's first report year.
    """
    from dagster import AssetCheckResult, BackfillPolicy, Output, multi_asset

    from nhv_pipeline.orchestration.partitions import report_year_partitions

    keys = set(assets_def.keys)
    order: list = []
    while len(order) < len(keys):  # topological within the step: dependencies inside it first
        for spec in assets_def.specs:
            inside = {dep.asset_key for dep in spec.deps} & keys
            if spec.key not in order and inside <= set(order):
                order.append(spec.key)

    specs, checks = list(assets_def.specs), list(assets_def.check_specs)
    if single_run:
        specs = [spec.replace_attributes(partitions_def=report_year_partitions) for spec in specs]
        checks = [check._replace(partitions_def=report_year_partitions) if check.partitions_def else check for check in checks]

    @multi_asset(
        name=assets_def.node_def.name,
        specs=specs,
        check_specs=checks,
        pool=assets_def.op.pool,
        can_subset=assets_def.can_subset,
        backfill_policy=BackfillPolicy.single_run() if single_run else None,
    )
    def _empty(context):
        # In the order the real step yields them (an asset before the assets of the step that read it).
        for key in order:
            if key not in context.selected_asset_keys:
                continue
            yield Output(None, output_name=context.assets_def.get_output_name_for_asset_key(key))
        for check in context.selected_asset_check_keys:
            yield AssetCheckResult(asset_key=check.asset_key, check_name=check.name, passed=True)

    return _empty


def child(data_raw: Path, single_run: bool) -> int:
    """The floor itself: start-up and runs of `nhv-pipeline run --all`, the steps emptied.

    With `single_run`, the plan's report years are one run over their range instead.
    """
    started = time.perf_counter()
    from nhv_pipeline.operations import cli as _cli  # noqa: F401  (the CLI's own imports, as `nhv-pipeline` pays them)
    from nhv_pipeline.operations.runner import _checked_report_years, _plan, dagster_home

    home = dagster_home()
    from dagster import DagsterInstance, Definitions, in_process_executor

    from nhv_pipeline.orchestration.graph import build_definitions
    from nhv_pipeline.orchestration.jobs import execute_in_process
    from nhv_pipeline.orchestration.resources import PipelinePaths, ensure_warehouse_pool

    warehouse = Path(tempfile.mkdtemp(prefix="nhv-floor-"))
    real = build_definitions(str(data_raw), str(warehouse))
    steps = [emptied(a, single_run) for a in real.assets if getattr(a, "is_executable", False)]
    defs = Definitions(assets=steps, executor=in_process_executor)
    years, delivered = _checked_report_years(data_raw, [], True)
    plan = _plan(PipelinePaths(data_raw=str(data_raw), warehouse_dir=str(warehouse)), years, delivered, True, None)
    run_config = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
    with DagsterInstance.get() as instance:
        ensure_warehouse_pool(instance)
        if single_run:
            years_run = sorted(year for _, year in plan)
            result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
                instance=instance, run_config=run_config, raise_on_error=False,
                tags={"dagster/asset_partition_range_start": str(years_run[0]),
                      "dagster/asset_partition_range_end": str(years_run[-1])},
            )
            runs = [result]
        else:
            runs = (execute_in_process(defs, name, year, instance=instance, run_config=run_config, raise_on_error=False)
                    for name, year in plan)
        for result in runs:
            if not result.success:
                print(f"floor run {result.run_id} failed", file=sys.stderr)
                return 1
    shutil.rmtree(warehouse, ignore_errors=True)
    print(f"floor: {1 if single_run else len(plan)} runs, {len(steps)} step kinds, Dagster home {home}, "
          f"{time.perf_counter() - started:.2f} s inside the process", file=sys.stderr)
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--data-raw", type=Path, default=REPO / "data_raw", help="deliveries (default: the 1x sample data)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (default 3)")
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--single-run", action="store_true",
                        help="also measure the floor of one run over every report year (BackfillPolicy.single_run())")
    parser.add_argument("--child", choices=["per-year", "single-run"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    data_raw = args.data_raw.resolve()
    if args.child:
        return child(data_raw, args.child == "single-run")
    work = Path(tempfile.mkdtemp(prefix="nhv-floor-bench-"))
    env = {k: v for k, v in os.environ.items() if k not in ("NHV_DATA_RAW", "NHV_WAREHOUSE_DIR")}
    kinds = ["full", "per-year", *(["single-run"] if args.single_run else [])]
    walls: dict[str, list[float]] = {kind: [] for kind in kinds}
    for number in range(args.rounds):
        for kind in kinds[number % len(kinds):] + kinds[:number % len(kinds)]:
            home = work / f"home_{kind}_{number}"
            home.mkdir()
            if kind == "full":
                command = cli("run", "--all", "--quiet", "--data-raw", str(data_raw), "--warehouse", str(work / f"wh_{number}"))
            else:
                command = [sys.executable, str(Path(__file__).resolve()), "--child", kind, "--data-raw", str(data_raw)]
            m = measure(command, env={**env, "DAGSTER_HOME": str(home)}, timeout=args.timeout)
            if m.wall_s is None or m.exit_codes != [0]:
                raise SystemExit(f"{kind} failed: {m.note} {m.detail.get('stderr', '')[-800:]}")
            walls[kind].append(m.wall_s)
            print(f"round {number + 1} {kind:10s} {m.wall_s:6.2f} s  {m.peak_mb:6.0f} MB", file=sys.stderr, flush=True)
    shutil.rmtree(work, ignore_errors=True)
    full = statistics.median(walls["full"])
    print(f"median of {args.rounds} rounds, {data_raw}:")
    print(f"  full run (`nhv-pipeline run --all`)        {full:6.2f} s")
    for kind in kinds[1:]:
        floor = statistics.median(walls[kind])
        label = "floor, a run per report year" if kind == "per-year" else "floor, one run over the years"
        print(f"  {label:40s} {floor:6.2f} s  (the full run's steps' work: {full - floor:.2f} s beyond it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
