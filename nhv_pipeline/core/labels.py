"""Swedish display labels (PUBLICATION.md section 2, `breakdown_label`), and the shared codes.

Region names are exactly those of DATA_CONTRACT.md section 3; `99` is the
project's own code for a patient not registered in Sweden. The region and sex codes
are stated here once: the contract's code lists, the labels and the sample data read
them. A condition's own breakdowns (sct_offered, contact_type, ...) are labelled in
its package (`Condition.breakdown_labels`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover - typing only
    from nhv_pipeline.core.condition import Condition

RIKET_NAME = "Riket"

TOTAL_LABEL = "Totalt"

HOME_REGION: dict[str, str] = {
    "01": "Region Stockholm",
    "03": "Region Uppsala",
    "04": "Region Sörmland",
    "05": "Region Östergötland",
    "06": "Region Jönköpings län",
    "07": "Region Kronoberg",
    "08": "Region Kalmar län",
    "09": "Region Gotland",
    "10": "Region Blekinge",
    "12": "Region Skåne",
    "13": "Region Halland",
    "14": "Västra Götalandsregionen",
    "17": "Region Värmland",
    "18": "Region Örebro län",
    "19": "Region Västmanland",
    "20": "Region Dalarna",
    "21": "Region Gävleborg",
    "22": "Region Västernorrland",
    "23": "Region Jämtland Härjedalen",
    "24": "Region Västerbotten",
    "25": "Region Norrbotten",
    "99": "Ej folkbokförd i Sverige",
}

#: DATA_CONTRACT.md 3: the county (län) codes, 99 excluded.
REGION_CODES: tuple[str, ...] = tuple(code for code in HOME_REGION if code != "99")
#: DATA_CONTRACT.md 3: every accepted home_region code.
HOME_REGION_CODES: tuple[str, ...] = tuple(HOME_REGION)

SEX: dict[str, str] = {"K": "Kvinnor", "M": "Män"}
#: DATA_CONTRACT.md 3: legal sex (juridiskt kön).
SEX_CODES: tuple[str, ...] = tuple(SEX)

#: The breakdowns every condition may use: breakdown id -> {breakdown_value: Swedish label}.
SHARED_BREAKDOWN_LABELS: dict[str, dict[str, str]] = {
    "total": {"total": TOTAL_LABEL},
    "home_region": HOME_REGION,
    "sex": SEX,
}

#: Swedish names of the shared breakdowns, for headings.
SHARED_BREAKDOWN_NAMES: dict[str, str] = {
    "total": "Totalt",
    "home_region": "Hemregion",
    "sex": "Kön",
}


def breakdown_labels(conditions: Iterable["Condition"]) -> dict[str, dict[str, str]]:
    """breakdown id -> {value: Swedish label}: the shared breakdowns and each of `conditions`' own."""
    merged = {name: dict(values) for name, values in SHARED_BREAKDOWN_LABELS.items()}
    for condition in conditions:
        for name, values in condition.breakdown_labels.items():
            merged.setdefault(name, {}).update(values)
    return merged


def breakdown_names(conditions: Iterable["Condition"]) -> dict[str, str]:
    """breakdown id -> Swedish heading, shared and each of `conditions`' own."""
    merged = dict(SHARED_BREAKDOWN_NAMES)
    for condition in conditions:
        merged.update(condition.breakdown_names)
    return merged


LEVEL_NAMES: dict[str, str] = {"riket": "Riket", "enhet": "NHV-enhet"}

MEASURE_NAMES: dict[str, str] = {
    "count": "Antal",
    "distribution": "Fördelning",
    "proportion": "Andel",
    "response_rate": "Svarsfrekvens",
    "positive_share": "Andel positiva svar",
}


def measure_name(measure: str, conditions: Iterable["Condition"] = ()) -> str:
    """The Swedish name of a measure: the shared ones, then one of `conditions`' own (`Condition.measure_names`)."""
    if measure in MEASURE_NAMES:
        return MEASURE_NAMES[measure]
    for condition in conditions:
        if measure in condition.measure_names:
            return condition.measure_names[measure]
    return measure


def breakdown_name(breakdown: str, condition: "Condition | None" = None, conditions: Iterable["Condition"] = ()) -> str:
    """The Swedish heading of a breakdown: the condition's own name first, then the shared one, then one of `conditions`'."""
    if condition is not None and breakdown in condition.breakdown_names:
        return condition.breakdown_names[breakdown]
    return breakdown_names(conditions).get(breakdown, breakdown)


def breakdown_label(
    breakdown: str, value: str, condition: "Condition | None" = None, conditions: Iterable["Condition"] = ()
) -> str:
    """The Swedish display text of one breakdown value.

    A condition's own labels win over the shared ones (an area's `age_group` is worded as its
    specification words it, whatever another area calls its age groups). An unknown value cannot
    pass validation; it raises rather than publishing a raw code (the message names the
    breakdown only, never row data). `conditions` are looked in last, for a caller that has no condition.
    """
    if condition is not None and value in condition.breakdown_labels.get(breakdown, {}):
        return condition.breakdown_labels[breakdown][value]
    shared = SHARED_BREAKDOWN_LABELS.get(breakdown)
    if shared is not None and value in shared:
        return shared[value]
    for other in conditions:
        own = other.breakdown_labels.get(breakdown)
        if own is not None and value in own:
            return own[value]
    raise KeyError(f"no Swedish label for a value of breakdown {breakdown!r}")
