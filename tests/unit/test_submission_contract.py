"""The submission contract (SUBMISSION.md 2-3) on small hand-made submissions.

Most cases start from the all-zero submission of a condition and report year (every required
cell with n = 0, a proportion 0 of 0, a distribution's decimals empty), which is valid, and
change one cell. Lines count as in the file: header = 1, the first cell (B1 total) = 2.
"""

from __future__ import annotations

import csv
import io
import shutil

import pandas as pd
import pytest

from nhv_pipeline.conditions import get_condition, registered
from nhv_pipeline.contract import read_registry, rules, validate_delivery
from nhv_pipeline.contract.reader import REDACTED
from nhv_pipeline.submission import intake
from nhv_pipeline.submission.cells import SUBMISSION_COLUMNS, required_cells, write_submission_csv
from nhv_pipeline.submission.contract import (
    RAW_COLUMNS,
    Locator,
    parse_submission_csv,
    raw_submission_rows,
    validate_submission,
)
from submission_fixtures import replace_with_submission, unit_submission

SCT = get_condition("sct_ssc")
SKEL = get_condition("skeletal_dysplasia")
FILE = "2026/sct_ssc/akademiska/submission.csv"


def zero_rows(condition, report_year: int) -> list[dict[str, str]]:
    """The all-zero submission: valid, and small enough to reason about by hand."""
    rows = []
    for cell in required_cells(condition, report_year):
        row = dict(zip(SUBMISSION_COLUMNS, (*cell.key, "0", "", "", "", "", "", "", "")))
        if cell.kind == "proportion":
            row["numerator"] = row["denominator"] = "0"
        rows.append(row)
    return rows


def find(rows: list[dict], indicator_id: str, breakdown: str = "total", value: str = "total", measure: str | None = None) -> dict:
    return next(
        row for row in rows
        if (row["indicator_id"], row["breakdown"], row["breakdown_value"]) == (indicator_id, breakdown, value)
        and (measure is None or row["measure"] == measure)
    )


def line_of(rows: list[dict], row: dict) -> int:
    return rows.index(row) + 2


def as_bytes(rows: list[dict], delimiter: str = ",", columns=SUBMISSION_COLUMNS) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([[row.get(column, "") for column in columns] for row in rows])
    return out.getvalue().encode("utf-8")


def check(rows, condition=SCT, report_year=2026, *, delimiter=",", columns=SUBMISSION_COLUMNS, earlier=None) -> pd.DataFrame:
    """Read the rows as a submission.csv and check them; the failures (reader's and contract's)."""
    read = parse_submission_csv(as_bytes(rows, delimiter, columns), FILE)
    parts = [pd.DataFrame(read.failures, columns=rules.ROW_FAILURE_COLUMNS)]
    if read.rows is not None:
        parts.append(validate_submission(read.rows, condition, report_year, "akademiska", read.locator,
                                         decimal_comma=read.decimal_comma, earlier=earlier).failures)
    return rules.concat(parts)


def only(failures: pd.DataFrame, rule: str) -> pd.DataFrame:
    assert set(failures["rule"]) == {rule}, failures.to_string()
    return failures


@pytest.mark.parametrize(("condition", "report_year"), [(SCT, 2024), (SCT, 2026), (SKEL, 2026), (SKEL, 2027)])
def test_the_all_zero_submission_passes(condition, report_year):
    assert check(zero_rows(condition, report_year), condition, report_year).empty


def test_a_submission_made_from_the_sample_extracts_passes(sample_data):
    frame = unit_submission(sample_data, "sct_ssc", 2026, "akademiska")
    rows = frame.astype(object).where(frame.notna(), "").astype(str).to_dict("records")
    rows = [{k: (repr(float(v)) if k in ("mean", "sd", "p10", "median", "p90") and v else v) for k, v in row.items()} for row in rows]
    assert check(rows).empty


# --- which rows -------------------------------------------------------------------------------


def test_a_missing_row_names_its_cell():
    rows = zero_rows(SCT, 2026)
    rows.remove(find(rows, "B1", "home_region", "13"))
    failures = only(check(rows), rules.SUBMISSION_MISSING_ROW)
    assert len(failures) == 1
    first = failures.iloc[0]
    assert (first["file"], pd.isna(first["line"]), first["column"]) == (FILE, True, "")
    assert "B1 count home_region=13" in first["message"]


