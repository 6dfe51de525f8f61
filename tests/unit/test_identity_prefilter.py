"""The whole-file look for identity numbers gives the regular expression's answer, faster.

`identity.may_hold_identity_number(text, delimiter)` decides whether a file is searched cell
by cell for personal and coordination numbers (DATA_CONTRACT.md 3). It must say yes wherever
`identity.PREFILTER` (ten digits with nothing but separators between them) matches the
normalised text (`identity.normalise`; the delimiter of a file without quotes made a line
break), and no elsewhere: a false no would let an identity number past the reader. So it is
checked against the expression on generated text, across the boundaries of the chunks it
reads in, and on the cases one can get wrong: other scripts' digits, separators, a run at
the very start or end of the text, and Swedish letters next to the digits. And it is a
superset of the cell check: any cell that holds an identity number makes its file suspect.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nhv_pipeline.contract import identity, reader

MANY = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Text made mostly of what a match is made of, so that near misses and matches are common.
TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from(list("0123456789") * 6 + ["-", "+", " ", ";", ",", '"', "\n", "\r", "\t", "å", "Ö", "é",
                                                   "\u00a0", "\u2013", "\u200b", "\u00ad"]),
        st.sampled_from(["٣", "０", "९", "𝟗", "²", "½", "Ⅻ"]),  # other scripts' digits, and digits that are not decimal
        st.characters(),  # surrogates included
    ),
    max_size=60,
)


def expected(text: str, delimiter: str | None = None) -> bool:
    if delimiter is not None and '"' not in text:
        text = text.replace(delimiter, "\n")
    return identity.PREFILTER.search(identity.normalise(text)) is not None


@MANY
@given(TEXT, st.sampled_from([None, ",", ";"]))
def test_says_yes_wherever_the_expression_does_and_agrees_on_ascii_text(text, delimiter):
    """Exact for ASCII text; in other text a non-ASCII character may count as a separator (only more yes)."""
    if expected(text, delimiter):
        assert identity.may_hold_identity_number(text, delimiter)
    if text.isascii():
        assert identity.may_hold_identity_number(text, delimiter) is expected(text, delimiter)


@MANY
@given(st.text(alphabet=st.sampled_from(list("0123456789-+ ;x\n.")), min_size=0, max_size=80), st.integers(1, 16),
       st.sampled_from([None, ";"]))
def test_agrees_across_the_boundaries_of_the_chunks(text, chunk, delimiter):
    """A match may start anywhere in a chunk and end in the next: small chunks put every boundary in play."""
    assert identity.may_hold_identity_number(text, delimiter, chunk=chunk) is expected(text, delimiter)


@pytest.mark.parametrize(
    "text, found",
    [
        ("", False),
        ("123456789", False),  # nine digits
        ("1234567890", True),  # ten at the very start and end
        ("x1234567890", True),
        ("1234567890x", True),
        ("123456-7890", True),
        ("123456+7890", True),
        ("123456 7890", True),
        ("123456--7890", True),  # separators in a row
        ("12345-67890", True),  # a separator anywhere
        ("123456\t7890", True),  # a tab is a separator
        ("123456\u00a07890", True),  # and a no-break space
        ("123456\u20137890", True),  # an en dash
        ("123456\u200b7890", True),  # a zero-width space is removed
        ("123456\u00ad7890", True),  # a soft hyphen too
        ("12345678901234", True),  # a longer run holds ten digits (the cell rule looks closer)
        ("2025-03-01;P100001", False),  # a date and an ordinary id
        ("åäö1234567890åäö", True),  # Swedish letters next to the digits
        ("å123456-789", False),
        ("١٢٣٤٥٦٧٨٩٠", True),  # Arabic-Indic digits are decimal digits to the expression
        ("１２３４５６-７８９０", True),  # fullwidth digits
        ("12345６7890", True),  # one fullwidth digit among ASCII ones
        ("²³⁴⁵⁶⁷⁸⁹¹²", True),  # superscripts are digits after NFKC
        ("\udcff1234567890", True),  # a lone surrogate (a file name read with surrogateescape) beside a match
        ("123456x7890", False),  # a letter ends a run
        ("åäö123456\u2013789", False),
    ],
)
def test_the_cases_one_can_get_wrong(text, found):
    assert expected(text) is found  # the cases mean what they say about the expression
    assert identity.may_hold_identity_number(text) is found


@pytest.mark.parametrize("text", ["123456\udcff7890", "123456å7890", "2025-03-01;ää;12"])
def test_in_other_text_a_non_ascii_character_may_count_as_a_separator(text):
    """The superset of the fast look over non-ASCII text: a letter between digits may make a file suspect."""
    assert identity.may_hold_identity_number(text) is (sum(c.isdigit() for c in text) >= 10)


@pytest.mark.parametrize(
    "text, delimiter, found",
    [
        ("P1,2025-03-01,2025-04-02\n", ",", False),  # two date cells are no ten digits: the delimiter ends a run
        ("P1;2025-03-01;2025-04-02\n", ";", False),
        ("P1;2025-03-01,2025-04-02\n", ";", True),  # a comma inside a cell of a ;-file is a separator
        ('P1,"2025-03-01,2025-04-02"\n', ",", True),  # with quotes a cell may hold the delimiter
        ("P1,2025-03-01\uff0c2025-04-02\n", ",", True),  # a fullwidth comma is no delimiter
    ],
)
def test_the_delimiter_of_a_file_without_quotes_separates_nothing(text, delimiter, found):
    assert expected(text, delimiter) is found
    assert identity.may_hold_identity_number(text, delimiter) is found


@pytest.mark.parametrize("match", ["1234567890", "123456-7890", "123456 7890", "123456789012", "12-34-56-78-90"])
def test_a_match_is_found_wherever_a_chunk_ends(match):
    """Every chunk size against every position: a match cut by a chunk's end is found in full."""
    for chunk in range(1, 14):
        for before in range(0, 2 * chunk + 2):
            for after in (0, 1, 5):
                text = "x" * before + match + ";" * after
                assert identity.may_hold_identity_number(text, chunk=chunk), (chunk, before, after)
                assert not identity.may_hold_identity_number(text.replace(match[-1], "x"), chunk=chunk)


