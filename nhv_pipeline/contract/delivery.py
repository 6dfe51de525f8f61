"""Validating one report year's delivery of one condition (DATA_CONTRACT.md, all sections; SUBMISSION.md 1-3, 5).

Walks `data_root/<report_year>/<condition_id>/<unit_id>/<table>.csv`, checks the layout
against the registry's permits, reads every table file, and applies the per-cell,
cross-row, cross-table and cross-delivery rules. A unit folder holding `submission.csv`
or `submission.xlsx` instead is a submission: its rows are read and checked by
`nhv_pipeline.submission.contract`. Nothing under data_root is written.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from nhv_pipeline.core.condition import Condition, DeliveryContext
from nhv_pipeline.submission import contract as submission_contract
from nhv_pipeline.submission import intake

from . import rules
from .values import date_columns, model_failures, patient_rule_failures, table_rule_failures
from .identity import contains_identity_number
from .names import look_alike, shown_name
from .reader import is_inside_root, is_regular_file, not_a_file_failure, read_contract_csv
from .units import UNIT_ID_PATTERN, read_registry
from .schema import column_kinds, contract_columns, measurement_period_of, optional_columns, table_model, with_dates

LINEAGE_COLUMNS = ["report_year", "unit_id", "source_file", "source_line"]
FILE_COLUMNS = ["unit_id", "table", "path", "size_bytes", "sha256", "rows"]


@dataclass
class DeliveryValidation:
    """The outcome of validating D(report_year) for one condition."""

    report_year: int
    condition_id: str
    tables: dict[str, pd.DataFrame]
    failures: pd.DataFrame
    files: pd.DataFrame
    #: The submitting units' text rows (submission.contract.RAW_COLUMNS), every unit together.
    submission: pd.DataFrame = field(default_factory=lambda: submission_contract.empty_raw_submission())
    #: unit_id -> intake.EXTRACT, SUBMISSION or MIXED, for every unit folder read.
    kinds: dict[str, str] = field(default_factory=dict)
    #: The condition's tables (`Condition.table_names`).
    table_names: tuple[str, ...] = ()
    #: The positions ("entry 3 of 3 in 2026") of entries of the report-year folder that are no registered
    #: condition's folder nor a look-alike of one: in `failures` (named by position), but no failure of
    #: this condition's delivery, since they cannot be told whose they are (`refusing_failures`).
    strays: list[str] = field(default_factory=list)

    def _table_of_file(self) -> pd.Series:
        pattern = rf"{self.report_year}/{re.escape(self.condition_id)}/[^/]+/([^/]+)\.(?:csv|xlsx)"
        table = self.failures["file"].str.extract(pattern, expand=False)
        return table.where(table.isin([*self.table_names, submission_contract.SUBMISSION_TABLE]))

    def failures_for(self, table: str | None) -> pd.DataFrame:
        """Failures of one table's files (SUBMISSION_TABLE: of submission files); None: those tied to no
        table file (registry, layout)."""
        if self.failures.empty:  # a clean delivery: nothing to tell apart
            return self.failures.reset_index(drop=True)
        of_file = self._table_of_file()
        mask = of_file.isna() if table is None else of_file.eq(table)
        return self.failures[mask.fillna(False).astype(bool)].reset_index(drop=True)

    @property
    def passed(self) -> bool:
        return self.failures.empty

    @property
    def refusing_failures(self) -> pd.DataFrame:
        """The failures that refuse this condition's delivery: all but the stray entries of the report-year
        folder, which fail the run but hold back no condition's part (PUBLICATION.md, top)."""
        stray = self.failures["file"].isin(self.strays) & self.failures["rule"].eq(rules.UNKNOWN_CONDITION)
        return self.failures[~stray].reset_index(drop=True)


def _empty_table(condition: Condition, table: str) -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series([], dtype=object) for c in contract_columns(condition, table)})
    return frame.assign(
        report_year=pd.Series([], dtype="int64"),
        unit_id=pd.Series([], dtype=object),
        source_file=pd.Series([], dtype=object),
        source_line=pd.Series([], dtype="int64"),
    )


