"""The preview page ``index.html``, PUBLICATION.md section 6.

A self-contained page for publishers to check a publication before it goes to
the website: per condition and indicator the catalogue text, the national
figure (riket) and each unit side by side, a bar chart, breakdown tables and
the trend over the report years published so far, with suppressed cells
marked. Swedish labels, Swedish decimal comma.

Self-contained means no network access, so: styles inline in one ``<style>``,
charts as inline SVG drawn here, no JavaScript, no URL of any kind. Every text
that comes from data goes through ``html.escape``. The page depends only on its
arguments (``generated_at`` is passed in), so the same input gives the same
bytes.
"""

from __future__ import annotations

import datetime as dt
import html
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from .disclosure import DEFAULT_THRESHOLD, REASON_PRIMARY, REASON_SECONDARY
from .export import sort_results

PROPORTION_MEASURES = ("proportion", "response_rate", "positive_share")

MEASURE_LABELS = {
    "count": "Antal",
    "distribution": "Fördelning",
    "proportion": "Andel",
    "response_rate": "Svarsfrekvens",
    "positive_share": "Andel positiva svar",
}

BREAKDOWN_LABELS = {
    "total": "Totalt",
    "home_region": "Hemregion",
    "sex": "Kön",
    "sct_offered": "Erbjuden stamcellstransplantation",
    "age_group": "Åldersgrupp",
    "contact_type": "Typ av åtgärd",
    "respondent": "Svarande",
}

DIRECTION_LABELS = {
    "higher_is_better": "Högre värde är bättre",
    "lower_is_better": "Lägre värde är bättre",
    "descriptive": "Beskrivande (ingen riktning)",
}

NO_RESULTS = "Inga resultat för detta år"
MISSING_MARK = "."
SUPPRESSED_MARK = "–"

_NBSP = "\u00a0"
_MINUS = "\u2212"

