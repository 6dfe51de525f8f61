"""Swedish personal identity and coordination numbers anywhere in a delivery (DATA_CONTRACT.md 3).

A personal identity number (personnummer) is ``[CC]YYMMDD`` + separator + ``NNNC``:
10 or 12 digits, with ``-``, ``+``, a space or nothing between the date and the
four last digits. A coordination number (samordningsnummer) has day + 60. ``C`` is
a Luhn check digit over the ten digits ``YYMMDDNNN``.

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

_CANDIDATE = re.compile(r"(?<!\d)(?=((?:\d{2})?\d{6})[-+ ]?(\d{4})(?!\d))")
_WHOLE = re.compile(r"((?:\d{2})?\d{6})[-+ ]?(\d{4})")
#: A cheap first look over a whole file: no match here, no identity number anywhere in it.
PREFILTER = re.compile(r"\d{6}[-+ ]?\d{4}")
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_DECIMAL = re.compile(r"\d")
_CHUNK = 1 << 20
"""Bytes looked at in one go by `may_hold_identity_number` (a few MB of work arrays)."""


def may_hold_identity_number(text: str, chunk: int = _CHUNK) -> bool:
    """Whether PREFILTER matches anywhere in the text: the first look over a whole file.

    The same answer as ``PREFILTER.search(text) is not None``, found with numpy over the
    text's UTF-8 bytes, several times faster than the expression over a large file. In
    UTF-8 an ASCII digit, ``-``, ``+`` or space is one byte that no other character's bytes
    contain, so a run of them is the same run in the bytes as in the text. The expression's
    ``\\d`` also takes other scripts' decimal digits: a text holding one is searched with the
    expression itself (tests/test_identity_prefilter.py checks both ways agree).
    """
    if not text.isascii() and any(_DECIMAL.search(run) for run in _NON_ASCII.findall(text)):
        return PREFILTER.search(text) is not None
    import numpy as np

    codes = np.frombuffer(text.encode("utf-8", "surrogatepass"), dtype=np.uint8)  # a lone surrogate: bytes >= 0x80
    for start in range(0, len(codes), chunk):
        # A match starting in this chunk ends at most ten bytes past it.
        part = codes[start:start + chunk + 10]
        size = len(part)
        if size < 10:
            break
        digits = np.concatenate(([0], np.cumsum((part >= 0x30) & (part <= 0x39), dtype=np.int32)))
        six = (digits[6:] - digits[:-6]) == 6  # six[i]: part[i:i+6] are digits
        four = (digits[4:] - digits[:-4]) == 4
        if (six[:size - 9] & four[6:size - 3]).any():  # ten digits
            return True
        separator = (part == 0x2D) | (part == 0x2B) | (part == 0x20)
        if size > 10 and (six[:size - 10] & separator[6:size - 4] & four[7:size - 3]).any():  # six, -+ or space, four
            return True
    return False


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
    if not isinstance(text, str) or PREFILTER.search(text) is None:
        return False
    for match in _CANDIDATE.finditer(text):
        date_digits, serial = match.group(1), match.group(2)
        candidates = [date_digits] if len(date_digits) == 6 else [date_digits, date_digits[2:]]
        for digits in candidates:  # a 12-digit run as CCYYMMDD-NNNC, and its last ten as YYMMDD-NNNC
            if _valid_date(digits) and _luhn_ok(digits[-6:] + serial):
                return True
    return False


def is_identity_number(text: object) -> bool:
    """True when the whole text is 10 or 12 digits, optionally with -, + or a space before the last four."""
    return isinstance(text, str) and _WHOLE.fullmatch(text) is not None
