"""The columns of the published ``indicator_results`` table, declared once (PUBLICATION.md section 2).

The CSV header, the Arrow/Parquet schema, the JSON rows and the Table Schema of
``datapackage.json`` are all derived from ``COLUMNS``; the writers are in
``export``, the swap of a whole publication folder in ``swap``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from nhv_pipeline.indicators.engine import RESULT_COLUMNS as ENGINE_RESULT_COLUMNS

#: PUBLICATION.md section 2: the values the text columns with a fixed vocabulary may take.
MEASURES: tuple[str, ...] = ("count", "distribution", "proportion", "response_rate", "positive_share")
LEVELS: tuple[str, ...] = ("riket", "enhet")
BREAKDOWNS: tuple[str, ...] = (
    "total", "home_region", "sex", "sct_offered", "age_group", "contact_type", "respondent",
)  # fmt: skip


@dataclass(frozen=True)
class Column:
    """One column of indicator_results, declared once (PUBLICATION.md section 2).

    The CSV header, the Arrow/Parquet schema, the JSON rows and the Table Schema
    of ``datapackage.json`` are all derived from ``COLUMNS``, so they cannot
    drift apart. ``kind`` is a Table Schema type (``integer``, ``number``,
    ``date``, ``boolean``, ``string``). ``published=False`` marks a column that
    stays in the warehouse and is never written to a published file.
    """

    name: str
    kind: str
    description: str
    required: bool = False
    enum: tuple[str, ...] | None = None
    published: bool = True

    @property
    def arrow_type(self) -> pa.DataType:
        return {
            "integer": pa.int64(),
            "number": pa.float64(),
            "date": pa.date32(),
            "boolean": pa.bool_(),
            "string": pa.string(),
        }[self.kind]

    def table_schema_field(self) -> dict[str, Any]:
        """The Frictionless Table Schema field of this column."""
        field: dict[str, Any] = {"name": self.name, "type": self.kind, "description": self.description}
        if self.kind == "date":
            field["format"] = "default"  # ISO 8601, YYYY-MM-DD
        if self.kind == "boolean":
            field["trueValues"], field["falseValues"] = ["true"], ["false"]
        if self.kind == "number":
            field["decimalChar"] = "."
        constraints: dict[str, Any] = {}
        if self.required:
            constraints["required"] = True
        if self.enum is not None:
            constraints["enum"] = list(self.enum)
        if self.kind in ("integer",) and self.name != "report_year":
            constraints["minimum"] = 0
        if constraints:
            field["constraints"] = constraints
        return field


COLUMNS: tuple[Column, ...] = (
    Column("report_year", "integer", "Rapportår (report year R).", required=True),
    Column("condition_id", "string", "Tillstånd (NHV-område), som i indikatorkatalogen.", required=True),
    Column("indicator_id", "string", "Indikator, som i specifikationen (B1 … Ö1).", required=True),
    Column("measure", "string", "Mått: count, distribution, proportion, response_rate, positive_share.",
           required=True, enum=MEASURES),
    Column("period_start", "date", "Mätperiodens första dag.", required=True),
    Column("period_end", "date", "Mätperiodens sista dag.", required=True),
    Column("level", "string", "Nivå: riket eller enhet.", required=True, enum=LEVELS),
    Column("unit_id", "string", "Enhetens id; tomt (null) för riket."),
    Column("unit_name", "string", "Enhetens namn; Riket för riket.", required=True),
    Column("breakdown", "string", "Redovisningsgrupp; total för hela gruppen.", required=True, enum=BREAKDOWNS),
    Column("breakdown_value", "string", "Värde i redovisningsgruppen; total för total.", required=True),
    Column("breakdown_label", "string", "Svensk visningstext för värdet; Totalt för total.", required=True),
    Column("n", "integer", "Antal personer, transplantationer, kontakter eller remisser raden bygger på."),
    Column("value", "number", "Huvudvärdet: antalet, andelen i procent eller medelvärdet."),
    Column("numerator", "integer", "Täljare (andelar)."),
    Column("denominator", "integer", "Nämnare (andelar)."),
    Column("ci_low", "number", "Nedre gräns, 95 % Wilson-intervall, i procent (andelar)."),
    Column("ci_high", "number", "Övre gräns, 95 % Wilson-intervall, i procent (andelar)."),
    Column("mean", "number", "Medelvärde (fördelningar)."),
    Column("sd", "number", "Standardavvikelse (fördelningar)."),
    Column("p10", "number", "10:e percentilen (fördelningar)."),
    Column("median", "number", "Median (fördelningar)."),
    Column("p90", "number", "90:e percentilen (fördelningar)."),
    Column("suppressed", "boolean", "true när värdena är undertryckta (röjandekontroll).", required=True),
    # PUBLICATION.md section 3: why a cell was withheld stays in the warehouse.
    Column("suppression_reason", "string", "small_n or complementary (warehouse only).", published=False),
)

#: Every column of a result frame, warehouse columns included, in order.
RESULT_COLUMNS: list[str] = [c.name for c in COLUMNS]
if RESULT_COLUMNS != list(ENGINE_RESULT_COLUMNS):  # pragma: no cover - a declaration error, caught on import
    raise ImportError("publication COLUMNS and the indicator engine's RESULT_COLUMNS differ")
#: PUBLICATION.md section 2: the columns of every published file, in order.
PUBLISHED_COLUMNS: list[str] = [c.name for c in COLUMNS if c.published]

#: Identifying columns: what a suppressed row keeps (section 3).
IDENTIFYING_COLUMNS: list[str] = RESULT_COLUMNS[: RESULT_COLUMNS.index("breakdown_label") + 1]
#: Counts are integers (section 2); ``n``, ``numerator``, ``denominator`` may be empty.
INTEGER_COLUMNS: list[str] = [c.name for c in COLUMNS if c.kind == "integer"]
NULLABLE_INTEGER_COLUMNS: list[str] = [c.name for c in COLUMNS if c.kind == "integer" and not c.required]
#: Floats are rounded to one decimal, halves away from zero (section 2).
FLOAT_COLUMNS: list[str] = [c.name for c in COLUMNS if c.kind == "number"]
DATE_COLUMNS: list[str] = [c.name for c in COLUMNS if c.kind == "date"]
BOOL_COLUMNS: list[str] = [c.name for c in COLUMNS if c.kind == "boolean"]
TEXT_COLUMNS: list[str] = [c.name for c in COLUMNS if c.kind == "string"]

#: The key of one result row, in the section 2 sort order.
SORT_COLUMNS: list[str] = [
    "report_year",
    "condition_id",
    "indicator_id",
    "measure",
    "level",
    "unit_id",
    "breakdown",
    "breakdown_value",
]
#: The primary key of the published table (one row per key; ``sort_results`` enforces it).
PRIMARY_KEY: list[str] = list(SORT_COLUMNS)

RESULT_FILE_STEM = "indicator_results"
RESULTS_CSV = f"{RESULT_FILE_STEM}.csv"


def table_schema(catalogue: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The Frictionless Table Schema of the published indicator_results (derived from ``COLUMNS``).

    With ``catalogue`` (indicator_catalogue.json entries) the vocabularies of ``measure`` and
    ``breakdown`` also take in what the registered conditions declare beyond section 2's lists.
    """
    extra: dict[str, list[str]] = {"measure": [], "breakdown": []}
    for entry in catalogue or []:
        extra["measure"] += [str(m) for m in entry.get("measures", [])]
        extra["breakdown"] += [str(b) for b in entry.get("breakdowns", [])]
    fields = []
    for c in COLUMNS:
        if not c.published:
            continue
        field = c.table_schema_field()
        if c.name in extra and c.enum is not None:
            field["constraints"]["enum"] = list(dict.fromkeys([*c.enum, *extra[c.name]]))
        fields.append(field)
    return {
        "fields": fields,
        "primaryKey": list(PRIMARY_KEY),
        "missingValues": [""],
    }
