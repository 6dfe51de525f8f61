"""Hostile deliveries as they really arrive (DATA_CONTRACT.md 1-3): each is rejected with file, line,
column and rule, or accepted as the contract says; validate_delivery never raises, and no file
anywhere under the test folder (data root or outside it) changes: sha256 before == after.

Every case then goes through the pipeline (`validate` below): an unhandled exception inside a step
is a defect in itself, since every error a delivery can cause is a contract failure with its rule.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import math
import os
import time
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from nhv_pipeline.conditions import get_condition, registered
import nhv_pipeline.contract.reader as reader_module
from contract_fixtures import (
    SCT, SCT_UNIT, SKD, SKD_UNIT, baseline, keys, render, sct_path, set_cell, skd_path, write_root,
)  # fmt: skip
from nhv_pipeline.contract import RULES, read_registry, validate_delivery
from nhv_pipeline.contract.reader import max_file_bytes
from nhv_pipeline.orchestration.jobs import DELIVERIES, FULL
from nhv_pipeline.publication import RESULT_COLUMNS, write_results
from pipeline_helpers import run_in_process

SURVEY = sct_path(2026, "survey")  # header + P3,2025-05-01,2025-05-10
SURVEY_HEADER = b"patient_id,sent_date,response_date\n"


def snapshot(folder: Path) -> dict[str, str]:
    """sha256 of every file below folder (symlinks followed, so an outside target is covered too)."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def validate(tmp_path: Path, files=None, year: int = 2026, condition: str = SCT, prepare=None):
    """Write the delivery, optionally change the tree (symlinks), validate, and prove nothing changed."""
    root = write_root(tmp_path / "data_raw", baseline() if files is None else files)
    if prepare is not None:
        prepare(root)
    before = snapshot(tmp_path)
    validation = validate_delivery(root, year, get_condition(condition), read_registry(root, registered()).units, conditions=registered())
    assert snapshot(tmp_path) == before
    assert through_the_pipeline(root, tmp_path / "warehouse", year, accepted=validation.failures.empty) == []
    return validation


def through_the_pipeline(root: Path, warehouse: Path, year: int, accepted: bool) -> list[str]:
    """The unhandled errors of the steps that read the case: the raw and staged steps of its year; for an
    accepted delivery the whole run of its year too, after the earlier deliveries its indicators read."""
    if not accepted:
        return run_in_process(root, warehouse, [(DELIVERIES, year)])
    earlier = sorted(int(p.name) for p in root.iterdir() if p.name.isdigit() and int(p.name) < year)
    return run_in_process(root, warehouse, [*((DELIVERIES, y) for y in earlier), (FULL, year)])


def with_file(path: str, content, files=None):
    files = baseline() if files is None else files
    files[path] = content
    return files


def all_text(validation) -> str:
    """Everything the validation returns, as text: failures and every table."""
    return validation.failures.to_csv(index=False) + "".join(t.to_csv(index=False) for t in validation.tables.values())


# --- encoding (DATA_CONTRACT.md 2) -------------------------------------------------------


def test_windows_1252_answer_from_excel_is_encoding_failure_on_its_line(tmp_path):
    rows = baseline()[skd_path("survey")]
    rows[2] = ["S2", "relative", "2025-10-20", "2025-10-30", "Sällan"]  # line 3: "ä" is one cp1252 byte
    validation = validate(tmp_path, with_file(skd_path("survey"), render(rows).encode("cp1252")), condition=SKD)
    assert keys(validation) == [("encoding", skd_path("survey"), 3, "")]
    assert "UTF-8" in validation.failures.loc[0, "message"]
    assert validation.tables["survey"].empty  # a file with a format error gives no rows


def test_windows_1252_unit_names_in_registry_are_encoding_failure_on_first_bad_line(tmp_path):
    rows = baseline()["units.csv"]
    rows[1][2] = "Region Sörmland"  # line 2
    rows[2][2] = "Västra Götalandsregionen"  # line 3
    root = write_root(tmp_path / "data_raw", with_file("units.csv", render(rows).encode("cp1252")))
    assert keys(read_registry(root, registered())) == [("encoding", "units.csv", 2, "")]


def test_cp1252_with_crlf_names_the_physical_line(tmp_path):
    content = (SURVEY_HEADER + b"P3,2025-05-01,2025-05-10\nP\xf63,2025-05-01,\n").replace(b"\n", b"\r\n")
    assert keys(validate(tmp_path, with_file(SURVEY, content))) == [("encoding", SURVEY, 3, "")]


def test_old_mac_cr_line_ends_count_lines_for_the_bad_byte(tmp_path):
    content = (SURVEY_HEADER + b"P3,2025-05-01,2025-05-10\nP\xf63,2025-05-01,\n").replace(b"\n", b"\r")
    assert keys(validate(tmp_path, with_file(SURVEY, content))) == [("encoding", SURVEY, 3, "")]


def test_utf8_bom_and_semicolon_and_comma_files_side_by_side_are_accepted(tmp_path):
    files = baseline()
    files[skd_path("patients")] = codecs.BOM_UTF8 + render(files[skd_path("patients")], delimiter=";").encode()
    files[skd_path("contacts")] = render(files[skd_path("contacts")], delimiter=";").replace("\n", "\r\n")
    validation = validate(tmp_path, files, condition=SKD)  # referrals and survey stay `,`
    assert keys(validation) == []
    assert validation.tables["patients"]["patient_id"].tolist() == ["S1", "S2"]
    assert validation.tables["contacts"]["visit_mode"].tolist() == ["physical", None, "digital"]
    assert validation.tables["referrals"]["referral_id"].tolist() == ["Q1", "Q2"]


