"""Swedish personal identity and coordination numbers anywhere in a delivery (DATA_CONTRACT.md 3).

A personal identity number (personnummer) is ``[CC]YYMMDD`` + separator + ``NNNC``:
10 or 12 digits, with ``-``, ``+``, a space or nothing between the date and the
four last digits. A coordination number (samordningsnummer) has day + 60. ``C`` is
a Luhn check digit over the ten digits ``YYMMDDNNN``.

Both tests look at the *normalised* text (`normalise`): a number in disguise, with an
en dash, a no-break space, a zero-width space, fullwidth digits, ``1912-12-12-1212``,
``19121212.1212`` or ``19121212_1212``, is still found.

Two tests, both free of any value in their result:

* ``contains_identity_number(text)``: the text holds, anywhere, a run of such
  digits (not part of a longer digit run) with a valid date and a valid Luhn
  digit. Used for every cell, header, file and folder name. Date and Luhn keep
  false positives rare: ordinary ids (``P100001``), dates (``2025-03-01``) and
  digit ids that fail either test pass.
* ``is_identity_number(text)``: the whole text has the shape, 10 or 12 digits with
  an optional separator, whatever its date or check digit. Used for id columns
  (the rule the contract has always had there): a pseudonymous id is never a bare
  number of that length, and a mistyped personal number is still a person's.
"""

from __future__ import annotations

import calendar
import re
import string
import unicodedata
from functools import lru_cache

SEPARATOR = "-"
"""What every separator character becomes in `normalise` (DATA_CONTRACT.md 3, contract additions)."""
_ASCII_SEPARATORS = string.punctuation + " \t"
_ASCII_TABLE = str.maketrans({character: SEPARATOR for character in _ASCII_SEPARATORS})
_SEPARATOR_CATEGORIES = frozenset({"Pd", "Zs", "Pc", "Po", "Ps", "Pe", "Pi", "Pf"})
"""Dash-like (Pd), space-like (Zs) and punctuation (P*) characters: all separators."""
_DASH_LIKE = frozenset("\u2212\u2043\u2796\u02d7")
"""Dash-like characters outside Pd: minus sign, hyphen bullet, heavy minus, modifier minus."""

# A date of six or eight digits (year, month and day may be separated, as in 1912-12-12), up to
# three separator characters (`19121212 – 1212`), and the four last digits. A lookahead, so that
# overlapping candidates in a longer digit run are all tried.
_GAP = f"{SEPARATOR}{{0,3}}"
_CANDIDATE = re.compile(
    rf"(?<!\d)(?=(\d{{4}}{_GAP}\d{{2}}{_GAP}\d{{2}}|\d{{2}}{_GAP}\d{{2}}{_GAP}\d{{2}}){_GAP}(\d{{4}})(?!\d))"
)
_WHOLE = re.compile(rf"((?:\d{{2}})?\d{{6}}){SEPARATOR}?(\d{{4}})")
#: The first look over a normalised text: ten digits with nothing but separators between them. No
#: match here, no identity number anywhere in it (a superset of `_CANDIDATE`).
PREFILTER = re.compile(rf"\d(?:{SEPARATOR}*\d){{9}}")
_DECIMAL = re.compile(r"\d")
_CHUNK = 1 << 20
"""Bytes looked at in one go by `may_hold_identity_number` (a few MB of copies)."""


def _has_non_ascii_digit(text: str) -> bool:
    """Whether a non-ASCII character of the text is, or holds after NFKC, a decimal digit."""
    return any(
        not character.isascii() and _DECIMAL.search(unicodedata.normalize("NFKC", character)) is not None
        for character in set(text)
    )


def _non_ascii_table(text: str) -> dict[int, str | None]:
    """Format characters (Cf: zero-width space and joiners, soft hyphen, BOM, direction marks) removed;
    dash-like, space-like and punctuation characters made SEPARATOR."""
    table: dict[int, str | None] = {}
    for character in set(text):
        if character.isascii():
            continue
        category = unicodedata.category(character)
        if category == "Cf":
            table[ord(character)] = None
        elif category in _SEPARATOR_CATEGORIES or character in _DASH_LIKE:
            table[ord(character)] = SEPARATOR
    return table


def normalise(text: str) -> str:
    """The text as identity numbers are looked for in it (DATA_CONTRACT.md 3, contract additions).

    NFKC (fullwidth digits and dashes, compatibility spaces become plain ones), format
    characters removed (a zero-width space or a soft hyphen between digits hides nothing),
    and every dash-like, space-like and punctuation character (ASCII punctuation, tab,
    Unicode Pd, Zs and P*) becomes SEPARATOR: `19121212–1212` (Excel's en dash),
    `19121212.1212`, `19121212_1212` and `X19121212/1212` read as `19121212-1212`.
    """
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
        if not text.isascii():
            text = text.translate(_non_ascii_table(text))
    return text.translate(_ASCII_TABLE)


