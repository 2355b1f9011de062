"""Renderers of a report's Table: CSV (streamed), XLSX (openpyxl write-only), PDF
(WeasyPrint) and the SVG charts the screens, the PDFs and the dashboard share."""
