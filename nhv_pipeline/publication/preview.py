"""The preview page ``index.html``, PUBLICATION.md section 6: the data it shows, shaped for its template.

A self-contained page for publishers to check a publication before it goes to
the website: per condition and indicator the catalogue text, the national
figure (riket) and each unit side by side, charts (bars per unit, the trend
over the report years published so far, a funnel plot for proportions) and
breakdown tables, with suppressed cells marked. Swedish labels, Swedish
decimal comma.

Self-contained means no network access, so: the stylesheet
(``static/preview.css``) is inlined in one ``<style>``, charts are inline SVG
(``charts.py``), no JavaScript, no URL of any kind. The HTML is the Jinja2
template ``templates/preview.html`` with autoescape on. This module only picks
and formats the figures. The page depends only on its arguments
(``generated_at`` is passed in), so the same input gives the same bytes.

Suppressed cells carry one mark whatever the reason (PUBLICATION.md section 3):
the reason is not read here, so the page cannot reveal it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from importlib import resources
from typing import Any

import jinja2
import pandas as pd
from markupsafe import Markup

from nhv_pipeline.core import labels
from nhv_pipeline.core.condition import Condition

from . import charts
from .aggregated import COMBINED_KEY, PERCENTILES_KEY
from .disclosure import DEFAULT_THRESHOLD
from .export import sort_results
from .formatting import (
    MISSING_MARK,
    NBSP,
    NO_RESULTS,
    PROPORTION_MEASURES,
    SUPPRESSED_MARK,
    conditions_shown,
    format_integer,
    format_number,
    headline,
    iso,
    missing,
    shown_conditions,
)

__all__ = ["format_integer", "format_number", "render_preview"]

#: The Swedish names of measures and breakdowns, stated once in labels (each condition adds its own breakdowns).
MEASURE_LABELS = labels.MEASURE_NAMES


def _breakdown_name(breakdown: str, condition_id: str | None = None) -> str:
    """The Swedish heading of a breakdown (its condition's own name first, then the shared one, in labels)."""
    shown = shown_conditions()
    own = next((condition for condition in shown if condition.condition_id == condition_id), None)
    return labels.breakdown_name(breakdown, own, shown)

DIRECTION_LABELS = {
    "higher_is_better": "Högre värde är bättre",
    "lower_is_better": "Lägre värde är bättre",
    "descriptive": "Beskrivande (ingen riktning)",
}

MISSING_TEXT = "Värde saknas eller kan inte beräknas"

#: The riket heading where riket is combined from units that delivered their own figures (SUBMISSION.md 4).
COMBINED_RIKET = "Riket (sammanräknat)"


def suppressed_text(threshold: int) -> str:
    """What a screen reader says for a suppressed cell; the same for every reason."""
    return f"undertryckt: färre än {int(threshold)} personer eller skyddar en annan uppgift"


@lru_cache(maxsize=1)
def _template() -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("nhv_pipeline.publication", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    return env.get_template("preview.html")


@lru_cache(maxsize=1)
def stylesheet() -> str:
    return resources.files("nhv_pipeline.publication").joinpath("static/preview.css").read_text(encoding="utf-8")


# --------------------------------------------------------------------------
# Cells and tables
# --------------------------------------------------------------------------


def _supp() -> dict[str, str]:
    return {"kind": "supp"}


def _value(text: str, sub: str = "") -> dict[str, str]:
    return {"kind": "missing"} if text == "" else {"kind": "value", "text": text, "sub": sub}


def _main_columns(measure: str) -> list[tuple[str, Any]]:
    """Column headers and cell formatters of the riket/unit table, per kind of measure."""
    if measure in PROPORTION_MEASURES:

        def share(r: Mapping[str, Any]) -> str:
            v = format_number(r["value"])
            return v + NBSP + "%" if v else ""

        def ci(r: Mapping[str, Any]) -> str:
            if missing(r["ci_low"]) or missing(r["ci_high"]):
                return ""
            return f"{format_number(r['ci_low'])}–{format_number(r['ci_high'])}"

        return [
            ("Andel (%)", share),
            ("95 % KI", ci),
            ("Täljare", lambda r: format_integer(r["numerator"])),
            ("Nämnare", lambda r: format_integer(r["denominator"])),
        ]
    if measure == "distribution":
        return [
            ("N", lambda r: format_integer(r["n"])),
            ("Medel", lambda r: format_number(r["mean"])),
            ("SD", lambda r: format_number(r["sd"])),
            ("P10", lambda r: format_number(r["p10"])),
            ("Median", lambda r: format_number(r["median"])),
            ("P90", lambda r: format_number(r["p90"])),
        ]
    return [("Antal", lambda r: format_integer(r["value"]))]


def _main_table(measure: str, riket: dict | None, units: list[dict], caption: str, riket_name: str) -> dict:
    columns = _main_columns(measure)
    rows = []
    for r in ([riket] if riket is not None else []) + units:
        cells = [_supp() if r["suppressed"] else _value(fmt(r)) for _, fmt in columns]
        is_riket = r["level"] == "riket"
        rows.append({"riket": is_riket, "header": riket_name if is_riket else r["unit_name"], "cells": cells})
    return {
        "heading": "",
        "caption": caption,
        "label": caption,
        "head": [{"text": "Nivå", "num": False}] + [{"text": h, "num": True} for h, _ in columns],
        "rows": rows,
    }


def _breakdown_table(
    measure: str,
    breakdown: str,
    rows: list[dict],
    columns: list[tuple[str, str]],
    zero_when_absent: set[str] = frozenset(),
) -> dict:
    """One row per breakdown value, one column per level (riket first, then units).

    A level in ``zero_when_absent`` (unit ids, ``""`` for riket) shows "0" where it has
    no row for a value, any other level ".".
    """
    by_cell = {(r["unit_id"], r["breakdown_value"]): r for r in rows}
    values: dict[str, str] = {}
    for r in rows:
        values.setdefault(r["breakdown_value"], r["breakdown_label"] or r["breakdown_value"])
    body = []
    for value, label in values.items():
        cells = []
        for unit_id, _ in columns:
            r = by_cell.get((unit_id, value))
            if r is None:
                cells.append(_value("0" if str(unit_id) in zero_when_absent else ""))
            elif r["suppressed"]:
                cells.append(_supp())
            else:
                cells.append(_value(*headline(r, measure)))
        body.append({"riket": False, "header": label, "cells": cells})
    condition_id = rows[0]["condition_id"] if rows else None
    heading = f"{labels.measure_name(measure, shown_conditions())} efter {_breakdown_name(breakdown, condition_id).lower()}"
    return {
        "heading": heading,
        "caption": "",
        "label": heading,
        "head": [{"text": _breakdown_name(breakdown, condition_id), "num": False}]
        + [{"text": name, "num": True} for _, name in columns],
        "rows": body,
    }


# --------------------------------------------------------------------------
# Indicator sections
# --------------------------------------------------------------------------


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return df.to_dict("records") if len(df) else []


def _as_list(v: Any) -> list[str]:
    if isinstance(v, str):
        return [s.strip() for s in v.replace(";", ",").split(",") if s.strip()]
    if isinstance(v, Iterable):
        return [str(s) for s in v]
    return [] if missing(v) else [str(v)]


def _int_or_0(v: Any) -> int:
    try:
        return 0 if missing(v) else int(v)
    except (TypeError, ValueError):
        return 0


def _target_level(entry: Mapping[str, Any]) -> float | None:
    v = entry.get("target_level")
    try:
        return None if missing(v) else float(v)
    except (TypeError, ValueError):
        return None


def _catalogue_items(entry: Mapping[str, Any], results_period: str) -> list[tuple[str, str]]:
    def years(v: Any) -> str:
        return f"{_int_or_0(v)} år" if _int_or_0(v) > 0 else ""

    breakdowns = [_breakdown_name(b, entry.get("condition_id")) for b in _as_list(entry.get("breakdowns")) if b != "total"]
    pooled = entry.get("pooled_years")
    spec = ", ".join(s for s in (str(entry.get("spec_version") or ""), str(entry.get("spec_date") or "")) if s)
    target = _target_level(entry)
    items = [
        ("Mått", entry.get("measure_text")),
        ("Mätenhet", entry.get("unit_of_measure")),
        ("Syfte", entry.get("purpose")),
        ("Kategori", entry.get("category")),
        ("Typ av indikator", entry.get("indicator_type")),
        ("Riktning", DIRECTION_LABELS.get(str(entry.get("direction")), entry.get("direction"))),
        ("Målnivå", format_number(target) if target is not None else ""),
        ("Datakälla", entry.get("data_source")),
        ("Felkällor och begränsningar", entry.get("limitations")),
        ("Teknisk beskrivning", entry.get("technical_description")),
        ("Period", results_period),
        ("Redovisas från rapportår", entry.get("first_report_year")),
        ("Eftersläpning", years(entry.get("cohort_lag_years"))),
        # One year is the normal case; only a pooled window is worth a line.
        ("Sammanslagna år", years(pooled) if _int_or_0(pooled) > 1 else ""),
        ("Redovisas även efter", ", ".join(breakdowns)),
        ("Specifikation", spec),
    ]
    return [(k, str(v)) for k, v in items if not missing(v) and str(v) != ""]


def _period_text(rows: pd.DataFrame) -> str:
    if rows.empty:
        return ""
    first = rows.iloc[0]
    start, end = iso(first["period_start"]), iso(first["period_end"])
    return f"{start} – {end}" if start or end else ""


def _riket_totals(frame: pd.DataFrame | None) -> dict[tuple[str, str, str], dict]:
    """(condition_id, indicator_id, measure) -> the first riket total row of a published frame, for the trends."""
    if frame is None or frame.empty:
        return {}
    totals: dict[tuple[str, str, str], dict] = {}
    for row in _records(frame[(frame["level"] == "riket") & (frame["breakdown"] == "total")]):
        totals.setdefault((row["condition_id"], row["indicator_id"], row["measure"]), row)
    return totals


def _first_year(v: Any) -> int | None:
    """The catalogue's ``first_report_year`` as an int, or None when it is absent or not a year."""
    try:
        return None if missing(v) else int(v)
    except (TypeError, ValueError):
        return None


def _trend_years(report_year: int, history: Mapping[int, Any], first_report_year: Any) -> list[int]:
    """The report years of the trend: those published so far, from the indicator's first report year on.

    INDICATORS.md section 1: an indicator is produced for R only when R is at
    least its first report year, so an earlier publication has no row for it
    by design; drawing that year as a missing value would suggest a gap. A
    published year from the first report year on without a riket row is a real
    gap and stays in.
    """
    first = _first_year(first_report_year)
    years = sorted({int(y) for y in history} | {report_year})
    return [y for y in years if y <= report_year and (first is None or y >= first or y == report_year)]


def funnel_units(measure: str, riket: Mapping[str, Any] | None, units: list[dict]) -> list[dict]:
    """The units a funnel plot shows: published proportion rows with a denominator; [] when fewer than two.

    A funnel needs the national proportion too (published, denominator > 0).
    """
    if measure not in PROPORTION_MEASURES or riket is None or riket["suppressed"]:
        return []
    if missing(riket["numerator"]) or missing(riket["denominator"]) or int(riket["denominator"]) <= 0:
        return []
    shown = [
        u
        for u in units
        if not u["suppressed"]
        and not missing(u["value"])
        and not missing(u["numerator"])
        and not missing(u["denominator"])
        and int(u["denominator"]) > 0
    ]
    return shown if len(shown) >= 2 else []


def _figures(
    chart_id: str,
    indicator_id: str,
    name: str,
    measure: str,
    riket: dict | None,
    units: list[dict],
    points: list[tuple[int, dict | None]],
    years: list[int],
    report_year: int,
    entry: Mapping[str, Any],
) -> list[dict]:
    label = labels.measure_name(measure, shown_conditions())
    target = _target_level(entry)
    figures = []
    if units:
        caption = f"{label} per enhet"
        if measure != "count" and riket is not None and not riket["suppressed"] and not missing(riket["value"]):
            caption += f"; streckad linje: riket ({headline(riket, measure)[0]})"
        if measure == "count" and riket is not None and not riket["suppressed"]:
            caption += f". Riket: {format_integer(riket['value'])} (summan av enheterna)"
        if measure in PROPORTION_MEASURES:
            caption += ". Linjen kring stapeln: 95 % konfidensintervall"
        if measure == "distribution":
            caption += ". Stapeln visar medelvärdet"
        if target is not None:
            caption += f". Grön prickad linje: målnivå ({format_number(target)})"
        svg = charts.bar_chart(f"{chart_id}-bar", f"{indicator_id} {name}: {label} per enhet", units, riket, measure,
                               target_level=target)
        figures.append({"kind": "bars", "svg": Markup(svg), "caption": caption, "key": []})
    trend_label = "medelvärde" if measure == "distribution" else label.lower()
    if len(years) > 1:
        caption = f"Riket, {trend_label} per rapportår {years[0]}–{years[-1]}"
    elif _first_year(entry.get("first_report_year")) == report_year:
        caption = f"Riket, {trend_label} rapportår {report_year}. Första året indikatorn redovisas, ingen trend ännu"
    else:
        caption = f"Riket, {trend_label} rapportår {report_year}; inga tidigare publiceringar"
    svg = charts.trend_chart(f"{chart_id}-trend", f"{indicator_id} {name}: trend för riket", points, measure)
    figures.append({"kind": "trend", "svg": Markup(svg), "caption": caption, "key": []})
    funnel = funnel_units(measure, riket, units)
    if funnel:
        caption = (
            f"Trattdiagram: varje enhets {label.lower()} (numrerad punkt) mot antalet i nämnaren. Heldragen linje: riket "
            f"({headline(riket, measure)[0]}); streckade linjer: 95 % kontrollgränser; prickade: 99,8 %"
        )
        if target is not None:
            caption += f"; grön linje: målnivå ({format_number(target)}{NBSP}%)"
        svg = charts.funnel_plot(f"{chart_id}-funnel", f"{indicator_id} {name}: trattdiagram", funnel, riket,
                                 target_level=target)
        figures.append(
            {"kind": "funnel", "svg": Markup(svg), "caption": caption, "key": charts.funnel_key(funnel, riket)}
        )
    return figures


def _measure_block(
    anchor: str,
    condition_id: str,
    indicator_id: str,
    measure: str,
    rows: pd.DataFrame,
    entry: Mapping[str, Any],
    report_year: int,
    history: Mapping[int, Mapping[tuple[str, str, str], dict]],
    show_heading: bool,
    riket_name: str,
) -> dict:
    name = str(entry.get("name") or indicator_id)
    label = labels.measure_name(measure, shown_conditions())
    # One conversion to records, then plain filtering: the page has a block per indicator and measure.
    records = _records(rows)
    totals = [r for r in records if r["breakdown"] == "total"]
    riket = next((r for r in totals if r["level"] == "riket"), None)
    units = sorted((r for r in totals if r["level"] == "enhet"), key=lambda r: r["unit_id"])  # stable
    years = _trend_years(report_year, history, entry.get("first_report_year"))
    points = [
        (y, riket if y == report_year else history[y].get((condition_id, indicator_id, measure)))
        for y in years
    ]

    breakdowns = [b for b in dict.fromkeys(r["breakdown"] for r in records) if b != "total"]
    columns = [("", riket_name)] + [(u["unit_id"], str(u["unit_name"])) for u in units]
    # INDICATORS.md section 3: only breakdown values that occur get a row, and every level that
    # has a total row was counted. So for a count, a level with a total row and no row for a
    # value counted nobody there: 0. Other measures have nothing to compute for nobody ("."),
    # and a unit without a total row was not counted at all (".").
    zero_when_absent: set[str] = set()
    if measure == "count":
        zero_when_absent = {str(u["unit_id"]) for u in units} | ({""} if riket is not None else set())
    tables = []
    for breakdown in breakdowns:
        part = [r for r in records if r["breakdown"] == breakdown]
        extra_units = sorted({r["unit_id"] for r in part if r["level"] == "enhet"} - {c for c, _ in columns})
        names = {r["unit_id"]: r["unit_name"] for r in part}
        cols = columns + [(u, str(names[u])) for u in extra_units]
        tables.append(_breakdown_table(measure, breakdown, part, cols, zero_when_absent))
    return {
        "heading": label if show_heading else "",
        "main": _main_table(measure, riket, units, f"{label}: riket och enheter", riket_name),
        "figures": _figures(f"{anchor}-{measure}", indicator_id, name, measure, riket, units, points, years,
                            report_year, entry),
        "breakdowns": tables,
    }


def _indicator_section(
    entry: Mapping[str, Any], rows: pd.DataFrame, report_year: int,
    history: Mapping[int, Mapping[tuple[str, str, str], dict]],
) -> dict:
    condition_id, indicator_id = str(entry["condition_id"]), str(entry["indicator_id"])
    anchor = f"{condition_id}-{indicator_id}"
    section = {
        "anchor": anchor,
        "condition_id": condition_id,
        "indicator_id": indicator_id,
        "name": str(entry.get("name") or ""),
        "catalogue": _catalogue_items(entry, _period_text(rows)),
        "empty": None,
        "combined": [],
        "measures": [],
    }
    if rows.empty:
        first = entry.get("first_report_year")
        note = ""
        if not missing(first) and str(first).isdigit() and int(first) > int(report_year):
            note = f" Indikatorn redovisas första gången rapportår {int(first)}."
        section["empty"] = f"{NO_RESULTS}.{note}"
        return section
    section["combined"] = _combined_notes(entry, rows)
    riket_name = COMBINED_RIKET if section["combined"] else labels.RIKET_NAME
    measures = list(dict.fromkeys(rows["measure"]))
    section["measures"] = [
        _measure_block(anchor, condition_id, indicator_id, measure, rows[rows["measure"] == measure], entry,
                       report_year, history, show_heading=len(measures) > 1, riket_name=riket_name)
        for measure in measures
    ]
    return section


def _combined_notes(entry: Mapping[str, Any], rows: pd.DataFrame) -> list[str]:
    """What the page says where riket is combined from units' own figures (SUBMISSION.md 4); [] where it is not."""
    units = _as_list(entry.get(COMBINED_KEY))
    if not units:
        return []
    names = dict(zip(rows["unit_id"], rows["unit_name"]))
    named = [str(names.get(unit, unit)) for unit in units]
    who = named[0] if len(named) == 1 else ", ".join(named[:-1]) + " och " + named[-1]
    how = (
        "N för riket är summan över enheterna, medelvärde och standardavvikelse är sammanvägda från enheternas."
        if "distribution" in _as_list(entry.get("measures"))
        else "Antal, täljare och nämnare för riket är summor över enheterna."
    )
    notes = [
        f"Riket är sammanräknat från enheternas uppgifter: {who} rapporterade aggregerade uppgifter (egna siffror) "
        f"i stället för individdata. {how}"
    ]
    if not missing(entry.get(PERCENTILES_KEY)) and entry.get(PERCENTILES_KEY):
        notes.append(str(entry[PERCENTILES_KEY]))
    return notes


def render_preview(
    report_year: int,
    results: pd.DataFrame,
    history: Mapping[int, pd.DataFrame],
    catalogue: list[dict],
    generated_at: str,
    threshold: int = DEFAULT_THRESHOLD,
    conditions: Iterable[Condition] = (),
) -> str:
    """The complete ``index.html`` of one publication (section 6), as a string.

    ``results`` is the published frame of ``report_year``
    (``format_results(suppress(...))``); ``history`` maps earlier report years
    to their published frames, for the trend; ``catalogue`` lists the
    indicators in display order (section 4 keys, ``target_level`` optional);
    ``threshold`` only words the legend; ``conditions`` (the registered ones) name their own
    measures and breakdowns and tell which of their measures are proportions. Every catalogue indicator gets a
    ``<section id="<condition_id>-<indicator_id>" data-indicator="<indicator_id>"
    data-condition="<condition_id>">``, with "Inga resultat för detta år" when
    it has no rows.
    """
    with conditions_shown(conditions):
        return _render(report_year, results, history, catalogue, generated_at, threshold)


def _render(report_year, results, history, catalogue, generated_at, threshold) -> str:
    report_year = int(report_year)
    results = results if results is not None else pd.DataFrame()
    if not results.empty:
        # Section 2 order, whatever the caller passed, so the page is the same for the same rows.
        results = sort_results(results[results["report_year"].astype(int) == report_year])
    trends = {int(year): _riket_totals(frame) for year, frame in history.items()}
    names: dict[str, str] = {}
    for e in catalogue:
        names.setdefault(str(e["condition_id"]), str(e.get("condition_name") or e["condition_id"]))
    # Each indicator's rows, in section 2 order (groupby keeps the order of the rows within a group).
    by_indicator = dict(iter(results.groupby(["condition_id", "indicator_id"], sort=False))) if not results.empty else {}
    sections_of_conditions = []
    for condition_id, condition_name in names.items():
        sections = []
        for e in (e for e in catalogue if str(e["condition_id"]) == condition_id):
            rows = by_indicator.get((condition_id, str(e["indicator_id"])), pd.DataFrame())
            sections.append(_indicator_section(e, rows, report_year, trends))
        sections_of_conditions.append({"id": condition_id, "name": condition_name, "indicators": sections})

    orphans: list[str] = []
    if not results.empty:
        known = {(str(e["condition_id"]), str(e["indicator_id"])) for e in catalogue}
        present = dict.fromkeys(zip(results["condition_id"], results["indicator_id"], strict=True))
        orphans = [f"{c} {i}" for c, i in present if (c, i) not in known]

    n_rows = len(results)
    return _template().render(
        title=f"Årlig uppföljning av nationell högspecialiserad vård – rapportår {report_year}",
        css=Markup(stylesheet()),
        generated_at=generated_at,
        report_year=report_year,
        n_rows=n_rows,
        n_suppressed=int(results["suppressed"].astype(bool).sum()) if n_rows else 0,
        threshold=int(threshold),
        orphans=orphans,
        conditions=sections_of_conditions,
        supp_mark=SUPPRESSED_MARK,
        supp_text=suppressed_text(threshold),
        missing_mark=MISSING_MARK,
        missing_text=MISSING_TEXT,
    )