def _earlier_delivery_kind(data_root: Path, report_year: int, condition: Condition, extract_units: set[str]) -> pd.DataFrame:
    """SUBMISSION.md 5: an extract whose cohort or cross-delivery inputs read an earlier delivery that was a submission.

    The earlier deliveries an extract of R needs are those its indicators in force read
    (`TableInput` offsets before R: cohorts, pooled windows); the condition's rules across
    deliveries read the same ones. A submission holds no rows to read them from.
    """
    needs: dict[int, list[tuple[str, str]]] = {}
    for indicator in condition.indicators_for(report_year):
        if report_year < indicator.first_report_year:
            continue
        for table_input in indicator.inputs:
            for year in table_input.report_years(report_year):
                if condition.first_report_year <= year < report_year:
                    needs.setdefault(year, []).append((indicator.indicator_id, table_input.table))
    found = []
    for year in sorted(needs):
        earlier = intake.unit_deliveries(data_root, year, condition)
        for unit_id in sorted(extract_units):
            delivery = earlier.get(unit_id)
            if delivery is None or delivery.kind != intake.SUBMISSION:
                continue
            readers = dict.fromkeys(indicator_id for indicator_id, _ in needs[year])
            table = needs[year][0][1]
            found.append(rules.failure(
                unit_id, f"{report_year}/{condition.condition_id}/{unit_id}/{table}.csv", None, "", rules.EARLIER_DELIVERY_KIND,
                f"Enhetens leverans för inrapporteringsår {year} var en inrapportering av färdiga siffror, men uttaget för "
                f"{report_year} behöver uttaget från {year} (indikator {', '.join(readers)} och kontrollerna mellan "
                f"leveranserna läser det); lämna även {report_year} som inrapportering, eller leverera {year} på nytt som uttag.",
            ))
    return pd.DataFrame(found, columns=rules.ROW_FAILURE_COLUMNS).astype({"line": "Int64"})


def _not_checked(report_year: int, condition, units: list[str], read_units: dict[str, set[str]]) -> pd.DataFrame:
    """Section 6: a rule reading a table a unit's file of which could not be read is reported once, as not checked.

    The table's own failure (missing_table, missing_column, encoding, ...) says what to fix;
    the rule's failures for that unit are left out rather than repeated on every row.
    """
    checks = [(rule.name, rule.depends_on) for rule in condition.delivery_rules]
    if condition.patients_table is not None:
        checks.insert(0, (f"{rules.REFERENCE} (patient_id)", (condition.patients_table,)))  # patient_rule_failures
    found = []
    for unit_id in units:
        for name, tables in checks:
            unread = [table for table in tables if unit_id not in read_units.get(table, set())]
            if unread:
                files = ", ".join(f"{table}.csv" for table in unread)
                found.append(rules.failure(
                    unit_id, f"{report_year}/{condition.condition_id}/{unit_id}/{unread[0]}.csv", None, "", rules.NOT_CHECKED,
                    f"Inte kontrollerad: regeln {name} läser {files}, som inte kunde läsas (se felen för filen); "
                    "när filen är rättad kontrolleras regeln med den.",
                ))
    return pd.DataFrame(found, columns=rules.ROW_FAILURE_COLUMNS)


def permitted_units(registry: pd.DataFrame, condition: Condition, report_year: int) -> tuple[set[str], set[str]]:
    """(registered units, units whose permit overlaps P(R)) of the condition (section 1)."""
    units = registry[registry["condition_id"] == condition.condition_id]
    period = measurement_period_of(condition, report_year)
    if period is None:
        return set(units["unit_id"]), set()
    start, end = pd.Timestamp(period[0]), pd.Timestamp(period[1])
    overlaps = (units["permit_start"] <= end) & (units["permit_end"].isna() | (units["permit_end"] >= start))
    return set(units["unit_id"]), set(units.loc[overlaps, "unit_id"])


def _by_position(position: int, count: int, folder: str) -> str:
    """How a failure names an entry it must not repeat: its place in its folder (DATA_CONTRACT.md 3, 6)."""
    return f"entry {position} of {count} in {folder}"


