"""What a publication says about units that delivered their own figures (SUBMISSION.md 4).

Plain functions, no Dagster. When a unit of a condition delivered a submission for the
report year, every `riket` row of that condition's indicators is combined from the units'
figures, and a distribution's p10, median and p90 at `riket` are empty (they can only be
computed from rows). indicator_catalogue.json says so per indicator with two keys, present
only then, so a publication made from extracts alone is what it always was:

- `riket_combined_from_submissions`: the ids of the units that delivered aggregated figures;
- `riket_percentiles_note`: for a distribution whose riket percentiles would otherwise be
  published, why they are empty this report year (Swedish, for the website).

The preview page reads the same keys.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

COMBINED_KEY = "riket_combined_from_submissions"
PERCENTILES_KEY = "riket_percentiles_note"


def percentiles_note(report_year: int) -> str:
    """Why p10, median and p90 are empty at riket for a report year with submissions."""
    return (
        f"P10, median och P90 redovisas inte för riket rapportår {int(report_year)}: minst en enhet rapporterade "
        "aggregerade uppgifter i stället för individdata, och percentiler kan bara beräknas från individdata."
    )


def mark_catalogue(
    entries: Iterable[Mapping[str, Any]],
    indicators: Iterable[Any],
    submitting: Mapping[str, Collection[str]],
    report_year: int,
) -> list[dict[str, Any]]:
    """The catalogue entries of a report year, those whose riket is combined from submissions marked.

    `indicators` are the `Indicator` declarations in force for R (`catalogue_for`), `submitting`
    maps a condition to the units that delivered a submission for R. An indicator not produced
    for R (before its first report year) is not marked: it has no rows.
    """
    declared = {(i.condition_id, i.indicator_id): i for i in indicators}
    marked = []
    for entry in entries:
        entry = dict(entry)
        indicator = declared.get((str(entry["condition_id"]), str(entry["indicator_id"])))
        units = sorted(submitting.get(str(entry["condition_id"]), ()))
        if indicator is not None and units and int(report_year) >= indicator.first_report_year:
            entry[COMBINED_KEY] = units
            if "distribution" in indicator.measures and indicator.riket_percentiles:
                entry[PERCENTILES_KEY] = percentiles_note(report_year)
        marked.append(entry)
    return marked
