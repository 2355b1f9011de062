"""CSV: a generator of lines, so a file or an HTTP response is written row by row and memory
stays constant whatever the number of rows (the table's rows are an iterator).

Speed (bench/reports_exports.py, a million rows): the cells are Column.plain's text, computed
with as little Python per cell as possible (_cells), and a file is written by
csv.writer.writerows through one buffered text wrapper instead of one encode and write per
row."""

import csv
import io
from collections.abc import Iterator
from datetime import date
from operator import itemgetter

from backoffice.money import exponent
from reports.registry import Table


class _Line:
    """A file-like object whose write returns the line, for csv.writer in a generator."""

    def write(self, value: str) -> str:
        return value


def _cells(table: Table, rows) -> Iterator[list]:
    """Each row's cells, exactly as Column.plain gives them, with as little Python per cell as
    possible: the values are picked in one C call, csv.writer turns ints, strings and None
    ("") into text itself, and only dates (ISO 8601), money (from the integer minor units, no
    Decimal per cell) and percents are formatted here."""
    cols = table.columns
    keys = [c.key for c in cols]
    pick = itemgetter(*keys) if len(keys) > 1 else (lambda row: (row[keys[0]],))
    money = []
    for i, c in enumerate(cols):
        if c.kind == "money":
            fixed = c.currency if len(c.currency) == 3 and c.currency.isupper() else None
            money.append((i, fixed, c.currency))
    percent = [(i, c.plain) for i, c in enumerate(cols) if c.kind == "percent"]
    places: dict[str, int] = {}
    for row in rows:
        try:
            values = pick(row)
        except KeyError:  # a row without some columns (a sub-total line): those cells are empty
            values = [row.get(k) for k in keys]
        out = [v.isoformat() if isinstance(v, date) else v for v in values]
        for i, fixed, cur_key in money:
            v = out[i]
            if v is None or v == "":
                continue
            cur = fixed or row.get(cur_key) or ""
            e = places.get(cur)
            if e is None:
                e = places[cur] = exponent(cur)  # an unknown currency raises, as Column.plain does
            v = int(v)
            if e:
                whole, frac = divmod(-v if v < 0 else v, 10**e)
                out[i] = f"{'-' if v < 0 else ''}{whole}.{frac:0{e}d}"
            else:
                out[i] = str(v)
        for i, plain in percent:
            out[i] = plain(row)
        yield out


def iter_csv(table: Table) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield writer.writerow([c.label for c in table.columns])
    for cells in _cells(table, table.iter_rows()):
        yield writer.writerow(cells)
    if table.totals:
        yield writer.writerow([c.plain(table.totals) for c in table.columns])


def write_csv(table: Table, fileobj) -> int:
    """Write to a binary file; returns the number of data rows."""
    text = io.TextIOWrapper(fileobj, encoding="utf-8", newline="")
    writer = csv.writer(text)
    n = 0

    def rows():
        nonlocal n
        for row in table.iter_rows():
            n += 1
            yield row

    writer.writerow([c.label for c in table.columns])
    writer.writerows(_cells(table, rows()))
    if table.totals:
        writer.writerow([c.plain(table.totals) for c in table.columns])
    text.flush()
    text.detach()  # the caller's file stays open
    return n
