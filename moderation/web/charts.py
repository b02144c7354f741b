"""Charts as geometry for server-rendered SVG (no script, no style attribute: the CSP allows neither).

Each builder turns numbers into rectangles, a polyline and text positions; `templates/_charts.html` draws
them, and app.css colours them by class.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

WIDTH = 640
HEIGHT = 200
LEFT = 40
"""Room for the value axis's labels."""
BOTTOM = 22
"""Room for the category labels under the bars."""
TOP = 10
RIGHT = 24
"""Room for the last category label, centred on the plot's right edge."""
ROW = 22
"""Height of one row of a horizontal bar chart."""
NAME_WIDTH = 190


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    value: str
    """What the bar stands for, as data-value (tests and tooltips read it)."""
    tip: str
    css: str = ""


@dataclass(frozen=True)
class Text:
    x: float
    y: float
    text: str
    anchor: str = "start"
    css: str = ""


@dataclass(frozen=True)
class Chart:
    name: str
    title: str
    width: int
    height: int
    rects: list[Rect] = field(default_factory=list)
    texts: list[Text] = field(default_factory=list)
    line: str = ""
    """Polyline points, "x,y x,y ..." (empty: none)."""
    dots: list[Rect] = field(default_factory=list)
    """Points on the line, as small squares carrying their values."""


def day_bars(name: str, title: str, points: Sequence[tuple[str, int]]) -> Chart:
    """One vertical bar per (day, count), a value axis from 0 to the largest count."""
    top = max((value for _, value in points), default=0)
    scale = _scale(top)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(points), 1)
    rects = []
    for n, (day, value) in enumerate(points):
        height = plot_h * value / scale if scale else 0
        rects.append(
            Rect(
                x=round(LEFT + n * slot + slot * 0.1, 2),
                y=round(TOP + plot_h - height, 2),
                width=round(slot * 0.8, 2),
                height=round(height, 2),
                value=str(value),
                tip=f"{day}: {value}",
                css="bar",
            )
        )
    return Chart(name, title, WIDTH, HEIGHT, rects=rects, texts=_axes(points, scale, slot))


def day_line(name: str, title: str, points: Sequence[tuple[str, int]]) -> Chart:
    """A line through (time, count) points, a value axis from 0 to the largest count."""
    top = max((value for _, value in points), default=0)
    scale = _scale(top)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(len(points) - 1, 1)
    coords = [
        (round(LEFT + n * step, 2), round(TOP + plot_h - (plot_h * value / scale if scale else 0), 2))
        for n, (_, value) in enumerate(points)
    ]
    dots = [
        Rect(x - 2.5, y - 2.5, 5, 5, value=str(value), tip=f"{when}: {value}", css="dot")
        for (x, y), (when, value) in zip(coords, points, strict=True)
    ]
    texts = _value_axis(scale) + _category_labels(points, lambda n: LEFT + n * step)
    return Chart(name, title, WIDTH, HEIGHT, texts=texts, line=" ".join(f"{x},{y}" for x, y in coords), dots=dots)


def share_bars(name: str, title: str, rows: Sequence[tuple[str, float | None, str]]) -> Chart:
    """Horizontal bars of shares 0..1: (name, share or None for no data, caption shown after the bar)."""
    height = TOP + ROW * len(rows) + 4
    bar_w = WIDTH - NAME_WIDTH - 150
    rects, texts = [], []
    for n, (label, share, caption) in enumerate(rows):
        y = TOP + n * ROW
        texts.append(Text(NAME_WIDTH - 6, y + 14, label, anchor="end"))
        rects.append(Rect(NAME_WIDTH, y + 3, bar_w, ROW - 6, value="", tip="", css="track"))
        if share is not None:
            rects.append(
                Rect(NAME_WIDTH, y + 3, round(bar_w * share, 2), ROW - 6, value=f"{share:.4f}", tip=caption, css="bar")
            )
        texts.append(Text(NAME_WIDTH + bar_w + 6, y + 14, caption))
    return Chart(name, title, WIDTH, height, rects=rects, texts=texts)


def count_bars(name: str, title: str, rows: Sequence[tuple[str, int, str]]) -> Chart:
    """Horizontal bars of counts (name, count, css class), scaled to the largest."""
    largest = max((count for _, count, _ in rows), default=0)
    height = TOP + ROW * len(rows) + 4
    bar_w = WIDTH - NAME_WIDTH - 80
    rects, texts = [], []
    for n, (label, count, css) in enumerate(rows):
        y = TOP + n * ROW
        texts.append(Text(NAME_WIDTH - 6, y + 14, label, anchor="end"))
        width = round(bar_w * count / largest, 2) if largest else 0
        rects.append(
            Rect(NAME_WIDTH, y + 3, width, ROW - 6, value=str(count), tip=f"{label}: {count}", css=f"bar {css}")
        )
        texts.append(Text(NAME_WIDTH + width + 6, y + 14, str(count)))
    return Chart(name, title, WIDTH, height, rects=rects, texts=texts)


def _scale(top: int) -> int:
    """The axis maximum: the largest value rounded up to 1, 2 or 5 times a power of ten (0 stays 0)."""
    if top <= 0:
        return 0
    magnitude = 1
    while True:
        for factor in (1, 2, 5):
            if factor * magnitude >= top:
                return factor * magnitude
        magnitude *= 10


def _value_axis(scale: int) -> list[Text]:
    plot_h = HEIGHT - TOP - BOTTOM
    ticks = [0, scale // 2, scale] if scale >= 2 else [0, scale]
    return [Text(LEFT - 6, _tick_y(tick, scale, plot_h), str(tick), "end", "axis") for tick in ticks]


def _tick_y(tick: int, scale: int, plot_h: float) -> float:
    return round(TOP + plot_h - (plot_h * tick / scale if scale else 0) + 4, 2)


def _category_labels(points: Sequence[tuple[str, int]], x_of: Callable[[int], float]) -> list[Text]:
    """At most 8 labels under the plot, evenly spread, always the first and the last."""
    if not points:
        return []
    count = len(points)
    every = max(1, -(-count // 8))
    shown = sorted({*range(0, count, every), count - 1})
    return [Text(round(x_of(n), 2), HEIGHT - 6, points[n][0], "middle", "axis") for n in shown]


def _axes(points: Sequence[tuple[str, int]], scale: int, slot: float) -> list[Text]:
    return _value_axis(scale) + _category_labels(points, lambda n: LEFT + n * slot + slot / 2)
