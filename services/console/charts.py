"""Inline SVG charts rendered on the server (no chart library, nothing fetched by the browser).

Pure functions from numbers to markup: a time-series line chart, grouped bars (throughput and backlog per
department) and horizontal bars (the region drill-down, 区域下钻).
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

COLOURS = ("#2563eb", "#16a34a", "#dc2626", "#9333ea", "#ea580c")


def _fmt(v: float) -> str:
    return f"{v:.0f}" if abs(v) >= 100 or float(v).is_integer() else f"{v:.1f}"


def line_chart(
    points: Sequence[tuple[str, float | None]],
    *,
    title: str,
    target: float | None = None,
    width: int = 640,
    height: int = 220,
) -> str:
    """Values over periods; a gap where a period has no data; a dashed line at the target."""
    pad_l, pad_r, pad_t, pad_b = 44, 12, 24, 36
    values = [v for _, v in points if v is not None]
    top = max([*values, target or 0.0, 1.0]) * 1.1
    inner_w, inner_h = width - pad_l - pad_r, height - pad_t - pad_b
    n = max(len(points) - 1, 1)

    def x(i: int) -> float:
        return pad_l + inner_w * i / n

    def y(v: float) -> float:
        return pad_t + inner_h * (1 - v / top)

    parts = [
        f'<svg class="chart line" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">',
        f'<text x="{pad_l}" y="14" class="chart-title">{escape(title)}</text>',
        f'<line x1="{pad_l}" y1="{pad_t + inner_h}" x2="{width - pad_r}" y2="{pad_t + inner_h}" stroke="#888"/>',
        f'<text x="{pad_l - 4}" y="{pad_t + 4}" text-anchor="end" class="tick">{_fmt(top)}</text>',
        f'<text x="{pad_l - 4}" y="{pad_t + inner_h}" text-anchor="end" class="tick">0</text>',
    ]
    if target is not None:
        ty = y(target)
        parts.append(
            f'<line class="target" x1="{pad_l}" y1="{ty:.1f}" x2="{width - pad_r}" y2="{ty:.1f}" '
            f'stroke="#dc2626" stroke-dasharray="4 3"/>'
            f'<text x="{width - pad_r}" y="{ty - 3:.1f}" text-anchor="end" class="tick">target {_fmt(target)}</text>'
        )
    segment: list[str] = []
    segments: list[list[str]] = []
    for i, (_, v) in enumerate(points):
        if v is None:
            if segment:
                segments.append(segment)
            segment = []
            continue
        segment.append(f"{x(i):.1f},{y(v):.1f}")
        parts.append(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="2.5" fill="{COLOURS[0]}"><title>'
                     f"{escape(points[i][0])}: {_fmt(v)}</title></circle>")  # fmt: skip
    if segment:
        segments.append(segment)
    for seg in segments:
        parts.append(f'<polyline fill="none" stroke="{COLOURS[0]}" stroke-width="2" points="{" ".join(seg)}"/>')
    for i in sorted({0, len(points) // 2, len(points) - 1}):
        if 0 <= i < len(points):
            parts.append(
                f'<text x="{x(i):.1f}" y="{height - 12}" text-anchor="middle" class="tick">'
                f"{escape(points[i][0])}</text>"
            )
    if not values:
        parts.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" class="tick">no data</text>')
    parts.append("</svg>")
    return "".join(parts)


def grouped_bars(
    groups: Sequence[tuple[str, Sequence[tuple[str, float | None]]]],
    *,
    title: str,
    width: int = 640,
    height: int = 220,
) -> str:
    """One group per label (a department), one bar per series (opened / closed / backlog)."""
    pad_l, pad_r, pad_t, pad_b = 44, 12, 24, 48
    inner_w, inner_h = width - pad_l - pad_r, height - pad_t - pad_b
    values = [v for _, series in groups for _, v in series if v is not None]
    top = max([*values, 1.0]) * 1.1
    group_w = inner_w / max(len(groups), 1)
    series_names = [name for name, _ in groups[0][1]] if groups else []
    bar_w = group_w * 0.8 / max(len(series_names), 1)
    parts = [
        f'<svg class="chart bars" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">',
        f'<text x="{pad_l}" y="14" class="chart-title">{escape(title)}</text>',
        f'<line x1="{pad_l}" y1="{pad_t + inner_h}" x2="{width - pad_r}" y2="{pad_t + inner_h}" stroke="#888"/>',
    ]
    for g, (label, series) in enumerate(groups):
        x0 = pad_l + g * group_w + group_w * 0.1
        for s, (name, v) in enumerate(series):
            if v is None:
                continue
            h = inner_h * max(v, 0) / top
            bx, by = x0 + s * bar_w, pad_t + inner_h - h
            parts.append(
                f'<rect x="{bx:.1f}" y="{by:.1f}" width="{bar_w * 0.9:.1f}" height="{h:.1f}" '
                f'fill="{COLOURS[s % len(COLOURS)]}"><title>{escape(label)} {escape(name)}: {_fmt(v)}</title></rect>'
                f'<text x="{bx + bar_w * 0.45:.1f}" y="{by - 2:.1f}" text-anchor="middle" class="tick">{_fmt(v)}</text>'
            )
        parts.append(
            f'<text x="{x0 + group_w * 0.4:.1f}" y="{pad_t + inner_h + 14}" text-anchor="middle" class="tick">'
            f"{escape(label)}</text>"
        )
    for s, name in enumerate(series_names):
        lx = pad_l + s * 110
        parts.append(
            f'<rect x="{lx}" y="{height - 14}" width="10" height="10" fill="{COLOURS[s % len(COLOURS)]}"/>'
            f'<text x="{lx + 14}" y="{height - 5}" class="tick">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def hbar(value: float | None, top: float, width: int = 160) -> str:
    """A small horizontal bar for one row of the drill-down table."""
    w = 0.0 if value is None or top <= 0 else width * max(value, 0) / top
    return (
        f'<svg class="hbar" width="{width}" height="12" viewBox="0 0 {width} 12" xmlns="http://www.w3.org/2000/svg">'
        f'<rect width="{width}" height="12" fill="#eee"/><rect width="{w:.1f}" height="12" fill="{COLOURS[0]}"/></svg>'
    )
