"""``datapackage.json``: the publication as a Frictionless Data Package (PUBLICATION.md section 1).

A publisher's or a portal's tools (Frictionless, CKAN, data.europa.eu
harvesters) read the package instead of this project's prose: the Table Schema
of ``indicator_results`` (types, the vocabularies of ``measure``, ``level`` and
``breakdown``, the primary key, which text means "missing"), and the catalogue
as a resource. The schema is generated from ``columns.COLUMNS``, the same
declaration that writes the CSV header and the Parquet schema, so the package
and the files cannot drift apart. Each resource also records its size and
SHA-256, which ``frictionless validate`` checks.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from .columns import RESULT_FILE_STEM, table_schema

DATAPACKAGE_FILE = "datapackage.json"
CATALOGUE_FILE = "indicator_catalogue.json"


def _file_resource(
    folder: Path,
    path: str,
    described: dict[str, Any],
    *,
    profile: str,
    file_format: str,
    mediatype: str,
    encoding: str | None = "utf-8",
    **rest: Any,
) -> dict[str, Any]:
    """One resource of the package: its names and description, where and what the file is, and the
    size and SHA-256 that `frictionless validate` checks; `rest` (dialect, schema) comes last."""
    data = (folder / path).read_bytes()
    resource = {**described, "path": path, "profile": profile, "format": file_format, "mediatype": mediatype}
    if encoding is not None:
        resource["encoding"] = encoding
    return {**resource, "bytes": len(data), "hash": f"sha256:{hashlib.sha256(data).hexdigest()}", **rest}


def build_datapackage(folder: Path, report_year: int, version: str, created: str) -> dict[str, Any]:
    """The descriptor of the publication in ``folder`` (its results and catalogue files must exist).

    ``created`` is the publication time (ISO 8601, UTC), ``version`` the
    project version; the descriptor depends on nothing else, so the same files
    give the same package.
    """
    folder = Path(folder)
    catalogue = json.loads((folder / CATALOGUE_FILE).read_text(encoding="utf-8"))
    resources = [
        _file_resource(
            folder,
            f"{RESULT_FILE_STEM}.csv",
            {
                "name": RESULT_FILE_STEM,
                "title": f"Indikatorresultat rapportår {int(report_year)}",
                "description": "Resultat per tillstånd, indikator, nivå (riket, enhet) och redovisningsgrupp, "
                "efter röjandekontroll. Samma rader finns som indicator_results.parquet och indicator_results.json.",
            },
            profile="tabular-data-resource",
            file_format="csv",
            mediatype="text/csv",
            dialect={"delimiter": ",", "quoteChar": '"', "doubleQuote": True, "header": True},
            schema=table_schema(catalogue),
        ),
        # Described as a file (its bytes and hash checked), not as a table: frictionless's Parquet
        # reader turns integer columns with nulls into floats. Its schema is the CSV's, by construction.
        _file_resource(
            folder,
            f"{RESULT_FILE_STEM}.parquet",
            {
                "name": f"{RESULT_FILE_STEM}_parquet",
                "type": "file",
                "description": f"Samma rader och kolumner som {RESULT_FILE_STEM}.csv, typade "
                "(null där CSV-filen har en tom cell).",
            },
            profile="data-resource",
            file_format="parquet",
            mediatype="application/vnd.apache.parquet",
            encoding=None,
        ),
        _file_resource(
            folder,
            f"{RESULT_FILE_STEM}.json",
            {
                "name": f"{RESULT_FILE_STEM}_json",
                "description": f"Samma rader som {RESULT_FILE_STEM}.csv, som en lista av objekt "
                "(null där CSV-filen har en tom cell).",
            },
            profile="data-resource",
            file_format="json",
            mediatype="application/json",
        ),
        _file_resource(
            folder,
            CATALOGUE_FILE,
            {
                "name": "indicator_catalogue",
                "title": "Indikatorkatalog",
                "description": "En post per indikator: namn, mått, mätenhet, syfte, teknisk beskrivning, felkällor och "
                "begränsningar, kategori, riktning, datakälla, redovisningsgrupper och specifikationens version "
                "(PUBLICATION.md avsnitt 4).",
            },
            profile="data-resource",
            file_format="json",
            mediatype="application/json",
        ),
    ]
    return {
        "profile": "data-package",
        "name": f"nhv-indicator-results-{int(report_year)}",
        "title": f"Årlig uppföljning av nationell högspecialiserad vård, rapportår {int(report_year)}",
        "version": version,
        "created": created,
        "resources": resources,
    }


def write_datapackage(folder: Path, report_year: int, version: str, created: str) -> Path:
    """Write ``datapackage.json`` into ``folder`` (after the files it describes)."""
    path = Path(folder) / DATAPACKAGE_FILE
    descriptor = build_datapackage(folder, report_year, version, created)
    path.write_text(json.dumps(descriptor, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path