_CSS = """
:root {
  --ink: #1d2733; --muted: #5b6776; --line: #d9dee4; --soft: #f5f7f9;
  --accent: #2f6690; --bar: #3a7ca5; --riket: #b5541c; --supp: #eceff2;
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0; color: var(--ink); background: #fff;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  font-size: 16px; line-height: 1.5;
}
main, header.page, footer.page { max-width: 64rem; margin: 0 auto; padding: 0 1.25rem; }
header.page { padding-top: 2rem; padding-bottom: 1rem; border-bottom: 3px solid var(--accent); }
h1 { font-size: 1.75rem; line-height: 1.25; margin: 0.25rem 0 0.5rem; }
h2 { font-size: 1.4rem; margin: 2.5rem 0 0.75rem; padding-bottom: 0.25rem; border-bottom: 1px solid var(--line); }
h3 { font-size: 1.2rem; margin: 0 0 0.5rem; }
h4 { font-size: 1.05rem; margin: 1.25rem 0 0.5rem; }
h5 { font-size: 0.95rem; margin: 1rem 0 0.35rem; color: var(--muted); }
.badge {
  display: inline-block; padding: 0.15rem 0.6rem; border-radius: 3px;
  background: #fff4e5; border: 1px solid #e2a04a; color: #7a4300; font-weight: 600; font-size: 0.9rem;
}
.meta, .note { color: var(--muted); font-size: 0.9rem; }
nav.toc { background: var(--soft); border: 1px solid var(--line); border-radius: 4px; padding: 0.75rem 1.25rem; margin: 1.5rem 0; }
nav.toc h2 { margin: 0 0 0.5rem; font-size: 1.1rem; border: 0; }
nav.toc ul { margin: 0.25rem 0 0.5rem; padding-left: 1.25rem; }
nav.toc a { color: var(--accent); text-decoration: none; }
nav.toc a:hover { text-decoration: underline; }
section.indicator { border-top: 1px solid var(--line); padding: 1.25rem 0 1.5rem; }
dl.catalogue { display: grid; grid-template-columns: max-content 1fr; gap: 0.2rem 1rem; margin: 0.5rem 0 1rem; font-size: 0.92rem; }
dl.catalogue dt { font-weight: 600; color: var(--muted); }
dl.catalogue dd { margin: 0; }
.table-wrap { overflow-x: auto; margin: 0.5rem 0 1rem; }
table { border-collapse: collapse; font-size: 0.9rem; min-width: 50%; }
caption { text-align: left; color: var(--muted); font-size: 0.85rem; padding-bottom: 0.25rem; }
th, td { padding: 0.3rem 0.6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { text-align: left; font-weight: 600; background: var(--soft); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.riket td, tr.riket th { font-weight: 600; background: #fbf3ee; }
td.supp, tr.riket td.supp { background: var(--supp); color: var(--muted); text-align: center; }
td.supp .mark { font-size: 0.75em; vertical-align: super; }
td.missing { color: var(--muted); text-align: center; }
.sub { display: block; color: var(--muted); font-size: 0.8em; font-weight: 400; }
.empty { font-style: italic; color: var(--muted); }
.warning { background: #fdecea; border: 1px solid #e0a39c; padding: 0.5rem 1rem; border-radius: 4px; }
figure { margin: 0; min-width: 0; }
figcaption { color: var(--muted); font-size: 0.85rem; margin-top: 0.25rem; }
/* Bars and trend side by side where both fit at about their drawn size (the SVGs are drawn
   580 and 400 units wide, so their text stays near its nominal size), stacked otherwise. */
.charts {
  display: grid; grid-template-columns: minmax(0, 1fr); gap: 1.25rem 2rem; align-items: start;
  margin: 0.75rem 0 1.25rem;
}
@media (min-width: 56rem) {
  .charts.pair { grid-template-columns: minmax(0, 29fr) minmax(0, 20fr); }
}
svg { display: block; width: 100%; height: auto; }
figure.bars svg { max-width: 40rem; }
figure.trend svg { max-width: 30rem; }
svg text { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; fill: var(--ink); }
ul.legend { list-style: none; padding: 0; font-size: 0.9rem; }
ul.legend li { margin: 0.15rem 0; }
ul.legend .key { display: inline-block; min-width: 2.5rem; text-align: center; background: var(--supp); margin-right: 0.5rem; }
footer.page { margin-top: 3rem; padding-bottom: 2rem; border-top: 1px solid var(--line); color: var(--muted); font-size: 0.85rem; }
@media print {
  body { font-size: 11pt; }
  nav.toc { display: none; }
  main, header.page, footer.page { max-width: none; padding: 0; }
  section.indicator { break-before: auto; }
  figure, table, dl.catalogue { break-inside: avoid; }
  h2, h3, h4 { break-after: avoid; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""


# --------------------------------------------------------------------------
# Swedish number formatting
# --------------------------------------------------------------------------


def _missing(v: Any) -> bool:
    if v is None:
        return True
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _group(digits: str) -> str:
    # Swedish writes thousands with a space; four-digit numbers are left whole
    # (Språkrådet), so grouping starts at 10 000. A no-break space keeps a
    # number on one line.
    if len(digits) <= 4:
        return digits
    groups = []
    while digits:
        groups.insert(0, digits[-3:])
        digits = digits[:-3]
    return _NBSP.join(groups)


def format_number(v: Any, decimals: int = 1) -> str:
    """``1234.5`` -> ``"1234,5"``, ``-0.5`` -> ``"−0,5"``, ``12345`` -> ``"12 345,0"``; empty -> ``""``.

    The published values are already rounded (section 2), so this only prints them.
    """
    if _missing(v):
        return ""
    x = float(v)
    text = f"{abs(x):.{decimals}f}"
    whole, _, frac = text.partition(".")
    out = _group(whole) + ("," + frac if frac else "")
    return (_MINUS if x < 0 and float(text) != 0 else "") + out


def format_integer(v: Any) -> str:
    return format_number(v, 0)


def _compact(v: float) -> str:
    """Axis labels: at most one decimal, no trailing ",0"."""
    text = format_number(v, 1)
    return text[:-2] if text.endswith(",0") else text


def _esc(v: Any) -> str:
    return html.escape("" if _missing(v) else str(v), quote=True)


def _iso(v: Any) -> str:
    if _missing(v):
        return ""
    if isinstance(v, pd.Timestamp | dt.datetime):
        return v.date().isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    return str(v)[:10]


# --------------------------------------------------------------------------
# Table cells
# --------------------------------------------------------------------------


def _suppressed_cell(reason: str, threshold: int, extra_class: str = "num") -> str:
    if reason == REASON_SECONDARY:
        title, mark = "Uppgift undertryckt för att skydda andra celler", "**"
    else:
        title, mark = f"Uppgift undertryckt (färre än {threshold})", "*"
    return (
        f'<td class="{extra_class} supp" data-reason="{_esc(reason or REASON_PRIMARY)}" title="{_esc(title)}">'
        f'{SUPPRESSED_MARK}<span class="mark">{mark}</span></td>'
    )


def _value_cell(text: str, sub: str = "") -> str:
    if text == "":
        return f'<td class="num missing" title="Värde saknas eller kan inte beräknas">{MISSING_MARK}</td>'
    sub_html = f'<span class="sub">{sub}</span>' if sub else ""
    return f'<td class="num">{text}{sub_html}</td>'


def _headline(row: Mapping[str, Any], measure: str) -> tuple[str, str]:
    """The headline figure of a row and a small line under it (used in breakdown tables)."""
    if measure in PROPORTION_MEASURES:
        value = format_number(row["value"])
        sub = ""
        if not _missing(row["numerator"]) and not _missing(row["denominator"]):
            sub = f"{format_integer(row['numerator'])} av {format_integer(row['denominator'])}"
        return (value + _NBSP + "%" if value else ""), sub
    if measure == "distribution":
        value = format_number(row["value"])
        return value, ("N" + _NBSP + "=" + _NBSP + format_integer(row["n"]) if not _missing(row["n"]) else "")
    return format_integer(row["value"]), ""


def _main_columns(measure: str) -> list[tuple[str, Any]]:
    """Column headers and cell formatters of the riket/unit table, per kind of measure."""
    if measure in PROPORTION_MEASURES:

        def share(r: Mapping[str, Any]) -> str:
            v = format_number(r["value"])
            return v + _NBSP + "%" if v else ""

        def ci(r: Mapping[str, Any]) -> str:
            if _missing(r["ci_low"]) or _missing(r["ci_high"]):
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


# --------------------------------------------------------------------------
# SVG charts
# --------------------------------------------------------------------------


def _nice_ceiling(x: float) -> float:
    if not x or x <= 0 or math.isnan(x):
        return 1.0
    exponent = 10 ** math.floor(math.log10(x))
    for m in (1, 2, 5, 10):
        if m * exponent >= x - 1e-12:
            return float(m * exponent)
    return float(10 * exponent)


def _f(x: float) -> str:
    """SVG coordinates with one decimal: short, and identical on every run."""
    return f"{x:.1f}"


# Advance widths in em, rounded up from DejaVu Sans, the widest face of the
# font stack (the Linux fallback; Segoe UI, San Francisco, Roboto and Arial are
# narrower). An SVG cannot measure its own text without script, so the layout
# uses this upper bound: a label sized by it always fits.
_EM_NARROW = frozenset("iljIJ'.,:;!|")
_EM_SEMI = frozenset(" ftr()[]-/\"")
_EM_WIDE = frozenset("mwMW%@")


def _text_width(text: str, size: float) -> float:
    em = 0.0
    for ch in text:
        if ch in _EM_NARROW:
            em += 0.31
        elif ch in _EM_SEMI:
            em += 0.42
        elif ch in _EM_WIDE:
            em += 1.0
        elif ch.isupper():
            em += 0.79
        else:
            em += 0.64
    return em * size


def _wrap(label: str, max_width: float, size: float, max_lines: int = 3) -> list[str]:
    """The label in lines no wider than ``max_width``, filled word by word, at most ``max_lines``.

    Only what is still left after the last line (or a single word wider than
    the column) is cut with "…"; the full name stays in the element's ``<title>``.
    """
    lines: list[str] = []
    for word in label.split(" "):
        if lines and _text_width(f"{lines[-1]} {word}", size) <= max_width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    if len(lines) > max_lines:
        lines = lines[: max_lines - 1] + [" ".join(lines[max_lines - 1 :])]
    fitted = []
    for line in lines:
        while _text_width(line, size) > max_width and len(line) > 1:
            line = line[:-2].rstrip() + "…"
        fitted.append(line)
    return fitted


def _halo(text: str, x: float, y: float, size: float = 12, anchor: str = "start", fill: str = "") -> str:
    """A data label with a white outline drawn under the glyphs, so a grid or reference line behind it
    never runs through the figures."""
    colour = f' fill="{fill}"' if fill else ""
    return (
        f'<text x="{_f(x)}" y="{_f(y)}" font-size="{size:g}" text-anchor="{anchor}"{colour} '
        f'stroke="#fff" stroke-width="3" stroke-linejoin="round" paint-order="stroke">{text}</text>'
    )


def _bar_chart(
    chart_id: str,
    title: str,
    units: Sequence[Mapping[str, Any]],
    riket: Mapping[str, Any] | None,
    measure: str,
) -> str:
    """Horizontal bars of the units' total rows; riket as a dashed reference line.

    For a count, riket is the sum of the units (INDICATORS.md section 1), so a
    reference line would only squash the bars: it is named in the caption instead.
    Proportions get their 95 % Wilson interval as a whisker.

    Layout, top to bottom: a header band that holds only the riket label (so it
    can never meet a bar's value label, whatever the values), one row per unit,
    the axis with its tick labels. The name column is as wide as the longest
    name needs, up to 42 % of the chart; a longer name wraps onto more lines.
    """
    is_share = measure in PROPORTION_MEASURES
    shown = [u for u in units if not u["suppressed"] and not _missing(u["value"])]
    riket_value = None
    if measure != "count" and riket is not None and not riket["suppressed"] and not _missing(riket["value"]):
        riket_value = float(riket["value"])
    candidates = [float(u["value"]) for u in shown]
    if is_share:
        scale_max = 100.0
    else:
        if riket_value is not None:
            candidates.append(riket_value)
        scale_max = _nice_ceiling(max(candidates, default=0.0))
    suffix = _NBSP + "%" if is_share else ""

    width, size, gap = 580.0, 12.0, 10.0
    names = [_wrap(str(u["unit_name"]), width * 0.42 - gap, size) for u in units]
    label_w = gap + max((_text_width(line, size) for lines in names for line in lines), default=40.0)
    value_texts = [_headline(u, measure)[0] for u in shown]
    tick_texts = [_compact(t) + suffix for t in (0.0, scale_max / 2, scale_max)]
    # Room right of the scale for the widest value label and half the last tick label.
    right_pad = 8 + max([_text_width(t, size) + 6 for t in value_texts] + [_text_width(tick_texts[-1], 11) / 2, 24])
    plot_w = width - label_w - right_pad
    line_h = 14.0
    row_h = 26.0 + line_h * (max((len(lines) for lines in names), default=1) - 1)
    top = 26.0 if riket_value is not None else 8.0
    bottom = 26.0
    height = top + row_h * max(len(units), 1) + bottom
    plot_bottom = height - bottom

    def x(v: float) -> float:
        return label_w + plot_w * max(0.0, v) / scale_max

    parts = [
        f'<svg viewBox="0 0 {_f(width)} {_f(height)}" role="img" aria-labelledby="{chart_id}-t">',
        f'<title id="{chart_id}-t">{_esc(title)}</title>',
    ]
    for tick, text in zip((0.0, scale_max / 2, scale_max), tick_texts, strict=True):
        tx = x(tick)
        parts.append(
            f'<line x1="{_f(tx)}" y1="{_f(top)}" x2="{_f(tx)}" y2="{_f(plot_bottom)}" '
            'stroke="#d9dee4" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{_f(tx)}" y="{_f(plot_bottom + 16)}" font-size="11" text-anchor="middle">{_esc(text)}</text>'
        )
    labels = []
    for i, (u, lines) in enumerate(zip(units, names, strict=True)):
        y = top + i * row_h
        mid = y + row_h / 2 + 4
        name = _esc(str(u["unit_name"]))
        more = "".join(f'<tspan x="{_f(label_w - gap)}" dy="{line_h:g}">{_esc(line)}</tspan>' for line in lines[1:])
        parts.append(
            f'<text x="{_f(label_w - gap)}" y="{_f(mid - line_h * (len(lines) - 1) / 2)}" font-size="{size:g}" '
            f'text-anchor="end"><title>{name}</title>{_esc(lines[0])}{more}</text>'
        )
        if u["suppressed"]:
            labels.append(_halo(f"{SUPPRESSED_MARK} undertryckt", label_w + 4, mid, fill="#5b6776"))
            continue
        if _missing(u["value"]):
            labels.append(_halo(f"{MISSING_MARK} saknas", label_w + 4, mid, fill="#5b6776"))
            continue
        v = float(u["value"])
        bar_h = min(row_h - 10, 18.0)
        parts.append(
            f'<rect x="{_f(label_w)}" y="{_f(y + (row_h - bar_h) / 2)}" width="{_f(x(v) - label_w)}" '
            f'height="{_f(bar_h)}" fill="#3a7ca5"/>'
        )
        end = x(v)
        if is_share and not _missing(u["ci_low"]) and not _missing(u["ci_high"]):
            lo, hi = x(float(u["ci_low"])), x(float(u["ci_high"]))
            cy = y + row_h / 2
            parts.append(
                f'<path d="M{_f(lo)} {_f(cy)}H{_f(hi)}M{_f(lo)} {_f(cy - 4)}V{_f(cy + 4)}'
                f'M{_f(hi)} {_f(cy - 4)}V{_f(cy + 4)}" stroke="#1d2733" stroke-width="1.2" fill="none"/>'
            )
            end = max(end, hi)
        labels.append(_halo(_esc(_headline(u, measure)[0]), end + 6, mid))
    if riket_value is not None:
        rx = x(riket_value)
        parts.append(
            f'<line x1="{_f(rx)}" y1="{_f(top - 6)}" x2="{_f(rx)}" y2="{_f(plot_bottom)}" '
            'stroke="#b5541c" stroke-width="2" stroke-dasharray="5 3"/>'
        )
        label = "Riket " + _headline(riket, measure)[0]
        half = _text_width(label, 11) / 2
        # Centred on the line, but kept inside the chart near either end of the scale.
        lx = min(max(rx, label_w + half), width - half - 2)
        parts.append(
            f'<text x="{_f(lx)}" y="{_f(top - 10)}" font-size="11" text-anchor="middle" fill="#b5541c">'
            f"{_esc(label)}</text>"
        )
    # Value labels last: their white outline covers the grid and the riket line beneath them.
    parts.extend(labels)
    parts.append("</svg>")
    return "".join(parts)


def _trend_chart(
    chart_id: str, title: str, points: Sequence[tuple[int, Mapping[str, Any] | None]], measure: str
) -> str:
    """Line chart of the riket total over report years; a missing or withheld year breaks the line.

    Value labels sit above their points, at least half a label's width right
    of the y axis, so they never reach the tick labels left of it; a year
    without a figure says so in words in the middle of the plot, not as a lone
    mark by the axis.
    """
    is_share = measure in PROPORTION_MEASURES
    shown = [r for _, r in points if r is not None and not r["suppressed"] and not _missing(r["value"])]
    scale_max = 100.0 if is_share else _nice_ceiling(max((float(r["value"]) for r in shown), default=0.0))
    value_texts = {id(r): _headline(r, measure)[0] for r in shown}
    gaps = {year: ("undertryckt" if r is not None and r["suppressed"] else "saknas") for year, r in points
            if r is None or r["suppressed"] or _missing(r["value"])}
    left, right, top, plot_h, bottom = 52.0, 12.0, 22.0, 130.0, 28.0
    width = 400.0
    plot_w = width - left - right
    height = top + plot_h + bottom
    span = max(len(points) - 1, 1)
    # Every label centred on a year stays clear of the tick labels left of the plot.
    inset = max(
        [24.0]
        + [_text_width(t, 11) / 2 + 8 for t in value_texts.values()]
        + [_text_width(w, 10) / 2 + 8 for w in gaps.values()]
    )
    step = (plot_w - 2 * inset) / span

    def px(i: int) -> float:
        return left + inset + (step * i if len(points) > 1 else (plot_w - 2 * inset) / 2)

    def py(v: float) -> float:
        return top + plot_h * (1 - max(0.0, v) / scale_max)

    parts = [
        f'<svg viewBox="0 0 {_f(width)} {_f(height)}" role="img" aria-labelledby="{chart_id}-t">',
        f'<title id="{chart_id}-t">{_esc(title)}</title>',
    ]
    for tick in (0.0, scale_max / 2, scale_max):
        ty = py(tick)
        parts.append(
            f'<line x1="{_f(left)}" y1="{_f(ty)}" x2="{_f(left + plot_w)}" y2="{_f(ty)}" '
            'stroke="#d9dee4" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{_f(left - 6)}" y="{_f(ty + 4)}" font-size="11" text-anchor="end">'
            f"{_compact(tick)}{_NBSP + '%' if is_share else ''}</text>"
        )
    segment: list[str] = []
    segments: list[list[str]] = []
    labels = []
    for i, (year, r) in enumerate(points):
        parts.append(
            f'<text x="{_f(px(i))}" y="{_f(height - bottom + 18)}" font-size="11" text-anchor="middle">{year}</text>'
        )
        if r is None or r["suppressed"] or _missing(r["value"]):
            if segment:
                segments.append(segment)
            segment = []
            word = gaps[year]
            tip = "Riket undertryckt" if word == "undertryckt" else "Inget värde för riket detta år"
            if _text_width(word, 10) > step - 4 and len(points) > 1:
                word = SUPPRESSED_MARK if word == "undertryckt" else MISSING_MARK
            labels.append(_halo(f"<title>{tip}</title>{word}", px(i), top + plot_h / 2 + 4, 10, "middle", "#5b6776"))
            continue
        segment.append(f"{_f(px(i))} {_f(py(float(r['value'])))}")
    if segment:
        segments.append(segment)
    for seg in segments:
        if len(seg) > 1:
            parts.append(f'<path d="M{"L".join(seg)}" stroke="#b5541c" stroke-width="2" fill="none"/>')
    for i, (_, r) in enumerate(points):
        if r is None or r["suppressed"] or _missing(r["value"]):
            continue
        cx, cy = px(i), py(float(r["value"]))
        parts.append(f'<circle cx="{_f(cx)}" cy="{_f(cy)}" r="3.5" fill="#b5541c"/>')
        labels.append(_halo(_esc(value_texts[id(r)]), cx, cy - 8, size=11, anchor="middle"))
    parts.extend(labels)
    parts.append("</svg>")
    return "".join(parts)


# --------------------------------------------------------------------------
# Page sections
# --------------------------------------------------------------------------


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return df.to_dict("records") if len(df) else []


def _as_list(v: Any) -> list[str]:
    if isinstance(v, str):
        return [s.strip() for s in v.replace(";", ",").split(",") if s.strip()]
    if isinstance(v, Iterable):
        return [str(s) for s in v]
    return [] if _missing(v) else [str(v)]


def _int_or_0(v: Any) -> int:
    try:
        return 0 if _missing(v) else int(v)
    except (TypeError, ValueError):
        return 0


def _catalogue_list(entry: Mapping[str, Any], results_period: str) -> str:
    def years(v: Any) -> str:
        return f"{_int_or_0(v)} år" if _int_or_0(v) > 0 else ""

    breakdowns = [BREAKDOWN_LABELS.get(b, b) for b in _as_list(entry.get("breakdowns")) if b != "total"]
    pooled = entry.get("pooled_years")
    spec = ", ".join(s for s in (str(entry.get("spec_version") or ""), str(entry.get("spec_date") or "")) if s)
    items = [
        ("Mått", entry.get("measure_text")),
        ("Mätenhet", entry.get("unit_of_measure")),
        ("Syfte", entry.get("purpose")),
        ("Kategori", entry.get("category")),
        ("Typ av indikator", entry.get("indicator_type")),
        ("Riktning", DIRECTION_LABELS.get(str(entry.get("direction")), entry.get("direction"))),
        ("Datakälla", entry.get("data_source")),
        ("Period", results_period),
        ("Redovisas från rapportår", entry.get("first_report_year")),
        ("Eftersläpning", years(entry.get("cohort_lag_years"))),
        # One year is the normal case; only a pooled window is worth a line.
        ("Sammanslagna år", years(pooled) if _int_or_0(pooled) > 1 else ""),
        ("Redovisas även efter", ", ".join(breakdowns)),
        ("Specifikation", spec),
    ]
    rows = "".join(f"<dt>{_esc(k)}</dt><dd>{_esc(v)}</dd>" for k, v in items if not _missing(v) and str(v) != "")
    return f'<dl class="catalogue">{rows}</dl>'


def _main_table(measure: str, riket: dict | None, units: list[dict], threshold: int, caption: str) -> str:
    columns = _main_columns(measure)
    head = '<th scope="col">Nivå</th>' + "".join(f'<th scope="col" class="num">{_esc(h)}</th>' for h, _ in columns)
    body = []
    for r in ([riket] if riket is not None else []) + units:
        cls = ' class="riket"' if r["level"] == "riket" else ""
        cells = [f'<th scope="row">{_esc(r["unit_name"])}</th>']
        for _, fmt in columns:
            if r["suppressed"]:
                cells.append(_suppressed_cell(r["suppression_reason"], threshold))
            else:
                cells.append(_value_cell(_esc(fmt(r))))
        body.append(f"<tr{cls}>{''.join(cells)}</tr>")
    return (
        f'<div class="table-wrap"><table><caption>{_esc(caption)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
    )


def _breakdown_table(
    measure: str,
    breakdown: str,
    rows: list[dict],
    columns: list[tuple[str, str]],
    threshold: int,
    zero_when_absent: set[str] = frozenset(),
) -> str:
    """One row per breakdown value, one column per level (riket first, then units).

    A level in ``zero_when_absent`` (unit ids, ``""`` for riket) shows "0" where it has
    no row for a value, any other level ".".
    """
    by_cell = {(r["unit_id"], r["breakdown_value"]): r for r in rows}
    values: dict[str, str] = {}
    for r in rows:
        values.setdefault(r["breakdown_value"], r["breakdown_label"] or r["breakdown_value"])
    head = f'<th scope="col">{_esc(BREAKDOWN_LABELS.get(breakdown, breakdown))}</th>' + "".join(
        f'<th scope="col" class="num">{_esc(name)}</th>' for _, name in columns
    )
    body = []
    for value, label in values.items():
        cells = [f'<th scope="row">{_esc(label)}</th>']
        for unit_id, _ in columns:
            r = by_cell.get((unit_id, value))
            if r is None:
                cells.append(_value_cell("0" if str(unit_id) in zero_when_absent else ""))
            elif r["suppressed"]:
                cells.append(_suppressed_cell(r["suppression_reason"], threshold))
            else:
                text, sub = _headline(r, measure)
                cells.append(_value_cell(_esc(text), _esc(sub)))
        body.append(f"<tr>{''.join(cells)}</tr>")
    caption = f"{MEASURE_LABELS.get(measure, measure)} efter {BREAKDOWN_LABELS.get(breakdown, breakdown).lower()}"
    return (
        f'<h5>{_esc(caption)}</h5><div class="table-wrap"><table>'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
    )


def _period_text(rows: pd.DataFrame) -> str:
    if rows.empty:
        return ""
    first = rows.iloc[0]
    start, end = _iso(first["period_start"]), _iso(first["period_end"])
    return f"{start} – {end}" if start or end else ""


def _riket_total(frame: pd.DataFrame, condition_id: str, indicator_id: str, measure: str) -> dict | None:
    if frame is None or frame.empty:
        return None
    sel = frame[
        (frame["condition_id"] == condition_id)
        & (frame["indicator_id"] == indicator_id)
        & (frame["measure"] == measure)
        & (frame["level"] == "riket")
        & (frame["breakdown"] == "total")
    ]
    return _records(sel.head(1))[0] if len(sel) else None


def _first_year(v: Any) -> int | None:
    """The catalogue's ``first_report_year`` as an int, or None when it is absent or not a year."""
    try:
        return None if _missing(v) else int(v)
    except (TypeError, ValueError):
        return None


def _trend_years(report_year: int, history: Mapping[int, pd.DataFrame], first_report_year: Any) -> list[int]:
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


def _measure_block(
    anchor: str,
    condition_id: str,
    indicator_id: str,
    measure: str,
    rows: pd.DataFrame,
    entry: Mapping[str, Any],
    report_year: int,
    history: Mapping[int, pd.DataFrame],
    threshold: int,
    show_heading: bool,
) -> str:
    name = str(entry.get("name") or indicator_id)
    label = MEASURE_LABELS.get(measure, measure)
    totals = rows[rows["breakdown"] == "total"]
    riket_rows = _records(totals[totals["level"] == "riket"])
    riket = riket_rows[0] if riket_rows else None
    units = _records(totals[totals["level"] == "enhet"].sort_values(["unit_id"], kind="mergesort"))
    out = [f"<h4>{_esc(label)}</h4>"] if show_heading else []
    out.append(_main_table(measure, riket, units, threshold, f"{label}: riket och enheter"))

    chart_id = f"{anchor}-{measure}"
    figures = []
    if units:
        bar_caption = f"{label} per enhet"
        if measure != "count" and riket is not None and not riket["suppressed"] and not _missing(riket["value"]):
            bar_caption += f"; streckad linje: riket ({_headline(riket, measure)[0]})"
        if measure == "count" and riket is not None and not riket["suppressed"]:
            bar_caption += f". Riket: {format_integer(riket['value'])} (summan av enheterna)"
        if measure in PROPORTION_MEASURES:
            bar_caption += ". Linjen kring stapeln: 95 % konfidensintervall"
        if measure == "distribution":
            bar_caption += ". Stapeln visar medelvärdet"
        bar = _bar_chart(f"{chart_id}-bar", f"{indicator_id} {name}: {label} per enhet", units, riket, measure)
        figures.append(f'<figure class="bars">{bar}<figcaption>{_esc(bar_caption)}</figcaption></figure>')
    years = _trend_years(report_year, history, entry.get("first_report_year"))
    points = [
        (y, riket if y == report_year else _riket_total(history[y], condition_id, indicator_id, measure))
        for y in years
    ]
    trend_label = "medelvärde" if measure == "distribution" else label.lower()
    if len(years) > 1:
        trend_caption = f"Riket, {trend_label} per rapportår {years[0]}–{years[-1]}"
    elif _first_year(entry.get("first_report_year")) == report_year:
        trend_caption = (
            f"Riket, {trend_label} rapportår {report_year}. Första året indikatorn redovisas, ingen trend ännu"
        )
    else:
        trend_caption = f"Riket, {trend_label} rapportår {report_year}; inga tidigare publiceringar"
    figures.append(
        f'<figure class="trend">'
        f"{_trend_chart(f'{chart_id}-trend', f'{indicator_id} {name}: trend för riket', points, measure)}"
        f"<figcaption>{_esc(trend_caption)}</figcaption></figure>"
    )
    pair = " pair" if len(figures) > 1 else ""
    out.append(f'<div class="charts{pair}">{"".join(figures)}</div>')

    breakdowns = [b for b in dict.fromkeys(rows["breakdown"]) if b != "total"]
    columns = [("", "Riket")] + [(u["unit_id"], str(u["unit_name"])) for u in units]
    # INDICATORS.md section 3: only breakdown values that occur get a row, and every level that
    # has a total row was counted. So for a count, a level with a total row and no row for a
    # value counted nobody there: 0. Other measures have nothing to compute for nobody ("."),
    # and a unit without a total row was not counted at all (".").
    zero_when_absent: set[str] = set()
    if measure == "count":
        zero_when_absent = {str(u["unit_id"]) for u in units} | ({""} if riket is not None else set())
    for breakdown in breakdowns:
        part = rows[rows["breakdown"] == breakdown]
        extra_units = sorted(set(part.loc[part["level"] == "enhet", "unit_id"]) - {c for c, _ in columns})
        names = dict(zip(part["unit_id"], part["unit_name"], strict=False))
        cols = columns + [(u, str(names[u])) for u in extra_units]
        out.append(_breakdown_table(measure, breakdown, _records(part), cols, threshold, zero_when_absent))
    return "".join(out)


def _indicator_section(
    entry: Mapping[str, Any],
    rows: pd.DataFrame,
    report_year: int,
    history: Mapping[int, pd.DataFrame],
    threshold: int,
) -> str:
    condition_id, indicator_id = str(entry["condition_id"]), str(entry["indicator_id"])
    anchor = f"{condition_id}-{indicator_id}"
    name = str(entry.get("name") or "")
    out = [
        f'<section class="indicator" id="{_esc(anchor)}" data-indicator="{_esc(indicator_id)}" '
        f'data-condition="{_esc(condition_id)}">',
        f"<h3>{_esc(indicator_id)} – {_esc(name)}</h3>",
        _catalogue_list(entry, _period_text(rows)),
    ]
    if rows.empty:
        first = entry.get("first_report_year")
        note = ""
        if not _missing(first) and str(first).isdigit() and int(first) > int(report_year):
            note = f" Indikatorn redovisas första gången rapportår {int(first)}."
        out.append(f'<p class="empty">{_esc(NO_RESULTS)}.{_esc(note)}</p>')
    else:
        measures = list(dict.fromkeys(rows["measure"]))
        for measure in measures:
            out.append(
                _measure_block(
                    _esc(anchor),
                    condition_id,
                    indicator_id,
                    measure,
                    rows[rows["measure"] == measure],
                    entry,
                    report_year,
                    history,
                    threshold,
                    show_heading=len(measures) > 1,
                )
            )
    out.append("</section>")
    return "".join(out)


def _legend(threshold: int) -> str:
    return (
        '<ul class="legend">'
        f'<li><span class="key">{SUPPRESSED_MARK}*</span>Uppgift undertryckt (färre än {threshold})</li>'
        f'<li><span class="key">{SUPPRESSED_MARK}**</span>Uppgift undertryckt för att skydda andra celler</li>'
        f'<li><span class="key">{MISSING_MARK}</span>Värde saknas eller kan inte beräknas '
        "(t.ex. nämnaren är 0, färre än två värden, eller inga patienter i gruppen)</li>"
        '<li><span class="key">0</span>Inga patienter eller händelser</li>'
        "</ul>"
    )


def render_preview(
    report_year: int,
    results: pd.DataFrame,
    history: Mapping[int, pd.DataFrame],
    catalogue: list[dict],
    generated_at: str,
    threshold: int = DEFAULT_THRESHOLD,
) -> str:
    """The complete ``index.html`` of one publication (section 6), as a string.

    ``results`` is the published frame of ``report_year``
    (``format_results(suppress(...))``); ``history`` maps earlier report years
    to their published frames, for the trend; ``catalogue`` lists the
    indicators in display order (section 4 keys); ``threshold`` only words the
    legend. Every catalogue indicator gets a
    ``<section id="<condition_id>-<indicator_id>" data-indicator="<indicator_id>"
    data-condition="<condition_id>">``, with "Inga resultat för detta år" when
    it has no rows.
    """
    report_year = int(report_year)
    results = results if results is not None else pd.DataFrame()
    if not results.empty:
        # Section 2 order, whatever the caller passed, so the page is the same for the same rows.
        results = sort_results(results[results["report_year"].astype(int) == report_year])
    conditions: dict[str, str] = {}
    for e in catalogue:
        conditions.setdefault(str(e["condition_id"]), str(e.get("condition_name") or e["condition_id"]))

    toc, body = [], []
    for condition_id, condition_name in conditions.items():
        entries = [e for e in catalogue if str(e["condition_id"]) == condition_id]
        toc.append(
            f'<li><a href="#{_esc(condition_id)}">{_esc(condition_name)}</a><ul>'
            + "".join(
                f'<li><a href="#{_esc(condition_id)}-{_esc(e["indicator_id"])}">'
                f'{_esc(e["indicator_id"])} – {_esc(e.get("name") or "")}</a></li>'
                for e in entries
            )
            + "</ul></li>"
        )
        sections = []
        for e in entries:
            rows = (
                results[(results["condition_id"] == condition_id) & (results["indicator_id"] == str(e["indicator_id"]))]
                if not results.empty
                else pd.DataFrame()
            )
            sections.append(_indicator_section(e, rows, report_year, history, threshold))
        body.append(
            f'<section class="condition" id="{_esc(condition_id)}"><h2>{_esc(condition_name)}</h2>'
            + "".join(sections)
            + "</section>"
        )

    warning = ""
    if not results.empty:
        known = {(str(e["condition_id"]), str(e["indicator_id"])) for e in catalogue}
        present = dict.fromkeys(zip(results["condition_id"], results["indicator_id"], strict=True))
        orphans = [f"{c} {i}" for c, i in present if (c, i) not in known]
        if orphans:
            warning = (
                '<p class="warning">Resultat utan post i indikatorkatalogen visas inte: '
                f"{_esc(', '.join(orphans))}.</p>"
            )

    n_rows = len(results)
    n_small = int((results["suppression_reason"] == REASON_PRIMARY).sum()) if n_rows else 0
    n_compl = int((results["suppression_reason"] == REASON_SECONDARY).sum()) if n_rows else 0
    title = f"Årlig uppföljning av nationell högspecialiserad vård – rapportår {report_year}"
    return (
        "<!DOCTYPE html>\n"
        '<html lang="sv">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_esc(title)} (förhandsgranskning)</title>\n"
        f"<style>{_CSS}</style>\n</head>\n<body>\n"
        '<header class="page">'
        '<p><span class="badge">Förhandsgranskning – ej publicerad</span></p>'
        f"<h1>{_esc(title)}</h1>"
        f'<p class="meta">Genererad {_esc(generated_at)} · rapportår {report_year} · '
        f"{n_rows} resultatrader, varav {n_small} undertryckta för få fall och "
        f"{n_compl} för att skydda andra celler</p>"
        "</header>\n<main>\n"
        f"<p>Sidan visar resultaten för rapportår {report_year} så som de kommer att publiceras, "
        "efter röjandekontroll, så att de kan granskas innan de går ut på webbplatsen. "
        "Varje indikator visar riket och varje enhet sida vid sida, ett diagram per enhet, "
        "redovisning efter bakgrundsvariabler och trenden för riket över de rapportår som "
        "publicerats hittills. Decimaltal avrundas till en decimal.</p>"
        f"{_legend(threshold)}{warning}"
        f'<nav class="toc" aria-label="Innehåll"><h2>Innehåll</h2><ul>{"".join(toc)}</ul></nav>\n'
        + "\n".join(body)
        + "\n</main>\n"
        f'<footer class="page"><p>Förhandsgranskning – ej publicerad. Genererad {_esc(generated_at)}.</p>'
        f"{_legend(threshold)}</footer>\n</body>\n</html>\n"
    )
