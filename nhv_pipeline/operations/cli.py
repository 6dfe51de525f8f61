"""`nhv-pipeline`: run report years, check deliveries, make sample data.

Runs are ordinary Dagster runs recorded in the Dagster home (`DAGSTER_HOME`, else
`./.dagster_home`), so `make ui` shows them with their checks and metadata.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

#: `queue` was called `submit` until 0.3.0; the old name still works and says it is deprecated (CHANGELOG).
DEPRECATED_QUEUE = "submit"

DESCRIPTION = """\
NHV annual follow-up pipeline (årlig uppföljning av nationell högspecialiserad vård).

Deliveries are read from the data root (--data-raw, NHV_DATA_RAW, else ./data_raw),
laid out as <report_year>/<condition_id>/<unit_id>/<table>.csv with units.csv at the
top (see the data contract). Everything the pipeline writes goes under the warehouse
folder (--warehouse, NHV_WAREHOUSE_DIR, else ./warehouse): nhv.duckdb, the
validation reports in validation/<report_year>/<condition_id>/<unit_id>.csv and the
publications in published/<report_year>/.
"""

EPILOG = """\
examples:
  nhv-pipeline run --all                         every delivered report year, in order
  nhv-pipeline run --report-year 2026            one report year (and earlier deliveries it reads)
  nhv-pipeline queue --report-year 2026          queue the year for the Dagster daemon (a shared instance)
  nhv-pipeline rebuild                           a new warehouse from the deliveries (after damage)
  nhv-pipeline validate --report-year 2026 --condition CONDITION --unit UNIT_ID
  nhv-pipeline submission --condition CONDITION --unit UNIT_ID --report-year 2026 --out DIR
  nhv-pipeline template --condition CONDITION --report-year 2026 --out mall.xlsx
  nhv-pipeline sample-data --out /tmp/data_raw --seed 7 --scale 10

