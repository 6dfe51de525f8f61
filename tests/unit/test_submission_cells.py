"""Which rows a submission has, and the canonical submission.csv (SUBMISSION.md 2), on hand-counted cases.

Cell counts per indicator (INDICATORS.md 2-4): a breakdown with a fixed value list gives all its
values; home_region has 22 (the 21 county codes and 99), sex 2, sct_offered 2, age_group 2,
contact_type 3, respondent 2.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import date

import pandas as pd
import pytest

from indicator_fixtures import concat, skel, units
from nhv_pipeline.core import labels
from nhv_pipeline.conditions import get_condition, registered
from nhv_pipeline.indicators import compute, get_indicator, make_catalogue
from nhv_pipeline.submission.cells import (
    KEY_COLUMNS,
    OPTIONAL_COLUMNS,
    SUBMISSION_COLUMNS,
    Cell,
    breakdown_values,
    required_cells,
    submission_frame,
    write_submission_csv,
)

SCT = get_condition("sct_ssc")
SKEL = get_condition("skeletal_dysplasia")


def _per_indicator(cells: tuple[Cell, ...]) -> dict[str, int]:
    return dict(Counter(f"{cell.indicator.indicator_id}/{cell.measure}" for cell in cells))


def test_header_and_key_columns_are_section_2():
    assert SUBMISSION_COLUMNS == (
        "indicator_id", "measure", "breakdown", "breakdown_value",
        "n", "numerator", "denominator", "mean", "sd", "p10", "median", "p90",
    )  # fmt: skip
    assert KEY_COLUMNS == ("indicator_id", "measure", "breakdown", "breakdown_value")
    assert OPTIONAL_COLUMNS == ("period_start", "period_end")


def test_breakdown_values_are_the_fixed_lists_of_indicators_section_4():
    assert breakdown_values(SCT, "total") == ("total",)
    assert breakdown_values(SCT, "home_region") == labels.HOME_REGION_CODES
    assert len(breakdown_values(SCT, "home_region")) == 22 and breakdown_values(SCT, "home_region")[-1] == "99"
    assert breakdown_values(SKEL, "sex") == ("K", "M")
    assert breakdown_values(SCT, "sct_offered") == ("yes", "no")
    assert breakdown_values(SKEL, "contact_type") == ("mdk", "new_visit", "treatment_conference")
    # A condition's own breakdown is its own: sct_ssc has no age_group list.
    assert breakdown_values(SKEL, "age_group") == ("child", "adult")
    assert breakdown_values(SCT, "age_group") is None


@pytest.mark.parametrize(
    ("report_year", "expected"),
    [
        (2023, {}),  # before the first specification applies
        # B1 1+22+2, B2 1, B3 1+22, B4 1, T1 1+2, T2 1, Ö1 1 = 55.
        (2024, {"B1/count": 25, "B2/distribution": 1, "B3/count": 23, "B4/distribution": 1,
                "T1/distribution": 3, "T2/distribution": 1, "Ö1/proportion": 1}),
        # R1 and P1 begin in 2025: 57.
        (2025, {"B1/count": 25, "B2/distribution": 1, "B3/count": 23, "B4/distribution": 1,
                "T1/distribution": 3, "T2/distribution": 1, "R1/proportion": 1, "P1/response_rate": 1,
                "Ö1/proportion": 1}),
        # R2 begins in 2026: 58.
        (2026, {"B1/count": 25, "B2/distribution": 1, "B3/count": 23, "B4/distribution": 1,
                "T1/distribution": 3, "T2/distribution": 1, "R1/proportion": 1, "R2/proportion": 1,
                "P1/response_rate": 1, "Ö1/proportion": 1}),
    ],
)
def test_sct_required_rows_per_report_year(report_year, expected):
    cells = required_cells(SCT, report_year)
    assert _per_indicator(cells) == expected
    assert len(cells) == sum(expected.values())


@pytest.mark.parametrize(
    ("report_year", "expected"),
    [
        (2025, {}),  # the condition started 2025-09-01: its first report year is 2026
        # B1 25, B2 1+3, B3 1+2, T1 1, R1 1, P1 positive_share 1+2 and response_rate 1, Ö1 1 = 39.
        (2026, {"B1/count": 25, "B2/count": 4, "B3/distribution": 3, "T1/distribution": 1,
                "R1/proportion": 1, "P1/positive_share": 3, "P1/response_rate": 1, "Ö1/proportion": 1}),
    ],
)
def test_skeletal_dysplasia_required_rows_per_report_year(report_year, expected):
    assert _per_indicator(required_cells(SKEL, report_year)) == expected


def test_an_indicator_that_has_not_begun_has_no_rows():
    # sct R2 (first report year 2026, cohort lag 3) has no rows in 2025, R1 none in 2024.
    assert not [cell for cell in required_cells(SCT, 2025) if cell.indicator.indicator_id == "R2"]
    assert not [cell for cell in required_cells(SCT, 2024) if cell.indicator.indicator_id in ("R1", "P1")]
    r2 = [cell for cell in required_cells(SCT, 2026) if cell.indicator.indicator_id == "R2"]
    # Its period is the cohort year R-3.
    assert [(cell.key, cell.period_start, cell.period_end) for cell in r2] == [
        (("R2", "proportion", "total", "total"), date(2023, 1, 1), date(2023, 12, 31))
    ]


def test_catalogue_order_total_first_then_breakdowns_in_declared_order():
    cells = required_cells(SCT, 2024)
    keys = [cell.key for cell in cells]
    assert keys[0] == ("B1", "count", "total", "total")
    assert keys[1:23] == [("B1", "count", "home_region", code) for code in labels.HOME_REGION_CODES]
    assert keys[23:25] == [("B1", "count", "sex", "K"), ("B1", "count", "sex", "M")]
    assert keys[25] == ("B2", "distribution", "total", "total")
    assert [cell.indicator.indicator_id for cell in cells][-1] == "Ö1"
    assert len(set(keys)) == len(keys)
    # P1 of skeletal: positive_share with its respondent rows, then response_rate (total only).
    p1 = [cell.key[1:] for cell in required_cells(SKEL, 2026) if cell.indicator.indicator_id == "P1"]
    assert p1 == [
        ("positive_share", "total", "total"),
        ("positive_share", "respondent", "patient"),
        ("positive_share", "respondent", "relative"),
        ("response_rate", "total", "total"),
    ]


def test_cells_carry_kind_and_period_of_their_indicator():
    cells = {cell.key: cell for cell in required_cells(SKEL, 2026)}
    assert cells[("P1", "response_rate", "total", "total")].kind == "proportion"
    assert cells[("B3", "distribution", "age_group", "adult")].kind == "distribution"
    first = cells[("B1", "count", "sex", "M")]
    assert first.kind == "count"
    # The first period starts at the condition start (2025-09-01).
    assert (first.period_start, first.period_end) == (date(2025, 9, 1), date(2025, 12, 31))


def test_every_registered_condition_gets_full_grids():
    for condition in registered():
        for report_year in range(condition.first_report_year, condition.first_report_year + 3):
            cells = required_cells(condition, report_year)
            for indicator in {cell.indicator.indicator_id: cell.indicator for cell in cells}.values():
                for measure in indicator.measures:
                    for breakdown in indicator.breakdowns_for(measure):
                        got = tuple(
                            cell.breakdown_value
                            for cell in cells
                            if cell.key[:3] == (indicator.indicator_id, measure, breakdown)
                        )
                        assert got == (breakdown_values(condition, breakdown) or ())


# --- submission_frame: from the engine's unit rows --------------------------------------


def _skeletal_unit_rows() -> pd.DataFrame:
    """B1 and B3 of R = 2026 for s_a (three patients) and s_b (one), computed by the engine."""
    contacts = concat(
        skel("contacts", [
            # k1 on the first day of P(R), k2 on the last, k3 in between.
            {"contact_id": "c1", "patient_id": "k1", "contact_date": "2025-09-01", "contact_type": "new_visit",
             "visit_mode": "physical"},
            {"contact_id": "c2", "patient_id": "k2", "contact_date": "2025-12-31", "contact_type": "mdk"},
            {"contact_id": "c3", "patient_id": "k3", "contact_date": "2025-10-01", "contact_type": "mdk"},
        ], report_year=2026, unit_id="s_a"),
        skel("contacts", [
            {"contact_id": "c1", "patient_id": "k1", "contact_date": "2025-10-10", "contact_type": "new_visit",
             "visit_mode": "physical"},
        ], report_year=2026, unit_id="s_b"),
    )
    patients = concat(
        skel("patients", [
            # Ages at first assessment: k1 born 2000-09-01 -> 25, k2 born 2008-01-01 -> 17, k3 born 1990-10-02 -> 34.
            {"patient_id": "k1", "sex": "M", "home_region": "99", "birth_date": "2000-09-01"},
            {"patient_id": "k2", "sex": "K", "home_region": "01", "birth_date": "2008-01-01"},
            {"patient_id": "k3", "sex": "K", "home_region": "01", "birth_date": "1990-10-02"},
        ], report_year=2026, unit_id="s_a"),
        skel("patients", [{"patient_id": "k1", "sex": "K", "home_region": "14", "birth_date": "2000-02-29"}],
             report_year=2026, unit_id="s_b"),
    )
    tables = {"contacts": contacts, "patients": patients}
    return pd.concat(
        [compute(get_indicator("skeletal_dysplasia", i, make_catalogue(registered())), 2026, tables, units()) for i in ("B1", "B3")],
        ignore_index=True,
    )


def _unit(rows: pd.DataFrame, unit_id: str) -> pd.DataFrame:
    return rows[(rows["level"] == "enhet") & (rows["unit_id"] == unit_id)]


def _by_key(frame: pd.DataFrame) -> dict[tuple, dict]:
    return {tuple(record[c] for c in KEY_COLUMNS): record for record in frame.to_dict("records")}


def test_submission_frame_is_one_row_per_required_cell_in_order():
    frame = submission_frame(_unit(_skeletal_unit_rows(), "s_a"), SKEL, 2026)
    assert tuple(frame.columns) == SUBMISSION_COLUMNS
    assert [tuple(key) for key in frame[list(KEY_COLUMNS)].itertuples(index=False)] == [
        cell.key for cell in required_cells(SKEL, 2026)
    ]
    assert str(frame["n"].dtype) == "Int64" and str(frame["mean"].dtype) == "float64"


def test_submission_frame_counts_and_zeros_filled():
    rows = _by_key(submission_frame(_unit(_skeletal_unit_rows(), "s_a"), SKEL, 2026))
    assert rows[("B1", "count", "total", "total")]["n"] == 3
    assert rows[("B1", "count", "home_region", "01")]["n"] == 2  # k2, k3
    assert rows[("B1", "count", "home_region", "99")]["n"] == 1  # k1
    assert rows[("B1", "count", "home_region", "14")]["n"] == 0  # nobody: filled
    assert (rows[("B1", "count", "sex", "K")]["n"], rows[("B1", "count", "sex", "M")]["n"]) == (2, 1)
    # A count has no numerator, denominator or decimals.
    count = rows[("B1", "count", "total", "total")]
    assert pd.isna(count["numerator"]) and pd.isna(count["denominator"]) and math.isnan(count["mean"])


def test_submission_frame_distribution_unrounded_and_empty_decimals_at_n_0():
    rows = _by_key(submission_frame(_unit(_skeletal_unit_rows(), "s_a"), SKEL, 2026))
    total = rows[("B3", "distribution", "total", "total")]
    # Ages 25, 17, 34: mean 76/3, sd sqrt(((25-76/3)^2 + (17-76/3)^2 + (34-76/3)^2)/2), median 25.
    mean = 76 / 3
    sd = math.sqrt(((25 - mean) ** 2 + (17 - mean) ** 2 + (34 - mean) ** 2) / 2)
    assert total["n"] == 3
    assert total["mean"] == pytest.approx(mean, rel=1e-15)
    assert total["sd"] == pytest.approx(sd, rel=1e-12)
    assert total["median"] == 25.0
    # p10 = 17 + 0.2 * (25 - 17) (type 7), p90 = 25 + 0.8 * (34 - 25).
    assert total["p10"] == pytest.approx(18.6) and total["p90"] == pytest.approx(32.2)
    child = rows[("B3", "distribution", "age_group", "child")]
    # n = 1 (k2, 17 years): mean and percentiles 17, sd empty.
    assert child["n"] == 1 and child["mean"] == 17.0 and child["median"] == 17.0 and math.isnan(child["sd"])
    # A distribution nobody falls in (T1 was not computed at all): n 0, every decimal empty.
    t1 = rows[("T1", "distribution", "total", "total")]
    assert t1["n"] == 0 and all(math.isnan(t1[c]) for c in ("mean", "sd", "p10", "median", "p90"))


def test_submission_frame_proportion_zero_cell_has_zero_numerator_and_denominator():
    rows = _by_key(submission_frame(_unit(_skeletal_unit_rows(), "s_a"), SKEL, 2026))
    for key in [("R1", "proportion", "total", "total"), ("P1", "positive_share", "respondent", "relative")]:
        assert (rows[key]["n"], rows[key]["numerator"], rows[key]["denominator"]) == (0, 0, 0)
        assert math.isnan(rows[key]["mean"])


def test_submission_frame_unit_with_n_1():
    rows = _by_key(submission_frame(_unit(_skeletal_unit_rows(), "s_b"), SKEL, 2026))
    assert rows[("B1", "count", "total", "total")]["n"] == 1
    assert rows[("B1", "count", "home_region", "14")]["n"] == 1
    b3 = rows[("B3", "distribution", "total", "total")]
    # Born 2000-02-29, assessed 2025-10-10: 25 years.
    assert b3["n"] == 1 and b3["mean"] == 25.0 and math.isnan(b3["sd"])


def test_submission_frame_refuses_rows_of_two_units():
    rows = _skeletal_unit_rows()
    with pytest.raises(ValueError, match="one unit"):
        submission_frame(rows[rows["level"] == "enhet"], SKEL, 2026)


# --- write_submission_csv ----------------------------------------------------------------


def test_write_submission_csv_canonical_text(tmp_path):
    frame = submission_frame(_unit(_skeletal_unit_rows(), "s_a"), SKEL, 2026)
    path = tmp_path / "submission.csv"
    write_submission_csv(frame, path)
    raw = path.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    lines = raw.decode("utf-8").split("\n")
    assert lines[0] == ",".join(SUBMISSION_COLUMNS)
    assert lines[1] == "B1,count,total,total,3,,,,,,,"
    assert "Ö1,proportion,total,total,0,0,0,,,,," in lines
    assert "B3,distribution,age_group,child,1,,,17.0,,17.0,17.0,17.0" in lines
    assert len([line for line in lines if line]) == 1 + len(frame)


def test_write_submission_csv_decimals_round_trip_exactly(tmp_path):
    frame = submission_frame(_unit(_skeletal_unit_rows(), "s_a"), SKEL, 2026)
    path = tmp_path / "submission.csv"
    write_submission_csv(frame, path)
    back = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert tuple(back.columns) == SUBMISSION_COLUMNS
    total = back[(back["indicator_id"] == "B3") & (back["breakdown"] == "total")].iloc[0]
    mean = frame.loc[(frame["indicator_id"] == "B3") & (frame["breakdown"] == "total"), "mean"].iloc[0]
    assert float(total["mean"]) == mean  # exact, not approximately
    assert total["mean"] == repr(76 / 3)
    assert set(back["n"]) <= {str(i) for i in range(10)}  # integers without decimals