def _year_entries(
    data_root: Path, report_year: int, condition_id: str, known: set[str]
) -> tuple[list[dict], list[str], list[str]]:
    """Entries of `<report_year>/` that are no registered condition's folder: (failures for this condition,
    look-alikes, strays).

    Section 1: a report-year folder holds the conditions' folders and nothing else. A misnamed
    one (`SCT_SSC`, `sсt_ssc` with a Cyrillic с, a trailing space) would be passed over in
    silence and its units told they delivered nothing; a link beside them could point
    anywhere. Each is named by its position (its name may be anything) and never followed.
    A look-alike of this condition's id is this condition's failure; any other entry is
    every condition's, since it cannot be told whose it is; it fails the run, but no condition's
    delivery (a stray: `DeliveryValidation.refusing_failures`). The look-alikes' positions are
    returned so that a unit told it delivered no folder is pointed at them. `known`: every
    registered condition's id.
    """
    year_dir = data_root / str(report_year)
    if not year_dir.is_dir() or not is_inside_root(year_dir, data_root):
        return [], [], []
    entries = sorted(year_dir.iterdir())
    failures, alike, strays = [], [], []
    for position, entry in enumerate(entries, start=1):
        if entry.name in known:
            continue
        where = _by_position(position, len(entries), str(report_year))
        resembles = [c for c in sorted(known) if look_alike(entry.name, c)]
        if resembles and condition_id not in resembles:
            continue  # another condition's misnamed folder: that condition reports it
        if resembles:
            alike.append(where)
            message = (f"Posten liknar tillståndsområdets mapp {condition_id} men heter inte exakt så (versaler, mellanslag, "
                       f"ett osynligt tecken eller en bokstav ur ett annat alfabet) och lästes därför inte; byt namn på den till "
                       f"{condition_id} och leverera på nytt.")
        else:
            strays.append(where)
            message = (f"Posten är ingen av de registrerade tillståndsområdenas mappar ({', '.join(sorted(known))}) och "
                       f"lästes inte; en inrapporteringsårsmapp innehåller bara dem. Byt namn på den till "
                       "tillståndsområdets id eller flytta den ur dataroten.")
        failures.append(rules.failure("", where, None, "", rules.UNKNOWN_CONDITION, message))
    return failures, alike, strays


def stray_entries(data_root: Path, report_year: int, conditions: Iterable[Condition]) -> list[str]:
    """The positions of the entries of `<report_year>/` that are no folder of `conditions` (every registered
    condition) nor a look-alike of one: each fails the run (every condition's report names it), none a
    condition's part."""
    return _year_entries(Path(data_root), report_year, "", {c.condition_id for c in conditions})[2]


class _Findings:
    """The layout and file failures of one walk over a delivery, built as rows (the walk is over folders, not patients)."""

    def __init__(self, data_root: Path) -> None:
        self.data_root = data_root
        self.rows: list[dict] = []

    def rel(self, path: Path) -> str:
        """The path below the data root, every name in it shown escaped (names.shown_name)."""
        return "/".join(shown_name(part) for part in path.relative_to(self.data_root).parts)

    @staticmethod
    def shown_unit(name: str) -> str:
        """A folder name as a failure's unit: only a well-formed unit id; any other goes to the layout report."""
        return name if re.fullmatch(UNIT_ID_PATTERN, name) else ""

    def note(self, unit_id: str, path: str, rule: str, message: str) -> None:
        self.rows.append(rules.failure(unit_id, path, None, "", rule, message))

    def named_by_number(self, label: str) -> None:
        self.note("", label, rules.IDENTITY_NUMBER,
                  "Namnet innehåller något som ser ut som ett svenskt person- eller samordningsnummer och anges därför här "
                  "bara med sin plats; byt namn (en enhetsmapp heter som sitt unit_id, en fil som sin tabell) och leverera "
                  "på nytt. Namnet har undanhållits från alla rapporter.")

    def unexpected(self, unit_id: str, folder: Path, entries: dict[str, Path], allowed: set[str], message: str) -> None:
        """Section 1: anything in a unit folder that is not a delivery file (a name holding an identity number by place)."""
        names = sorted(entries)
        for name in sorted(set(entries) - allowed):
            if contains_identity_number(name):
                self.named_by_number(_by_position(names.index(name) + 1, len(names), self.rel(folder)))
                continue
            self.note(unit_id, self.rel(entries[name]), rules.UNEXPECTED_FILE, message)

    def readable(self, unit_id: str, path: Path, what: str) -> bool:
        """Section 1: a delivery file is read only when it is a plain file inside the data root."""
        if not is_inside_root(path, self.data_root):
            self.note(unit_id, self.rel(path), rules.PATH_OUTSIDE_ROOT,
                      f"{what} är en symbolisk länk eller ligger utanför dataroten och lästes därför inte; lägg själva filen där.")
            return False
        if not is_regular_file(path):
            self.rows.append({**not_a_file_failure(self.rel(path)), "unit_id": unit_id})
            return False
        return True


