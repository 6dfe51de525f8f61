"""DATA_CONTRACT.md 3: identity numbers in id columns are failures, redacted, and never repeated."""

from __future__ import annotations

import hashlib

import pytest

from contract_fixtures import SCT, SCT_UNIT, SKD, baseline, keys, make_root, sct_path, set_cell, skd_path
from nhv_pipeline.conditions import get_condition, registered
from nhv_pipeline.contract import read_registry, validate_delivery
from nhv_pipeline.contract.reader import REDACTED

PERSONNUMMER = "19700505-1234"


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_identity_number_in_patient_id_is_failed_redacted_and_never_repeated(tmp_path):
    files = baseline()
    for table, line in (("patients", 2), ("referrals", 2), ("transplants", 2), ("survey", 2), ("followup", 4)):
        set_cell(files, sct_path(2026, table), line, "patient_id", PERSONNUMMER)  # P3 everywhere
    root = make_root(tmp_path, files)
    on_disk = {p: sha(p) for p in root.rglob("*.csv")}

    validation = validate_delivery(root, 2026, get_condition(SCT), read_registry(root, registered()).units, conditions=registered())

    # one failure per cell, nothing cascades from the redacted value (no reference, no unique)
    assert keys(validation) == [
        ("identity_number", sct_path(2026, "followup"), 4, "patient_id"),
        ("identity_number", sct_path(2026, "patients"), 2, "patient_id"),
        ("identity_number", sct_path(2026, "referrals"), 2, "patient_id"),
        ("identity_number", sct_path(2026, "survey"), 2, "patient_id"),
        ("identity_number", sct_path(2026, "transplants"), 2, "patient_id"),
    ]
    digits = PERSONNUMMER.replace("-", "")
    for fragment in (PERSONNUMMER, digits, digits[2:], "700505-1234", "1234"):
        assert fragment not in validation.failures.to_csv(index=False)
        for frame in validation.tables.values():
            assert fragment not in frame.to_csv(index=False)
    assert validation.tables["patients"]["patient_id"].tolist() == [REDACTED, "P1", "P2"]
    assert {p: sha(p) for p in root.rglob("*.csv")} == on_disk  # the delivery is untouched


@pytest.mark.parametrize("value", ["7005051234", "700505-1234", "700505+1234", "197005051234", "19700505-1234"])
def test_identity_number_forms(tmp_path, value):
    files = baseline()
    set_cell(files, skd_path("contacts"), 3, "contact_id", value)
    root = make_root(tmp_path, files)
    validation = validate_delivery(root, 2026, get_condition(SKD), read_registry(root, registered()).units, conditions=registered())
    assert keys(validation) == [("identity_number", skd_path("contacts"), 3, "contact_id")]
    assert value not in validation.failures.to_csv(index=False)
    assert value not in validation.tables["contacts"].to_csv(index=False)


@pytest.mark.parametrize("value", ["P7005051234", "70050512345", "700505--1234", "2025-10-01"])
def test_pseudonymous_ids_that_only_resemble_identity_numbers_pass(tmp_path, value):
    files = baseline()
    set_cell(files, skd_path("contacts"), 3, "contact_id", value)
    root = make_root(tmp_path, files)
    assert keys(validate_delivery(root, 2026, get_condition(SKD), read_registry(root, registered()).units, conditions=registered())) == []


def test_identity_number_in_earlier_delivery_is_not_found_and_not_repeated(tmp_path):
    files = baseline()
    set_cell(files, sct_path(2025, "transplants"), 2, "patient_id", PERSONNUMMER)
    root = make_root(tmp_path, files)
    validation = validate_delivery(root, 2026, get_condition(SCT), read_registry(root, registered()).units, conditions=registered())
    assert keys(validation) == [("earlier_delivery", sct_path(2026, "followup"), 3, "transplant_id")]
    assert PERSONNUMMER not in validation.failures.to_csv(index=False)


def test_messages_never_repeat_cell_values(tmp_path):
    """A wrong birth date and a wrong sex code: the message names the column, never the value."""
    files = baseline()
    set_cell(files, sct_path(2026, "patients"), 3, "birth_date", "1960-02-30")
    set_cell(files, sct_path(2026, "patients"), 4, "sex", "X")
    root = make_root(tmp_path, files)
    validation = validate_delivery(root, 2026, get_condition(SCT), read_registry(root, registered()).units, conditions=registered())
    assert [k[0] for k in keys(validation)] == ["date_format", "code"]
    assert not validation.failures["message"].str.contains("1960-02-30").any()
    assert not validation.failures["message"].str.contains("'X'|\"X\"| X ").any()


# --- identity numbers anywhere (DATA_CONTRACT.md 3): any cell, header, file or folder name -----------

from nhv_pipeline.contract.identity import contains_identity_number, is_identity_number  # noqa: E402

VALID = "19121212-1212"  # date 1912-12-12, Luhn check digit 2
COORDINATION = "19121272-1219"  # day 12 + 60, Luhn check digit 9
ALL_FORMS = [
    "19121212-1212", "191212121212", "121212-1212", "121212+1212", "1212121212", "19121212 1212", "121212 1212",
    "19121272-1219", "1212721219",
]