def test_an_unknown_value_an_unknown_measure_and_an_indicator_not_yet_begun():
    rows = zero_rows(SCT, 2026)
    rows.append({**find(rows, "B1", "home_region", "01"), "breakdown_value": "02"})  # no county 02
    rows.append({**find(rows, "B1"), "measure": "proportion"})
    rows.append({**find(rows, "B1"), "indicator_id": "X9"})
    failures = only(check(rows), rules.SUBMISSION_UNKNOWN_ROW)
    n = len(zero_rows(SCT, 2026))
    assert failures[["line", "column"]].values.tolist() == [[n + 2, "breakdown_value"], [n + 3, "measure"], [n + 4, "indicator_id"]]
    # R2 begins in 2026 (cohort lag 3): a 2025 submission has no row for it.
    rows = zero_rows(SCT, 2025) + [find(zero_rows(SCT, 2026), "R2")]
    failures = only(check(rows, report_year=2025), rules.SUBMISSION_UNKNOWN_ROW)
    assert "inrapporteringsår 2025" in failures.iloc[0]["message"]


def test_a_repeated_row_is_a_duplicate_naming_the_first():
    rows = zero_rows(SCT, 2026)
    rows.append(dict(find(rows, "T1", "sct_offered", "no")))
    failures = only(check(rows), rules.DUPLICATE)
    assert failures.iloc[0]["line"] == len(rows) + 1
    assert f"rad {line_of(rows, find(rows, 'T1', 'sct_offered', 'no'))}" in failures.iloc[0]["message"]


def test_a_blank_line_carries_nothing():
    rows = zero_rows(SCT, 2026)
    rows.insert(3, {column: "" for column in SUBMISSION_COLUMNS})
    assert check(rows).empty


# --- values ------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["-1", "3.5", "tre", "1e3", " "])
def test_n_must_be_a_whole_number_at_least_zero(text):
    rows = zero_rows(SCT, 2026)
    row = find(rows, "B3")
    row["n"] = text
    failures = check(rows)
    # The total row is no number (or empty): the home_region rows are not summed against it.
    expected = rules.REQUIRED if text.strip() == "" else rules.SUBMISSION_RANGE
    assert failures[["line", "column", "rule"]].values.tolist() == [[line_of(rows, row), "n", expected]]


def test_a_proportion_numerator_above_denominator_and_a_denominator_other_than_n():
    rows = zero_rows(SCT, 2026)
    row = find(rows, "Ö1")
    row.update(n="4", numerator="5", denominator="4")
    bad_den = find(rows, "R1")
    bad_den.update(n="3", numerator="1", denominator="2")
    # Ö1's population is B1's (equal populations): keep B1 at 4 so that rule holds.
    find(rows, "B1").update(n="4")
    find(rows, "B1", "home_region", "01").update(n="4")
    find(rows, "B1", "sex", "K").update(n="4")
    failures = only(check(rows), rules.SUBMISSION_RANGE)
    assert failures[["line", "column"]].values.tolist() == [
        [line_of(rows, bad_den), "denominator"], [line_of(rows, row), "numerator"]
    ]


def _distribution(rows, indicator_id="B4", **values) -> dict:
    row = find(rows, indicator_id)
    row.update(values)
    return row


def test_a_valid_distribution_n_1_and_n_2():
    rows = zero_rows(SCT, 2026)
    _distribution(rows, "B4", n="1", mean="7.0", p10="7.0", median="7.0", p90="7.0")
    # T2's population is B3's: both 2.
    _distribution(rows, "T2", n="2", mean="10.5", sd="0.7071067811865476", p10="10.1", median="10.5", p90="10.9")
    find(rows, "B3").update(n="2")
    find(rows, "B3", "home_region", "99").update(n="2")
    assert check(rows).empty


