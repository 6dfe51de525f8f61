"""Property-based tests of the reader and the value rules (DATA_CONTRACT.md 2, 3, 5).

- Any table of text cells written by Python's csv module (`,` or `;`, with or without BOM,
  CRLF or LF) reads back as exactly its stripped cells, on their physical lines.
- Generated valid skeletal_dysplasia patients/referrals pass; one corrupted cell is always
  caught on its line and column.
- Identity numbers in any 10/12-digit form are always caught and never reach failures or tables.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import tempfile
from datetime import date, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contract_fixtures import SKD, SKD_UNIT, baseline, keys, skd_path, write_root
from nhv_pipeline.conditions import get_condition, registered
from nhv_pipeline.contract import read_registry, validate_delivery
from nhv_pipeline.contract.reader import parse_contract_csv
from nhv_pipeline.contract.schema import HOME_REGIONS

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- the reader -------------------------------------------------------------------------------

COLUMNS = ["alpha", "beta", "gamma"]
# Text the way units write it: delimiters, quotes, line breaks, Swedish letters, spaces, other scripts.
CELL = st.text(
    alphabet=st.one_of(
        st.sampled_from([",", ";", '"', "\n", "\r", " ", "\t", "å", "Ö", "é", "€", "–", "\u00a0"]),
        st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    ),
    max_size=8,
)
LINE_BREAK = re.compile(r"\r\n|\r|\n")


@FAST
@given(
    rows=st.lists(st.lists(CELL, min_size=3, max_size=3), max_size=6),
    order=st.permutations(COLUMNS),
    delimiter=st.sampled_from([",", ";"]),
    bom=st.booleans(),
    # Excel's CRLF with minimal quoting, or LF with every field quoted: the csv module told LF
    # line ends leaves a bare CR unquoted, which any reader must take for a line end.
    style=st.sampled_from([("\r\n", csv.QUOTE_MINIMAL), ("\n", csv.QUOTE_ALL)]),
)
def test_reader_returns_stripped_cells_on_their_physical_lines(rows, order, delimiter, bom, style):
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delimiter, lineterminator=style[0], quoting=style[1])
    writer.writerow([f" {name.upper()} " for name in order])  # header: other case, spaces, other order
    starts = []
    for row in rows:
        starts.append(len(LINE_BREAK.findall(out.getvalue())) + 1)  # physical line where the record starts
        writer.writerow(row)
    data = (codecs.BOM_UTF8 if bom else b"") + out.getvalue().encode("utf-8")

    read = parse_contract_csv(data, "t.csv", COLUMNS)

    assert read.failures == []
    # A record of blank cells is an empty spreadsheet row and carries nothing (section 2).
    kept = [(line, row) for line, row in zip(starts, rows, strict=True) if any(cell.strip() for cell in row)]
    expected = [[row[order.index(name)].strip() or None for name in COLUMNS] for _, row in kept]
    assert read.frame[COLUMNS].values.tolist() == expected
    assert read.frame["source_line"].tolist() == [line for line, _ in kept]


# --- valid skeletal_dysplasia rows, and one corrupted cell ------------------------------------------

REPORT_YEAR = 2026
PATIENT_COLUMNS = ["patient_id", "sex", "birth_date", "home_region", "diagnosis_at_referral", "specific_diagnosis_date"]
REFERRAL_COLUMNS = ["referral_id", "patient_id", "referral_date", "approved"]


def _day(offset: int, start: date = date(1930, 1, 1)) -> str:
    return (start + timedelta(days=offset)).isoformat()


@st.composite
def skd_delivery(draw):
    """patients.csv and referrals.csv rows (header first) that follow DATA_CONTRACT.md 5.1-5.2."""
    n = draw(st.integers(1, 5))
    patients = [PATIENT_COLUMNS]
    for i in range(n):
        diagnosis = draw(st.sampled_from(["specific", "unclear", "none"]))
        diagnosed = diagnosis != "specific" and draw(st.booleans())
        patients.append([
            f"P{i}", draw(st.sampled_from(["K", "M"])), _day(draw(st.integers(0, 30_000))),  # born 1930..2012
            draw(st.sampled_from(HOME_REGIONS)), diagnosis,
            _day(draw(st.integers(0, 480)), date(2025, 9, 1)) if diagnosed else "",  # after any birth, by 2026
        ])
    referrals = [REFERRAL_COLUMNS]
    for j in range(draw(st.integers(0, 5))):
        referrals.append([
            f"Q{j}", f"P{draw(st.integers(0, n - 1))}", _day(draw(st.integers(0, 480)), date(2025, 9, 1)),
            draw(st.sampled_from(["0", "1"])),
        ])
    return {"patients": patients, "referrals": referrals}


def _validate(tables: dict[str, list[list[str]]], delimiter: str = ","):
    files = baseline()
    files = {path: rows for path, rows in files.items() if not path.startswith(f"{REPORT_YEAR}/{SKD}/")}
    out = {}
    for table, rows in tables.items():
        text = io.StringIO()
        csv.writer(text, delimiter=delimiter, lineterminator="\n").writerows(rows)
        out[skd_path(table)] = text.getvalue()
    out[skd_path("contacts")] = "contact_id,patient_id,contact_date,contact_type,visit_mode,referral_id,care_plan\n"
    out[skd_path("survey")] = "patient_id,respondent,sent_date,response_date,answer\n"
    with tempfile.TemporaryDirectory() as folder:
        root = write_root(Path(folder) / "data_raw", {**files, **out})
        return validate_delivery(root, REPORT_YEAR, get_condition(SKD), read_registry(root, registered()).units, conditions=registered())


@SLOW
@given(delivery=skd_delivery(), delimiter=st.sampled_from([",", ";"]))
def test_generated_valid_patients_and_referrals_pass(delivery, delimiter):
    validation = _validate(delivery, delimiter)
    assert keys(validation) == []
    assert len(validation.tables["patients"]) == len(delivery["patients"]) - 1
    assert validation.tables["referrals"]["source_line"].tolist() == list(range(2, len(delivery["referrals"]) + 1))


# (table, column) -> [(corrupt value, rule)]: a bad date, a bad code or boolean, an empty required cell.
CORRUPTIONS = {
    ("patients", "patient_id"): [("", "required")],
    ("patients", "sex"): [("X", "code"), ("k", "code"), ("", "required")],
    ("patients", "birth_date"): [("1970-02-30", "date_format"), ("19700101", "date_format"), ("1.1.1970", "date_format"),
                                 ("", "required")],
    ("patients", "home_region"): [("1", "code"), ("02", "code"), ("Skåne", "code"), ("", "required")],
    ("patients", "diagnosis_at_referral"): [("Specific", "code"), ("", "required")],
    ("referrals", "referral_id"): [("", "required")],
    ("referrals", "patient_id"): [("", "required")],
    ("referrals", "referral_date"): [("2025-9-5", "date_format"), ("2025-13-01", "date_format"), ("", "required")],
    ("referrals", "approved"): [("ja", "bool_format"), ("2", "bool_format"), ("", "required")],
}


@SLOW
@given(delivery=skd_delivery(), data=st.data())
def test_one_corrupted_cell_is_caught_on_its_line_and_column(delivery, data):
    table, column = data.draw(st.sampled_from(sorted(CORRUPTIONS)).filter(lambda key: len(delivery[key[0]]) > 1))
    value, rule = data.draw(st.sampled_from(CORRUPTIONS[(table, column)]))
    rows = delivery[table]
    line = data.draw(st.integers(2, len(rows)))
    rows[line - 1][rows[0].index(column)] = value

    validation = _validate(delivery)

    path = skd_path(table)
    # The cell's own failure, and nothing else in its file (an emptied patient_id may leave
    # the patient's referrals without a patient: that is referrals.csv's own `reference` failure).
    assert [k for k in keys(validation) if k[1] == path] == [(rule, path, line, column)]
    assert {k[0] for k in keys(validation) if k[1] != path} <= {"reference"}


# --- identity numbers (DATA_CONTRACT.md 3) -------------------------------------------------------------

DIGITS = st.text(alphabet="0123456789", min_size=1, max_size=1)


@st.composite
def identity_number(draw):
    """A personal identity or coordination number: YYMMDD or YYYYMMDD, optional - or +, four digits."""
    century = draw(st.sampled_from(["", "19", "20"]))
    middle = "".join(draw(DIGITS) for _ in range(6))
    sign = draw(st.sampled_from(["", "-", "+"]))
    last = "".join(draw(DIGITS) for _ in range(4))
    return century + middle + sign + last


ID_CELLS = [("patients", "patient_id"), ("referrals", "referral_id"), ("referrals", "patient_id")]


@SLOW
@given(delivery=skd_delivery(), data=st.data())
def test_identity_numbers_are_caught_and_never_repeated(delivery, data):
    table, column = data.draw(st.sampled_from(ID_CELLS).filter(lambda key: len(delivery[key[0]]) > 1))
    number = data.draw(identity_number())
    rows = delivery[table]
    line = data.draw(st.integers(2, len(rows)))
    rows[line - 1][rows[0].index(column)] = number

    validation = _validate(delivery)

    path = skd_path(table)
    assert (("identity_number", path, line, column)) in keys(validation)
    assert [k for k in keys(validation) if k[1] == path] == [("identity_number", path, line, column)]
    digits = re.sub(r"[-+]", "", number)
    returned = validation.failures.to_csv(index=False) + "".join(t.to_csv(index=False) for t in validation.tables.values())
    for form in {number, digits, digits[-10:]}:
        assert form not in returned
    assert set(validation.failures["unit_id"]) <= {SKD_UNIT}