exit status: 0 when everything ran and every blocking check passed, 1 when a check
failed or a run failed (a summary of each failure is printed on stderr), 2 on usage errors.
"""


def _add_location_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-raw",
        metavar="DIR",
        help="the data root with the deliveries (default: $NHV_DATA_RAW, else ./data_raw); never written to",
    )
    parser.add_argument(
        "--warehouse",
        metavar="DIR",
        help="where the warehouse, validation reports and publications go "
        "(default: $NHV_WAREHOUSE_DIR, else ./warehouse)",
    )


def _condition(value: str) -> str:
    """A registered condition (nhv_pipeline/conditions/), checked when given: `--help` loads no condition package."""
    from nhv_pipeline.conditions import condition_ids

    known = condition_ids()
    if value not in known:
        raise argparse.ArgumentTypeError(f"invalid choice: {value!r} (choose from {', '.join(known)})")
    return value


def _add_condition_and_year(parser: argparse.ArgumentParser) -> None:
    """The condition and report year a unit's tool works for (SUBMISSION.md 6-7)."""
    parser.add_argument("--condition", type=_condition, required=True, metavar="CONDITION")
    parser.add_argument("--report-year", type=int, required=True, metavar="R")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nhv-pipeline",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser(
        "run",
        help="validate, stage, compute and publish report years as Dagster runs",
        description="Materialize everything a report year needs, as Dagster runs recorded in the "
        "Dagster home. Earlier deliveries that a lagged indicator reads (R1: D(R-1), R2: D(R-2), "
        "B2: D(R-2)..D(R)) are validated and loaded first when the warehouse does not have them yet.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    which = run.add_mutually_exclusive_group(required=True)
    which.add_argument("--report-year", type=int, metavar="R", help="the report year (year of the March run)")
    which.add_argument("--all", action="store_true", help="every report year that has deliveries, oldest first")
    _add_location_options(run)
    run.add_argument("--quiet", action="store_true", help="print only the FAILED lines and the summary, not Dagster's log")

    queue_help = "queue report years for the Dagster daemon (a shared instance), oldest first"
    queue_description = (
        "Leave a request for one run per report year in the warehouse's run_queue/ folder; the daemon's "
        "run_queue_sensor turns it into runs within seconds, which the run queue starts one warehouse writer "
        "at a time (docs/operations.md, the PostgreSQL recipe). Nothing runs in this process. A run holds the assets of the selection that have the year; unlike "
        "`run --report-year`, earlier deliveries a lag reads are not loaded first: queue those years before it."
    )
    for name in ("queue", DEPRECATED_QUEUE):
        queue = commands.add_parser(
            name,
            help=queue_help if name == "queue" else "deprecated name of `queue` (removed in a later version)",
            description=queue_description if name == "queue" else f"Deprecated: use `nhv-pipeline queue`. {queue_description}",
        )
        which = queue.add_mutually_exclusive_group(required=True)
        which.add_argument("--report-year", type=int, action="append", metavar="R", help="a report year (repeat for more)")
        which.add_argument("--all", action="store_true", help="every report year that has deliveries, oldest first")
        queue.add_argument(
            "--selection",
            choices=["nhv_full", "nhv_deliveries", "nhv_validate"],
            default="nhv_full",
            help="nhv_full (default: everything, published), nhv_deliveries (registry, raw, staged) or "
            "nhv_validate (registry and raw: validation reports only)",
        )
        _add_location_options(queue)

    rebuild = commands.add_parser(
        "rebuild",
        help="rebuild a damaged warehouse from the deliveries; republish only years whose figures change",
        description="Run every delivered report year into a new warehouse beside the current one; only when "
        "that succeeds, swap its nhv.duckdb in (the previous file is kept as nhv.duckdb.replaced-<time>) and "
        "republish the report years whose published figures differ (the previous publication goes to their "
        "history/). Years whose figures are unchanged keep their publication as it was. Stop the Dagster daemon "
        "and other runs on this warehouse first.",
    )
    _add_location_options(rebuild)
    rebuild.add_argument("--quiet", action="store_true", help="print only the summary, not Dagster's progress log")

    validate = commands.add_parser(
        "validate",
        help="check deliveries against the data contract without writing to the warehouse",
        description="Check a report year's deliveries against the data contract and print every "
        "failure (file, line, column, rule). Nothing is written to the warehouse; a unit can run this "
        "on its own folder before sending it. With --report-dir the per-unit reports are written there.",
    )
    validate.add_argument("--report-year", type=int, required=True, metavar="R")
    validate.add_argument("--condition", type=_condition, metavar="CONDITION", help="only this condition")
    validate.add_argument("--unit", metavar="UNIT_ID", help="only this unit's delivery")
    validate.add_argument("--report-dir", metavar="DIR", help="also write per-unit validation reports (CSV) here")
    validate.add_argument("--data-raw", metavar="DIR", help="the data root (default: $NHV_DATA_RAW, else ./data_raw)")

    submission = commands.add_parser(
        "submission",
        help="a unit's own submission (submission.csv and .xlsx) made from its extracts, on its own machine",
        description="Validate the unit's extract for the report year with the data contract (and the earlier "
        "deliveries its lags read, from the unit's own folders), compute the unit's figures with the pipeline's "
        "indicator engine, and write submission.csv, submission.xlsx (the template with the figures) and the "
        "unit's validation reports (validering/<year>/<condition>/<unit>.csv and .html) into --out. Nothing else "
        "is written: no warehouse, no Dagster home, no network. When validation fails, only the reports are "
        "written and the exit status is 1. Disclosure control is not applied: Socialstyrelsen applies it.",
    )
    _add_condition_and_year(submission)
    submission.add_argument("--unit", required=True, metavar="UNIT_ID")
    submission.add_argument("--data-raw", metavar="DIR", help="the data root (default: $NHV_DATA_RAW, else ./data_raw)")
    submission.add_argument("--out", required=True, metavar="DIR", help="folder to write into (created if missing)")

    template = commands.add_parser(
        "template",
        help="the Excel template a unit fills in by hand (SUBMISSION.md 7)",
        description="Write the workbook a unit fills in with its figures: the sheet Anvisningar (Swedish "
        "instructions from the catalogue) and the sheet Inrapportering (one row per cell the unit reports). "
        "Save the filled-in workbook as <report_year>/<condition>/<unit>/submission.xlsx.",
    )
    _add_condition_and_year(template)
    template.add_argument("--unit", metavar="UNIT_ID", help="the unit, named in the instructions")
    template.add_argument("--out", required=True, metavar="FILE.xlsx", help="the workbook to write")

    sample = commands.add_parser(
        "sample-data",
        help="write a synthetic data_raw/ tree (never real patients)",
        description="Write a complete, seeded, synthetic delivery tree following the data contract: "
        "units.csv and the sample deliveries of every registered condition.",
    )
    sample.add_argument("--out", required=True, metavar="DIR", help="folder to write (created if missing)")
    sample.add_argument("--seed", type=int, default=20260331, help="random seed (default: 20260331)")
    sample.add_argument("--scale", type=float, default=1.0, help="volume multiplier (default: 1.0)")
    return parser