def test_unordered_percentiles_negative_days_and_an_age_over_125():
    rows = zero_rows(SCT, 2026)
    unordered = _distribution(rows, "B4", n="3", mean="5", sd="1", p10="4", median="6", p90="5.5")
    negative = _distribution(rows, "T1", n="1", mean="-2", p10="-2", median="-2", p90="-2")
    find(rows, "T1", "sct_offered", "yes").update(n="1", mean="1", p10="1", median="1", p90="1")
    negative.update(mean="1", p10="1", median="1", p90="-1")
    old = _distribution(rows, "B2", n="1", mean="126", p10="126", median="126", p90="126")
    failures = only(check(rows), rules.SUBMISSION_RANGE)
    assert failures[["line", "column"]].values.tolist() == [
        [line_of(rows, old), "mean"], [line_of(rows, old), "p10"], [line_of(rows, old), "median"], [line_of(rows, old), "p90"],
        [line_of(rows, unordered), "p90"],
        [line_of(rows, negative), "p90"],
    ]


def test_decimals_empty_at_n_0_and_sd_only_from_n_2():
    rows = zero_rows(SCT, 2026)
    at_zero = _distribution(rows, "B4", mean="3.0")
    at_one = _distribution(rows, "T2", n="1", mean="3", sd="0", p10="3", median="3", p90="3")
    find(rows, "B3").update(n="1")
    find(rows, "B3", "home_region", "01").update(n="1")
    missing = _distribution(rows, "B2", n="2", mean="40", p10="35", median="40", p90="45")
    failures = check(rows)
    assert failures[["line", "column", "rule"]].values.tolist() == [
        [line_of(rows, missing), "sd", rules.REQUIRED],
        [line_of(rows, at_zero), "mean", rules.REQUIRED_IF],
        [line_of(rows, at_one), "sd", rules.REQUIRED_IF],
    ]


def test_values_a_measure_does_not_have_stay_empty():
    rows = zero_rows(SCT, 2026)
    count = find(rows, "B3")
    count["numerator"] = "0"
    share = find(rows, "P1")
    share["mean"] = "0.5"
    failures = only(check(rows), rules.REQUIRED_IF)
    assert failures[["line", "column"]].values.tolist() == [[line_of(rows, count), "numerator"], [line_of(rows, share), "mean"]]


def test_a_decimal_comma_only_in_a_semicolon_file():
    rows = zero_rows(SCT, 2026)
    _distribution(rows, "B4", n="2", mean="3,5", sd="0,7", p10="3,1", median="3,5", p90="3,9")
    assert check(rows, delimiter=";").empty
    failures = only(check(rows, delimiter=","), rules.SUBMISSION_RANGE)
    assert set(failures["column"]) == {"mean", "sd", "p10", "median", "p90"}
    assert "semikolon" in failures.iloc[0]["message"]


def test_decimals_round_trip_exactly_with_exponents():
    rows = zero_rows(SCT, 2026)
    _distribution(rows, "B4", n="2", mean="1e-05", sd="2.5e-06", p10="1e-06", median="1e-05", p90="1.9e-05")
    read = parse_submission_csv(as_bytes(rows), FILE)
    typed = validate_submission(read.rows, SCT, 2026, "akademiska", read.locator).typed
    b4 = typed[typed["indicator_id"] == "B4"].iloc[0]
    assert b4["mean"] == 1e-05 and b4["sd"] == 2.5e-06
    assert str(typed["n"].dtype) == "Int64" and str(typed["mean"].dtype) == "float64"


@pytest.mark.parametrize("text", ["inf", "nan", "1e999"])
def test_a_decimal_must_be_finite(text):
    rows = zero_rows(SCT, 2026)
    row = _distribution(rows, "B4", n="1", mean=text, p10="1", median="1", p90="1")
    failures = only(check(rows), rules.SUBMISSION_RANGE)
    assert failures[["line", "column"]].values.tolist() == [[line_of(rows, row), "mean"]]


# --- totals and equal populations --------------------------------------------------------------