def test_png_named_csv_is_encoding_failure_not_a_crash(tmp_path):
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    validation = validate(tmp_path, with_file(SURVEY, png))
    assert keys(validation) == [("encoding", SURVEY, 1, "")]  # \x89 is the first byte
    assert validation.tables["survey"].empty


def test_zip_named_csv_is_encoding_failure_at_its_first_nul(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("survey.csv", SURVEY_HEADER.decode() + "P3,2025-05-01,2025-05-10\n")
    data = buffer.getvalue()
    assert data.index(b"\x00") < 10 and b"\n" not in data[: data.index(b"\x00")]
    validation = validate(tmp_path, with_file(SURVEY, data))
    assert keys(validation) == [("encoding", SURVEY, 1, "")]
    assert "NUL" in validation.failures.loc[0, "message"]


def test_nul_byte_inside_utf8_file_is_encoding_failure_on_its_line(tmp_path):
    content = SURVEY_HEADER + b"P3,2025-05-01,2025-05-10\nP3,2025-\x0006-01,\n"
    assert keys(validate(tmp_path, with_file(SURVEY, content))) == [("encoding", SURVEY, 3, "")]


def test_nul_before_an_invalid_byte_names_the_nul_line(tmp_path):
    """The first bad byte counts, whether it is a NUL (line 2) or invalid UTF-8 (line 3)."""
    content = SURVEY_HEADER + b"P3,2025-05-01,\x00\nP\xf63,2025-05-01,\n"
    assert keys(validate(tmp_path, with_file(SURVEY, content))) == [("encoding", SURVEY, 2, "")]


def test_bom_only_file_is_empty_file(tmp_path):
    assert keys(validate(tmp_path, with_file(SURVEY, codecs.BOM_UTF8))) == [("empty_file", SURVEY, 1, "")]


# --- quoting, line ends, header (DATA_CONTRACT.md 2) ------------------------------------------


def test_quoted_delimiter_and_newline_in_unit_name_keep_later_lines_physical(tmp_path):
    rows = baseline()["units.csv"]
    rows[1][2] = "Karolinska universitetssjukhuset,\nHuddinge; plan 2"  # lines 2-3
    rows.append([SKD, "ny_enhet", 'Ny "enhet", Lund', "2025-13-01", ""])  # line 5: bad date
    root = write_root(tmp_path / "data_raw", with_file("units.csv", render(rows)))
    registry = read_registry(root, registered())
    assert keys(registry) == [("date_format", "units.csv", 5, "permit_start")]
    assert registry.units["unit_name"].tolist() == ["Karolinska universitetssjukhuset,\nHuddinge; plan 2",
                                                    "Skånes universitetssjukhus"]


def test_quoted_semicolon_answer_in_semicolon_file_is_accepted(tmp_path):
    rows = baseline()[skd_path("survey")]
    rows[2] = ["S2", "patient", "2025-10-20", "2025-10-30", "Nej, knappast"]
    validation = validate(tmp_path, with_file(skd_path("survey"), render(rows, delimiter=";")), condition=SKD)
    assert keys(validation) == []
    assert validation.tables["survey"]["answer"].tolist() == ["Ofta", "Nej, knappast"]


def test_crlf_and_trailing_blank_lines_are_accepted(tmp_path):
    content = (SURVEY_HEADER + b"P3,2025-05-01,2025-05-10\nP3,2025-06-01,\n\n\n   \n").replace(b"\n", b"\r\n")
    validation = validate(tmp_path, with_file(SURVEY, content))
    assert keys(validation) == []
    assert validation.tables["survey"]["source_line"].tolist() == [2, 3]
    assert validation.tables["survey"]["response_date"].tolist() == ["2025-05-10", None]


def test_header_in_other_case_with_spaces_and_other_column_order_is_accepted(tmp_path):
    content = b" Response_Date ,SENT_DATE, Patient_ID \n2025-05-10,2025-05-01,P3\n"
    validation = validate(tmp_path, with_file(SURVEY, content))
    assert keys(validation) == []
    survey = validation.tables["survey"]
    assert survey[["patient_id", "sent_date", "response_date"]].values.tolist() == [["P3", "2025-05-01", "2025-05-10"]]


def test_header_only_file_is_accepted(tmp_path):
    validation = validate(tmp_path, with_file(SURVEY, SURVEY_HEADER))
    assert keys(validation) == []
    assert validation.tables["survey"].empty


def test_file_without_header_line_is_one_header_failure_that_repeats_no_value(tmp_path):
    """Line 1 holds a patient row: its identity number and birth date must not become 'column names'."""
    content = "19700505-1234,K,1970-05-05,01,specific,\nS1,K,2015-06-01,12,unclear,2025-10-15\n"
    validation = validate(tmp_path, with_file(skd_path("patients"), content), condition=SKD)
    assert keys(validation) == [("not_checked", skd_path("patients"), None, ""), ("header", skd_path("patients"), 1, "")]
    for value in ("19700505-1234", "1970-05-05", "7005051234"):
        assert value not in all_text(validation)


def test_extra_column_with_a_value_for_a_name_is_named_by_position(tmp_path):
    content = b"patient_id,sent_date,response_date,19700505-1234,=cmd|' /c calc'!A0,note\nP3,2025-05-01,,,,\n"
    validation = validate(tmp_path, with_file(SURVEY, content))
    assert keys(validation) == [
        ("extra_column", SURVEY, 1, "#4"),
        ("extra_column", SURVEY, 1, "#5"),
        ("extra_column", SURVEY, 1, "note"),  # looks like a column name: named
    ]
    assert "19700505-1234" not in all_text(validation) and "calc" not in all_text(validation)


# --- file size (DATA_CONTRACT.md 2; NHV_MAX_FILE_MB) --------------------------------------------


class _CountingOpen:
    """Stands in for open() in the reader module and counts the bytes read from each path."""

    def __init__(self):
        self.read: dict[str, int] = {}

    def __call__(self, path, mode="r", *args, **kwargs):
        handle = open(path, mode, *args, **kwargs)
        counts, name = self.read, Path(path).name
        counts.setdefault(name, 0)

        class Counted:
            def __enter__(self):
                return self

            def __exit__(self, *exc):
                handle.close()

            def fileno(self):
                return handle.fileno()

            def read(self, size=-1):
                data = handle.read(size)
                counts[name] += len(data)
                return data

        return Counted()


def test_200_mb_file_is_rejected_by_size_before_it_is_read(tmp_path, monkeypatch):
    monkeypatch.delenv("NHV_MAX_FILE_MB", raising=False)
    assert max_file_bytes() == 100 * 1024 * 1024
    root = write_root(tmp_path / "data_raw", baseline())
    block = b"P3,2025-05-01,2025-05-10\n" * (1024 * 1024 // 25)
    with open(root / SURVEY, "wb") as out:  # 200 MB in a fraction of a second
        out.write(SURVEY_HEADER)
        for _ in range(200 * 1024 * 1024 // len(block) + 1):
            out.write(block)
    size = (root / SURVEY).stat().st_size
    assert size > 200 * 1024 * 1024
    before = (size, (root / SURVEY).stat().st_mtime_ns)
    counting = _CountingOpen()
    monkeypatch.setattr(reader_module, "open", counting, raising=False)

    started = time.perf_counter()
    validation = validate_delivery(root, 2026, get_condition(SCT), read_registry(root, registered()).units, conditions=registered())
    elapsed = time.perf_counter() - started

    assert keys(validation) == [("file_too_large", SURVEY, None, "")]
    assert "100 MB" in validation.failures.loc[0, "message"]
    assert counting.read["survey.csv"] == 0  # opened for its size, never read
    assert counting.read["patients.csv"] > 0  # the other tables are read as usual
    assert elapsed < 2.0
    assert validation.tables["survey"].empty
    listed = validation.files.set_index("table").loc["survey"]  # the inventory records its size, not a hash
    assert (listed["size_bytes"], listed["sha256"], listed["rows"]) == (size, "", 0)
    assert ((root / SURVEY).stat().st_size, (root / SURVEY).stat().st_mtime_ns) == before


def test_size_limit_comes_from_nhv_max_file_mb(tmp_path, monkeypatch):
    monkeypatch.setenv("NHV_MAX_FILE_MB", "1")
    big = SURVEY_HEADER + b"P3,2025-05-01,2025-05-10\n" * 50_000  # 1.25 MB
    assert len(big) > 1024 * 1024
    assert keys(validate(tmp_path / "big", with_file(SURVEY, big))) == [("file_too_large", SURVEY, None, "")]
    assert keys(validate(tmp_path / "small")) == []  # the baseline's small files still pass


def test_a_registry_of_a_million_rows_is_rejected_before_it_is_parsed(tmp_path, monkeypatch):
    """Finding: a 46 MB units.csv of a million rows was accepted with 0 problems, and the raw step held 6.3 GB."""
    import nhv_pipeline.contract.units as registry_module

    files = baseline()
    rows = "".join(f"{SCT},u{n},Enhet {n},2023-01-01,\n" for n in range(1_000_000))
    files["units.csv"] = render(files["units.csv"]) + rows
    root = write_root(tmp_path / "data_raw", files)

    def never(*args, **kwargs):
        raise AssertionError("units.csv was parsed")

    monkeypatch.setattr(registry_module, "parse_contract_csv", never)
    registry_module._registry_of.cache_clear()
    started = time.monotonic()
    registry = read_registry(root, registered())
    assert time.monotonic() - started < 5
    assert keys(registry) == [("registry", "units.csv", None, "")]
    assert "NHV_MAX_UNITS_PER_CONDITION" in registry.failures["message"].item()
    assert registry.units.empty


def test_units_per_condition_limit_comes_from_configuration(tmp_path, monkeypatch):
    files = baseline()
    files["units.csv"] += [[SCT, "ks2", "Andra enheten", "2023-01-01", ""], [SCT, "ks3", "Tredje enheten", "2023-01-01", ""]]
    root = write_root(tmp_path / "data_raw", files)  # 3 units of sct_ssc, 1 of the other
    monkeypatch.setenv("NHV_MAX_UNITS_PER_CONDITION", "2")  # 4 rows pass the line count, sct_ssc's 3 units do not
    registry = read_registry(root, registered())
    assert keys(registry) == [("registry", "units.csv", None, "")]
    assert SCT in registry.failures["message"].item()
    monkeypatch.setenv("NHV_MAX_UNITS_PER_CONDITION", "1")
    assert "4 rader" in read_registry(root, registered()).failures["message"].item()  # caught by the line count
    monkeypatch.setenv("NHV_MAX_UNITS_PER_CONDITION", "3")
    assert keys(read_registry(root, registered())) == []


def test_too_large_registry_is_file_too_large(tmp_path, monkeypatch):
    monkeypatch.setenv("NHV_MAX_FILE_MB", "0.001")  # 1048 bytes
    rows = baseline()["units.csv"] + [[SKD, f"enhet_{i}", "Enhet", "2025-09-01", ""] for i in range(40)]
    root = write_root(tmp_path / "data_raw", with_file("units.csv", rows))
    assert keys(read_registry(root, registered())) == [("file_too_large", "units.csv", None, "")]


@pytest.mark.parametrize("value", ["abc", "0", "-5", "nan"])
def test_nhv_max_file_mb_must_be_a_positive_number(monkeypatch, value):
    monkeypatch.setenv("NHV_MAX_FILE_MB", value)
    with pytest.raises(ValueError, match="NHV_MAX_FILE_MB"):
        max_file_bytes()


def test_file_too_large_is_a_documented_rule():
    assert "NHV_MAX_FILE_MB" in RULES["file_too_large"]


# --- layout (DATA_CONTRACT.md 1) ------------------------------------------------------------


def test_empty_unit_folder_is_missing_table_for_each_table(tmp_path):
    files = {path: rows for path, rows in baseline().items() if not path.startswith("2026/skeletal_dysplasia/")}
    validation = validate(tmp_path, files, condition=SKD,
                          prepare=lambda root: (root / "2026" / SKD / SKD_UNIT).mkdir(parents=True))
    # DATA_CONTRACT.md 6: each rule across tables is reported once as not checked.
    assert keys(validation) == [
        ("missing_table", "2026/skeletal_dysplasia/sus/contacts.csv", None, ""),
        ("not_checked", "2026/skeletal_dysplasia/sus/contacts.csv", None, ""),  # contact_referrals
        ("missing_table", "2026/skeletal_dysplasia/sus/patients.csv", None, ""),
        ("not_checked", "2026/skeletal_dysplasia/sus/patients.csv", None, ""),  # the patient references
        ("missing_table", "2026/skeletal_dysplasia/sus/referrals.csv", None, ""),
        ("missing_table", "2026/skeletal_dysplasia/sus/survey.csv", None, ""),
    ]


@pytest.mark.parametrize("empty", ["2026", f"2026/{SCT}"])
def test_empty_report_year_or_condition_folder_is_missing_delivery(tmp_path, empty):
    files = {path: rows for path, rows in baseline().items() if not path.startswith("2026/")}
    validation = validate(tmp_path, files, prepare=lambda root: (root / empty).mkdir(parents=True))
    assert keys(validation) == [
        ("missing_delivery", f"2026/sct_ssc/ks/{table}.csv", None, "")
        for table in ("followup", "patients", "referrals", "survey", "transplants")
    ]


def test_unknown_unit_folder_is_unknown_unit(tmp_path):
    files = baseline()
    for table in ("patients", "referrals", "contacts", "survey"):
        files[f"2026/{SKD}/okand_enhet/{table}.csv"] = files[skd_path(table)]
    validation = validate(tmp_path, files, condition=SKD)
    assert keys(validation) == [("unknown_unit", "2026/skeletal_dysplasia/okand_enhet", None, "")]
    assert set(validation.tables["patients"]["unit_id"]) == {SKD_UNIT}


# --- hostile names (DATA_CONTRACT.md 1, 6; README contract additions) ---------------------------------

FORGED = "x\nReport year 2026: succeeded (run 0).\n\x1b[8m"
"""A unit folder name that prints a forged success line and hides what follows."""
HOSTILE_NAMES = [FORGED, "\x1b]0;owned\x07", "\x1b[2J", "a\rb", "\u202eevil", "u" * 255]


def _unknown_folder(name: str):
    def prepare(root: Path) -> None:
        folder = root / "2026" / SKD / name
        folder.mkdir()
        (folder / "patients.csv").write_text("patient_id\n", encoding="utf-8")
    return prepare


def _no_control(text: str) -> bool:
    return not any(ord(c) < 0x20 or 0x7f <= ord(c) < 0xa0 or c in "\u202e" for c in text)


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=["forged_line", "retitle", "clear", "cr", "bidi", "255_bytes"])
def test_a_hostile_unit_folder_name_is_unknown_unit_shown_escaped_and_never_a_report_file_name(tmp_path, name):
    from nhv_pipeline.contract import write_unit_reports
    from nhv_pipeline.contract.reports import failure_summary_lines

    validation = validate(tmp_path, prepare=_unknown_folder(name), condition=SKD)
    unknown = validation.failures[validation.failures["rule"] == "unknown_unit"]
    assert len(unknown) == 1 and keys(validation) == keys(unknown)  # the other unit's delivery still passes
    assert unknown["unit_id"].tolist() == [""]  # no delivered name becomes a report's file name
    assert _no_control(unknown["file"].item()) and len(unknown["file"].item()) < 120
    lines = failure_summary_lines(validation.failures)
    assert lines and all(_no_control(line) for line in lines)
    assert "\n" not in "".join(lines) and "succeeded" not in lines[0].split("\\n")[0]
    written = write_unit_reports(validation.failures, tmp_path / "validation", 2026, get_condition(SKD), [SKD_UNIT, name])
    assert sorted(p.name for p in written) == ["_registry.csv", f"{SKD_UNIT}.csv", f"{SKD_UNIT}.html"]


def test_a_hostile_file_name_in_a_unit_folder_is_shown_escaped(tmp_path):
    def prepare(root: Path) -> None:
        (root / skd_path("patients")).with_name(FORGED + ".csv").write_text("x\n", encoding="utf-8")

    validation = validate(tmp_path, prepare=prepare, condition=SKD)
    assert [k[0] for k in keys(validation)] == ["unexpected_file"]
    assert validation.failures["file"].item() == f"2026/{SKD}/{SKD_UNIT}/" + "x\\nReport year 2026: succeeded (run 0).\\n\\x1b[8m.csv"


# --- misnamed condition folders (DATA_CONTRACT.md 1) -------------------------------------------------


@pytest.mark.parametrize("name", ["SKELETAL_DYSPLASIA", "skeletal_dysplasia ", "skeletal_dysplasi\u0430", "skeletal-dysplasia",
                                  "skeletal_dysplasia\u200b"])
def test_a_misnamed_condition_folder_is_unknown_condition_by_position_and_units_are_pointed_at_it(tmp_path, name):
    def prepare(root: Path) -> None:
        (root / "2026" / SKD).rename(root / "2026" / name)

    validation = validate(tmp_path, prepare=prepare, condition=SKD)
    entries = sorted(p.name for p in (tmp_path / "data_raw" / "2026").iterdir())
    where = f"entry {entries.index(name) + 1} of {len(entries)} in 2026"
    assert ("unknown_condition", where, None, "") in keys(validation)
    missing = validation.failures[validation.failures["rule"] == "missing_delivery"]
    assert len(missing) == 4 and missing["message"].str.contains(f"liknar tillståndsområdets mapp {SKD} finns ({where})", regex=False).all()
    assert name == f"{SKD} " or name not in all_text(validation)  # named by its position, not repeated
    assert validation.strays == [] and ("unknown_condition", where, None, "") in keys(validation.refusing_failures)
    # The look-alike is skeletal_dysplasia's failure, not every condition's.
    other = validate(tmp_path / "again", prepare=prepare, condition=SCT)
    assert not any(k[0] == "unknown_condition" for k in keys(other))


@pytest.mark.parametrize("make", ["link_to_root", "file", "stray_folder"])
def test_any_other_entry_beside_the_condition_folders_fails_every_condition_by_position(tmp_path, make):
    """Named by position in every condition's failures, but no condition's delivery is refused for it
    (whose would it be?): the run fails, each part is published on its own checks (test_areas_fail_alone)."""
    def prepare(root: Path) -> None:
        entry = root / "2026" / "zz_other"
        if make == "link_to_root":
            entry.symlink_to("/")
        elif make == "file":
            entry.write_text("P1,19700505\n", encoding="utf-8")
        else:
            entry.mkdir()

    for condition in (SCT, SKD):
        validation = validate(tmp_path / condition, prepare=prepare, condition=condition)
        assert ("unknown_condition", "entry 3 of 3 in 2026", None, "") in keys(validation)
        assert validation.strays == ["entry 3 of 3 in 2026"]
        assert "unknown_condition" not in set(validation.refusing_failures["rule"])


def test_a_unit_folder_named_almost_right_is_pointed_at_from_missing_delivery(tmp_path):
    def prepare(root: Path) -> None:
        (root / "2026" / SKD / SKD_UNIT).rename(root / "2026" / SKD / "SUS ")

    validation = validate(tmp_path, prepare=prepare, condition=SKD)
    missing = validation.failures[validation.failures["rule"] == "missing_delivery"]
    assert len(missing) == 4
    assert missing["message"].str.contains(f"liknar enhetens mapp {SKD_UNIT} finns (entry 1 of 1 in 2026/{SKD})", regex=False).all()


SECRET = "ZZOUTSIDE7"


def _outside_table(tmp_path: Path) -> Path:
    outside = tmp_path / "outside" / "patients.csv"
    outside.parent.mkdir(parents=True)
    outside.write_text(f"patient_id,sex,birth_date,home_region\n{SECRET},K,1970-05-05,01\n", encoding="utf-8")
    return outside


def test_symlink_with_dotdot_target_outside_root_is_never_read(tmp_path):
    outside = _outside_table(tmp_path)

    def link(root):
        target = root / sct_path(2026, "patients")
        target.unlink()
        os.symlink(os.path.relpath(outside, target.parent), target)  # ../../../../../outside/patients.csv
        assert ".." in os.readlink(target)

    validation = validate(tmp_path, prepare=link)
    assert ("path_outside_root", sct_path(2026, "patients"), None, "") in keys(validation)
    assert SECRET not in all_text(validation)
    assert "patients" not in set(validation.files["table"])


def test_symlinked_report_year_folder_outside_root_is_never_read(tmp_path):
    outside = _outside_table(tmp_path)

    def link(root):
        (root / "2026" / SCT / SCT_UNIT / "patients.csv").write_bytes(outside.read_bytes())
        (root / "2026").rename(tmp_path / "moved_2026")
        os.symlink(tmp_path / "moved_2026", root / "2026", target_is_directory=True)

    validation = validate(tmp_path, prepare=link)
    assert keys(validation) == [("path_outside_root", "2026/sct_ssc", None, "")]
    assert SECRET not in all_text(validation)
    assert validation.files.empty


def test_symlink_to_another_file_inside_the_root_is_not_read_either(tmp_path):
    def link(root):
        target = root / skd_path("survey")
        target.unlink()
        os.symlink(os.path.join("..", "..", "..", "2026", SCT, SCT_UNIT, "survey.csv"), target)

    validation = validate(tmp_path, condition=SKD, prepare=link)
    assert keys(validation) == [("path_outside_root", skd_path("survey"), None, "")]


def test_data_root_given_through_dotdot_is_the_same_root(tmp_path):
    root = write_root(tmp_path / "data_raw", baseline())
    detour = root / "2026" / ".." / ".." / "data_raw"
    validation = validate_delivery(detour, 2026, get_condition(SKD), read_registry(detour, registered()).units, conditions=registered())
    assert keys(validation) == []
    assert validation.tables["patients"]["source_file"].tolist() == [skd_path("patients")] * 2


# --- formula-like text (DATA_CONTRACT.md 3; PUBLICATION.md CSV) ------------------------------------

HYPERLINK = '=HYPERLINK("http://x","y")'


@pytest.mark.parametrize(
    ("path", "line", "column", "value", "rule"),
    [
        (sct_path(2026, "referrals"), 2, "referral_id", HYPERLINK, "id_format"),
        (sct_path(2026, "referrals"), 2, "referral_id", "@SUM(A1)", "id_format"),
        (sct_path(2026, "referrals"), 2, "referral_id", "+46812345", "id_format"),
        (sct_path(2026, "referrals"), 2, "referral_id", "-1", "id_format"),
        (sct_path(2026, "referrals"), 2, "referral_id", "R\n1", "id_format"),  # a quoted newline in an id
        (sct_path(2026, "patients"), 3, "sex", HYPERLINK, "code"),
        (sct_path(2026, "patients"), 3, "home_region", "=01", "code"),
        (sct_path(2026, "referrals"), 2, "sct_offered", "=1", "bool_format"),
        (sct_path(2026, "referrals"), 2, "referral_date", "=DATE(2025;1;10)", "date_format"),
    ],
)
def test_formula_like_text_in_ids_and_codes_fails_their_rule(tmp_path, path, line, column, value, rule):
    files = baseline()
    set_cell(files, path, line, column, value)
    validation = validate(tmp_path, files)
    assert keys(validation) == [(rule, path, line, column)]
    assert "HYPERLINK" not in validation.failures.to_csv(index=False)


@pytest.mark.parametrize("value", [HYPERLINK, "C\t2", "C\r\n2"])  # line 3 holds C2
def test_formula_like_text_in_a_skeletal_dysplasia_contact_id_fails_id_format(tmp_path, value):
    files = baseline()
    set_cell(files, skd_path("contacts"), 3, "contact_id", value)
    validation = validate(tmp_path, files, condition=SKD)
    assert keys(validation) == [("id_format", skd_path("contacts"), 3, "contact_id")]


LOOK_ALIKES = ["\u200bS1", "S1\u200b", "\ufeffS1", "\uff331", "S\u00ad1", "S1\u00a0x", "\u0405" + "1"]
"""S1 with a zero-width space before or after, a BOM, fullwidth, a soft hyphen, a no-break space, a Cyrillic S."""


@pytest.mark.parametrize("value", LOOK_ALIKES)
def test_an_id_with_an_invisible_or_look_alike_character_fails_id_format_and_is_no_second_patient(tmp_path, value):
    """README contract additions: an id holds printable ASCII only, so one patient is never two."""
    files = baseline()
    patients = files[skd_path("patients")]
    patients.append([value, *patients[1][1:]])  # line 4: S1 again, in disguise
    validation = validate(tmp_path, files, condition=SKD)
    assert keys(validation) == [("id_format", skd_path("patients"), 4, "patient_id")]
    assert "printbara ASCII" in validation.failures.loc[0, "message"]


def test_formula_like_unit_name_is_accepted_as_text_and_neutralised_in_published_csv(tmp_path):
    files = baseline()
    set_cell(files, "units.csv", 3, "unit_name", HYPERLINK)  # display text: the contract allows any text
    root = write_root(tmp_path / "data_raw", files)
    registry = read_registry(root, registered())
    assert keys(registry) == []
    unit_name = registry.units.loc[registry.units["unit_id"] == SKD_UNIT, "unit_name"].item()
    assert unit_name == HYPERLINK

    results = pd.DataFrame([{
        "report_year": 2026, "condition_id": SKD, "indicator_id": "B1", "measure": "count",
        "period_start": dt.date(2025, 9, 1), "period_end": dt.date(2025, 12, 31), "level": "enhet",
        "unit_id": SKD_UNIT, "unit_name": unit_name, "breakdown": "total", "breakdown_value": "total",
        "breakdown_label": "Totalt", "n": 12, "value": 12.0, "numerator": pd.NA, "denominator": pd.NA,
        **{c: math.nan for c in ("ci_low", "ci_high", "mean", "sd", "p10", "median", "p90")},
        "suppressed": False, "suppression_reason": "",
    }], columns=RESULT_COLUMNS)
    for c in ("n", "numerator", "denominator"):
        results[c] = results[c].astype("Int64")
    write_results(results, tmp_path / "published")
    with open(tmp_path / "published" / "indicator_results.csv", encoding="utf-8", newline="") as fh:
        published = list(csv.DictReader(fh))
    assert published[0]["unit_name"] == "'" + HYPERLINK  # a spreadsheet shows it as text, never runs it


# --- duplicates (DATA_CONTRACT.md 4, 5; 4.3) -------------------------------------------------------


def test_same_row_twice_in_one_file_is_unique_on_the_id(tmp_path):
    files = baseline()
    files[skd_path("referrals")].append(list(files[skd_path("referrals")][1]))  # Q1 again on line 4
    files[skd_path("patients")].insert(2, list(files[skd_path("patients")][1]))  # S1 again on line 3
    validation = validate(tmp_path, files, condition=SKD)
    assert keys(validation) == [
        ("unique", skd_path("patients"), 3, "patient_id"),
        ("unique", skd_path("referrals"), 4, "referral_id"),
    ]


def test_same_delivery_copied_into_two_unit_folders_is_accepted(tmp_path):
    """Ids are local to a unit (DATA_CONTRACT.md 3): two registered units may hold the same ids."""
    files = baseline()
    files["units.csv"].append([SKD, "sus_lund", "Skånes universitetssjukhus Lund", "2025-09-01", ""])
    for table in ("patients", "referrals", "contacts", "survey"):
        files[f"2026/{SKD}/sus_lund/{table}.csv"] = files[skd_path(table)]
    validation = validate(tmp_path, files, condition=SKD)
    assert keys(validation) == []
    assert validation.tables["patients"].groupby("unit_id")["patient_id"].apply(list).to_dict() == {
        "sus": ["S1", "S2"], "sus_lund": ["S1", "S2"],
    }


def _redeliver_t2(files, decision_date: str = "2024-01-20"):
    """T2 of D(2025) delivered again in D(2026) on line 3 (its patient P2 is in D(2026) patients)."""
    files[sct_path(2026, "transplants")].append(["T2", "P2", decision_date, "2024-02-01", "2024-03-01", "2024-03-20"])
    return files


def test_same_transplant_delivered_again_unchanged_is_accepted(tmp_path):
    validation = validate(tmp_path, _redeliver_t2(baseline()))
    assert keys(validation) == []
    assert validation.tables["transplants"]["transplant_id"].tolist() == ["T3", "T2"]


def test_same_transplant_delivered_again_with_changed_date_is_transplant_changed(tmp_path):
    validation = validate(tmp_path, _redeliver_t2(baseline(), decision_date="2024-01-21"))
    assert keys(validation) == [("transplant_changed", sct_path(2026, "transplants"), 3, "decision_date")]
    assert "2024-01-2" not in validation.failures["message"].str.cat()


# --- files that are no plain files (DATA_CONTRACT.md 1): never opened, never waited on ---------------


def _fifo(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)


def _socket(path: Path) -> None:
    import socket

    path.unlink()
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    cwd = os.getcwd()
    os.chdir(path.parent)  # a relative name: the full test path may exceed the 108 bytes a socket path may have
    try:
        server.bind(path.name)
    finally:
        os.chdir(cwd)
    server.close()  # the socket file stays


def _device(path: Path) -> None:
    import stat

    path.unlink()
    os.mknod(path, stat.S_IFCHR | 0o600, os.makedev(1, 3))  # /dev/null's numbers; CI runs as root


def _folder(path: Path) -> None:
    path.unlink()
    path.mkdir()
    (path / "inside.csv").write_text("patient_id,sex,birth_date,home_region\n", encoding="utf-8")


def _finishes(call, seconds: float, fifos=()):
    """Run `call` in a thread; if it blocks on a FIFO, open the FIFO's other end so the test can end."""
    import threading

    outcome = {}

    def target():
        try:
            outcome["value"] = call()
        except BaseException as error:  # re-raised in the test's thread
            outcome["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    hung = thread.is_alive()
    if hung:
        for fifo in fifos:
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        thread.join(10)
    assert not hung, f"still running after {seconds} s: it waited on a file that is no plain file"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


@pytest.mark.parametrize("make", [_fifo, _socket, _device, _folder], ids=["fifo", "socket", "device", "folder"])
def test_a_table_that_is_no_plain_file_is_not_a_file_and_never_opened(tmp_path, monkeypatch, make):
    root = write_root(tmp_path / "data_raw", baseline())
    target = root / sct_path(2026, "patients")
    make(target)
    counting = _CountingOpen()
    monkeypatch.setattr(reader_module, "open", counting, raising=False)
    validation = _finishes(lambda: validate_delivery(root, 2026, get_condition(SCT), read_registry(root, registered()).units, conditions=registered()), 20, [target])
    assert ("not_a_file", sct_path(2026, "patients"), None, "") in keys(validation)
    # Besides not_a_file, the rules that read patients.csv say once that they could not be checked (issue 10).
    assert {rule for rule, path, *_ in keys(validation) if path == sct_path(2026, "patients")} == {"not_a_file", "not_checked"}
    assert "patients.csv" not in counting.read  # never opened
    assert "ingen vanlig fil" in validation.failures.set_index("rule").loc["not_a_file", "message"]  # Swedish for the unit


@pytest.mark.parametrize("make", [_fifo, _socket, _device, _folder], ids=["fifo", "socket", "device", "folder"])
def test_a_registry_that_is_no_plain_file_is_not_a_file_and_never_opened(tmp_path, make):
    root = write_root(tmp_path / "data_raw", baseline())
    make(root / "units.csv")
    registry = _finishes(lambda: read_registry(root, registered()), 20, [root / "units.csv"])
    assert keys(registry) == [("not_a_file", "units.csv", None, "")]
    assert registry.units.empty


def test_reading_a_path_swapped_for_a_fifo_after_the_check_fails_at_once(tmp_path):
    """The last guard: a file replaced by a FIFO between the check and the read is refused, not waited on."""
    fifo = tmp_path / "units.csv"
    os.mkfifo(fifo)
    with pytest.raises(reader_module.NotARegularFile, match="units.csv"):
        _finishes(lambda: reader_module.read_bytes_limited(fifo), 20, [fifo])


def test_not_a_file_is_a_documented_rule():
    assert "not_a_file" in RULES and "pipe" in RULES["not_a_file"]


# --- oversized fields and headers, UTF-16 (DATA_CONTRACT.md 2) ------------------------------------


def test_a_20_mb_field_without_quotes_is_field_too_large_not_bad_quote(tmp_path):
    content = SURVEY_HEADER + b"P3,2025-05-01,2025-05-10\n" + b"P" * (20 * 1024 * 1024) + b",2025-05-01,\n"
    validation = validate(tmp_path, with_file(SURVEY, content))
    assert keys(validation) == [("field_too_large", SURVEY, 3, "")]
    message = validation.failures.loc[0, "message"]
    assert "131072" in message and "citattecken" in message  # the limit, and the usual cause: a quote never closed


def test_a_50000_column_header_is_rejected_in_linear_time(tmp_path):
    names = [f"extra_{i}" for i in range(50_000)]
    content = (",".join(["patient_id", "sent_date", "response_date", *names, "extra_7"]) + "\n").encode()
    started = time.perf_counter()
    read = reader_module.parse_contract_csv(content, SURVEY, ["patient_id", "sent_date", "response_date"])
    elapsed = time.perf_counter() - started
    assert read.frame is None
    rules_found = [f["rule"] for f in read.failures]
    assert rules_found.count("extra_column") == 50_000 and rules_found.count("header") == 1  # extra_7 twice
    assert elapsed < 5.0, f"{elapsed:.1f} s"  # quadratic in the number of names took about a minute


@pytest.mark.parametrize(
    "encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"], ids=["bom", "le-no-bom", "be-no-bom", "utf-32"]
)
def test_a_utf16_file_is_called_utf16_not_windows_1252(tmp_path, encoding):
    text = "patient_id,sent_date,response_date\nP3,2025-05-01,2025-05-10\n"
    validation = validate(tmp_path, with_file(SURVEY, text.encode(encoding)))
    assert keys(validation) == [("encoding", SURVEY, 1, "")]
    message = validation.failures.loc[0, "message"]
    assert ("UTF-32" if encoding == "utf-32" else "UTF-16") in message and "Windows-1252" not in message
    assert "CSV UTF-8" in message


def test_the_field_limit_holds_when_another_library_raised_the_csv_modules_limit():
    """csv.field_size_limit is process-wide (frictionless raises it on import); the contract's limit is not."""
    import csv as csv_module

    from nhv_pipeline.contract.reader import parse_contract_csv

    previous = csv_module.field_size_limit(2**31 - 1)
    try:
        data = ("patient_id,sent_date,response_date\n" + "P1," + "2" * 200_000 + ",\n").encode("utf-8")
        read = parse_contract_csv(data, "2026/sct_ssc/ks/survey.csv", ["patient_id", "sent_date", "response_date"], ["patient_id"])
        assert [(f["rule"], f["line"]) for f in read.failures] == [("field_too_large", 2)]
        assert csv_module.field_size_limit() == 2**31 - 1, "the caller's limit is put back"
    finally:
        csv_module.field_size_limit(previous)


def test_the_delivery_sensor_shows_hostile_names_escaped(tmp_path):
    """The sensor's cursor and log lines are built from delivery_state: no raw newline or escape reaches them."""
    from nhv_pipeline.orchestration.sensors import delivery_state

    def prepare(root: Path) -> None:
        _unknown_folder(FORGED)(root)
        (root / skd_path("patients")).with_name("\x1b]0;owned\x07.csv").write_text("x\n", encoding="utf-8")

    root = write_root(tmp_path / "data_raw", baseline())
    prepare(root)
    state = delivery_state(root)
    assert len(state) == sum(1 for p in root.rglob("*") if p.is_file() and p.parent.parent.parent.name.isdigit())
    assert all(_no_control(key) for key in state)
    assert "2026/skeletal_dysplasia/x\\nReport year 2026: succeeded (run 0).\\n\\x1b[8m/patients.csv" in state


def test_validation_reports_its_progress_unit_by_unit(tmp_path):
    """Finding 8 (cheap part): a round of many units says how far it has come."""
    files = baseline()
    for n in range(3):
        files["units.csv"].append([SKD, f"extra_{n}", f"Enhet {n}", "2025-09-01", ""])
        for table in ("patients", "referrals", "contacts", "survey"):
            files[f"2026/{SKD}/extra_{n}/{table}.csv"] = files[skd_path(table)]
    root = write_root(tmp_path / "data_raw", files)
    seen = []
    validation = validate_delivery(root, 2026, get_condition(SKD), read_registry(root, registered()).units, progress=lambda done, total: seen.append((done, total)), conditions=registered())
    assert keys(validation) == []
    assert seen == [(1, 4), (2, 4), (3, 4)]


def test_a_name_is_shown_with_every_unprintable_character_escaped_and_a_long_one_cut():
    from nhv_pipeline.contract.names import look_alike, shown_name

    assert shown_name("akademiska") == "akademiska"
    assert shown_name("Skåne sjukhus") == "Skåne sjukhus"  # printable letters stay
    assert shown_name(FORGED) == "x\\nReport year 2026: succeeded (run 0).\\n\\x1b[8m"
    assert shown_name("a\\nb") == "a\\\\nb"  # a backslash doubled: an escape is never ambiguous
    assert shown_name("\u200bx\udcff") == "\\u200bx\\udcff"
    assert shown_name("u" * 255) == "u" * 80 + "…(255 bytes)"
    assert look_alike("AKADEMISKA", "akademiska") and look_alike("akademiska ", "akademiska")
    assert look_alike("\u0430kademiska", "akademiska") and look_alike("akademiska\u200b", "akademiska")
    assert not look_alike("akademiska", "akademiska") and not look_alike("karolinska", "akademiska")


# --- the pipeline's own rule: no unhandled exception inside a step (SECURITY item 4) -----------------------


@pytest.mark.parametrize("where", ["raw_step", "indicator"])
def test_an_unhandled_error_inside_a_step_is_found_by_the_pipeline_pass(tmp_path, monkeypatch, where):
    """The pass every case above goes through finds what it looks for: a step that raised, and an
    indicator whose code raised (confined to its condition, but still a defect)."""
    import nhv_pipeline.orchestration.assets.indicators as indicator_assets
    import nhv_pipeline.orchestration.assets.raw as raw_assets

    def broken(*args, **kwargs):
        raise ValueError("a defect")

    monkeypatch.setattr(*(raw_assets, "write_unit_reports") if where == "raw_step" else (indicator_assets, "compute"), broken)
    root = write_root(tmp_path / "data_raw", baseline())
    found = through_the_pipeline(root, tmp_path / "warehouse", 2026, accepted=where == "indicator")
    assert found and all("ValueError" in line for line in found), found
