"""Server-rendered SVG charts (bar and line): axes, ticks, labels, a legend, no JavaScript,
so the same chart shows on a screen, prints in a PDF and serves the dashboard.

    svg = bar_chart(["SE", "MT"], {"GGR": [120.5, 80.0]}, title="GGR by market")
    svg = line_chart(["2026-01-01", ...], {"GGR": [...], "NGR": [...]})
    svg = chart_for(table)   # a report table with a ChartSpec

Values are plain numbers (major units for money); the functions return the markup as a
string, safe to mark_safe: every label is escaped."""

import math
from collections.abc import Sequence
from html import escape

PALETTE = ["#2563eb", "#16a34a", "#f59e0b", "#dc2626", "#7c3aed", "#0891b2"]
WIDTH, HEIGHT = 720, 300
PAD_L, PAD_R, PAD_T, PAD_B = 70, 16, 34, 58


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values covering [lo, hi] (0 included)."""
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    if hi == lo:
        hi = lo + 1
    raw = (hi - lo) / count
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.floor(lo / step) * step
    ticks, t = [], start
    while t < hi + step * 0.5:
        ticks.append(round(t, 10))
        t += step
    return ticks


def _fmt(v: float) -> str:
    a = abs(v)
    if a >= 1_000_000:
        return f"{v / 1_000_000:.1f}M"
    if a >= 10_000:
        return f"{v / 1_000:.0f}k"
    if a >= 1_000:
        return f"{v / 1_000:.1f}k"
    return f"{v:.0f}" if v == int(v) else f"{v:.2f}"


def _frame(labels: Sequence[str], series: dict[str, Sequence[float]], title: str, width: int, height: int):
    values = [v for vs in series.values() for v in vs if v is not None]
    ticks = nice_ticks(min(values, default=0.0), max(values, default=1.0))
    lo, hi = ticks[0], ticks[-1]
    plot_w, plot_h = width - PAD_L - PAD_R, height - PAD_T - PAD_B

    def y(v: float) -> float:
        return PAD_T + plot_h - (v - lo) / (hi - lo) * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="pitboss-chart" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}" '
        'font-family="Helvetica, Arial, sans-serif" font-size="11">',
        f'<text x="{PAD_L}" y="18" font-size="13" font-weight="bold" fill="#111827">{escape(title)}</text>',
    ]
    for t in ticks:
        parts.append(
            f'<line x1="{PAD_L}" x2="{width - PAD_R}" y1="{y(t):.1f}" y2="{y(t):.1f}" '
            f'stroke="{"#9ca3af" if t == 0 else "#e5e7eb"}" stroke-width="1"/>'
            f'<text x="{PAD_L - 6}" y="{y(t) + 4:.1f}" text-anchor="end" fill="#4b5563">{_fmt(t)}</text>'
        )
    parts.append(
        f'<line x1="{PAD_L}" x2="{PAD_L}" y1="{PAD_T}" y2="{PAD_T + plot_h}" stroke="#6b7280" stroke-width="1"/>'
    )
    # Legend, top right.
    x = width - PAD_R
    for i, name in reversed(list(enumerate(series))):
        x -= 26 + 7 * len(name)
        parts.append(
            f'<rect x="{x}" y="8" width="10" height="10" fill="{PALETTE[i % len(PALETTE)]}"/>'
            f'<text x="{x + 14}" y="17" fill="#374151">{escape(name)}</text>'
        )
    return parts, y, plot_w, plot_h


def _x_labels(parts: list[str], labels: Sequence[str], centres: list[float], height: int) -> None:
    every = max(1, math.ceil(len(labels) / 14))
    for i, (label, cx) in enumerate(zip(labels, centres, strict=True)):
        if i % every:
            continue
        text = escape(str(label)[:18])
        parts.append(
            f'<text x="{cx:.1f}" y="{height - PAD_B + 14}" text-anchor="end" fill="#4b5563" '
            f'transform="rotate(-35 {cx:.1f} {height - PAD_B + 14})">{text}</text>'
        )


def bar_chart(
    labels: Sequence[str], series: dict[str, Sequence[float]], *, title: str = "", width=WIDTH, height=HEIGHT
) -> str:
    parts, y, plot_w, _plot_h = _frame(labels, series, title, width, height)
    n, k = max(len(labels), 1), max(len(series), 1)
    slot = plot_w / n
    bar = slot * 0.8 / k
    centres = []
    for i, _label in enumerate(labels):
        left = PAD_L + i * slot + slot * 0.1
        centres.append(left + slot * 0.4)
        for j, vs in enumerate(series.values()):
            v = vs[i] or 0.0
            top, bottom = sorted((y(v), y(0)))
            parts.append(
                f'<rect x="{left + j * bar:.1f}" y="{top:.1f}" width="{max(bar - 1, 1):.1f}" '
                f'height="{max(bottom - top, 0.5):.1f}" fill="{PALETTE[j % len(PALETTE)]}"/>'
            )
    _x_labels(parts, labels, centres, height)
    parts.append("</svg>")
    return "".join(parts)


def line_chart(
    labels: Sequence[str], series: dict[str, Sequence[float]], *, title: str = "", width=WIDTH, height=HEIGHT
) -> str:
    parts, y, plot_w, _plot_h = _frame(labels, series, title, width, height)
    n = len(labels)
    step = plot_w / max(n - 1, 1)
    centres = [PAD_L + i * step if n > 1 else PAD_L + plot_w / 2 for i in range(n)]
    for j, vs in enumerate(series.values()):
        colour = PALETTE[j % len(PALETTE)]
        points = " ".join(f"{cx:.1f},{y(v or 0.0):.1f}" for cx, v in zip(centres, vs, strict=True))
        parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>')
        if n <= 40:
            parts.extend(
                f'<circle cx="{cx:.1f}" cy="{y(v or 0.0):.1f}" r="2.5" fill="{colour}"/>'
                for cx, v in zip(centres, vs, strict=True)
            )
    _x_labels(parts, labels, centres, height)
    parts.append("</svg>")
    return "".join(parts)


def chart_for(table, rows: list[dict] | None = None) -> str:
    """The chart a report table asks for (its ChartSpec), from its rows (aggregated by the
    x label when several rows share one). Empty string without a spec or rows."""
    spec = table.chart
    if spec is None:
        return ""
    cols = {c.key: c for c in table.columns}
    data = rows if rows is not None else list(table.iter_rows())
    data = [r for r in data if all(r.get(k) == v for k, v in spec.where)]
    if not data:
        return ""
    labels: list[str] = []
    sums: dict[str, dict[str, float]] = {s: {} for s in spec.series}
    for r in data:
        label = cols[spec.x].text(r) if spec.x in cols else str(r.get(spec.x, ""))
        if label not in labels:
            labels.append(label)
        for s in spec.series:
            col = cols.get(s)
            v = col.value(r) if col is not None else r.get(s)
            sums[s][label] = sums[s].get(label, 0.0) + float(v or 0)
    series = {(cols[s].label if s in cols else s): [sums[s][lb] for lb in labels] for s in spec.series}
    draw = line_chart if spec.kind == "line" else bar_chart
    return draw(labels, series, title=spec.title)