def test_breakdown_rows_must_add_up_to_the_total():
    rows = zero_rows(SCT, 2026)
    total = find(rows, "B1")
    total["n"] = "5"
    find(rows, "B1", "home_region", "01")["n"] = "3"
    find(rows, "B1", "home_region", "99")["n"] = "1"  # 3 + 1 = 4, not 5
    find(rows, "B1", "sex", "K")["n"] = "5"
    find(rows, "Ö1").update(n="5", numerator="0", denominator="5")
    failures = only(check(rows), rules.SUBMISSION_TOTAL)
    assert failures[["line", "column"]].values.tolist() == [[line_of(rows, total), "n"]]
    assert "home_region" in failures.iloc[0]["message"] and "till 4, inte" in failures.iloc[0]["message"]
    assert "5" not in failures.iloc[0]["message"]  # the file's own value is not repeated


def test_a_proportions_numerators_add_up_too():
    rows = zero_rows(SKEL, 2026)
    total = find(rows, "P1", measure="positive_share")
    total.update(n="3", numerator="2", denominator="3")
    find(rows, "P1", "respondent", "patient", "positive_share").update(n="2", numerator="1", denominator="2")
    find(rows, "P1", "respondent", "relative", "positive_share").update(n="1", numerator="0", denominator="1")
    failures = only(check(rows, SKEL), rules.SUBMISSION_TOTAL)
    assert failures[["line", "column"]].values.tolist() == [[line_of(rows, total), "numerator"]]


def test_equal_populations_within_the_submission():
    rows = zero_rows(SCT, 2026)
    o1 = find(rows, "Ö1")
    o1.update(n="2", numerator="1", denominator="2")  # B1 stays 0
    failures = only(check(rows), rules.SUBMISSION_EQUAL_POPULATION)
    assert failures[["line", "column"]].values.tolist() == [[line_of(rows, o1), "n"]]
    assert f"B1 count i denna inrapportering (rad {line_of(rows, find(rows, 'B1'))})" in failures.iloc[0]["message"]
    assert "2" not in failures.iloc[0]["message"].replace("rad 2", "")


def test_equal_populations_across_years_from_the_earlier_delivery_whatever_its_kind():
    rows = zero_rows(SCT, 2026)
    r2 = find(rows, "R2")
    r2.update(n="3", numerator="2", denominator="3")
    asked = []

    def earlier(unit_id, year, indicator_id, measure):
        asked.append((unit_id, year, indicator_id, measure))
        return {("total", "total"): 4, ("home_region", "01"): 4}

    failures = only(check(rows, earlier=earlier), rules.SUBMISSION_EQUAL_POPULATION)
    # R2 of 2026 is the B3 population of 2024.
    assert ("akademiska", 2024, "B3", "count") in asked
    assert failures[["line", "column"]].values.tolist() == [[line_of(rows, r2), "n"]]
    assert "inrapporteringsår 2024" in failures.iloc[0]["message"]
    assert check(rows, earlier=lambda *key: {("total", "total"): 3}).empty
    assert check(rows, earlier=lambda *key: None).empty  # the warehouse does not have 2024


# --- optional and other columns, privacy, places ------------------------------------------------


def test_optional_period_columns_must_be_the_indicators_period():
    columns = (*SUBMISSION_COLUMNS, "period_start", "period_end")
    rows = zero_rows(SCT, 2026)
    for row in rows:
        cell = next(c for c in required_cells(SCT, 2026) if c.key == tuple(row[k] for k in SUBMISSION_COLUMNS[:4]))
        row.update(period_start=cell.period_start.isoformat(), period_end=cell.period_end.isoformat())
    assert check(rows, columns=columns).empty
    r2 = find(rows, "R2")
    assert r2["period_start"] == "2023-01-01"  # cohort year R-3
    r2["period_start"] = "2025-01-01"
    b1 = find(rows, "B1")
    b1["period_end"] = "2025-02-30"
    failures = check(rows, columns=columns)
    assert failures[["line", "column", "rule"]].values.tolist() == [
        [line_of(rows, b1), "period_end", rules.DATE_FORMAT],
        [line_of(rows, r2), "period_start", rules.SUBMISSION_PERIOD],
    ]


def test_any_other_column_is_an_error():
    failures = check(zero_rows(SCT, 2026), columns=(*SUBMISSION_COLUMNS, "patient_id"))
    assert failures[["line", "column", "rule"]].values.tolist() == [[1, "patient_id", rules.EXTRA_COLUMN]]


