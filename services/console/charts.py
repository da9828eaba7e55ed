"""Inline SVG charts rendered on the server (no chart library, nothing fetched by the browser).

Pure functions from numbers to markup: a time-series line chart, grouped bars (throughput and backlog per
department) and horizontal bars (the region drill-down, 区域下钻). Each computes the geometry; the SVG itself is a
template under `templates/charts/`, so every label is escaped by Jinja2.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup

from services.console.rendering import render

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
) -> Markup:
    """Values over periods; a gap where a period has no data; a dashed line at the target."""
    pad_l, pad_r, pad_t, pad_b = 44, 12, 24, 36
    values = [v for _, v in points if v is not None]
    top = max([*values, target or 0.0, 1.0]) * 1.1
    inner_w, inner_h = width - pad_l - pad_r, height - pad_t - pad_b
    n = max(len(points) - 1, 1)

    def x(i: int) -> str:
        return f"{pad_l + inner_w * i / n:.1f}"

    def y(v: float) -> str:
        return f"{pad_t + inner_h * (1 - v / top):.1f}"

    dots = [(x(i), y(v), f"{label}: {_fmt(v)}") for i, (label, v) in enumerate(points) if v is not None]
    segments: list[list[str]] = [[]]
    for i, (_, v) in enumerate(points):
        if v is None:
            segments.append([])
        else:
            segments[-1].append(f"{x(i)},{y(v)}")
    last = len(points) - 1
    anchor = {0: "start", last: "end"}  # the end labels stay inside the chart
    ticks = [(x(i), points[i][0], anchor.get(i, "middle")) for i in sorted({0, len(points) // 2, last}) if i >= 0]
    target_line = None
    if target is not None:
        ty = pad_t + inner_h * (1 - target / top)
        target_line = {"y": f"{ty:.1f}", "label_y": f"{ty - 3:.1f}", "label": f"target {_fmt(target)}"}
    return render(
        "charts/line.svg", title=title, width=width, height=height, left=pad_l, right=width - pad_r,
        top=pad_t, base=pad_t + inner_h, top_label=_fmt(top), target=target_line, dots=dots,
        polylines=[" ".join(s) for s in segments if s], ticks=ticks, no_data=not values, colour=COLOURS[0],
    )  # fmt: skip


def grouped_bars(
    groups: Sequence[tuple[str, Sequence[tuple[str, float | None]]]],
    *,
    title: str,
    width: int = 640,
    height: int = 220,
) -> Markup:
    """One group per label (a department), one bar per series (opened / closed / backlog)."""
    pad_l, pad_r, pad_t, pad_b = 44, 12, 24, 48
    inner_w, inner_h = width - pad_l - pad_r, height - pad_t - pad_b
    values = [v for _, series in groups for _, v in series if v is not None]
    top = max([*values, 1.0]) * 1.1
    group_w = inner_w / max(len(groups), 1)
    series_names = [name for name, _ in groups[0][1]] if groups else []
    bar_w = group_w * 0.8 / max(len(series_names), 1)
    out_groups = []
    for g, (label, series) in enumerate(groups):
        x0 = pad_l + g * group_w + group_w * 0.1
        bars = []
        for s, (name, v) in enumerate(series):
            if v is None:
                continue
            h = inner_h * max(v, 0) / top
            bx, by = x0 + s * bar_w, pad_t + inner_h - h
            bars.append({
                "x": f"{bx:.1f}", "y": f"{by:.1f}", "width": f"{bar_w * 0.9:.1f}", "height": f"{h:.1f}",
                "fill": COLOURS[s % len(COLOURS)], "title": f"{label} {name}: {_fmt(v)}",
                "label_x": f"{bx + bar_w * 0.45:.1f}", "label_y": f"{by - 2:.1f}", "label": _fmt(v),
            })  # fmt: skip
        out_groups.append({"bars": bars, "label": label, "x": f"{x0 + group_w * 0.4:.1f}"})
    legend = [(pad_l + s * 110, COLOURS[s % len(COLOURS)], name) for s, name in enumerate(series_names)]
    return render(
        "charts/bars.svg", title=title, width=width, height=height, left=pad_l, right=width - pad_r,
        base=pad_t + inner_h, groups=out_groups, legend=legend,
    )  # fmt: skip


def hbar(value: float | None, top: float, width: int = 160) -> Markup:
    """A small horizontal bar for one row of the drill-down table."""
    w = 0.0 if value is None or top <= 0 else width * max(value, 0) / top
    return render("charts/hbar.svg", width=width, filled=f"{w:.1f}", colour=COLOURS[0])
