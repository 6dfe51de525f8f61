"""The reader's fast path (pyarrow, for plainly well-formed files) gives exactly what the csv path gives.

`parse_contract_csv` splits a file with pyarrow when it is plainly well-formed and reads
everything else with the csv module (DATA_CONTRACT.md 2). Both must give the same frame
(values, None for empty cells, physical source lines, dtypes) and the same failures, so
every case here is read twice: as it is, and with the fast path turned off.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nhv_pipeline.contract import reader
from nhv_pipeline.contract.reader import FIELD_SIZE_LIMIT, parse_contract_csv
from reader_reads import assert_same_read, fast_path_watched

COLUMNS = ["alpha", "beta", "gamma"]
IDS = ["alpha"]


def _both(data: bytes, monkeypatch, columns=COLUMNS):
    fast = parse_contract_csv(data, "2026/x/u/t.csv", columns, IDS, ["gamma"])
    with monkeypatch.context() as patched:
        patched.setattr(reader, "_plain_table", lambda text, delimiter: None)
        exact = parse_contract_csv(data, "2026/x/u/t.csv", columns, IDS, ["gamma"])
    return fast, exact


def _read_twice(data: bytes, monkeypatch):
    """Like `_both`, and whether the fast path took the file (else both reads are the csv path's)."""
    with fast_path_watched(monkeypatch, "_plain_table") as taken:
        fast, exact = _both(data, monkeypatch)
    return fast, exact, any(taken)


def _same(fast, exact) -> None:
    assert_same_read(fast, exact, COLUMNS)


def _plain_taken(data: bytes) -> bool:
    text = data.decode("utf-8-sig")
    delimiter = reader.detect_delimiter(text.split("\n", 1)[0])
    return reader._plain_table(text, delimiter) is not None


CASES = {
    "plain": b"alpha,beta,gamma\na1,b1,c1\na2,b2,\n",
    "semicolon": b"alpha;beta;gamma\na1;b1;c1\n",
    "crlf": b"alpha,beta,gamma\r\na1,b1,c1\r\na2, b2 ,\r\n",
    "bom": b"\xef\xbb\xbfalpha,beta,gamma\na1,b1,c1\n",
    "no final newline": b"alpha,beta,gamma\na1,b1,c1",
    "header only": b"alpha,beta,gamma\n",
    "header only, no newline": b"ALPHA , Beta,gamma",
    "blank lines of the header's width": b"alpha,beta,gamma\n,,\na1,b1,c1\n , \t,\n",
    "empty line inside": b"alpha,beta,gamma\na1,b1,c1\n\na2,b2,c2\n",
    "empty lines at the end": b"alpha,beta,gamma\na1,b1,c1\n\n\n",
    "spaces and tabs": b"alpha,beta,gamma\n\t a1 \t,  b1,c1  \n",
    "ragged short": b"alpha,beta,gamma\na1,b1\n",
    "ragged long": b"alpha,beta,gamma\na1,b1,c1,d1\n",
    "extra column": b"alpha,beta,gamma,delta\na1,b1,c1,d1\n",
    "missing column": b"alpha,beta\na1,b1\n",
    "repeated header": b"alpha,beta,beta,gamma\na,b,b,c\n",
    "empty header name": b"alpha,beta,gamma,\na,b,c,\n",
    "no contract column": b"x,y,z\n1,2,3\n",
    "blank first line": b"\nalpha,beta,gamma\na,b,c\n",
    "lone carriage return": b"alpha,beta,gamma\ra1,b1,c1\r",
    "mixed line ends": b"alpha,beta,gamma\r\na1,b1,c1\na2,b2,c2\r",
    "quoted field": b'alpha,beta,gamma\n"a,1",b1,c1\n',
    "quoted newline": b'alpha,beta,gamma\n"a\n1",b1,c1\n',
    "text after quote": b'alpha,beta,gamma\n"a"x,b1,c1\n',
    "unterminated quote": b'alpha,beta,gamma\n"a,b1,c1\n',
    "no-break space": "alpha,beta,gamma\n\u00a0a1\u00a0,b1,c1\n".encode(),
    "unicode line separator": "alpha,beta,gamma\na\u20281,b1,c1\n".encode(),
    "form feed": b"alpha,beta,gamma\na\x0c1,b1,c1\n",
    "control character": b"alpha,beta,gamma\na\x011,b1,c1\n",
    "formula id": b"alpha,beta,gamma\n=1+1,b1,c1\n",
    "swedish letters": "alpha,beta,gamma\nÅsa,Öl,é€\n".encode(),
    "identity number": b"alpha,beta,gamma\n19121212-1212,b,c\n",
    "identity number in text": b"alpha,beta,gamma\na,b,x 191212121212 y\n",
    "windows-1252": b"alpha,beta,gamma\n\xe5,b,c\n",
    "utf-16": "alpha,beta,gamma\n".encode("utf-16"),
    "nul byte": b"alpha,beta,gamma\na\x00,b,c\n",
    "empty": b"",
    "only spaces": b"  \n ",
    "long field": b"alpha,beta,gamma\n" + b"a" * (FIELD_SIZE_LIMIT + 5) + b",b,c\n",
    "field at half the limit": b"alpha,beta,gamma\n" + b"a" * (FIELD_SIZE_LIMIT // 2) + b",b,c\n",
    "long header": b"alpha,beta,gamma," + b"x" * (FIELD_SIZE_LIMIT + 1) + b"\n",
    "semicolon in comma file": b"alpha,beta,gamma\na;1,b,c\n",
}


# The cases the fast path declines (the csv module reads them both times, so comparing the two
# reads would compare a path with itself): each case is either taken and compared, or named here.
DECLINED = {
    "blank first line", "empty", "empty lines at the end", "field at half the limit", "form feed",
    "identity number", "identity number in text", "lone carriage return", "long field", "long header",
    "mixed line ends", "no-break space", "nul byte", "only spaces", "quoted field", "quoted newline",
    "ragged long", "ragged short", "text after quote", "unicode line separator", "unterminated quote",
    "utf-16", "windows-1252",
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_fast_path_reads_exactly_as_the_csv_module(name, monkeypatch):
    fast, exact, taken = _read_twice(CASES[name], monkeypatch)
    assert taken == (name not in DECLINED), f"{name}: the fast path {'took' if taken else 'declined'} it"
    if taken:
        _same(fast, exact)


def test_fast_path_is_taken_for_plain_files_and_declined_for_the_rest():
    taken = {name for name, data in CASES.items() if data and _decodes(data) and _plain_taken(data)}
    assert {"plain", "semicolon", "crlf", "bom", "blank lines of the header's width", "empty line inside",
            "spaces and tabs", "ragged short"} - {"ragged short"} <= taken
    for declined in ("ragged short", "ragged long", "quoted field", "quoted newline", "lone carriage return",
                     "mixed line ends", "no-break space", "unicode line separator", "form feed", "long field",
                     "field at half the limit", "long header", "blank first line"):
        assert declined not in taken, declined


def _decodes(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return b"\x00" not in data


CELL = st.text(
    alphabet=st.one_of(
        st.sampled_from([",", ";", " ", "\t", "\r", "\n", "å", "Ö", "é", "€", "\u00a0", "\u2028", "\x0b", "x", "1", "-"]),
        st.characters(blacklist_categories=("Cs",), blacklist_characters='\x00"'),
    ),
    max_size=6,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(
    header=st.lists(st.sampled_from(["alpha", " Beta", "GAMMA ", "delta", "", "alpha"]), min_size=1, max_size=4),
    rows=st.lists(st.lists(CELL, min_size=0, max_size=5), max_size=6),
    delimiter=st.sampled_from([",", ";"]),
    line_end=st.sampled_from(["\n", "\r\n", "\r"]),
    final=st.booleans(),
)
def test_fast_path_agrees_on_generated_files(header, rows, delimiter, line_end, final, monkeypatch):
    lines = [delimiter.join(header), *(delimiter.join(row) for row in rows)]
    text = line_end.join(lines) + (line_end if final else "")
    _same(*_both(text.encode("utf-8"), monkeypatch))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(st.lists(st.text(alphabet=" \tab1-å,", max_size=4), min_size=3, max_size=3), max_size=8),
    crlf=st.booleans(),
)
def test_fast_path_agrees_on_well_formed_files(rows, crlf, monkeypatch):
    """Files of the header's width with short cells: mostly taken by the fast path, and identical."""
    end = "\r\n" if crlf else "\n"
    body = "".join(",".join(cell.replace(",", "") for cell in row) + end for row in rows)
    _same(*_both(("alpha,beta,gamma" + end + body).encode("utf-8"), monkeypatch))


def test_fast_path_shares_one_string_per_distinct_value():
    """Memory: a million-row date column must not hold a million copies of a few hundred dates."""
    data = ("alpha,beta,gamma\n" + "p1,2025-01-01, x \n" * 500 + "p2,,y\n").encode()
    read = parse_contract_csv(data, "2026/x/u/t.csv", COLUMNS, IDS, ["gamma"])
    assert not reader.may_hold_identity_number(data.decode())  # the fast path is taken (no run of ten digits)
    assert read.frame["beta"].tolist() == ["2025-01-01"] * 500 + [None]
    assert read.frame["gamma"].tolist() == ["x"] * 500 + ["y"]
    assert len({id(value) for value in read.frame["beta"][:500]}) == 1
    assert len({id(value) for value in read.frame["gamma"][:500]}) == 1