def written_forms(number: str) -> set[str]:
    digits = "".join(ch for ch in number if ch.isdigit())
    return {number, digits, digits[-10:], f"{digits[-10:-4]}-{digits[-4:]}", f"{digits[:-4]} {digits[-4:]}"}


@pytest.mark.parametrize("text", [
    *ALL_FORMS, "P19121212-1212", "P100001\n19121212-1212", "Akademiska 19121212-1212", "pnr_191212121212",
    "akademiska/19121212-1212.csv", "x121212+1212y",
])
def test_contains_identity_number_finds_every_form(text):
    assert contains_identity_number(text)


@pytest.mark.parametrize("text", [
    "P100001", "2025-03-01", "20250301", "2025-03-01 1234", "191212121213", "19121212-1213", "123456789012",
    "121232-1212", "19130229-1234", "P1234567890123", "", "akademiska",
])
def test_ordinary_ids_dates_and_numbers_failing_luhn_or_date_are_not_flagged(text):
    assert not contains_identity_number(text)


def test_a_bare_number_of_the_shape_in_an_id_column_keeps_the_old_whole_cell_rule():
    # Check digit not required in an id column (a mistyped personal number is still one); date not either.
    assert is_identity_number("191212121213") and is_identity_number("19700505-1234")
    assert not is_identity_number("P19121212-1212") and not is_identity_number("2025-03-01")


def _leaks(validation, forms) -> list[str]:
    text = validation.failures.to_csv(index=False) + "".join(t.to_csv(index=False) for t in validation.tables.values())
    return [form for form in forms if form in text]


@pytest.mark.parametrize(("table", "line", "column", "value"), [
    ("patients", 2, "patient_id", "19121212 1212"),
    ("patients", 2, "patient_id", "P19121212-1212"),
    ("patients", 3, "patient_id", "P1\n19121212-1212"),
    ("patients", 3, "birth_date", "191212121212"),
    ("referrals", 2, "care_plan", "191212121212"),
    ("referrals", 2, "referral_id", "R-19121272-1219"),
])
def test_identity_number_in_any_cell_is_failed_and_withheld(tmp_path, table, line, column, value):
    files = baseline()
    set_cell(files, sct_path(2026, table), line, column, value)
    root = make_root(tmp_path, files)
    on_disk = {p: sha(p) for p in root.rglob("*.csv")}
    validation = validate_delivery(root, 2026, get_condition(SCT), read_registry(root, registered()).units, conditions=registered())
    assert ("identity_number", sct_path(2026, table), line, column) in keys(validation)
    assert REDACTED in validation.tables[table][column].tolist()
    digits = "".join(ch for ch in value if ch.isdigit())
    assert _leaks(validation, {value, digits, digits[-10:], value.split("\n")[-1]}) == []
    assert {p: sha(p) for p in root.rglob("*.csv")} == on_disk


def test_identity_number_in_units_csv_unit_name_and_unit_id(tmp_path):
    files = baseline()
    files["units.csv"].append([SCT, "191212121212", "Akademiska sjukhuset", "2023-01-01", ""])
    files["units.csv"][2][2] = "Skånes universitetssjukhus 19121212-1212"
    root = make_root(tmp_path, files)
    registry = read_registry(root, registered())
    assert ("identity_number", "units.csv", 3, "unit_name") in keys(registry.failures)
    assert ("identity_number", "units.csv", 4, "unit_id") in keys(registry.failures)
    text = registry.failures.to_csv(index=False) + registry.units.to_csv(index=False)
    assert [f for f in written_forms(VALID) if f in text] == []
    assert "191212121212" not in set(registry.units["unit_id"])
    assert not registry.units["unit_name"].str.contains("1212").any()


def test_identity_number_in_a_header_name_is_named_by_position(tmp_path):
    files = baseline()
    rows = files[sct_path(2026, "patients")]
    rows[:] = [rows[0] + ["pnr_191212121212"], *(r + ["x"] for r in rows[1:])]  # the header list is shared
    root = make_root(tmp_path, files)
    validation = validate_delivery(root, 2026, get_condition(SCT), read_registry(root, registered()).units, conditions=registered())
    got = [k for k in keys(validation) if k[1] == sct_path(2026, "patients")]
    assert ("identity_number", sct_path(2026, "patients"), 1, "#5") in got
    assert ("extra_column", sct_path(2026, "patients"), 1, "#5") in got
    assert _leaks(validation, written_forms(VALID) | {"pnr_"}) == []