def _unit_folders(
    findings: _Findings,
    report_year: int,
    condition: Condition,
    known: set[str],
    registered: set[str],
    permitted: set[str],
    only: set[str] | None,
) -> tuple[dict[str, Path], list[str]]:
    """Section 1: which condition and unit folders are there, and may they be? The unit folders to read, and the
    strays of the report-year folder (`_year_entries`). `known`: every registered condition's id."""
    data_root, condition_id, note, rel = findings.data_root, condition.condition_id, findings.note, findings.rel
    misnamed, alike_conditions, strays = _year_entries(data_root, report_year, condition_id, known)
    findings.rows.extend(misnamed)
    delivery = data_root / str(report_year) / condition_id
    folders: dict[str, Path] = {}
    blocked: set[str] = set()
    alike_units: dict[str, list[str]] = {}  # unit_id -> positions of unknown folders that look like it
    if delivery.exists() or delivery.is_symlink():
        if not (is_inside_root(delivery.parent, data_root) and is_inside_root(delivery, data_root)):
            note("", rel(delivery), rules.PATH_OUTSIDE_ROOT,
                 "Leveransmappen är en symbolisk länk eller ligger utanför dataroten och lästes därför inte; lägg själva mappen där.")
            blocked |= registered
        elif not delivery.is_dir():
            note("", rel(delivery), rules.UNEXPECTED_FILE,
                 f"{condition_id} ska vara tillståndsområdets mapp med en mapp per enhet, inte en fil; ta bort filen.")
        else:
            entries = sorted(delivery.iterdir())
            for position, entry in enumerate(entries, start=1):
                unit_id = entry.name
                if only is not None and unit_id not in only:
                    continue
                where = _by_position(position, len(entries), f"{report_year}/{condition_id}")
                if contains_identity_number(unit_id):
                    # Section 3: the name is never repeated; the entry is named by its position.
                    findings.named_by_number(where)
                elif not is_inside_root(entry, data_root):
                    blocked.add(unit_id)
                    note(findings.shown_unit(unit_id), rel(entry), rules.PATH_OUTSIDE_ROOT,
                         "Posten är en symbolisk länk eller ligger utanför dataroten och lästes därför inte; lägg själva mappen där.")
                elif not entry.is_dir():
                    note("", rel(entry), rules.UNEXPECTED_FILE,
                         "Bara enhetsmappar hör hemma i tillståndsområdets mapp; ta bort filen.")
                elif unit_id not in registered:
                    note(findings.shown_unit(unit_id), rel(entry), rules.UNKNOWN_UNIT,
                         f"Mappen anger ingen enhet i registret units.csv för {condition_id}; byt namn på den till enhetens unit_id eller registrera enheten.")
                    for known_unit in registered:
                        if look_alike(unit_id, known_unit):
                            alike_units.setdefault(known_unit, []).append(where)
                elif unit_id not in permitted:
                    note(unit_id, rel(entry), rules.OUTSIDE_PERMIT,
                         f"Enhetens tillstånd täcker inte mätperioden för inrapporteringsår {report_year}; ta bort mappen eller rätta tillståndets datum i units.csv.")
                else:
                    folders[unit_id] = entry
    required = permitted if only is None else permitted & only
    for unit_id in sorted(required - set(folders) - blocked):
        pointer = ""
        if alike_units.get(unit_id) or alike_conditions:
            # Section 1: the unit most likely did deliver, into a folder named almost right.
            pointer = " En mapp som liknar " + (
                f"enhetens mapp {unit_id} finns ({'; '.join(alike_units[unit_id])}); byt namn på den till {unit_id}."
                if alike_units.get(unit_id) else
                f"tillståndsområdets mapp {condition_id} finns ({'; '.join(alike_conditions)}); byt namn på den till {condition_id}."
            )
        for table in condition.table_names:
            note(unit_id, f"{report_year}/{condition_id}/{unit_id}/{table}.csv", rules.MISSING_DELIVERY,
                 f"Enheten {unit_id} har tillstånd under mätperioden men har inte levererat någon mapp; leverera {table}.csv med de andra tabellerna.{pointer}")
    return folders, strays