def may_hold_identity_number(text: str, delimiter: str | None = None, chunk: int = _CHUNK) -> bool:
    """Whether the normalised text holds ten digits with only separators between them: the first look over a file.

    A superset of what `contains_identity_number` finds in any cell of the file. With the
    file's `delimiter` and no quote character in it, a cell never holds the delimiter, so
    the delimiter separates nothing (two adjacent date cells are not ten digits). For an
    ASCII text the same answer as ``PREFILTER.search(normalise(text))`` (with the delimiter
    made a line break), found over its bytes at C speed (`bytes.translate`, then a substring
    search), many times faster than the expression over a large file. In other text every byte
    of a non-ASCII character counts
    as a separator (a superset: the look can only say yes more often), unless one of its
    characters is a digit after NFKC (fullwidth, another script's, a superscript): such a
    text is normalised and searched with the expression itself
    (tests/unit/test_identity_prefilter.py checks both ways).
    """
    hide = delimiter is not None and '"' not in text
    non_ascii = not text.isascii()
    if non_ascii and _has_non_ascii_digit(text):
        return PREFILTER.search(normalise(text.replace(delimiter, "\n") if hide else text)) is not None
    table, dropped = _run_table(non_ascii, delimiter if hide else None)
    data = text.encode("utf-8", "surrogatepass")  # a lone surrogate: bytes >= 0x80
    # Each digit becomes 0, each separator is dropped, anything else (which ends a run) becomes x:
    # ten digits with only separators between them are then ten 0 in a row.
    carry = 0  # digits of the run still open at the end of the last chunk
    for start in range(0, len(data), chunk):
        part = data[start:start + chunk].translate(table, dropped)
        if not part:
            continue
        if carry + len(part) - len(part.lstrip(b"0")) >= 10 or _TEN_DIGITS in part:
            return True
        rest = part.rstrip(b"0")
        carry = len(part) - len(rest) + (carry if not rest else 0)
    return False


_TEN_DIGITS = b"0" * 10


@lru_cache(maxsize=None)
def _run_table(non_ascii: bool, delimiter: str | None) -> tuple[bytes, bytes]:
    """(translation table, bytes to drop) of `may_hold_identity_number`: digits to 0, separators dropped, the rest to x."""
    separators = set(_ASCII_SEPARATORS.encode("ascii"))
    if non_ascii:
        separators |= set(range(0x80, 0x100))
    if delimiter is not None:
        separators.discard(ord(delimiter))
    table = bytes(0x30 if 0x30 <= code <= 0x39 else 0x78 for code in range(256))
    return table, bytes(sorted(separators))


def _valid_date(date_digits: str) -> bool:
    """YYMMDD or CCYYMMDD with a real month and day; day + 60 for a coordination number."""
    if len(date_digits) == 8:
        century, rest = int(date_digits[:2]), date_digits[2:]
        if century not in (18, 19, 20):
            return False
        years = [century * 100 + int(rest[:2])]
    else:
        rest = date_digits
        years = [1900 + int(rest[:2]), 2000 + int(rest[:2])]
    month, day = int(rest[2:4]), int(rest[4:6])
    if day > 60:
        day -= 60
    if not 1 <= month <= 12 or day < 1:
        return False
    return any(day <= calendar.monthrange(year, month)[1] for year in years)


def _luhn_ok(ten_digits: str) -> bool:
    total = 0
    for position, digit in enumerate(ten_digits[:9]):
        product = int(digit) * (2 if position % 2 == 0 else 1)
        total += product - 9 if product > 9 else product
    return (10 - total % 10) % 10 == int(ten_digits[9])


def contains_identity_number(text: object) -> bool:
    """True when the text holds a personal or coordination number with a valid date and check digit."""
    if not isinstance(text, str):
        return False
    text = normalise(text)
    if PREFILTER.search(text) is None:
        return False
    for match in _CANDIDATE.finditer(text):
        date_digits, serial = match.group(1).replace(SEPARATOR, ""), match.group(2)
        candidates = [date_digits] if len(date_digits) == 6 else [date_digits, date_digits[2:]]
        for digits in candidates:  # a 12-digit run as CCYYMMDD-NNNC, and its last ten as YYMMDD-NNNC
            if _valid_date(digits) and _luhn_ok(digits[-6:] + serial):
                return True
    return False


def is_identity_number(text: object) -> bool:
    """True when the whole normalised text is 10 or 12 digits, optionally with one separator before the last four."""
    return isinstance(text, str) and _WHOLE.fullmatch(normalise(text)) is not None
