"""DATA_CONTRACT.md 2: encoding, delimiter, header, rows, quotes; exact physical line numbers."""

from __future__ import annotations

import codecs

from contract_fixtures import SKD, baseline, keys, render, run, sct_path, skd_path

SURVEY = sct_path(2026, "survey")  # header + one row: P3,2025-05-01,2025-05-10
HEADER = b"patient_id,sent_date,response_date\n"


def with_file(path: str, content: str | bytes):
    files = baseline()
    files[path] = content
    return files


def test_invalid_utf8_is_encoding_failure_on_line_of_first_bad_byte(tmp_path):
    cp1252 = HEADER + b"P3,2025-05-01,2025-05-10\nP\xf63,2025-05-01,\n"  # "ö" in Windows-1252
    validation = run(tmp_path, with_file(SURVEY, cp1252))
    assert keys(validation) == [("encoding", SURVEY, 3, "")]
    assert "CSV UTF-8" in validation.failures.loc[0, "message"]
    assert validation.tables["survey"].empty  # a file with a format error contributes no rows


def test_utf16_without_bom_is_encoding_failure(tmp_path):
    utf16 = (HEADER + b"P3,2025-05-01,2025-05-10\n").decode("ascii").encode("utf-16-le")
    assert keys(run(tmp_path, with_file(SURVEY, utf16))) == [("encoding", SURVEY, 1, "")]


def test_utf16_with_bom_is_encoding_failure(tmp_path):
    utf16 = (HEADER + b"P3,2025-05-01,2025-05-10\n").decode("ascii").encode("utf-16")
    assert keys(run(tmp_path, with_file(SURVEY, utf16))) == [("encoding", SURVEY, 1, "")]


def test_utf8_bom_is_accepted(tmp_path):
    validation = run(tmp_path, with_file(SURVEY, codecs.BOM_UTF8 + HEADER + b"P3,2025-05-01,2025-05-10\n"))
    assert keys(validation) == []
    assert validation.tables["survey"]["patient_id"].tolist() == ["P3"]


def test_semicolon_delimiter_bom_crlf_and_header_case_and_spaces(tmp_path):
    files = baseline()
    rows = files[skd_path("patients")]
    rows[0] = [" Patient_ID ", "SEX", "Birth_Date", "home_region ", "diagnosis_at_referral", "specific_diagnosis_date"]
    rows[2][3] = "2"  # home_region written without its leading zero
    text = render(rows, delimiter=";").replace("\n", "\r\n")
    files[skd_path("patients")] = codecs.BOM_UTF8 + text.encode("utf-8")
    validation = run(tmp_path, files, condition=SKD)
    assert keys(validation) == [("code", skd_path("patients"), 3, "home_region")]
    assert validation.tables["patients"]["patient_id"].tolist() == ["S1", "S2"]


def test_empty_file(tmp_path):
    assert keys(run(tmp_path, with_file(SURVEY, b""))) == [("empty_file", SURVEY, 1, "")]


def test_whitespace_only_file_is_empty(tmp_path):
    assert keys(run(tmp_path, with_file(SURVEY, b"\r\n  \n"))) == [("empty_file", SURVEY, 1, "")]


def test_header_only_file_is_accepted(tmp_path):
    validation = run(tmp_path, with_file(SURVEY, HEADER))
    assert keys(validation) == []
    assert validation.tables["survey"].empty


def test_missing_column(tmp_path):
    content = b"patient_id,sent_date\nP3,2025-05-01\n"
    assert keys(run(tmp_path, with_file(SURVEY, content))) == [("missing_column", SURVEY, 1, "response_date")]


def test_extra_column_is_named(tmp_path):
    content = b"patient_id,sent_date,response_date,personnummer\nP3,2025-05-01,2025-05-10,x\n"
    validation = run(tmp_path, with_file(SURVEY, content))
    assert keys(validation) == [("extra_column", SURVEY, 1, "personnummer")]
    assert validation.tables["survey"].empty


def test_repeated_header_name(tmp_path):
    content = b"patient_id,sent_date,response_date,Sent_Date\nP3,2025-05-01,2025-05-10,2025-05-01\n"
    assert keys(run(tmp_path, with_file(SURVEY, content))) == [("header", SURVEY, 1, "sent_date")]


def test_ragged_row(tmp_path):
    content = HEADER + b"P3,2025-05-01,2025-05-10\nP3,2025-05-02\n"
    assert keys(run(tmp_path, with_file(SURVEY, content))) == [("ragged_row", SURVEY, 3, "")]


def test_unterminated_quote_names_line_where_record_starts(tmp_path):
    content = HEADER + b'P3,2025-05-01,2025-05-10\nP3,"2025-06-01,\nP3,2025-07-01,\n'
    assert keys(run(tmp_path, with_file(SURVEY, content))) == [("unterminated_quote", SURVEY, 3, "")]


def test_text_after_closing_quote(tmp_path):
    content = HEADER + b'P3,"2025-05-01"x,2025-05-10\n'
    assert keys(run(tmp_path, with_file(SURVEY, content))) == [("bad_quote", SURVEY, 2, "")]


def test_quoted_delimiter_and_newline_keep_physical_line_numbers(tmp_path):
    """A quoted field may hold the delimiter and a newline; the next record keeps its physical line."""
    files = baseline()
    rows = files[skd_path("survey")]
    rows[2] = ["S2", "patient", "2025-10-20", "2025-10-30", "Nej, knappast"]  # valid answer with a comma
    text = render(rows) + 'S1,relative,2025-11-01,2025-11-02,"Ofta\nAlltid"\n' + "S2,patient,2025-13-01,,\n"
    files[skd_path("survey")] = text
    validation = run(tmp_path, files, condition=SKD)
    assert keys(validation) == [
        ("code", skd_path("survey"), 4, "answer"),  # the two-line answer is no answer of the scale
        ("date_format", skd_path("survey"), 6, "sent_date"),  # record on physical line 6, not record 5
    ]
    assert validation.tables["survey"]["answer"].tolist()[1] == "Nej, knappast"
    assert validation.tables["survey"]["source_line"].tolist() == [2, 3, 4, 6]


def test_trailing_blank_lines_and_empty_excel_rows_are_ignored(tmp_path):
    content = HEADER + b"P3,2025-05-01,2025-05-10\n\n  \n,,\n\n"
    validation = run(tmp_path, with_file(SURVEY, content))
    assert keys(validation) == []
    assert len(validation.tables["survey"]) == 1


def test_cells_are_stripped_and_empty_cells_are_none(tmp_path):
    validation = run(tmp_path, with_file(SURVEY, HEADER + b" P3 , 2025-05-01 ,  \n"))
    assert keys(validation) == []
    assert validation.tables["survey"][["patient_id", "sent_date", "response_date"]].values.tolist() == [["P3", "2025-05-01", None]]


def test_format_error_in_patients_drops_its_rows_without_cascading_references(tmp_path):
    files = baseline()
    files[sct_path(2026, "patients")] = render(files[sct_path(2026, "patients")]) + "P4,K\n"
    validation = run(tmp_path, files)
    # DATA_CONTRACT.md 6: the patient references are reported once as not checked, not per row.
    assert keys(validation) == [("not_checked", sct_path(2026, "patients"), None, ""), ("ragged_row", sct_path(2026, "patients"), 5, "")]
    assert validation.tables["patients"].empty