def test_an_identity_number_in_a_key_cell_is_refused_and_redacted():
    rows = zero_rows(SCT, 2026)
    row = find(rows, "B1", "home_region", "01")
    row["breakdown_value"] = "19121212-1212"
    read = parse_submission_csv(as_bytes(rows), FILE)
    assert [(f["line"], f["column"], f["rule"]) for f in read.failures] == [(line_of(rows, row), "breakdown_value", rules.IDENTITY_NUMBER)]
    assert all("1212" not in f["message"] for f in read.failures)
    assert read.rows is None or REDACTED in set(read.rows["breakdown_value"])


def test_a_workbook_locator_names_the_sheet_and_cell():
    rows = zero_rows(SCT, 2026)
    frame = pd.DataFrame(rows)
    frame["source_line"] = range(5, 5 + len(frame))
    frame.loc[0, "n"] = "x"
    locator = Locator("2026/sct_ssc/akademiska/submission.xlsx", sheet="Inrapportering",
                      letters={column: "ABCDEFGHIJKL"[i] for i, column in enumerate(SUBMISSION_COLUMNS)})
    failures = validate_submission(frame, SCT, 2026, "akademiska", locator).failures
    first = failures.iloc[0]
    assert (first["file"], first["line"], first["column"], first["rule"]) == (
        "2026/sct_ssc/akademiska/submission.xlsx", 5, "n", rules.SUBMISSION_RANGE)
    assert first["message"].startswith("Cell Inrapportering!E5: ")


def test_raw_rows_keep_text_and_lineage():
    rows = zero_rows(SCT, 2026)
    read = parse_submission_csv(as_bytes(rows, ";"), FILE)
    raw = raw_submission_rows(read, 2026, "akademiska")
    assert tuple(raw.columns) == RAW_COLUMNS
    assert raw["source_line"].tolist()[:2] == [2, 3]
    assert raw["period_start"].isna().all() and (raw["source_file"] == FILE).all()
    assert raw.loc[0, "n"] == "0" and raw.loc[0, "indicator_id"] == "B1"


# --- the delivery walk ---------------------------------------------------------------------------


@pytest.fixture()
def data_raw(tmp_path, sample_data):
    root = tmp_path / "data_raw"
    shutil.copytree(sample_data, root)
    return root


def _validate(root, year=2026, condition_id="sct_ssc"):
    return validate_delivery(root, year, get_condition(condition_id), read_registry(root, registered()).units, conditions=registered())


def test_a_submitting_unit_beside_extract_units(data_raw):
    replace_with_submission(data_raw, "sct_ssc", 2026, "akademiska")
    result = _validate(data_raw)
    assert result.failures.empty, result.failures.to_string()
    assert result.kinds == {"akademiska": "submission", "karolinska": "extract", "sus": "extract"}
    assert set(result.submission["unit_id"]) == {"akademiska"} and len(result.submission) == 58
    assert "akademiska" not in set(result.tables["patients"]["unit_id"])
    inventory = result.files[result.files["unit_id"] == "akademiska"]
    assert inventory[["table", "path", "rows"]].values.tolist() == [["submission", "2026/sct_ssc/akademiska/submission.csv", 58]]
    deliveries = intake.unit_deliveries(data_raw, 2026, SCT)
    assert deliveries["akademiska"] == intake.UnitDelivery("akademiska", "submission", ("2026/sct_ssc/akademiska/submission.csv",))
    assert deliveries["sus"].kind == "extract" and len(deliveries["sus"].files) == len(SCT.table_names)


def test_extracts_and_a_submission_in_one_folder_is_mixed(data_raw):
    folder = data_raw / "2026" / "sct_ssc" / "akademiska"
    (folder / "submission.csv").write_bytes(as_bytes(zero_rows(SCT, 2026)))
    result = _validate(data_raw)
    failures = result.failures[result.failures["unit_id"] == "akademiska"]
    assert failures[["file", "rule"]].values.tolist() == [["2026/sct_ssc/akademiska/submission.csv", rules.MIXED_DELIVERY]]
    assert "patients.csv" in failures.iloc[0]["message"]
    assert result.kinds["akademiska"] == "mixed"


