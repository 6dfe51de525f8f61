"""The reader's fast path for files whose quotes are all simple gives exactly what the csv path gives.

Swedish exports quote a free-text cell that holds the delimiter (`"Ja, helt och hållet"`). When
every quote of a file belongs to such a simple quoted field (it starts a field, holds no line
break, doubles a quote inside and ends right before the delimiter or the line end), the file is
looked at for identity numbers field by field (the delimiter ends a run outside the quoted
fields, and counts as a separator inside them) and, when it is not suspect, split by pyarrow.
Every case is read both ways through `reader._parse_contract_csv(..., fast=)`: the fast read
must equal the csv module's (frame, failures, rows, size and hash), and the cases say which
files the fast path takes and which it leaves to the csv module.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nhv_pipeline.contract import reader, rules
from reader_reads import assert_same_read, fast_path_watched

COLUMNS = ["alpha", "beta", "gamma"]
IDS = ["alpha"]
OPTIONAL = ["gamma"]
REL = "2026/x/u/t.csv"


def _read(data: bytes, fast: bool):
    return reader._parse_contract_csv(data, REL, COLUMNS, IDS, OPTIONAL, fast=fast)


def _read_twice(data: bytes, monkeypatch):
    """(fast read, csv read, whether the quoted fast path gave a table)."""
    with fast_path_watched(monkeypatch, "_quoted_table") as taken:
        fast = _read(data, fast=True)
        exact = _read(data, fast=False)
    assert len(taken) <= 1  # the csv read never looks at the fast path
    return fast, exact, any(taken)


def _same(fast, exact) -> None:
    assert_same_read(fast, exact, COLUMNS)


# name -> (file, taken by the quoted fast path)
CASES = {
    "delimiter in a quoted cell": (b'alpha,beta,gamma\np1,"a,b",c\n"p2","x,y,z",""\n', True),
    "semicolon file": ('alpha;beta;gamma\np1;"Ja; helt och hållet";c\n'.encode(), True),
    "comma inside a quoted cell of a semicolon file": (b'alpha;beta;gamma\np1;"a,b";c\n', True),
    "doubled quotes": (b'alpha,beta,gamma\np1,"say ""hi""",""""\np2,"""",c\n', True),
    "empty quoted cell": (b'alpha,beta,gamma\np1,"",c\n"",b,""\n', True),
    "spaces inside the quotes": (b'alpha,beta,gamma\np1," a b ","\t c\t"\n', True),
    "quoted header": (b'"alpha","Beta ",gamma\np1,"b,1",c\n', True),
    "crlf": (b'alpha,beta,gamma\r\np1,"a,b",c\r\np2,b,"c"\r\n', True),
    "no final line end": (b'alpha,beta,gamma\np1,b,"c,d"', True),
    "adjacent dates beside a quoted answer": (
        'alpha,beta,gamma\np1,2025-09-10,2025-09-17\np2,"Ja, helt och hållet",2025-09-17\n'.encode(), True),
    "quoted dates next to each other": (b'alpha,beta,gamma\np1,"2025-09-10","2025-09-17"\n', True),
    "blank quoted line": (b'alpha,beta,gamma\np1,"a,b",c\n"","",""\n,,\n', True),
    "extra quoted column": (b'alpha,beta,gamma,delta\np1,b,c,"d,e"\n', True),
    "byte-order mark starting the second line": ('alpha,beta,gamma\n\ufeffp1,"a,b",c\n'.encode(), False),
    "space before the opening quote": (b'alpha,beta,gamma\np1, "a",c\n', False),
    "space after the closing quote": (b'alpha,beta,gamma\np1,"a" ,c\n', False),
    "quote inside an unquoted field": (b'alpha,beta,gamma\np1,ab"c,d\n', False),
    "text after the closing quote": (b'alpha,beta,gamma\np1,"abc"x,d\n', False),
    "quoted newline": (b'alpha,beta,gamma\np1,"a\nb",c\np2,"x,y",z\n', False),
    "quoted crlf": (b'alpha,beta,gamma\r\np1,"a\r\nb",c\r\np2,"x,y",z\r\n', False),
    "unterminated quote": (b'alpha,beta,gamma\np1,"a,c\np2,b,c\n', False),
    "lone carriage return": (b'alpha,beta,gamma\rp1,"a,b",c\r', False),
    "quoted identity number in the id column": (b'alpha,beta,gamma\n"19121212-1212",b,c\np2,"a,b",c\n', False),
    "quoted identity number in free text": (b'alpha,beta,gamma\np1,"19121212-1212",c\np2,"a,b",c\n', False),
    "identity number split by the delimiter, id column": (b'alpha,beta,gamma\n"191212,1212",b,c\n', False),
    "identity number split by the delimiter, free text": (b'alpha,beta,gamma\np1,"121212,1212",c\n', False),
    "identity-like number split by the delimiter, free text": (b'alpha,beta,gamma\np1,"191212,1212",c\n', False),
    "identity number outside the quotes": (b'alpha,beta,gamma\np1,"a,b",19121212-1212\n', False),
    "ragged row with quotes": (b'alpha,beta,gamma\np1,"a,b"\np2,"x",y\n', False),
    "ragged row with quotes, long": (b'alpha,beta,gamma\np1,"a,b",c,d\n', False),
    "no-break space inside quotes": ('alpha,beta,gamma\np1,"\u00a0a,b",c\n'.encode(), False),
    "quoted field near the field limit": (
        b'alpha,beta,gamma\np1,"' + b"a" * (reader.FIELD_SIZE_LIMIT // 2) + b'",c\n', False),
    "quoted field over the field limit": (
        b'alpha,beta,gamma\np1,"' + b"a," * (reader.FIELD_SIZE_LIMIT // 2 + 5) + b'",c\n', False),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_quoted_fast_path_reads_exactly_as_the_csv_module(name, monkeypatch):
    data, expected_taken = CASES[name]
    fast, exact, taken = _read_twice(data, monkeypatch)
    assert taken is expected_taken, f"{name}: the fast path {'took' if taken else 'declined'} it"
    _same(fast, exact)


def test_the_quoted_fast_path_gives_the_unquoted_values():
    read = _read(CASES["doubled quotes"][0], fast=True)
    assert read.frame["beta"].tolist() == ['say "hi"', '"']
    assert read.frame["gamma"].tolist() == ['"', "c"]
    assert read.frame["source_line"].tolist() == [2, 3]
    read = _read(CASES["blank quoted line"][0], fast=True)
    assert read.frame["beta"].tolist() == ["a,b"] and read.frame["source_line"].tolist() == [2]
    read = _read(CASES["spaces inside the quotes"][0], fast=True)
    assert read.frame.loc[0, ["beta", "gamma"]].tolist() == ["a b", "c"]


@pytest.mark.parametrize("name, rule, line", [
    ("text after the closing quote", rules.BAD_QUOTE, 2),
    ("space after the closing quote", rules.BAD_QUOTE, 2),
    ("unterminated quote", rules.UNTERMINATED_QUOTE, 2),
    ("ragged row with quotes", rules.RAGGED_ROW, 2),
])
def test_a_declined_file_fails_as_before(name, rule, line):
    read = _read(CASES[name][0], fast=True)
    assert read.frame is None
    assert [(failure["rule"], failure["line"]) for failure in read.failures] == [(rule, line)]


def test_a_quoted_newline_keeps_its_line_numbers():
    read = _read(CASES["quoted newline"][0], fast=True)
    assert read.frame["beta"].tolist() == ["a\nb", "x,y"]
    assert read.frame["source_line"].tolist() == [2, 4]


@pytest.mark.parametrize("name, column", [
    ("quoted identity number in the id column", "alpha"),
    ("quoted identity number in free text", "beta"),
    ("identity number split by the delimiter, id column", "alpha"),
    ("identity number split by the delimiter, free text", "beta"),
])
def test_a_quoted_identity_number_is_redacted_and_reported(name, column):
    data = CASES[name][0]
    assert reader._first_look(data.decode(), ",") == (True, True)  # simple quotes, but suspect: the csv path reads it
    read = _read(data, fast=True)
    assert [(failure["rule"], failure["line"], failure["column"]) for failure in read.failures][:1] == [
        (rules.IDENTITY_NUMBER, 2, column)]
    assert b"1212" not in repr(read.failures).encode()
    assert read.frame is not None and read.frame.loc[0, column] == reader.REDACTED


def test_a_suspect_cell_without_a_valid_check_digit_is_looked_at_and_kept_in_free_text():
    """`191212,1212` is suspect (the look cannot tell) but has no valid check digit: kept, as before."""
    data = CASES["identity-like number split by the delimiter, free text"][0]
    assert reader._first_look(data.decode(), ",") == (True, True)
    read = _read(data, fast=True)
    assert read.failures == [] and read.frame.loc[0, "beta"] == "191212,1212"


@pytest.mark.parametrize("text, suspect", [
    ('alpha,beta\np1,2025-09-10,2025-09-17,"Ja, helt"\n', False),  # the delimiter ends a run outside quotes
    ('alpha,beta\n"2025-09-10","2025-09-17"\n', False),  # two quoted cells are two cells
    ('alpha,beta\n"2025-09-10,2025-09-17"\n', True),  # one quoted cell holds both dates
    ('alpha,beta\np1,"191212,1212"\n', True),
    ('alpha,beta\np1,"a""1234567890"\n', True),
    ('alpha,beta\np1,"a,b",1234567890\n', True),
    ('alpha,beta\n"1234567890"\n', True),
    ('alpha;beta\np1;"2025-09-10,2025-09-17";"a;b"\n', True),  # a comma is a separator in a ;-file's cell
    ('alpha;beta\np1;"a;b";2025-09-10;2025-09-17\n', False),
])
def test_the_first_look_at_a_file_with_simple_quotes(text, suspect):
    delimiter = reader.detect_delimiter(text.split("\n", 1)[0])
    assert reader._first_look(text, delimiter) == (suspect, True)
    assert reader._first_look(text.replace("\n", "\r\n"), delimiter) == (suspect, True)


@pytest.mark.parametrize("text", ['a,b\np1, "a"\n', 'a,b\np1,"a"x\n', 'a,b\n"a\nb",c\n', 'a,b\rp1,"a"\r', 'a,b\nab"c,d\n'])
def test_other_quotes_keep_the_whole_file_look(text):
    assert reader._first_look(text, ",") == (reader.may_hold_identity_number(text, ","), False)


# Random text from the characters a delivery is made of: quotes, both delimiters, letters, digits,
# separators and line ends; often with a contract header, so that a frame is made.
PIECES = ['"', '"', ",", ";", "a", "b", "x", "1", "9", "0", "-", " ", "\t", "\n", "\r\n", "å"]
RAW = st.lists(st.sampled_from(PIECES), max_size=40).map("".join)
HEADER = st.sampled_from(["alpha,beta,gamma\n", "alpha;beta;gamma\r\n", '"alpha","beta",gamma\n', '"Alpha";beta;"gamma"\n',
                          ""])
CHECKED = settings(max_examples=600, deadline=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@CHECKED
@given(header=HEADER, body=RAW)
def test_random_text_is_read_as_the_csv_module_reads_it(header, body, monkeypatch):
    _same(*_read_twice((header + body).encode("utf-8"), monkeypatch)[:2])


# Cells quoted at random (a quote inside doubled), with digits, dates and identity-like runs.
CELL = st.lists(st.sampled_from(PIECES[2:] * 2 + ['""', "2025-09-10", "19121212", "1212", "Ja, helt"]), max_size=5).map(
    "".join)
FIELD = st.tuples(CELL, st.booleans()).map(lambda cell: f'"{cell[0]}"' if cell[1] else cell[0].replace('""', ""))


@CHECKED
@given(header=HEADER.filter(bool),
       rows=st.lists(st.lists(FIELD, min_size=3, max_size=3) | st.lists(FIELD, min_size=2, max_size=4), max_size=6),
       line_end=st.sampled_from(["\n", "\r\n"]), final=st.booleans())
def test_files_of_quoted_cells_are_read_as_the_csv_module_reads_them(header, rows, line_end, final, monkeypatch):
    delimiter = ";" if ";" in header else ","
    body = line_end.join(delimiter.join(row) for row in rows) + (line_end if final and rows else "")
    _same(*_read_twice((header + body).encode("utf-8"), monkeypatch)[:2])


def test_a_survey_with_quoted_answers_is_taken(monkeypatch):
    """The case the fast path is for: many rows, a quoted answer on every third, dates side by side."""
    rows = "".join(
        f'p{n},{"Ja, helt och hållet" if n % 3 == 0 else "Nej"},2025-09-{10 + n % 9:02d}\n'.replace(
            "Ja, helt och hållet", '"Ja, helt och hållet"') for n in range(3000))
    data = ("alpha,beta,gamma\n" + rows).encode()
    fast, exact, taken = _read_twice(data, monkeypatch)
    assert taken
    _same(fast, exact)
    assert fast.rows == 3000 and fast.frame.loc[0, "beta"] == "Ja, helt och hållet"


@pytest.mark.parametrize("body", ["\ufeffp1,b,c\n", '\ufeffp1,"b,1",c\n', '"\ufeffp1",b,c\n'])
def test_a_byte_order_mark_inside_the_file_is_kept_as_the_csv_module_keeps_it(body):
    """pyarrow skips a byte-order mark where its input starts, so a body starting with one is left to the csv module."""
    data = ("alpha,beta,gamma\n" + body).encode()
    fast = _read(data, fast=True)
    _same(fast, _read(data, fast=False))
    assert fast.frame["alpha"].tolist() == ["\ufeffp1"]
