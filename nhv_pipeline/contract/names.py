"""Names from the data (folder and file names) as the pipeline may show them (DATA_CONTRACT.md 1, 6).

A folder or file name is chosen by whoever wrote the delivery. Shown raw, a newline in it
forges a line of the run's output (`Report year 2026: succeeded`), an escape sequence
retitles or clears a terminal or hides what follows, and a 255-byte name cannot be part
of a longer file name. So a name reaches a terminal, a log, Dagster's event log, a
failure row or a file name only through `shown_name`: every character that is not
printable escaped as Python writes it (`\\n`, `\\x1b`, `\\u200b`), a backslash doubled so
that an escape is never ambiguous, and a long name cut with its length in bytes.
A name that holds an identity number is never shown at all (it is named by its position).

`look_alike(a, b)`: two names a person cannot tell apart, or nearly (`AKADEMISKA`, `akademiska `,
`аkademiska` with a Cyrillic а, `akademiska` with a zero-width space), for pointing a unit at the
folder it misnamed.
"""

from __future__ import annotations

import re
import unicodedata

LONGEST_SHOWN = 80
"""Characters of a name shown before it is cut (a name may have 255 bytes, or more in a deeper path)."""

# Latin look-alikes from other scripts that NFKC leaves alone (Cyrillic and Greek letters).
_CONFUSABLES = str.maketrans({
    "а": "a", "в": "b", "е": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c", "т": "t", "у": "y",
    "х": "x", "ѕ": "s", "і": "i", "ј": "j", "ԁ": "d", "ԛ": "q", "ԝ": "w", "ɡ": "g",
    "α": "a", "β": "b", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "χ": "x",
})
_SEPARATORS = re.compile(r"[\s\-_.]+")


def _escaped(character: str) -> str:
    if character == "\\":
        return "\\\\"
    if character.isprintable():
        return character
    return character.encode("unicode_escape", "backslashreplace").decode("ascii")


def shown_name(name: str, longest: int = LONGEST_SHOWN) -> str:
    """The name with every unprintable character escaped, cut after `longest` characters (its byte length said)."""
    shown = "".join(_escaped(character) for character in name)
    if len(shown) <= longest:
        return shown
    size = len(name.encode("utf-8", "surrogateescape"))
    return f"{shown[:longest]}…({size} bytes)"


def skeleton(name: str) -> str:
    """What is left of a name when case, compatibility forms, invisible characters, look-alike letters,
    surrounding spaces and the kind of separator (space, -, _, .) are set aside."""
    text = unicodedata.normalize("NFKC", name)
    text = "".join(c for c in text if unicodedata.category(c) != "Cf").casefold().translate(_CONFUSABLES)
    return _SEPARATORS.sub("_", text.strip()).strip("_")


def look_alike(name: str, other: str) -> bool:
    """Two different names that read the same (see `skeleton`)."""
    return name != other and skeleton(name) == skeleton(other) != ""