def test_two_submission_files_are_mixed(data_raw):
    folder = data_raw / "2026" / "sct_ssc" / "akademiska"
    shutil.rmtree(folder)
    folder.mkdir()
    (folder / "submission.csv").write_bytes(as_bytes(zero_rows(SCT, 2026)))
    (folder / "submission.xlsx").write_bytes(b"PK\x03\x04")
    result = _validate(data_raw)
    assert result.failures[["unit_id", "rule"]].values.tolist() == [["akademiska", rules.MIXED_DELIVERY]]


def test_a_workbook_is_recognised_and_reported_not_readable_yet(data_raw):
    folder = data_raw / "2026" / "sct_ssc" / "akademiska"
    shutil.rmtree(folder)
    folder.mkdir()
    (folder / "submission.xlsx").write_bytes(b"PK\x03\x04")
    result = _validate(data_raw)
    assert result.kinds["akademiska"] == "submission"
    assert result.failures[["unit_id", "file", "rule"]].values.tolist() == [
        ["akademiska", "2026/sct_ssc/akademiska/submission.xlsx", rules.UNREADABLE_WORKBOOK]
    ]
    assert "submission.csv" in result.failures.iloc[0]["message"]


def test_another_file_beside_a_submission_is_unexpected(data_raw):
    path = replace_with_submission(data_raw, "sct_ssc", 2026, "akademiska")
    (path.parent / "notes.txt").write_text("x", encoding="utf-8")
    result = _validate(data_raw)
    assert result.failures[["file", "rule"]].values.tolist() == [["2026/sct_ssc/akademiska/notes.txt", rules.UNEXPECTED_FILE]]


def test_earlier_delivery_kind_an_extract_that_needs_an_earlier_submission(data_raw):
    """SUBMISSION.md 5: akademiska reported 2025 by submission and 2026 by extract. The 2026 extract's
    R1 cohort (transplants of D(2025)) and B2's pooled window read D(2025): that is an error naming 2025."""
    own_2026 = unit_submission(data_raw, "sct_ssc", 2026, "akademiska")  # made while 2025 is still an extract
    replace_with_submission(data_raw, "sct_ssc", 2025, "akademiska")
    assert _validate(data_raw, 2025).failures.empty
    result = _validate(data_raw, 2026)
    failures = result.failures[result.failures["rule"] == rules.EARLIER_DELIVERY_KIND]
    assert failures[["unit_id", "line"]].astype(str).values.tolist() == [["akademiska", "<NA>"]]
    message = failures.iloc[0]["message"]
    assert "2025" in message and "R1" in message and "B2" in message
    # A unit reporting 2026 by submission too needs nothing of 2025's rows.
    folder = data_raw / "2026" / "sct_ssc" / "akademiska"
    shutil.rmtree(folder)
    folder.mkdir()
    write_submission_csv(own_2026, folder / "submission.csv")
    assert _validate(data_raw, 2026).failures.empty


def test_earlier_delivery_kind_reaches_two_years_back_for_r2(data_raw):
    """R2 of 2026 reads the transplants of D(2024): a 2024 submission fails the 2026 extract, naming 2024."""
    replace_with_submission(data_raw, "sct_ssc", 2024, "akademiska")
    failures = _validate(data_raw, 2026).failures
    failures = failures[failures["rule"] == rules.EARLIER_DELIVERY_KIND]
    assert len(failures) == 1 and "2024" in failures.iloc[0]["message"] and "R2" in failures.iloc[0]["message"]


def test_a_missing_column_is_named_by_the_reader_and_by_the_row_check():
    columns = tuple(column for column in SUBMISSION_COLUMNS if column != "sd")
    failures = check(zero_rows(SCT, 2026), columns=columns)
    assert failures[["line", "column", "rule"]].values.tolist() == [[1, "sd", rules.MISSING_COLUMN]]
    # Rows that did not come through the CSV reader (a workbook's) are checked for their columns too.
    frame = pd.DataFrame(zero_rows(SCT, 2026)).drop(columns=["n"]).assign(source_line=range(2, 60), kommentar="")
    found = validate_submission(frame, SCT, 2026, "akademiska", Locator(FILE)).failures
    assert found[["column", "rule"]].values.tolist() == [["kommentar", rules.EXTRA_COLUMN], ["n", rules.MISSING_COLUMN]]