def _resolve_locations(args: argparse.Namespace) -> tuple[Path, Path | None]:
    data_raw = Path(getattr(args, "data_raw", None) or os.environ.get("NHV_DATA_RAW") or "data_raw").resolve()
    warehouse = getattr(args, "warehouse", None)
    warehouse_dir = (
        Path(warehouse or os.environ.get("NHV_WAREHOUSE_DIR") or "warehouse").resolve()
        if hasattr(args, "warehouse")
        else None
    )
    return data_raw, warehouse_dir


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == DEPRECATED_QUEUE:
        print(
            f"warning: `nhv-pipeline {DEPRECATED_QUEUE}` is deprecated and will be removed; use `nhv-pipeline queue` "
            "(the same options).",
            file=sys.stderr,
        )
        args.command = "queue"
    data_raw, warehouse_dir = _resolve_locations(args)
    if args.command == "sample-data":
        from nhv_pipeline.conditions import registered
        from nhv_pipeline.core.sample_data import generate

        summary = generate(Path(args.out), registered(), seed=args.seed, scale=args.scale)
        print(f"Wrote synthetic deliveries to {Path(args.out).resolve()}: {summary}.")
        return EXIT_OK
    if args.command == "template":
        from nhv_pipeline.operations.runner import template_command

        return template_command(args.condition, args.report_year, args.unit, Path(args.out))
    registry = data_raw / "units.csv"
    if (registry.exists() or registry.is_symlink()) and not registry.is_file():
        print(
            f"error: {registry} is not a plain file (a named pipe, socket, device or folder), so it is not read; "
            "put the registry file itself there.",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if not registry.is_file():
        print(
            f"error: no units.csv in the data root {data_raw}. Point --data-raw (or NHV_DATA_RAW) at a folder "
            "laid out as the data contract says, or make one with `nhv-pipeline sample-data --out DIR`.",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if args.command == "validate":
        from nhv_pipeline.operations.runner import validate_only

        return validate_only(data_raw, args.report_year, args.condition, args.unit, args.report_dir)
    if args.command == "submission":
        from nhv_pipeline.operations.runner import submission_command

        return submission_command(data_raw, args.condition, args.unit, args.report_year, Path(args.out))
    if args.command == "queue":
        from nhv_pipeline.operations.runner import queue_runs

        return queue_runs(data_raw, warehouse_dir, args.report_year, args.all, args.selection)
    from nhv_pipeline.operations.recovery import machine_fault_message
    from nhv_pipeline.operations.runner import run_report_years

    try:
        if args.command == "rebuild":
            from nhv_pipeline.operations.rebuild import rebuild_warehouse

            return rebuild_warehouse(data_raw, warehouse_dir, quiet=args.quiet)
        return run_report_years(data_raw, warehouse_dir, args.report_year, args.all, quiet=args.quiet)
    except Exception as error:  # a full disk or a damaged warehouse: one line, not a traceback
        message = machine_fault_message(error, warehouse_dir)
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        return EXIT_FAILED


def entry() -> None:
    """The console script: `main`, then a quick exit.

    Everything the command writes is closed explicitly before `main` returns
    (warehouse connection, Dagster instance, files), so the interpreter's own
    teardown of pandas, pyarrow and Dagster modules (about half a second to a
    second) does nothing for us and is skipped.
    """
    code = main()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    entry()
