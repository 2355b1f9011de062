"""XLSX through openpyxl's write-only mode (rows are written as they come, constant memory):
numbers stay numbers (money in major units with two decimals, percents as fractions), a
bold header row and a bold totals row."""

from datetime import date

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from reports.registry import Column, Table

_FORMATS = {"money": "#,##0.00", "percent": "0.00%", "int": "#,##0", "date": "yyyy-mm-dd", "decimal": "0.0"}
_BOLD = Font(bold=True)


def _cell(ws, col: Column, row: dict, bold: bool = False) -> WriteOnlyCell:
    v = col.value(row)
    if col.kind == "percent" and v is not None:
        v = float(v)
    cell = WriteOnlyCell(ws, value=v if not isinstance(v, date) or col.kind == "date" else str(v))
    if col.kind in _FORMATS and v is not None:
        cell.number_format = _FORMATS[col.kind]
    if bold:
        cell.font = _BOLD
    return cell


def write_xlsx(table: Table, fileobj, *, title: str, meta: list[tuple[str, str]]) -> int:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=title[:31])
    header = []
    for c in table.columns:
        cell = WriteOnlyCell(ws, value=c.label)
        cell.font = _BOLD
        header.append(cell)
    ws.append(header)
    n = 0
    for row in table.iter_rows():
        ws.append([_cell(ws, c, row) for c in table.columns])
        n += 1
    if table.totals:
        ws.append([_cell(ws, c, table.totals, bold=True) for c in table.columns])
    about = wb.create_sheet(title="About")
    for label, value in meta:
        about.append([label, value])
    for note in table.notes:
        about.append(["Note", note])
    wb.save(fileobj)
    return n
