"""Spreadsheets (XLSX) of the comparison and of the facts, for researchers who work in Excel,
LibreOffice, pandas (``read_excel``) or R (``readxl``).

Written with openpyxl in write-only mode (rows streamed, nothing kept per cell), one sheet per
table, the header row bold and frozen, with a filter on it. Text is always stored as text: a
statement that begins with ``=`` stays a statement, never a formula a spreadsheet would run.
Numbers and booleans are stored as such, so a column of budgets sums and sorts.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

#: The XLSX media type (IANA).
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: Widest column, in characters (long statements wrap in the application, not in the file).
MAX_WIDTH = 60

Value = str | int | float | bool | None


@dataclass
class Sheet:
    """One table: its sheet name, header and rows."""

    name: str
    header: Sequence[str]
    rows: Sequence[Sequence[Value]]


def workbook(sheets: Sequence[Sheet]) -> bytes:
    """The sheets as one XLSX file."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    bold = Font(bold=True)
    for sheet in sheets:
        ws = book.create_sheet(sheet.name[:31])
        widths = [len(h) for h in sheet.header]
        for row in sheet.rows:
            for i, v in enumerate(row[:len(widths)]):
                widths[i] = max(widths[i], min(len(str(v)) if v is not None else 0, MAX_WIDTH))
        for i, width in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(i)].width = max(8, width + 2)
        ws.freeze_panes = "B2"
        if sheet.header:
            ws.auto_filter.ref = (f"A1:{get_column_letter(len(sheet.header))}"
                                  f"{max(1, len(sheet.rows) + 1)}")
        header = []
        for h in sheet.header:
            cell = WriteOnlyCell(ws, value=h)
            cell.font = bold
            header.append(cell)
        ws.append(header)
        for row in sheet.rows:
            cells = []
            for v in row:
                cell = WriteOnlyCell(ws, value=v)
                if isinstance(v, str):
                    cell.data_type = "s"  # never a formula
                cells.append(cell)
            ws.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
