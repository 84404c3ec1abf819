"""Reading a form export: UTF-8 CSV, a header row of questions, one row per institution.

Problems are reported where a person would look in a spreadsheet: the row (the header is row
1) and the column (its header and letter). A byte that is not UTF-8 is placed the same way,
by reading the CSV up to it.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from .errors import Problem, SurveyError
from .mapping import Mapping


@dataclass(frozen=True)
class Row:
    """One answer row: its spreadsheet row number and its cells by column header."""

    number: int
    cells: dict[str, str]


@dataclass(frozen=True)
class Export:
    """A parsed export: the header and the answer rows (blank rows skipped)."""

    file: str
    header: list[str]
    rows: list[Row]

    def index(self, column: str) -> int:
        """The 0-based position of ``column``."""
        return self.header.index(column)


def _place_bad_byte(data: bytes, start: int, file: str, encoding: str) -> Problem:
    """Where the undecodable byte at ``start`` is: the CSV row and column it falls in."""
    prefix = data[:start].decode(encoding, errors="replace")
    records = list(csv.reader(io.StringIO(prefix))) or [[]]
    header = records[0] if len(records) > 1 else []
    row = len(records)
    index = max(len(records[-1]) - 1, 0)
    column = header[index] if index < len(header) else None
    line = data.count(b"\n", 0, start) + 1
    return Problem(file, f"byte 0x{data[start]:02x} (line {line}) is not valid {encoding}; "
                         f"save the export as {encoding.upper()}", row=row, column=column,
                   index=index)


def read_export(path: Path, mapping: Mapping) -> Export:
    """Read and check the export at ``path`` against the columns ``mapping`` needs.

    :raise SurveyError: unreadable file, bad encoding, no header, a missing or repeated
        column, or a row with more cells than the header (each with its row and column).
    """
    file = str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SurveyError([Problem(file, f"cannot read the export: {exc.strerror}")]) from None
    try:
        text = data.decode(mapping.encoding)
    except UnicodeDecodeError as exc:
        raise SurveyError([_place_bad_byte(data, exc.start, file, mapping.encoding)]) from None
    text = text.removeprefix("\ufeff")  # spreadsheets often write a byte-order mark
    try:
        records = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise SurveyError([Problem(file, f"not a valid CSV file: {exc}")]) from None
    if not records or not any(c.strip() for c in records[0]):
        raise SurveyError([Problem(file, "the export is empty: no header row", row=1)])
    header = [c.strip() for c in records[0]]
    problems = []
    seen: dict[str, int] = {}
    for i, name in enumerate(header):
        if name in seen and name:
            problems.append(Problem(file, f"column repeated (also column {seen[name] + 1})",
                                    row=1, column=name, index=i))
        seen.setdefault(name, i)
    for name in mapping.columns():
        if name not in seen:
            problems.append(Problem(file, "missing column: the mapping needs it "
                                          f"({mapping.path.name}); the header has "
                                          f"{len(header)} columns", row=1, column=name))
    rows = []
    for number, record in enumerate(records[1:], start=2):
        if not any(c.strip() for c in record):
            continue
        if len(record) > len(header):
            problems.append(Problem(file, f"{len(record)} cells but {len(header)} columns in "
                                          "the header", row=number))
            continue
        padded = record + [""] * (len(header) - len(record))
        rows.append(Row(number, {h: c.strip() for h, c in zip(header, padded, strict=True)}))
    if not rows and not problems:
        problems.append(Problem(file, "no answer rows: the export holds only its header", row=2))
    if problems:
        raise SurveyError(problems)
    return Export(file, header, rows)
