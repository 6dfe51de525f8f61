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
