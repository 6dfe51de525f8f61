"""Swedish number formatting and the marks of the preview page (shared by the page and its charts)."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import pandas as pd

from nhv_pipeline.indicators.model import is_proportion

if TYPE_CHECKING:  # pragma: no cover - typing only
    from nhv_pipeline.core.condition import Condition

_SHOWN: ContextVar[tuple["Condition", ...]] = ContextVar("nhv_shown_conditions", default=())


@contextmanager
def conditions_shown(conditions: Iterable["Condition"]) -> Iterator[None]:
    """The conditions a page is rendered for, while it is rendered (`render_preview`): their own
    measures' kinds and names, and their breakdowns' names, for the functions below that see a
    measure only."""
    token = _SHOWN.set(tuple(conditions))
    try:
        yield
    finally:
        _SHOWN.reset(token)


def shown_conditions() -> tuple["Condition", ...]:
    """The conditions of the page being rendered (none outside `conditions_shown`)."""
    return _SHOWN.get()


class _ProportionMeasures:
    """The measures that are proportions: the shared ones and those a condition of the page being
    rendered declares (`measure in PROPORTION_MEASURES`)."""

    def __contains__(self, measure: object) -> bool:
        return is_proportion(str(measure), shown_conditions())


PROPORTION_MEASURES = _ProportionMeasures()

NO_RESULTS = "Inga resultat för detta år"
MISSING_MARK = "."
#: PUBLICATION.md section 3: one mark for every suppressed cell, whatever the reason.
SUPPRESSED_MARK = "–"

NBSP = "\u00a0"
MINUS = "\u2212"


def missing(v: Any) -> bool:
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
    return NBSP.join(groups)


def format_number(v: Any, decimals: int = 1) -> str:
    """``1234.5`` -> ``"1234,5"``, ``-0.5`` -> ``"−0,5"``, ``12345`` -> ``"12 345,0"``; empty -> ``""``.

    The published values are already rounded (section 2), so this only prints them.
    """
    if missing(v):
        return ""
    x = float(v)
    text = f"{abs(x):.{decimals}f}"
    whole, _, frac = text.partition(".")
    out = _group(whole) + ("," + frac if frac else "")
    return (MINUS if x < 0 and float(text) != 0 else "") + out


def format_integer(v: Any) -> str:
    return format_number(v, 0)


def compact(v: float) -> str:
    """Axis labels: at most one decimal, no trailing ",0"."""
    text = format_number(v, 1)
    return text[:-2] if text.endswith(",0") else text


def esc(v: Any) -> str:
    """HTML-escaped text (for the SVG charts, which are built as strings)."""
    return html.escape("" if missing(v) else str(v), quote=True)


def iso(v: Any) -> str:
    if missing(v):
        return ""
    if isinstance(v, pd.Timestamp | dt.datetime):
        return v.date().isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    return str(v)[:10]


def headline(row: Mapping[str, Any], measure: str) -> tuple[str, str]:
    """The headline figure of a row and a small line under it (used in breakdown tables)."""
    if measure in PROPORTION_MEASURES:
        value = format_number(row["value"])
        sub = ""
        if not missing(row["numerator"]) and not missing(row["denominator"]):
            sub = f"{format_integer(row['numerator'])} av {format_integer(row['denominator'])}"
        return (value + NBSP + "%" if value else ""), sub
    if measure == "distribution":
        value = format_number(row["value"])
        return value, ("N" + NBSP + "=" + NBSP + format_integer(row["n"]) if not missing(row["n"]) else "")
    return format_integer(row["value"]), ""
