"""PDF through WeasyPrint from templates/reports/pdf.html: a title page (report, parameters,
who generated it and when, the data's as-of time), a running header and page numbers on
every page (CSS @page with string-set), table headers repeated on each page
(thead { display: table-header-group }) and the chart as inline SVG."""

import logging

from django.template.loader import render_to_string

from reports.registry import Table

from .svg import chart_for

# WeasyPrint logs every layout step at INFO: one line per page of every report.
logging.getLogger("weasyprint").setLevel(logging.WARNING)


def _cells(columns, row) -> list[tuple[str, bool]]:
    return [(c.text(row), c.kind not in ("text", "date")) for c in columns]


def render_html(
    table: Table, *, report, run, params: list[tuple[str, str]], period: str, generated_by: str, generated_at
) -> tuple[str, int]:
    rows = list(table.iter_rows())  # a PDF is laid out whole; CSV is the format for huge tables
    html = render_to_string(
        "reports/pdf.html",
        {
            "report": report,
            "run": run,
            "params": params,
            "period": period,
            "generated_by": generated_by,
            "generated_at": generated_at,
            "as_of": table.as_of,
            "columns": table.columns,
            "rows": [_cells(table.columns, r) for r in rows],
            "totals": _cells(table.columns, table.totals) if table.totals else None,
            "notes": table.notes,
            "chart": chart_for(table, rows),
        },
    )
    return html, len(rows)


def write_pdf(table: Table, fileobj, **context) -> int:
    from weasyprint import HTML

    html, n = render_html(table, **context)
    HTML(string=html).write_pdf(target=fileobj)
    return n