@dataclass
class _Read:
    """What the unit folders held: the tables (every unit together) and what was read of whom."""

    tables: dict[str, pd.DataFrame]
    read_units: dict[str, set[str]]
    inventory: list[dict]
    submissions: list[pd.DataFrame]
    unit_kinds: dict[str, str]


def _read_folders(
    findings: _Findings,
    report_year: int,
    condition: Condition,
    folders: dict[str, Path],
    progress: Callable[[int, int], None] | None,
    earlier: submission_contract.EarlierFigures | None,
) -> _Read:
    """Sections 1-2: read every table file (or the submission) of every unit folder."""
    tables_of, note, rel = condition.table_names, findings.note, findings.rel
    frames: dict[str, list[pd.DataFrame]] = {table: [] for table in tables_of}
    read_units: dict[str, set[str]] = {table: set() for table in tables_of}
    inventory: list[dict] = []
    expected = {f"{table}.csv": table for table in tables_of}
    submissions: list[pd.DataFrame] = []
    unit_kinds: dict[str, str] = {}
    for done, (unit_id, folder) in enumerate(folders.items()):
        if progress is not None and done:
            progress(done, len(folders))
        entries = {entry.name: entry for entry in folder.iterdir()}  # exact names: matching is case-sensitive
        names = sorted(entries)
        unit_kinds[unit_id] = intake.delivery_kind(names, condition)
        if unit_kinds[unit_id] != intake.EXTRACT:
            findings.unexpected(unit_id, folder, entries, set(expected) | set(submission_contract.SUBMISSION_FILES),
                                "Det här är varken inrapporteringsfilen eller en av tillståndsområdets tabeller och kan innehålla "
                                "uppgifter som inte får levereras; ta bort den.")
        if unit_kinds[unit_id] == intake.MIXED:
            held = [*intake.table_files(names, condition), *intake.submission_files(names)]
            note(unit_id, rel(folder / intake.submission_files(names)[0]), rules.MIXED_DELIVERY,
                 f"Enhetsmappen innehåller {', '.join(held)}: en enhet lämnar antingen uttag (tabellerna) eller en "
                 "inrapportering av färdiga siffror (en enda fil, submission.csv eller submission.xlsx), inte båda; "
                 "ta bort det som inte ska lämnas. Mappen har inte lästs.")
            continue
        if unit_kinds[unit_id] == intake.SUBMISSION:
            name = intake.submission_files(names)[0]
            path = folder / name
            if not findings.readable(unit_id, path, "Filen"):
                continue
            read = submission_contract.read_submission(path, rel(path))
            findings.rows.extend({**f, "unit_id": unit_id} for f in read.failures)
            inventory.append({"unit_id": unit_id, "table": submission_contract.SUBMISSION_TABLE, "path": rel(path), "size_bytes": read.size_bytes,
                              "sha256": read.sha256, "rows": 0 if read.rows is None else len(read.rows)})
            if read.rows is not None:
                checked = submission_contract.validate_submission(read.rows, condition, report_year, unit_id, read.locator,
                                              decimal_comma=read.decimal_comma, earlier=earlier)
                findings.rows.extend(checked.failures.to_dict("records"))
                submissions.append(submission_contract.raw_submission_rows(read, report_year, unit_id))
            continue
        findings.unexpected(unit_id, folder, entries, set(expected),
                            "Det här är ingen av tillståndsområdets tabeller och kan innehålla uppgifter som inte får levereras; ta bort den.")
        for name, table in expected.items():
            path = folder / name
            if name not in entries:
                note(unit_id, rel(path), rules.MISSING_TABLE,
                     f"Enheten {unit_id}s leverans saknar {name}; lägg till den (en fil med bara rubrikraden när det inte finns några rader).")
                continue
            if not findings.readable(unit_id, path, "Tabellen"):
                continue
            kinds = column_kinds(condition, table)
            ids = [c for c, kind in kinds.items() if kind == "id" or c.endswith("_id")]
            read = read_contract_csv(path, rel(path), list(kinds), ids, optional_columns(condition, table))
            findings.rows.extend({**f, "unit_id": unit_id} for f in read.failures)
            inventory.append({"unit_id": unit_id, "table": table, "path": rel(path), "size_bytes": read.size_bytes,
                              "sha256": read.sha256, "rows": read.rows})
            if read.frame is not None:
                read_units[table].add(unit_id)
                frames[table].append(read.frame.assign(report_year=report_year, unit_id=unit_id, source_file=rel(path)))

    tables = {}
    for table in tables_of:
        parts = frames.pop(table)  # each file's frame is let go once its table is whole
        tables[table] = (
            pd.concat(parts, ignore_index=True)[[*contract_columns(condition, table), *LINEAGE_COLUMNS]]
            if parts
            else _empty_table(condition, table)
        )
        del parts
    return _Read(tables, read_units, inventory, submissions, unit_kinds)


