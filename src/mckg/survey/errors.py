"""What can be wrong with a survey export, said with the place to look: file, row, column."""

from __future__ import annotations

from dataclasses import dataclass


def column_letter(index: int) -> str:
    """The spreadsheet name of the 0-based column ``index`` (0 → A, 26 → AA), as people see
    it when they open the export."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an export. ``row`` counts as a spreadsheet does (the header is
    row 1); ``column`` is the header text, ``index`` its 0-based position."""

    file: str
    message: str
    row: int | None = None
    column: str | None = None
    index: int | None = None

    def text(self) -> str:
        """``file: row R, column C "header": message``."""
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            letter = f"{column_letter(self.index)} " if self.index is not None else ""
            where.append(f'column {letter}"{self.column}"')
        return ", ".join(where) + f": {self.message}"


class SurveyError(Exception):
    """An export (or its mapping) that cannot be ingested; nothing was changed.

    Every problem found is kept, so that one run lists all of them, sorted by row.
    """

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.row or 0, p.index or 0, p.message))
        super().__init__(self.text())

    def text(self) -> str:
        """One problem a line."""
        return "\n".join(p.text() for p in self.problems)
