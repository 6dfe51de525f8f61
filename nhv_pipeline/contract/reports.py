"""Per-unit validation reports: the full failure list a unit gets back (DATA_CONTRACT.md 6).

DATA_CONTRACT.md 6: in Swedish, openable in Swedish Excel, with a short readable summary
beside it. The CSV is UTF-8 with a byte-order mark (Excel only reads UTF-8 with one) and
`;` as delimiter (Swedish Excel's list separator, since `,` is the decimal comma), with
Swedish headers; the rule ids stay the English ones of `rules.RULES`, for engineers. The
summary is `<unit_id>.html`: failures per rule and file, the first ones, what to do.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape

from nhv_pipeline.core.condition import Condition

from . import rules
from .units import UNIT_ID_PATTERN

from nhv_pipeline.core.faults import fault_point

REPORT_COLUMNS = ["file", "line", "column", "rule", "message"]
REPORT_HEADERS = {"file": "fil", "line": "rad", "column": "kolumn", "rule": "regel", "message": "meddelande"}
"""The CSV report's Swedish column headers, in REPORT_COLUMNS order."""
REPORT_DELIMITER = ";"
REPORT_ENCODING = "utf-8-sig"
REGISTRY_REPORT = "_registry.csv"
EXAMPLES = 10
"""How many failures the HTML summary lists; the CSV holds them all."""

_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _write_text_atomically(text: str, target: Path, encoding: str) -> None:
    """Write next to the target, then os.replace: a reader never sees half a report."""
    handle, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.stem}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding=encoding, newline="") as out:
            out.write(text)
            out.flush()
            fault_point("validation_report")
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _write_atomically(frame: pd.DataFrame, target: Path) -> None:
    text = frame.rename(columns=REPORT_HEADERS).to_csv(index=False, sep=REPORT_DELIMITER, lineterminator="\r\n")
    _write_text_atomically(text, target, REPORT_ENCODING)


def read_unit_report(path: Path) -> pd.DataFrame:
    """A report written by write_unit_reports, with REPORT_COLUMNS (all text; line empty where there is none)."""
    frame = pd.read_csv(path, sep=REPORT_DELIMITER, encoding=REPORT_ENCODING, dtype=str, keep_default_na=False)
    return frame.rename(columns={swedish: name for name, swedish in REPORT_HEADERS.items()})


def _table_of(file: str) -> str:
    return file.rsplit("/", 1)[-1] if file else "(leveransen)"


def render_unit_summary(
    failures: pd.DataFrame, report_year: int, condition_id: str, condition_name: str, unit_id: str, csv_name: str,
    created: str | None = None,
) -> str:
    """The unit's HTML summary: failures per rule and file, the first EXAMPLES of them, and what to do."""
    per_rule = [
        {"rule": rule, "table": table, "count": int(count), "summary": rules.RULE_SUMMARIES_SV.get(rule, "")}
        for (rule, table), count in failures.assign(table=failures["file"].map(_table_of))
        .groupby(["rule", "table"]).size().sort_values(ascending=False, kind="stable").items()
    ] if len(failures) else []
    examples = [
        {
            "file": row.file, "table": _table_of(row.file), "line": "" if pd.isna(row.line) else int(row.line),
            "column": row.column,
            "rule": row.rule, "message": row.message,
        }
        for row in failures.head(EXAMPLES).itertuples(index=False)
    ]
    return _TEMPLATES.get_template("unit_report.html").render(
        report_year=report_year, condition_id=condition_id, condition_name=condition_name, unit_id=unit_id,
        csv_name=csv_name, failure_count=len(failures), per_rule=per_rule, examples=examples,
        created=created or datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    )


def write_unit_reports(
    failures: pd.DataFrame, validation_dir: Path, report_year: int, condition: Condition, unit_ids: Iterable[str],
    replace: bool = False,
) -> list[Path]:
    """Write `<validation_dir>/<report_year>/<condition_id>/<unit_id>.csv` and `.html` for every unit in unit_ids.

    A unit without failures gets a header-only report, so it sees that it passed. Failures
    without a unit (the registry, the layout) go to `_registry.csv`; that file is written when there
    are such failures and removed otherwise, so no stale registry report survives a re-run.
    A report's file name is a unit id only when it has the registry's unit id pattern: the
    failures of any other name (a folder named with a newline, an escape sequence, or 255
    bytes) go to `_registry.csv` too, so a delivered name never becomes a file name.
    With `replace` the reports are the condition's whole validation of the report year: any other
    report in its folder (of a unit folder since removed, say) is deleted, so no stale report is
    ever read as this validation's.
    """
    condition_id, name = condition.condition_id, condition.name
    folder = Path(validation_dir) / str(report_year) / condition_id
    _private_folder(folder)
    scoped = failures[(failures["report_year"] == report_year) & (failures["condition_id"] == condition_id)]
    scoped = scoped.assign(unit_id=scoped["unit_id"].fillna("").map(lambda unit: unit if _file_safe(unit) else ""))
    scoped = scoped.sort_values(["unit_id", "file", "line", "column", "rule"], na_position="first", kind="stable")
    written = []
    for unit_id in sorted({unit for unit in unit_ids if _file_safe(unit)}):
        target = folder / f"{unit_id}.csv"
        own = scoped.loc[scoped["unit_id"] == unit_id, REPORT_COLUMNS]
        _write_atomically(own, target)
        summary = folder / f"{unit_id}.html"
        _write_text_atomically(render_unit_summary(own, report_year, condition_id, name, unit_id, target.name), summary, "utf-8")
        written += [target, summary]
    registry = scoped.loc[scoped["unit_id"].fillna("") == "", REPORT_COLUMNS]
    target = folder / REGISTRY_REPORT
    if registry.empty:
        target.unlink(missing_ok=True)
    else:
        _write_atomically(registry, target)
        written.append(target)
    if replace:
        for stale in sorted({*folder.glob("*.csv"), *folder.glob("*.html")} - set(written)):
            stale.unlink(missing_ok=True)
    return written


def _private_folder(folder: Path) -> None:
    """Create the folder and its missing parents owner-only (0700): a report names units, files and rules of a delivery."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for path in reversed(missing):
        path.mkdir(mode=0o700, exist_ok=True)


def _file_safe(unit_id: str) -> bool:
    return isinstance(unit_id, str) and re.fullmatch(UNIT_ID_PATTERN, unit_id) is not None


def failure_summary_lines(failures: pd.DataFrame) -> list[str]:
    """One line per (condition, unit, file, rule) for a terminal: the first failure and how many more.

    DATA_CONTRACT.md section 6: the failure names report year, condition, unit,
    file, line, column, the rule, and a count of further failures of the same rule.
    """
    lines = []
    if failures.empty:
        return lines
    keys = ["report_year", "condition_id", "unit_id", "file", "rule"]
    ordered = failures.sort_values(keys + ["line", "column"], na_position="first", kind="stable")
    for key, group in ordered.groupby(keys, sort=False, dropna=False):
        first = group.iloc[0]
        report_year, condition_id, unit_id, file, rule = key
        where = f"line {int(first['line'])}" if pd.notna(first["line"]) else "no line"
        column = f", column {first['column']}" if _cell(first["column"]) else ""
        more = f" (+{len(group) - 1} more of this rule)" if len(group) > 1 else ""
        lines.append(
            f"{report_year} {condition_id} {_cell(unit_id) or '(registry)'} {file} {where}{column}: "
            f"[{rule}] {first['message']}{more}"
        )
    return lines


def _cell(value) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return str(value)