def test_a_large_file_is_read_in_chunks_and_a_match_in_the_last_one_is_found():
    text = "P100001;2025-03-01;12345\n" * 200_000  # 5 MB without a match
    assert identity.may_hold_identity_number(text, ";") is False
    assert identity.may_hold_identity_number(text + "19121212-1212\n", ";") is True
    assert identity.may_hold_identity_number(text[:-4] + "1212121212" + text[-4:], ";") is True


CELL = st.text(alphabet=st.one_of(st.sampled_from(list("0123456789") * 4 + list("-.,;/ _\"")),
                                  st.sampled_from(["\u2013", "\u00a0", "\u200b", "\ufeff", "０", "x", "å"])),
               max_size=24)


@MANY
@given(st.lists(st.lists(CELL, min_size=2, max_size=2), min_size=1, max_size=4), st.sampled_from([",", ";"]))
def test_a_file_with_an_identity_number_in_any_cell_is_suspect(rows, delimiter):
    """The reader looks at cells only in a suspect file: the first look says yes whenever a cell would."""
    import csv
    import io

    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\n").writerows([["a", "b"], *rows])
    text = out.getvalue()
    if any(identity.contains_identity_number(cell) or identity.is_identity_number(cell.strip()) for row in rows for cell in row):
        assert identity.may_hold_identity_number(text, delimiter)


@MANY
@given(st.text(alphabet=st.one_of(st.sampled_from(list("ab ;\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\u00a0\u2028")),
                                  st.characters(blacklist_categories=("Cs",))), max_size=40))
def test_the_fast_paths_whitespace_look_agrees_with_its_expression(text):
    """The reader leaves a file with unusual whitespace to the csv module; ASCII text is looked at without the expression."""
    assert reader._has_unsure_whitespace(text) is (reader._UNSURE_FOR_PLAIN.search(text) is not None)


def _cells_read(text: str, delimiter: str) -> list[str] | None:
    """Every field the csv module reads from the text (as the reader does), or None when it fails."""
    import csv
    import io

    try:
        return [cell for record in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
                for cell in record]
    except csv.Error:
        return None


def _suspect_cell(cell: str) -> bool:
    return identity.contains_identity_number(cell) or identity.is_identity_number(cell.strip())


QUOTED_CELL = st.text(alphabet=st.one_of(st.sampled_from(list("0123456789") * 4 + list("-.,;/ _\"\n")),
                                         st.sampled_from(["\u2013", "\u00a0", "\u200b", "\ufeff", "０", "x", "å"])),
                      max_size=24)


@MANY
@given(st.lists(st.lists(QUOTED_CELL, min_size=2, max_size=3), min_size=1, max_size=4), st.sampled_from([",", ";"]),
       st.sampled_from(["minimal", "all", "nonnumeric"]), st.sampled_from(["\n", "\r\n"]))
def test_the_readers_look_at_quoted_files_finds_every_cell_with_an_identity_number(rows, delimiter, quoting, end):
    """The reader's look at a file with quotes (field by field when they are simple) is a superset of the cell check."""
    import csv
    import io

    style = {"minimal": csv.QUOTE_MINIMAL, "all": csv.QUOTE_ALL, "nonnumeric": csv.QUOTE_NONNUMERIC}[quoting]
    out = io.StringIO(newline="")
    csv.writer(out, delimiter=delimiter, lineterminator=end, quoting=style).writerows([["a", "b"], *rows])
    text = out.getvalue()
    if any(_suspect_cell(cell) for cell in _cells_read(text, delimiter)):
        assert reader._first_look(text, delimiter)[0]


@MANY
@given(TEXT, st.sampled_from([",", ";"]))
def test_the_readers_look_at_any_text_finds_every_cell_with_an_identity_number(text, delimiter):
    """Whatever the quotes, a cell the csv module reads with an identity number makes its file suspect."""
    cells = _cells_read(text, delimiter)
    if cells is not None and any(_suspect_cell(cell) for cell in cells):
        assert reader._first_look(text, delimiter)[0]
    if '"' not in text or reader._first_look(text, delimiter)[1] is False:
        assert reader._first_look(text, delimiter)[0] is identity.may_hold_identity_number(text, delimiter)
