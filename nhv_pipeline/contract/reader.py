"""Reading one delivered CSV file into a text frame, with exact physical line numbers.

DATA_CONTRACT.md section 2: UTF-8 with or without BOM (never guessed), delimiter `,`
or `;` detected per file from the header line, header names case-insensitive with
surrounding spaces ignored, quoted fields may hold delimiters and newlines. A file
with a format error contributes no rows. Files are opened read-only; nothing under
the data root is ever written (section 1).
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import itertools
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import rules
from .identity import contains_identity_number, is_identity_number, may_hold_identity_number

REDACTED = "<redacted>"

_IDENTITY_IN_CELL = (
    "Cellen innehåller något som ser ut som ett svenskt person- eller samordningsnummer; ta bort det "
    "(patienter anges bara med enhetens pseudonyma id). Värdet har undanhållits från alla rapporter."
)
_IDENTITY_IN_HEADER = (
    "Kolumnnamnet innehåller något som ser ut som ett svenskt person- eller samordningsnummer; namnge "
    "kolumnen som i kontraktet. Namnet har undanhållits från alla rapporter."
)

# The largest table file that is read at all. A national delivery is well under 1 MB per
# file and the 100x volume benchmark stays under 100 MB, so a larger file is a wrong
# export (a whole EHR dump, a binary) that would otherwise be read into memory.
FIELD_SIZE_LIMIT = 131072
"""The longest field read (the csv module's default limit); a longer one is field_too_large."""

MAX_FILE_MB_ENV = "NHV_MAX_FILE_MB"
DEFAULT_MAX_FILE_MB = 100

# A header name the reader repeats in a failure's column: it looks like a column name.
# Anything else (a header-less file's first data row, a formula) is named by its position,
# since it may be a row-level value (DATA_CONTRACT.md 3: failures never repeat values).
_NAME_PATTERN = r"[a-z_][a-z0-9_ ]{0,63}"
_LINE_BREAK = re.compile(rb"\r\n|\r|\n")


@dataclass
class FileRead:
    """What one file gave: its rows (None after a format error), failures and inventory facts."""

    frame: pd.DataFrame | None
    failures: list[dict] = field(default_factory=list)
    size_bytes: int = 0
    sha256: str = ""
    rows: int = 0


def is_inside_root(path: Path, data_root: Path) -> bool:
    """False for a symlink or a path that resolves outside the data root (section 1: only data_raw is read)."""
    if path.is_symlink():
        return False
    try:
        return path.resolve().is_relative_to(data_root.resolve())
    except OSError:
        return False


class NotARegularFile(OSError):
    """A path that was a plain file when checked is something else when opened (a FIFO, a device)."""


def is_regular_file(path: Path) -> bool:
    """True only for a plain file: not a FIFO, socket, device or folder, and not a symlink (never opened).

    Opening a FIFO waits for a writer for ever and a device may never end, so a
    delivered path is checked with lstat before anything opens it (section 1).
    """
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def not_a_file_failure(rel: str) -> dict:
    return _failure(
        rel, None, "", rules.NOT_A_FILE,
        "Detta är en namngiven rörledning (FIFO), en socket, en enhetsfil eller en mapp, ingen vanlig fil, och öppnas "
        "därför aldrig; lägg själva CSV-filen där.",
    )


def _regular_file_opener(path: str, flags: int) -> int:
    """`open(..., opener=)`: refuse at once what is no plain file, even if it was swapped in after the check.

    O_NONBLOCK makes opening a FIFO return instead of waiting for a writer; the
    fstat then rejects it before a byte is read. On a plain file the flag does nothing.
    """
    flags |= os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NOCTTY", 0)
    fd = os.open(path, flags)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise NotARegularFile(f"{path} is not a plain file (a named pipe, socket, device or folder); it is not read.")
    return fd


def max_file_bytes() -> int:
    """The size limit of one delivered file: NHV_MAX_FILE_MB megabytes (default 100).

    A value that is not a positive number is a configuration error and raises ValueError.
    """
    raw = os.environ.get(MAX_FILE_MB_ENV, "").strip()
    if raw == "":
        return DEFAULT_MAX_FILE_MB * 1024 * 1024
    try:
        megabytes = float(raw)
    except ValueError:
        megabytes = float("nan")
    if not megabytes > 0:
        raise ValueError(f"{MAX_FILE_MB_ENV} must be a positive number of megabytes")
    return int(megabytes * 1024 * 1024)


def too_large_failure(rel: str, limit: int) -> dict:
    return _failure(
        rel, None, "", rules.FILE_TOO_LARGE,
        f"Filen är större än {limit // (1024 * 1024)} MB, långt mer än en leverans av tabellen rymmer, och lästes inte; "
        "kontrollera att rätt uttag sparades (en CSV med datakontraktets kolumner och inget annat).",
    )


def read_bytes_limited(path: Path, limit: int | None = None) -> bytes | None:
    """The file's bytes, or None when it is larger than the limit: the size is checked before reading."""
    limit = max_file_bytes() if limit is None else limit
    with open(path, "rb", opener=_regular_file_opener) as handle:  # read-only, section 1
        if os.fstat(handle.fileno()).st_size > limit:
            return None
        data = handle.read(limit + 1)  # a file that grows while it is read is cut off, then rejected
    return None if len(data) > limit else data


def _failure(rel: str, line: int | None, column: str, rule: str, message: str) -> dict:
    return rules.failure("", rel, line, column, rule, message)


def _line_of(data: bytes, position: int) -> int:
    """Physical line (1-based) of a byte offset; CRLF, LF and a lone CR each end a line, as for the csv reader."""
    return len(_LINE_BREAK.findall(data, 0, position)) + 1


def _decode(data: bytes, rel: str) -> tuple[str | None, dict | None]:
    """UTF-8 text without BOM, or the encoding failure at the line of the first bad byte.

    A NUL byte is valid UTF-8 but no text (UTF-16 without BOM, a binary such as PNG or
    zip saved as .csv), so it counts as a bad byte too; whichever comes first is named.
    """
    wide = _wide_unicode_bom(data)
    if wide is not None:
        return None, _failure(
            rel, 1, "", rules.ENCODING,
            f'Filen är {wide} ("Unicode-text" i Excel), inte UTF-8; spara den igen som "CSV UTF-8 (kommaavgränsad)" '
            "och leverera den på nytt.",
        )
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    nul = data.find(b"\x00")
    try:
        text = data.decode("utf-8")
        invalid = -1
    except UnicodeDecodeError as err:
        text, invalid = None, err.start
    if invalid < 0 and nul < 0:
        return text, None
    first = min(p for p in (nul, invalid) if p >= 0)
    if first == nul:
        message = ('Filen innehåller NUL-byte och är alltså ingen textfil (UTF-16 "Unicode-text", eller en binär fil som en '
                   'bild eller ett zip-arkiv med namnet .csv); spara tabellen igen som "CSV UTF-8 (kommaavgränsad)" och leverera den på nytt.')
    else:
        message = ("Filen är inte giltig UTF-8 (den ser ut som Windows-1252, som Excel skriver som standard); "
                   'spara den igen som "CSV UTF-8 (kommaavgränsad)" och leverera den på nytt.')
    return None, _failure(rel, _line_of(data, first), "", rules.ENCODING, message)


def _wide_unicode_bom(data: bytes) -> str | None:
    """"UTF-16" or "UTF-32" when the file starts with that byte-order mark (UTF-32 first: its LE mark extends UTF-16's)."""
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "UTF-32"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "UTF-16"
    return None


def detect_delimiter(header_line: str) -> str:
    """`;` when the header has more semicolons than commas (Swedish Excel), else `,` (section 2)."""
    return ";" if header_line.count(";") > header_line.count(",") else ","


def read_contract_csv(
    path: Path, rel: str, columns: list[str], id_columns: list[str] = (), optional_columns=()
) -> FileRead:
    """Read one table file against its contract columns; redact identity numbers in id columns.

    `line` in failures and `source_line` in the frame count physical lines, header = 1;
    a record with a quoted newline is numbered by the line where it starts.
    """
    limit = max_file_bytes()
    data = read_bytes_limited(path, limit)
    if data is None:
        return FileRead(frame=None, failures=[too_large_failure(rel, limit)], size_bytes=path.stat().st_size)
    return parse_contract_csv(data, rel, columns, id_columns, optional_columns)


def parse_contract_csv(
    data: bytes, rel: str, columns: list[str], id_columns: list[str] = (), optional_columns=()
) -> FileRead:
    """The bytes of one table file against its contract columns (see read_contract_csv).

    `optional_columns` are those whose cells may be empty: a missing one is asked for as such.
    """
    return _parse_contract_csv(data, rel, columns, id_columns, optional_columns, fast=True)


def _parse_contract_csv(data: bytes, rel: str, columns, id_columns, optional_columns, fast: bool) -> FileRead:
    """parse_contract_csv; `fast=False` reads every file with the csv module (the tests compare both reads)."""
    result = FileRead(frame=None, size_bytes=len(data), sha256=hashlib.sha256(data).hexdigest())

    text, bad = _decode(data, rel)
    if bad is not None:
        result.failures.append(bad)
        return result
    if text.strip() == "":
        result.failures.append(
            _failure(rel, 1, "", rules.EMPTY_FILE, "Filen är tom; den behöver minst rubrikraden med datakontraktets kolumnnamn.")
        )
        return result

    header_line = re.split(r"\r\n|\n|\r", text, maxsplit=1)[0]
    delimiter = detect_delimiter(header_line)
    # A plainly well-formed file (no quote but simple ones, no identity number or unusual
    # whitespace, equal field counts, no overlong line) is split by pyarrow; anything else is
    # read record by record below, so its failures keep their file, line and column.
    # Looked at once per file: without ten digits separated by nothing but separators (normalised,
    # the delimiter not counted outside quoted fields), no cell holds an identity number.
    if fast:
        suspect, simple_quotes = _first_look(text, delimiter)
    else:
        suspect, simple_quotes = may_hold_identity_number(text, delimiter), False
    plain = None
    if fast and not suspect:
        plain = _quoted_table(text, delimiter) if simple_quotes else _plain_table(text, delimiter)
    if plain is not None:
        return _parsed(result, rel, columns, optional_columns, plain[0], plain, suspect, id_columns)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    records: list[tuple[int, list[str]]] = []
    start = 1
    # The csv module's field limit is process-wide state that other libraries raise on import;
    # the contract's limit is the module's default, set for the read and put back after.
    previous_limit = csv.field_size_limit(FIELD_SIZE_LIMIT)
    try:
        for record in reader:
            records.append((start, record))
            start = reader.line_num + 1
    except csv.Error as err:
        if "unexpected end of data" in str(err):
            result.failures.append(
                _failure(rel, start, "", rules.UNTERMINATED_QUOTE,
                         "Ett citerat fält som börjar på den här raden avslutas aldrig; lägg till det avslutande citattecknet eller ta bort det inledande.")
            )
        elif "field limit" in str(err):
            result.failures.append(
                _failure(rel, start, "", rules.FIELD_TOO_LARGE,
                         f"Ett fält som börjar på den här raden är längre än {FIELD_SIZE_LIMIT} tecken, CSV-gränsen "
                         "för ett fält, långt mer än någon cell i kontraktet rymmer: oftast ett citattecken som inte "
                         "avslutas som avsett, eller en annan fil sparad som .csv; kontrollera exporten och leverera på nytt.")
            )
        else:
            result.failures.append(
                _failure(rel, reader.line_num, "", rules.BAD_QUOTE,
                         "Ett avslutande citattecken följs av andra tecken än avgränsaren; citera hela fältet eller ta bort citattecknen.")
            )
        return result
    finally:
        csv.field_size_limit(previous_limit)
    return _parsed(result, rel, columns, optional_columns, records[0][1], records, suspect, id_columns)


def parse_contract_records(
    records: list[tuple[int, list[str]]], rel: str, columns: list[str], id_columns=(), optional_columns=(),
    size_bytes: int = 0, sha256: str = "",
) -> FileRead:
    """Text records read from elsewhere (a workbook's sheet), header first, checked as a CSV's are.

    `records` is [(line, fields)]: the header record, then the rows with the line (a sheet's row
    number) each is named by. Header, field-count and identity-number rules are those of a CSV file.
    """
    text = "\n".join(field for _, fields in records for field in fields)
    result = FileRead(frame=None, size_bytes=size_bytes, sha256=sha256)
    return _parsed(result, rel, columns, optional_columns, records[0][1], records, may_hold_identity_number(text), id_columns)


def _parsed(result: FileRead, rel: str, columns, optional_columns, header_fields: list[str], records, suspect: bool,
            id_columns) -> FileRead:
    """Header, field-count and identity checks, and the frame: of the csv records, or of a plain table.

    `records` is either the csv module's [(line, fields), ...] (header first) or the
    (header fields, arrow table) of `_plain_table` or `_quoted_table`, which has no ragged row
    and no identity number (it is only made when no cell can hold a run of ten digits).
    `suspect`: a cell of the file may hold such a run (`_first_look`), so its cells are looked at.
    """
    plain = isinstance(records, tuple)
    header = [name.strip().lower() for name in header_fields]
    for position, name in enumerate(header):
        if contains_identity_number(name):
            result.failures.append(_failure(rel, 1, f"#{position + 1}", rules.IDENTITY_NUMBER, _IDENTITY_IN_HEADER))

    def shown(position: int) -> str:
        """A header name fit to repeat in a failure, else the field's position."""
        name = header[position] if position < len(header) else ""
        if re.fullmatch(_NAME_PATTERN, name) and not contains_identity_number(name):
            return name
        return f"#{position + 1}"

    identity = _identity_cells(records[1:], shown, rel) if suspect else []  # a plain table is never suspect
    if not set(header) & set(columns):
        # No contract column at all: the header line is missing and line 1 holds data, the
        # delimiter is another one, or another table was saved. Its fields are not repeated (section 3).
        result.failures.append(
            _failure(rel, 1, "", rules.HEADER,
                     "Rad 1 anger ingen av datakontraktets kolumner: rubrikraden saknas, avgränsaren är varken , eller ;, "
                     f"eller filen är en annan tabell; första raden ska vara rubrikraden ({', '.join(columns)}).")
        )
        return result
    first_position = {}  # name -> first position: one pass, so a header of 50 000 names is checked at once
    for position, name in enumerate(header):
        first_position.setdefault(name, position)
    for position, name in enumerate(header):
        if name == "":
            result.failures.append(
                _failure(rel, 1, "", rules.HEADER,
                         f"Rubrikfält {position + 1} är tomt (ofta en avgränsare för mycket i slutet); ta bort det eller namnge det som i datakontraktet.")
            )
        elif first_position[name] != position:
            result.failures.append(_failure(rel, 1, shown(position), rules.HEADER, "Kolumnnamnet förekommer två gånger i rubrikraden; behåll ett av dem."))
    for name in columns:
        if name not in first_position:
            result.failures.append(
                _failure(rel, 1, name, rules.MISSING_COLUMN,
                         "Rubrikraden saknar den här kolumnen i datakontraktet; lägg till den (cellerna får vara tomma där det inte finns något att rapportera)."
                         if name in optional_columns else
                         "Rubrikraden saknar den här obligatoriska kolumnen i datakontraktet; lägg till den med ett värde på varje rad.")
            )
    contract = set(columns)
    for name, position in first_position.items():
        if name and name not in contract:
            named = shown(position) == name
            position += 1
            result.failures.append(
                _failure(rel, 1, name if named else f"#{position}", rules.EXTRA_COLUMN,
                         "Kolumnen finns inte i datakontraktet och kan innehålla uppgifter som inte får levereras; ta bort den."
                         if named else
                         f"Rubrikfält {position} är ingen kolumn i datakontraktet och kan innehålla uppgifter som inte får levereras; "
                         "ta bort kolumnen.")
            )

    if plain:
        if result.failures:
            return result
        frame = _plain_frame(records[1], header, columns)
        result.frame = frame
        result.rows = len(frame)
        return result
    body = [(line, fields) for line, fields in records[1:] if any(f.strip() for f in fields)]  # blank lines carry nothing
    for line, fields in body:
        if len(fields) != len(header):
            result.failures.append(
                _failure(rel, line, "", rules.RAGGED_ROW,
                         f"Raden har {len(fields)} fält men rubrikraden har {len(header)}; "
                         "leta efter en saknad eller extra avgränsare, eller citera ett fält som innehåller en.")
            )
    if result.failures:
        result.failures.extend(identity)
        return result

    frame = pd.DataFrame([fields for _, fields in body], columns=header, dtype=object)
    if frame.empty:
        frame = pd.DataFrame({name: pd.Series([], dtype=object) for name in header})
    frame = frame[columns].apply(lambda values: values.str.strip()).astype(object)
    frame = frame.where(frame.ne("") & frame.notna(), None)
    frame["source_line"] = pd.Series([line for line, _ in body], dtype="int64")
    found: list[tuple[int, str]] = []
    if suspect:  # a file without a run of ten digits has no identity number in any id
        frame, found = redact_identity_numbers(frame, id_columns)
    result.failures.extend(
        {**_failure(rel, None, column, rules.IDENTITY_NUMBER,
                    "Id:t ser ut som ett svenskt person- eller samordningsnummer; ersätt det med enhetens "
                    "pseudonyma id. Värdet har undanhållits från alla rapporter."),
         "line": line}
        for line, column in found
    )
    result.failures.extend(identity)
    result.frame = frame
    result.rows = len(frame)
    return result


# Whitespace that str.strip() removes besides space and tab (and a line end): a file holding any
# of it, or a carriage return outside CRLF, is left to the csv module, whose splitting and
# stripping the fast path would otherwise have to copy character by character.
_UNSURE_FOR_PLAIN = re.compile("[\x0b\x0c\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")
_UNSURE_ASCII = "\x0b\x0c\x1c\x1d\x1e\x1f"


def _has_unsure_whitespace(text: str) -> bool:
    """Whether _UNSURE_FOR_PLAIN matches; in ASCII text only its ASCII characters can, found by `in` (memchr)."""
    if text.isascii():
        return any(character in text for character in _UNSURE_ASCII)
    return _UNSURE_FOR_PLAIN.search(text) is not None


# Fields this long are left to the csv module, which owns the field limit and its failure.
_PLAIN_FIELD_LIMIT = FIELD_SIZE_LIMIT // 2


def _plain_table(text: str, delimiter: str):
    """(header fields, body as an arrow table of text columns) for a plainly well-formed file, else None.

    Plainly well-formed: no quote character at all (so a record is a physical line and
    every line number is the row's position), line ends LF or CRLF only, no whitespace
    but space and tab inside lines, no field near the csv field limit, a header line
    that is not blank, and every line holding as many fields as the header (an empty
    line of that width included: it is dropped later as the csv path drops it).
    The caller has checked there is no run of ten digits (no identity number to redact).
    Whatever this declines is read by the csv module, with its exact failures.
    """
    if '"' in text:
        return None
    return _arrow_table(text, delimiter, quoted=False)


def _quoted_table(text: str, delimiter: str):
    """`_plain_table` for a file whose quotes are all simple (`_first_look`): pyarrow unquotes its fields.

    A simple quoted field holds no line break, so a record is still a physical line; `""` in it
    is one quote, as for the csv module. The caller has checked the quotes and that the file
    is not suspect.
    """
    return _arrow_table(text, delimiter, quoted=True)


def _arrow_table(text: str, delimiter: str, quoted: bool):
    """The work of `_plain_table` and `_quoted_table`: `quoted` when the text's quotes are all simple."""
    if "\r" in text:
        if text.count("\r") != text.count("\r\n"):
            return None
        text = text.replace("\r\n", "\n")
    if _has_unsure_whitespace(text):
        return None
    header_line, _, body = text.partition("\n")
    if header_line.strip(" \t") == "" or len(header_line) >= _PLAIN_FIELD_LIMIT:
        return None
    if body.endswith("\n"):
        body = body[:-1]  # the last line's end makes no record (a further empty line would)
    if body.startswith("\ufeff"):
        return None  # pyarrow would drop it as a byte-order mark; to the csv module it is part of a field
    if '"' in header_line:
        try:  # one line of simple quoted fields
            header = next(csv.reader([header_line], delimiter=delimiter, strict=True))
        except csv.Error:
            return None
    else:
        header = header_line.split(delimiter)
    if body == "":
        return header, None
    width = len(header)
    import pyarrow as pa  # loaded by pandas anyway; imported here so that importing the reader stays lean
    import pyarrow.compute as pc
    from pyarrow import csv as arrow_csv

    names = [f"f{position}" for position in range(width)]
    try:  # a line with another number of fields than the header raises: the csv path reports it
        table = arrow_csv.read_csv(
            io.BytesIO(body.encode("utf-8")),
            read_options=arrow_csv.ReadOptions(column_names=names, block_size=1 << 24),
            parse_options=arrow_csv.ParseOptions(delimiter=delimiter, quote_char='"' if quoted else False,
                                                 double_quote=quoted, escape_char=False, newlines_in_values=False,
                                                 ignore_empty_lines=False),
            convert_options=arrow_csv.ConvertOptions(column_types={name: pa.string() for name in names},
                                                     strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if table.num_rows != body.count("\n") + 1:
        return None  # every line is one row, an empty one included, or the line numbers would not hold
    longest = max((pc.max(pc.utf8_length(column)).as_py() or 0) for column in table.columns)
    if longest >= _PLAIN_FIELD_LIMIT:
        return None
    return header, table


# A simple quoted field: it starts a field (the quote follows the delimiter, a line end or nothing),
# holds no line end, doubles every quote inside, and ends before the delimiter, a line end or the
# end of the text. The csv module reads such a field exactly so (strict), whatever surrounds it.
_SIMPLE_QUOTED = {
    delimiter: re.compile(rf'"(?<![^{delimiter}\n]")((?:[^"\n]|"")*)"(?![^{delimiter}\n])')
    for delimiter in (",", ";")
}


def _first_look(text: str, delimiter: str) -> tuple[bool, bool]:
    """(suspect, simple quotes): the file's first look for identity numbers, and whether its quotes are all simple.

    A file whose every quote belongs to a simple quoted field (`_SIMPLE_QUOTED`; line ends LF
    or CRLF) is looked at in two parts: the text outside the quoted fields, where the delimiter
    ends a run as in a file without quotes, and the quoted fields' contents, where it is a
    separator (a cell `"191212,1212"` is suspect). Any other file is looked at whole, with
    the delimiter a separator once it holds a quote (`may_hold_identity_number`). Either way a
    superset of the cells that hold an identity number. Found by one regular expression and
    joins, with no loop over lines or fields.
    """
    if '"' not in text:
        return may_hold_identity_number(text, delimiter), False
    lf = text
    if "\r" in lf:
        if lf.count("\r") != lf.count("\r\n"):
            return may_hold_identity_number(text, delimiter), False
        lf = lf.replace("\r\n", "\n")
    parts = _SIMPLE_QUOTED[delimiter].split(lf)  # outside, quoted contents, outside, ...
    outside = "".join(parts[0::2])
    if '"' in outside:
        return may_hold_identity_number(text, delimiter), False
    quoted = "\n".join(parts[1::2])
    return may_hold_identity_number(outside, delimiter) or may_hold_identity_number(quoted), True


def _plain_frame(table, header: list[str], columns: list[str]) -> pd.DataFrame:
    """The contract columns of a plain table: stripped text, None for an empty cell, `source_line` (header = 1).

    Blank lines (every field empty after stripping) carry nothing, as in the csv path.
    """
    if table is None or table.num_rows == 0:
        frame = pd.DataFrame({name: pd.Series([], dtype=object) for name in columns})
        frame["source_line"] = pd.Series([], dtype="int64")
        return frame
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    stripped = [pc.utf8_trim(table.column(position), characters=" \t") for position in range(table.num_columns)]
    empty = [pc.equal(pc.utf8_length(column), 0) for column in stripped]
    blank = empty[0]
    for other in empty[1:]:
        blank = pc.and_(blank, other)
    keep = pc.invert(blank)
    lines = np.arange(2, table.num_rows + 2, dtype="int64")
    no_text = pa.scalar(None, pa.string())
    data = {}
    for name in columns:
        position = header.index(name)
        column = pc.filter(pc.if_else(empty[position], no_text, stripped[position]), keep)
        # to_pandas shares one Python string per distinct value (to_numpy makes one per cell): a
        # date or code column of a million rows then costs its pointers, not a million strings.
        data[name] = pd.Series(column.to_pandas().to_numpy(), dtype=object)
    frame = pd.DataFrame(data)
    frame["source_line"] = pd.Series(lines[keep.to_numpy(zero_copy_only=False)], dtype="int64")
    return frame


def _identity_cells(records: list[tuple[int, list[str]]], shown, rel: str) -> list[dict]:
    """Failures for every field that holds an identity number, anywhere in it; the fields are replaced in place.

    Every field of every record, extra columns and ragged rows included, so the value is gone
    before a frame exists. Called only for a file whose text has a run of ten digits.
    """
    # Each distinct field is looked at once (a file repeats its codes and dates on every row).
    distinct = set(itertools.chain.from_iterable(fields for _, fields in records))
    numbers = {value for value in distinct if contains_identity_number(value)}
    if not numbers:
        return []
    failures = []
    for line, fields in records:
        for position, value in enumerate(fields):
            if value in numbers:
                fields[position] = REDACTED
                failures.append(_failure(rel, line, shown(position), rules.IDENTITY_NUMBER, _IDENTITY_IN_CELL))
    return failures


def redact_identity_numbers(frame: pd.DataFrame, id_columns) -> tuple[pd.DataFrame, list[tuple[int, str]]]:
    """Replace id cells that are identity numbers by REDACTED (section 3), before anyone else sees them.

    An id cell is failed when the whole cell has the shape of a personal or coordination
    number, whatever its date or check digit (``identity.is_identity_number``); a number
    inside a longer value is found by ``_identity_cells``, with date and check digit.
    Returns the redacted frame and the (source_line, column) of every replaced cell.
    """
    found: list[tuple[int, str]] = []
    for column in id_columns:
        values = frame[column]
        hits = values.map(is_identity_number).astype(bool)
        if hits.any():
            found.extend((int(line), column) for line in frame.loc[hits, "source_line"])
            frame.loc[hits, column] = REDACTED
    return frame, found
