"""The preview page's charts as inline SVG: bars per unit, the national trend and funnel plots.

No script and no URL: each chart is one ``<svg>`` string. Every chart has a
text alternative (``role="img"`` with a ``<title>`` and a ``<desc>`` that lists
the figures it draws), so a screen reader gets what a sighted reader sees.

The charts are drawn 400 units wide with 13-unit text and scale with the
column (CSS caps them at 30rem): at a 390 px phone the column is about 366 px,
so text stays near 12 px, and on a desktop about 15 px. Names sit above their
bars instead of beside them, so a long unit name never squeezes the bars.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from .formatting import (
    MISSING_MARK,
    NBSP,
    PROPORTION_MEASURES,
    SUPPRESSED_MARK,
    compact,
    esc,
    format_integer,
    format_number,
    headline,
    missing,
)

WIDTH = 400.0
FONT = 13.0
LINE = 16.0

INK, MUTED, BAR, RIKET, TARGET, GRID = "#1d2733", "#5b6776", "#3a7ca5", "#b5541c", "#2e7d32", "#d9dee4"

#: Two-sided normal quantiles of the funnel plot's control limits (95 % and 99.8 %).
Z95 = 1.959964
Z998 = 3.090232


def nice_ceiling(x: float) -> float:
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


def text_width(text: str, size: float) -> float:
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


def wrap(label: str, max_width: float, size: float, max_lines: int = 3) -> list[str]:
    """The label in lines no wider than ``max_width``, filled word by word, at most ``max_lines``.

    Only what is still left after the last line (or a single word wider than
    the column) is cut with "…"; the full name stays in the element's ``<title>``.
    """
    lines: list[str] = []
    for word in label.split(" "):
        if lines and text_width(f"{lines[-1]} {word}", size) <= max_width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    if len(lines) > max_lines:
        lines = lines[: max_lines - 1] + [" ".join(lines[max_lines - 1 :])]
    fitted = []
    for line in lines:
        while text_width(line, size) > max_width and len(line) > 1:
            line = line[:-2].rstrip() + "…"
        fitted.append(line)
    return fitted


def halo(text: str, x: float, y: float, size: float = FONT, anchor: str = "start", fill: str = "") -> str:
    """A label with a white outline drawn under the glyphs, so a grid or reference line behind it
    never runs through the figures."""
    colour = f' fill="{fill}"' if fill else ""
    return (
        f'<text x="{_f(x)}" y="{_f(y)}" font-size="{size:g}" text-anchor="{anchor}"{colour} '
        f'stroke="#fff" stroke-width="3" stroke-linejoin="round" paint-order="stroke">{text}</text>'
    )


def _open(chart_id: str, width: float, height: float, title: str, desc: str) -> list[str]:
    return [
        f'<svg viewBox="0 0 {_f(width)} {_f(height)}" role="img" aria-labelledby="{chart_id}-t" '
        f'aria-describedby="{chart_id}-d">',
        f'<title id="{chart_id}-t">{esc(title)}</title>',
        f'<desc id="{chart_id}-d">{esc(desc)}</desc>',
    ]


def _figure_text(row: Mapping[str, Any] | None, measure: str) -> str:
    if row is None or missing(row.get("value")) and not row.get("suppressed"):
        return "värde saknas"
    if row["suppressed"]:
        return "undertryckt"
    return headline(row, measure)[0]


def _percent(v: float) -> str:
    return format_number(v) + NBSP + "%"


def bar_chart(
    chart_id: str,
    title: str,
    units: Sequence[Mapping[str, Any]],
    riket: Mapping[str, Any] | None,
    measure: str,
    target_level: float | None = None,
) -> str:
    """Horizontal bars of the units' total rows; riket (and a target level, if set) as reference lines.

    For a count, riket is the sum of the units (INDICATORS.md section 1), so a
    reference line would only squash the bars: it is named in the caption instead.
    Proportions get their 95 % Wilson interval as a whisker.

    Layout, top to bottom: a header band that holds only the reference labels
    (so they can never meet a bar's value label, whatever the values), one
    block per unit (its name on one or more lines, the bar under it), the axis
    with its tick labels.
    """
    is_share = measure in PROPORTION_MEASURES
    shown = [u for u in units if not u["suppressed"] and not missing(u["value"])]
    riket_value = None
    if measure != "count" and riket is not None and not riket["suppressed"] and not missing(riket["value"]):
        riket_value = float(riket["value"])
    target = float(target_level) if target_level is not None and not missing(target_level) else None
    candidates = [float(u["value"]) for u in shown]
    if is_share:
        scale_max = 100.0
    else:
        candidates += [v for v in (riket_value, target) if v is not None]
        scale_max = nice_ceiling(max(candidates, default=0.0))
    suffix = NBSP + "%" if is_share else ""

    width, size, left = WIDTH, FONT, 6.0
    names = [wrap(str(u["unit_name"]), width - 2 * left, size) for u in units]
    value_texts = [headline(u, measure)[0] for u in shown]
    tick_texts = [compact(t) + suffix for t in (0.0, scale_max / 2, scale_max)]
    right_pad = 8 + max([text_width(t, size) + 6 for t in value_texts] + [text_width(tick_texts[-1], size) / 2, 24])
    plot_w = width - left - right_pad
    bar_h = 18.0
    bands = [b for b in (riket_value, target) if b is not None]
    top = 8.0 + LINE * len(bands) + (6.0 if bands else 0.0)
    bottom = 28.0
    row_hs = [LINE * len(lines) + 4 + bar_h + 10 for lines in names]
    height = top + (sum(row_hs) if units else 20.0) + bottom
    plot_bottom = height - bottom

    def x(v: float) -> float:
        return left + plot_w * max(0.0, v) / scale_max

    desc = "; ".join(f"{u['unit_name']}: {_figure_text(u, measure)}" for u in units)
    if riket_value is not None:
        desc += f". Riket: {headline(riket, measure)[0]}"
    if target is not None:
        desc += f". Målnivå: {compact(target)}{suffix}"
    parts = _open(chart_id, width, height, title, desc)
    for tick, text in zip((0.0, scale_max / 2, scale_max), tick_texts, strict=True):
        tx = x(tick)
        parts.append(f'<line x1="{_f(tx)}" y1="{_f(top)}" x2="{_f(tx)}" y2="{_f(plot_bottom)}" stroke="{GRID}" stroke-width="1"/>')
        anchor = "start" if tick == 0.0 else "middle"
        parts.append(
            f'<text x="{_f(tx)}" y="{_f(plot_bottom + 18)}" font-size="{size:g}" text-anchor="{anchor}">{esc(text)}</text>'
        )
    labels = []
    y = top
    for u, lines, row_h in zip(units, names, row_hs, strict=True):
        name = esc(str(u["unit_name"]))
        more = "".join(f'<tspan x="{_f(left)}" dy="{LINE:g}">{esc(line)}</tspan>' for line in lines[1:])
        labels.append(
            f'<text x="{_f(left)}" y="{_f(y + size)}" font-size="{size:g}" stroke="#fff" stroke-width="3" '
            f'stroke-linejoin="round" paint-order="stroke"><title>{name}</title>{esc(lines[0])}{more}</text>'
        )
        bar_y = y + LINE * len(lines) + 4
        mid = bar_y + bar_h / 2 + 4.5
        y += row_h
        if u["suppressed"]:
            labels.append(halo(f"{SUPPRESSED_MARK} undertryckt", left + 4, mid, fill=MUTED))
            continue
        if missing(u["value"]):
            labels.append(halo(f"{MISSING_MARK} saknas", left + 4, mid, fill=MUTED))
            continue
        v = float(u["value"])
        parts.append(
            f'<rect x="{_f(left)}" y="{_f(bar_y)}" width="{_f(x(v) - left)}" height="{_f(bar_h)}" fill="{BAR}"/>'
        )
        end = x(v)
        if is_share and not missing(u["ci_low"]) and not missing(u["ci_high"]):
            lo, hi = x(float(u["ci_low"])), x(float(u["ci_high"]))
            cy = bar_y + bar_h / 2
            parts.append(
                f'<path d="M{_f(lo)} {_f(cy)}H{_f(hi)}M{_f(lo)} {_f(cy - 5)}V{_f(cy + 5)}'
                f'M{_f(hi)} {_f(cy - 5)}V{_f(cy + 5)}" stroke="{INK}" stroke-width="1.2" fill="none"/>'
            )
            end = max(end, hi)
        labels.append(halo(esc(headline(u, measure)[0]), end + 6, mid))
    band_y = 8.0 + size - 2
    for value, label, colour, dash in (
        (riket_value, "Riket " + (headline(riket, measure)[0] if riket_value is not None else ""), RIKET, "5 3"),
        (target, f"Målnivå {compact(target) + suffix if target is not None else ''}", TARGET, "2 3"),
    ):
        if value is None:
            continue
        rx = x(value)
        parts.append(
            f'<line x1="{_f(rx)}" y1="{_f(band_y + 4)}" x2="{_f(rx)}" y2="{_f(plot_bottom)}" '
            f'stroke="{colour}" stroke-width="2" stroke-dasharray="{dash}"/>'
        )
        half = text_width(label, size) / 2
        # Centred on the line, but kept inside the chart near either end of the scale.
        lx = min(max(rx, left + half), width - half - 2)
        parts.append(
            f'<text x="{_f(lx)}" y="{_f(band_y)}" font-size="{size:g}" text-anchor="middle" fill="{colour}">{esc(label)}</text>'
        )
        band_y += LINE
    # Names and value labels last: their white outline covers the grid and the reference lines beneath them.
    parts.extend(labels)
    parts.append("</svg>")
    return "".join(parts)


def trend_chart(
    chart_id: str, title: str, points: Sequence[tuple[int, Mapping[str, Any] | None]], measure: str
) -> str:
    """Line chart of the riket total over report years; a missing or withheld year breaks the line.

    Value labels sit above their points, at least half a label's width right
    of the y axis, so they never reach the tick labels left of it; a year
    without a figure says so in words in the middle of the plot, not as a lone
    mark by the axis.
    """
    is_share = measure in PROPORTION_MEASURES
    size = FONT
    shown = [r for _, r in points if r is not None and not r["suppressed"] and not missing(r["value"])]
    scale_max = 100.0 if is_share else nice_ceiling(max((float(r["value"]) for r in shown), default=0.0))
    value_texts = {id(r): headline(r, measure)[0] for r in shown}
    gaps = {year: ("undertryckt" if r is not None and r["suppressed"] else "saknas") for year, r in points
            if r is None or r["suppressed"] or missing(r["value"])}
    left, right, top, plot_h, bottom = 56.0, 12.0, 24.0, 130.0, 30.0
    width = WIDTH
    plot_w = width - left - right
    height = top + plot_h + bottom
    span = max(len(points) - 1, 1)
    # Every label centred on a year stays clear of the tick labels left of the plot.
    inset = max(
        [26.0]
        + [text_width(t, size) / 2 + 8 for t in value_texts.values()]
        + [text_width(w, size) / 2 + 8 for w in gaps.values()]
    )
    step = (plot_w - 2 * inset) / span

    def px(i: int) -> float:
        return left + inset + (step * i if len(points) > 1 else (plot_w - 2 * inset) / 2)

    def py(v: float) -> float:
        return top + plot_h * (1 - max(0.0, v) / scale_max)

    desc = "; ".join(f"{year}: {_figure_text(r, measure)}" for year, r in points)
    parts = _open(chart_id, width, height, title, desc)
    for tick in (0.0, scale_max / 2, scale_max):
        ty = py(tick)
        parts.append(
            f'<line x1="{_f(left)}" y1="{_f(ty)}" x2="{_f(left + plot_w)}" y2="{_f(ty)}" stroke="{GRID}" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{_f(left - 6)}" y="{_f(ty + 4.5)}" font-size="{size:g}" text-anchor="end">'
            f"{compact(tick)}{NBSP + '%' if is_share else ''}</text>"
        )
    segment: list[str] = []
    segments: list[list[str]] = []
    labels = []
    for i, (year, r) in enumerate(points):
        parts.append(
            f'<text x="{_f(px(i))}" y="{_f(height - bottom + 20)}" font-size="{size:g}" text-anchor="middle">{year}</text>'
        )
        if r is None or r["suppressed"] or missing(r["value"]):
            if segment:
                segments.append(segment)
            segment = []
            word = gaps[year]
            tip = "Riket undertryckt" if word == "undertryckt" else "Inget värde för riket detta år"
            if text_width(word, size) > step - 4 and len(points) > 1:
                word = SUPPRESSED_MARK if word == "undertryckt" else MISSING_MARK
            labels.append(halo(f"<title>{tip}</title>{word}", px(i), top + plot_h / 2 + 4, size, "middle", MUTED))
            continue
        segment.append(f"{_f(px(i))} {_f(py(float(r['value'])))}")
    if segment:
        segments.append(segment)
    for seg in segments:
        if len(seg) > 1:
            parts.append(f'<path d="M{"L".join(seg)}" stroke="{RIKET}" stroke-width="2" fill="none"/>')
    for i, (_, r) in enumerate(points):
        if r is None or r["suppressed"] or missing(r["value"]):
            continue
        cx, cy = px(i), py(float(r["value"]))
        parts.append(f'<circle cx="{_f(cx)}" cy="{_f(cy)}" r="3.5" fill="{RIKET}"/>')
        labels.append(halo(esc(value_texts[id(r)]), cx, cy - 8, size=size, anchor="middle"))
    parts.extend(labels)
    parts.append("</svg>")
    return "".join(parts)


def funnel_limits(p0: float, n: float, z: float) -> tuple[float, float]:
    """Control limits of a proportion around the national ``p0`` (0..1) for a unit of size ``n``.

    The normal approximation to the binomial used for funnel plots
    (Spiegelhalter 2005; the ``proportion`` funnels of PHEindicatormethods
    without its exact-binomial refinement):

        p0 ± z · sqrt(p0 · (1 − p0) / n),  clipped to [0, 1],

    with z = 1.959964 for the 95 % limits and z = 3.090232 for the 99.8 % limits
    (two-sided). A unit outside the 99.8 % limits differs from the national
    proportion by more than chance would explain about once in 500 units.
    """
    if n <= 0:
        return 0.0, 1.0
    half = z * math.sqrt(max(p0 * (1 - p0), 0.0) / n)
    return max(0.0, p0 - half), min(1.0, p0 + half)


def funnel_position(p: float, p0: float, n: float) -> str:
    """Where a unit's proportion ``p`` lies: inside the 95 % limits, between them, or outside 99.8 %."""
    lo95, hi95 = funnel_limits(p0, n, Z95)
    lo998, hi998 = funnel_limits(p0, n, Z998)
    if lo95 <= p <= hi95:
        return "inom 95 %-gränserna"
    if lo998 <= p <= hi998:
        return "utanför 95 %-gränserna, inom 99,8 %"
    return "utanför 99,8 %-gränserna"


def funnel_key(units: Sequence[Mapping[str, Any]], riket: Mapping[str, Any]) -> list[str]:
    """The numbered key of a funnel plot: each unit's name, figure and position against the limits."""
    p0 = float(riket["numerator"]) / float(riket["denominator"])
    return [
        f"{u['unit_name']}: {_percent(float(u['value']))} ({format_integer(u['numerator'])} av "
        f"{format_integer(u['denominator'])}), "
        + funnel_position(float(u["numerator"]) / float(u["denominator"]), p0, float(u["denominator"]))
        for u in units
    ]


def funnel_plot(
    chart_id: str,
    title: str,
    units: Sequence[Mapping[str, Any]],
    riket: Mapping[str, Any],
    target_level: float | None = None,
) -> str:
    """Each unit's percent against its denominator n, with the national line and its control limits.

    ``units`` are published proportion rows (numerator and denominator shown,
    denominator > 0); ``riket`` the published national row. Limits: see
    ``funnel_limits``; 95 % dashed, 99.8 % dotted. ``target_level`` (percent)
    is drawn as a green line where set.
    """
    size = FONT
    p0 = float(riket["numerator"]) / float(riket["denominator"])
    ns = [float(u["denominator"]) for u in units]
    x_max = nice_ceiling(max(ns) * 1.1)
    left, right, top, plot_h, bottom = 56.0, 16.0, 12.0, 210.0, 48.0
    width = WIDTH
    plot_w = width - left - right
    height = top + plot_h + bottom

    def px(n: float) -> float:
        return left + plot_w * n / x_max

    def py(pct: float) -> float:
        return top + plot_h * (1 - max(0.0, min(100.0, pct)) / 100.0)

    desc = f"Riket {_percent(100 * p0)}. " + "; ".join(
        f"{i}. {line}" for i, line in enumerate(funnel_key(units, riket), start=1)
    )
    if target_level is not None:
        desc += f". Målnivå: {_percent(float(target_level))}"
    parts = _open(chart_id, width, height, title, desc)
    for tick in (0.0, 50.0, 100.0):
        ty = py(tick)
        parts.append(f'<line x1="{_f(left)}" y1="{_f(ty)}" x2="{_f(left + plot_w)}" y2="{_f(ty)}" stroke="{GRID}" stroke-width="1"/>')
        parts.append(f'<text x="{_f(left - 6)}" y="{_f(ty + 4.5)}" font-size="{size:g}" text-anchor="end">{compact(tick)}{NBSP}%</text>')
    for tick in (0.0, x_max / 2, x_max):
        tx = px(tick)
        parts.append(f'<line x1="{_f(tx)}" y1="{_f(top)}" x2="{_f(tx)}" y2="{_f(top + plot_h)}" stroke="{GRID}" stroke-width="1"/>')
        parts.append(f'<text x="{_f(tx)}" y="{_f(top + plot_h + 18)}" font-size="{size:g}" text-anchor="middle">{compact(tick)}</text>')
    parts.append(
        f'<text x="{_f(left + plot_w / 2)}" y="{_f(height - 8)}" font-size="{size:g}" text-anchor="middle">'
        "Antal i nämnaren (n)</text>"
    )
    steps = 80
    grid = [max(x_max * i / steps, 1.0) for i in range(0, steps + 1)]
    for z, dash in ((Z95, "6 3"), (Z998, "2 3")):
        for side in (0, 1):
            path = "L".join(f"{_f(px(n))} {_f(py(100 * funnel_limits(p0, n, z)[side]))}" for n in grid)
            parts.append(f'<path d="M{path}" stroke="{MUTED}" stroke-width="1.3" stroke-dasharray="{dash}" fill="none"/>')
    parts.append(
        f'<line x1="{_f(left)}" y1="{_f(py(100 * p0))}" x2="{_f(left + plot_w)}" y2="{_f(py(100 * p0))}" '
        f'stroke="{RIKET}" stroke-width="2"/>'
    )
    if target_level is not None:
        ty = py(float(target_level))
        parts.append(
            f'<line x1="{_f(left)}" y1="{_f(ty)}" x2="{_f(left + plot_w)}" y2="{_f(ty)}" stroke="{TARGET}" '
            'stroke-width="2" stroke-dasharray="2 3"/>'
        )
    # Points are numbered as in the key under the chart (funnel_key); neighbouring numbers go to
    # alternate sides of their points, so two units of about the same size and share stay legible.
    labels = []
    order = sorted(range(len(units)), key=lambda i: (float(units[i]["denominator"]), i))
    for rank, i in enumerate(order):
        u = units[i]
        cx, cy = px(float(u["denominator"])), py(float(u["value"]))
        parts.append(f'<circle cx="{_f(cx)}" cy="{_f(cy)}" r="4.5" fill="{BAR}" stroke="#fff" stroke-width="1"/>')
        right_side = rank % 2 == 0
        if cx > left + plot_w - 20:
            right_side = False
        elif cx < left + 20:
            right_side = True
        labels.append(
            halo(f"<title>{esc(str(u['unit_name']))}</title>{i + 1}", cx + (8 if right_side else -8), cy + 4.5, size,
                 "start" if right_side else "end")
        )
    parts.extend(labels)
    parts.append("</svg>")
    return "".join(parts)
