"""Charts for the stats page, drawn on the server as SVG geometry: a bar per day.

Pure functions from a series to numbers a template places in `<rect>` elements; no script,
no style beyond presentation attributes, so the page's Content-Security-Policy holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

WIDTH, HEIGHT = 540, 120
LEFT = 40  # room for the axis labels


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    day: date
    value: int


@dataclass(frozen=True)
class Chart:
    title: str
    bars: tuple[Bar, ...]
    top: int  # the value at the top of the scale
    first: date
    last: date
    total: int
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT

    @property
    def latest(self) -> int:
        return self.bars[-1].value if self.bars else 0


def nice_top(value: int) -> int:
    """The smallest of 1, 2, 5 times a power of ten at or above `value` (at least 1)."""
    top = 1
    while True:
        for step in (1, 2, 5):
            if top * step >= value:
                return top * step
        top *= 10


def bar_chart(title: str, series: Mapping[date, int], last: date, days: int = 90) -> Chart:
    """`days` bars ending on `last`, a day without a value drawn as 0."""
    first = last - timedelta(days=days - 1)
    values = [(first + timedelta(days=n), int(series.get(first + timedelta(days=n), 0)))
              for n in range(days)]  # fmt: skip
    top = nice_top(max((value for _, value in values), default=0))
    step = (WIDTH - LEFT) / days
    bars = []
    for n, (day, value) in enumerate(values):
        height = HEIGHT * value / top
        bars.append(Bar(round(LEFT + n * step, 2), round(HEIGHT - height, 2),
                        round(max(step - 1, 1), 2), round(height, 2), day, value))  # fmt: skip
    return Chart(title, tuple(bars), top, first, last, sum(value for _, value in values))
