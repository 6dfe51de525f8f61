"""What publishers see of units that delivered their own figures (SUBMISSION.md 4): the catalogue marks and the preview."""

from __future__ import annotations

import json

import pandas as pd

from nhv_pipeline.conditions import registered
from nhv_pipeline.indicators import catalogue_entries, catalogue_for
from nhv_pipeline.publication import format_results, render_preview, suppress
from nhv_pipeline.publication.aggregated import COMBINED_KEY, PERCENTILES_KEY, mark_catalogue
from test_submission_combine import R, _assessed, _cell, _compute, _submission

GENERATED = "2027-03-31 08:00 UTC"


def _entries(report_year: int, submitting: dict[str, set[str]]) -> dict[tuple[str, str], dict]:
    in_force = catalogue_for(registered(), report_year)
    marked = mark_catalogue(catalogue_entries(in_force), in_force, submitting, report_year)
    return {(e["condition_id"], e["indicator_id"]): e for e in marked}


def test_catalogue_marks_every_indicator_of_a_condition_with_a_submitting_unit():
    entries = _entries(2027, {"skeletal_dysplasia": {"s_c", "s_b"}})
    b3 = entries[("skeletal_dysplasia", "B3")]
    assert b3[COMBINED_KEY] == ["s_b", "s_c"]
    assert "P10, median och P90 redovisas inte för riket rapportår 2027" in b3[PERCENTILES_KEY]
    # A count or a proportion has no percentiles to explain.
    assert entries[("skeletal_dysplasia", "B1")][COMBINED_KEY] == ["s_b", "s_c"]
    assert PERCENTILES_KEY not in entries[("skeletal_dysplasia", "B1")]
    assert PERCENTILES_KEY not in entries[("skeletal_dysplasia", "Ö1")]
    # The other condition delivered extracts only: its entries are as they were.
    assert all(COMBINED_KEY not in e for (c, _), e in entries.items() if c == "sct_ssc")
    json.dumps(list(entries.values()), ensure_ascii=False)


def test_sct_b2_riket_percentiles_are_empty_by_its_specification_not_because_of_a_submission():
    entries = _entries(2027, {"sct_ssc": {"u_a"}})
    assert entries[("sct_ssc", "B2")][COMBINED_KEY] == ["u_a"]
    assert PERCENTILES_KEY not in entries[("sct_ssc", "B2")]
    assert PERCENTILES_KEY in entries[("sct_ssc", "B4")]


def test_an_indicator_not_yet_produced_is_not_marked():
    # sct R2 is produced from report year 2026.
    entries = _entries(2025, {"sct_ssc": {"u_a"}})
    assert COMBINED_KEY not in entries[("sct_ssc", "R2")]
    assert COMBINED_KEY in entries[("sct_ssc", "R1")]


def test_without_submissions_the_catalogue_is_unchanged():
    in_force = catalogue_for(registered(), 2027)
    assert mark_catalogue(catalogue_entries(in_force), in_force, {}, 2027) == catalogue_entries(in_force)


def _page(submitting: dict[str, set[str]], submission: pd.DataFrame | None) -> str:
    tables = _assessed([
        {"patient_id": "k1", "birth_date": "2016-03-01"},
        {"patient_id": "k2", "birth_date": "2006-03-01"},
        {"patient_id": "k3", "birth_date": "1996-03-01"},
    ])  # fmt: skip
    results = format_results(suppress(_compute("B3", submission, **tables), threshold=1))
    entries = [e for e in _entries(R, submitting).values() if e["condition_id"] == "skeletal_dysplasia"]
    return render_preview(R, results, {}, entries, GENERATED, threshold=1, conditions=registered())


def test_preview_marks_riket_combined_from_submissions_and_says_why_percentiles_are_empty():
    submission = _submission(
        _cell("s_b", "B3", "distribution", "total", "total", 1, mean=50.0, p10=50.0, median=50.0, p90=50.0),
        _cell("s_b", "B3", "distribution", "age_group", "child", 0),
        _cell("s_b", "B3", "distribution", "age_group", "adult", 1, mean=50.0, p10=50.0, median=50.0, p90=50.0),
    )
    page = _page({"skeletal_dysplasia": {"s_b"}}, submission)
    section = page[page.index('id="skeletal_dysplasia-B3"'):page.index('id="skeletal_dysplasia-T1"')]
    assert '<tr class="riket"><th scope="row">Riket (sammanräknat)</th>' in section
    assert "Sahlgrenska universitetssjukhuset rapporterade aggregerade uppgifter" in section
    assert "P10, median och P90 redovisas inte för riket rapportår 2027" in section
    assert "medelvärde och standardavvikelse är sammanvägda" in section and "täljare och nämnare" not in section
    # Only the indicators of that condition: B1 (no rows here) says nothing, the heading stays plain elsewhere.
    plain = _page({}, None)
    assert "sammanräknat" not in plain and "aggregerade uppgifter" not in plain