def _value_failures(data_root: Path, report_year: int, condition: Condition, read: _Read) -> list[pd.DataFrame]:
    """Sections 3-5: the rules over values, rows, tables and deliveries, one frame of failures per rule set."""
    tables, read_units = read.tables, read.read_units
    parts = []
    dated = {}
    for table, frame in tables.items():
        model = table_model(condition, table)
        dated[table] = with_dates(frame, date_columns(model))
        parts.append(model_failures(model, frame))
        parts.append(table_rule_failures(model, frame, report_year, dated[table]))
    parts.append(patient_rule_failures(condition, tables, dated, read_units))
    context = DeliveryContext(data_root, report_year, condition, tables, dated, read_units)
    for rule in condition.delivery_rules:  # the condition's own rules across tables and deliveries
        found_by_rule = rule.check(context)
        parts.append(found_by_rule[found_by_rule["unit_id"].isin(context.units_with(*rule.depends_on))])
    extract_units = {unit_id for unit_id, kind in read.unit_kinds.items() if kind == intake.EXTRACT}
    parts.append(_not_checked(report_year, condition, sorted(extract_units), read_units))
    parts.append(_earlier_delivery_kind(data_root, report_year, condition, extract_units))
    return parts


def validate_delivery(
    data_root: Path,
    report_year: int,
    condition: Condition,
    registry: pd.DataFrame,
    units: Iterable[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
    earlier: submission_contract.EarlierFigures | None = None,
    *,
    conditions: Iterable[Condition],
) -> DeliveryValidation:
    """Validate every unit's delivery of `condition` for `report_year` (or only `units`).

    `conditions` are every registered condition (the year folder holds their folders only,
    and units.csv names only them).

    `earlier` gives a unit's figures of an earlier report year, for the equal-population checks
    of a submission across years (SUBMISSION.md 3); without it (no warehouse) they are left out.
    `progress(done, total)` is called after each unit folder is read, for a step's log.
    """
    data_root = Path(data_root)
    only = set(units) if units is not None else None
    conditions = tuple(conditions)
    condition_id = condition.condition_id
    registered, permitted = permitted_units(registry, condition, report_year)
    findings = _Findings(data_root)
    folders, strays = _unit_folders(findings, report_year, condition, {c.condition_id for c in conditions},
                                    registered, permitted, only)
    read = _read_folders(findings, report_year, condition, folders, progress, earlier)
    failures = rules.concat([
        pd.DataFrame(findings.rows),
        read_registry(data_root, conditions).failures.drop(columns=["report_year", "condition_id"]),
        *_value_failures(data_root, report_year, condition, read),
    ])

    files = pd.DataFrame(read.inventory, columns=FILE_COLUMNS).astype({"size_bytes": "int64", "rows": "int64"})
    return DeliveryValidation(
        report_year=report_year,
        condition_id=condition_id,
        tables=read.tables,
        failures=rules.normalise_failures(failures, report_year, condition_id),
        files=files.sort_values(["unit_id", "table"]).reset_index(drop=True),
        submission=pd.concat(read.submissions, ignore_index=True) if read.submissions else submission_contract.empty_raw_submission(),
        kinds=dict(sorted(read.unit_kinds.items())),
        table_names=condition.table_names,
        strays=strays,
    )