def test_identity_number_in_a_folder_or_file_name_is_named_by_position(tmp_path):
    files = baseline()
    files[f"2026/{SCT}/19121212-1212/patients.csv"] = files[sct_path(2026, "patients")]
    files[f"2026/{SCT}/{SCT_UNIT}/19121272-1219.csv"] = "a,b\n1,2\n"
    root = make_root(tmp_path, files)
    validation = validate_delivery(root, 2026, get_condition(SCT), read_registry(root, registered()).units, conditions=registered())
    got = keys(validation)
    # sorted entries of 2026/sct_ssc: "19121212-1212", "ks"; of the unit folder: the odd file first.
    assert ("identity_number", f"entry 1 of 2 in 2026/{SCT}", None, "") in got
    assert ("identity_number", f"entry 1 of 6 in 2026/{SCT}/{SCT_UNIT}", None, "") in got
    assert not any(k[0] in ("unknown_unit", "unexpected_file") for k in got)
    assert _leaks(validation, written_forms(VALID) | written_forms(COORDINATION)) == []
    assert set(validation.failures["unit_id"]) <= {"", SCT_UNIT}


def test_a_withheld_cell_breaks_no_other_rule(tmp_path):
    files = baseline()
    set_cell(files, sct_path(2026, "patients"), 3, "birth_date", "191212121212")
    set_cell(files, sct_path(2026, "referrals"), 2, "care_plan", "191212121212")
    root = make_root(tmp_path, files)
    validation = validate_delivery(root, 2026, get_condition(SCT), read_registry(root, registered()).units, conditions=registered())
    assert keys(validation) == [
        ("identity_number", sct_path(2026, "patients"), 3, "birth_date"),
        ("identity_number", sct_path(2026, "referrals"), 2, "care_plan"),
    ]


# --- identity numbers in disguise (DATA_CONTRACT.md 3; README contract additions: normalised first) ----------

import string  # noqa: E402

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

DISGUISES = [
    "19121212\u20131212",  # an en dash: what Excel's autocorrect writes
    "19121212\u00a01212",  # a no-break space
    "19121212\u200b1212",  # a zero-width space
    "1912-12-12-1212",
    "19121212.1212",
    "19121212_1212",
    "X19121212/1212",
    "\uff11\uff19\uff11\uff12\uff11\uff12\uff11\uff12-\uff11\uff12\uff11\uff12",  # fullwidth digits
    "1912\u00ad1212\u20111212",  # a soft hyphen inside, a non-breaking hyphen before the last four
    "19121212 \u2013 1212",  # a dash with spaces around it
]


@pytest.mark.parametrize("text", DISGUISES)
def test_identity_numbers_in_disguise_are_found(text):
    assert contains_identity_number(text)


@pytest.mark.parametrize("value", DISGUISES)
def test_an_identity_number_in_disguise_is_failed_and_never_staged(tmp_path, value):
    files = baseline()
    set_cell(files, sct_path(2026, "referrals"), 2, "care_plan", value)
    set_cell(files, sct_path(2026, "patients"), 3, "patient_id", value)
    root = make_root(tmp_path, files)
    validation = validate_delivery(root, 2026, get_condition(SCT), read_registry(root, registered()).units, conditions=registered())
    got = keys(validation)
    assert ("identity_number", sct_path(2026, "referrals"), 2, "care_plan") in got
    assert ("identity_number", sct_path(2026, "patients"), 3, "patient_id") in got
    assert REDACTED in validation.tables["patients"]["patient_id"].tolist()
    assert _leaks(validation, {value, "1212"}) == []


SEPARATORS = st.one_of(
    st.characters(categories=["Pd", "Zs"]),
    st.sampled_from(string.punctuation),
)
FORMAT_CHARACTERS = st.characters(categories=["Cf"])
DISGUISE_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@DISGUISE_SETTINGS
@given(separator=SEPARATORS, prefix=st.sampled_from(["", "X", "pnr ", "P1 "]), number=st.sampled_from([VALID, COORDINATION]))
def test_any_dash_space_or_punctuation_separator_hides_no_number(separator, prefix, number):
    digits = number.replace("-", "")
    assert contains_identity_number(f"{prefix}{digits[:8]}{separator}{digits[8:]}")
    assert contains_identity_number(f"{prefix}{digits[2:8]}{separator}{digits[8:]}")
    assert contains_identity_number(f"{prefix}{digits[:4]}{separator}{digits[4:6]}{separator}{digits[6:8]}{separator}{digits[8:]}")
    assert is_identity_number(f"{digits[:8]}{separator}{digits[8:]}")


@DISGUISE_SETTINGS
@given(invisible=st.lists(FORMAT_CHARACTERS, min_size=1, max_size=3),
       places=st.lists(st.integers(0, 13), min_size=1, max_size=3))
def test_format_characters_anywhere_hide_no_number(invisible, places):
    text = VALID
    for character, place in zip(invisible, places):
        text = text[:place] + character + text[place:]
    assert contains_identity_number(text)
    assert is_identity_number(text)


@DISGUISE_SETTINGS
@given(separator=SEPARATORS, invisible=FORMAT_CHARACTERS)
def test_disguise_keeps_the_false_positive_rules(separator, invisible):
    """A wrong check digit or an impossible date stays no identity number in free text, disguised or not."""
    for plain in ("19121212-1213", "19121312-1212", "2025-03-01"):
        disguised = plain.replace("-", separator).replace("3", "3" + invisible, 1)
        assert not contains_identity_number(disguised)
