"""A unit's submission made from its own extracts, on its own machine (SUBMISSION.md 6).

The same code as the central pipeline, without its machinery: the contract validates the
unit's delivery for R (and the earlier deliveries R's lags read, from the unit's own
folders) exactly as `nhv-pipeline validate` does; the validated text tables are typed by the
staged step's own `select` (`contract.staging.staged_select`) in an in-memory DuckDB; the
indicator engine computes the unit's figures; `cells.submission_frame` turns its unrounded
`enhet` rows into the canonical rows. Nothing is written but the files in `out`: no
warehouse, no Dagster home, no network. Disclosure control is not applied (the figures go to
Socialstyrelsen, which applies it at publication). Pure: no Dagster.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from nhv_pipeline.core.condition import Condition
from nhv_pipeline.contract import read_registry, validate_delivery, write_unit_reports
from nhv_pipeline.contract.staging import staged_select
from nhv_pipeline.indicators import compute
from nhv_pipeline.submission.cells import indicators_in_force, submission_frame, write_submission_csv
from nhv_pipeline.submission.workbook import SUBMISSION_FILE, write_template

CSV_FILE = "submission.csv"
#: The unit's validation reports go here inside `out`, laid out as `validate --report-dir` lays them out.
REPORT_FOLDER = "validering"


@dataclass
class SubmissionMade:
    """What `make_submission` did: the failures that stopped it (empty when it passed) and the files it wrote."""

    failures: pd.DataFrame
    written: list[Path] = field(default_factory=list)
    frame: pd.DataFrame | None = None


def delivery_years(condition: Condition, report_year: int) -> list[int]:
    """The deliveries R's figures read: R itself and every earlier one an indicator in force has as input."""
    years = {report_year}
    for indicator in indicators_in_force(condition, report_year):
        for table_input in indicator.inputs:
            years.update(table_input.report_years(report_year))
    return sorted(year for year in years if year >= condition.first_report_year)


def _typed(condition: Condition, table: str, raw: pd.DataFrame) -> pd.DataFrame:
    """A validated text table typed as the staged step types it (the same DuckDB `select`)."""
    import duckdb

    with duckdb.connect(":memory:") as con:
        con.register("raw_rows", raw)
        select = staged_select(condition, table, '"raw_rows"')
        # The order the warehouse reads a staged table in (resources.read_rows): a delivery's own order.
        return con.execute(f"{select} order by report_year, unit_id, source_file, source_line").df()


def unit_figures(condition: Condition, unit_id: str, report_year: int, raw_tables: dict[int, dict[str, pd.DataFrame]],
                 units: pd.DataFrame) -> pd.DataFrame:
    """The unit's unrounded `enhet` result rows for R, computed by the indicator engine from validated tables."""
    staged = {
        table: pd.concat([_typed(condition, table, tables[table]) for tables in raw_tables.values()],
                         ignore_index=True)
        for table in condition.table_names
    }
    results = []
    for indicator in indicators_in_force(condition, report_year):
        needed = {}
        for table_input in indicator.inputs:
            frame = staged[table_input.table]
            needed[table_input.table] = frame[frame["report_year"].isin(table_input.report_years(report_year))]
        results.append(compute(indicator, report_year, needed, units))
    rows = pd.concat(results, ignore_index=True)
    return rows[(rows["level"] == "enhet") & (rows["unit_id"] == unit_id)].reset_index(drop=True)


def make_submission(
    data_raw: Path, condition: Condition, unit_id: str, report_year: int, out: Path, *, conditions: Iterable[Condition]
) -> SubmissionMade:
    """Validate the unit's extracts and, when they pass, write submission.csv and submission.xlsx into `out`.

    The validation reports (one per delivery validated) are written either way, under
    `out/validering/<year>/<condition>/<unit>.csv` and `.html`. A failure leaves no submission file.
    `conditions` are every registered condition (units.csv names only them).
    """
    conditions = tuple(conditions)
    condition_id = condition.condition_id
    out = Path(out)
    registry = read_registry(data_raw, conditions)
    raw_tables: dict[int, dict[str, pd.DataFrame]] = {}
    found = [registry.failures.assign(report_year=report_year, condition_id=condition_id)] if len(registry.failures) else []
    made = SubmissionMade(failures=pd.DataFrame())
    for year in delivery_years(condition, report_year):
        result = validate_delivery(data_raw, year, condition, registry.units, units=[unit_id], conditions=conditions)
        failures = result.failures[result.failures["unit_id"].isin([unit_id, ""])]
        found.append(failures)
        raw_tables[year] = result.tables
        made.written += write_unit_reports(failures, out / REPORT_FOLDER, year, condition, [unit_id])
    made.failures = pd.concat(found, ignore_index=True).drop_duplicates()
    for name in (CSV_FILE, SUBMISSION_FILE):
        (out / name).unlink(missing_ok=True)  # never a submission beside a report that failed
    if len(made.failures):
        return made
    made.frame = submission_frame(unit_figures(condition, unit_id, report_year, raw_tables, registry.units),
                                  condition, report_year)
    write_submission_csv(made.frame, out / CSV_FILE)
    write_template(condition, report_year, out / SUBMISSION_FILE, unit=unit_id, values=made.frame)
    made.written += [out / CSV_FILE, out / SUBMISSION_FILE]
    return made
