"""Small SVG line charts of a diary measure by day, drawn on the server: no script, no
external file, presentation attributes only (the dashboard's CSP allows no inline styles).

A day without an answer is a gap in the line, never a zero. Each point carries its day and
value (`data-day`, `data-value`), and a day the client acted on the urge a triangle
(`data-acted`). The same SVG, without its <title> and <desc>, goes into the PDF (fpdf2 draws
paths, circles, polygons and text).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from html import escape

WIDTH, HEIGHT = 320, 140
LEFT, RIGHT, TOP, BOTTOM = 24, 8, 16, 24
INK, MUTED, GRID, LINE, ACTED = "#1b1f24", "#525a63", "#d5dbe1", "#0b4f5c", "#a3121f"
DAY_LETTERS = ("M", "T", "W", "T", "F", "S", "S")


@dataclass(frozen=True)
class Measure:
    """One measure's values by day (None: no answer that day) and, for an urge, whether the
    client acted on it."""

    key: str
    name: str
    top: int  # the scale runs 0..top
    values: Sequence[int | None]
    acted: Sequence[bool | None] | None = None

    def summary(self, days: Sequence[date]) -> str:
        """The chart in one sentence, for its <desc> (and anyone who cannot see it)."""
        answered = [(d, v) for d, v in zip(days, self.values, strict=True) if v is not None]
        missing = len(days) - len(answered)
        if not answered:
            return f"No answers on {len(days)} days."
        high = max(v for _, v in answered)
        at_high = [d for d, v in answered if v == high]
        high_days = (
            ", ".join(f"{d:%a %b} {d.day}" for d in at_high)
            if len(at_high) <= 3
            else f"on {len(at_high)} days"
        )
        words = [
            f"{len(answered)} of {len(days)} days answered",
            f"highest {high} of {self.top} ({high_days})",
        ]
        if self.acted is not None:
            acted = [d for d, a in zip(days, self.acted, strict=True) if a]
            acted_days = ", ".join(f"{d:%a %b} {d.day}" for d in acted)
            words.append(f"acted on it: {acted_days}" if acted else "not acted on")
        if missing:
            words.append(f"{missing} day{'s' if missing != 1 else ''} without an answer")
        return "; ".join(words) + "."


def _x(i: int, n: int) -> float:
    return LEFT + (i + 0.5) * (WIDTH - LEFT - RIGHT) / n


def _y(value: int, top: int) -> float:
    return TOP + (HEIGHT - TOP - BOTTOM) * (1 - value / top)


def _num(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


def _x_labels(days: Sequence[date]) -> list[tuple[int, str]]:
    """A letter a day for one week; beyond that, the date of each Monday (and the first)."""
    if len(days) <= 7:
        return [(i, DAY_LETTERS[d.weekday()]) for i, d in enumerate(days)]
    mondays = [i for i, d in enumerate(days) if d.weekday() == 0]
    first = [0] if not mondays or mondays[0] >= 3 else []  # room for the first day's date
    return [(i, f"{days[i].month}/{days[i].day}") for i in first + mondays]


def line_chart(measure: Measure, days: Sequence[date], *, for_pdf: bool = False) -> str:
    """The measure as an SVG string (already escaped: safe to mark up)."""
    n = len(days)
    chart_id = f"chart-{measure.key}"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" class="chart" id="{chart_id}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc">'
    ]
    if not for_pdf:
        parts.append(
            f'<title id="{chart_id}-title">{escape(measure.name)}, 0 to {measure.top}</title>'
        )
        parts.append(f'<desc id="{chart_id}-desc">{escape(measure.summary(days))}</desc>')
    parts.append(f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>')
    # the scale: a line at each step, labelled at 0, the middle and the top
    for step in range(measure.top + 1):
        y = _num(_y(step, measure.top))
        parts.append(
            f'<line x1="{LEFT}" y1="{y}" x2="{WIDTH - RIGHT}" y2="{y}" stroke="{GRID}" '
            f'stroke-width="{1 if step else 1.5}"/>'
        )
        parts.append(
            f'<text x="{LEFT - 6}" y="{_num(_y(step, measure.top) + 3.5)}" font-size="10" '
            f'text-anchor="end" fill="{MUTED}" font-family="Helvetica, Arial, sans-serif">'
            f"{step}</text>"
        )
    for i, label in _x_labels(days):
        parts.append(
            f'<text x="{_num(_x(i, n))}" y="{HEIGHT - 8}" font-size="10" text-anchor="middle" '
            f'fill="{MUTED}" font-family="Helvetica, Arial, sans-serif">{escape(label)}</text>'
        )
    # the line, broken at each day without an answer
    path: list[str] = []
    previous: int | None = None
    for i, value in enumerate(measure.values):
        if value is None:
            previous = None
            continue
        command = "L" if previous is not None else "M"
        path.append(f"{command} {_num(_x(i, n))} {_num(_y(value, measure.top))}")
        previous = value
    if path:
        parts.append(
            f'<path class="chart-line" d="{" ".join(path)}" fill="none" stroke="{LINE}" '
            f'stroke-width="2" stroke-linejoin="round"/>'
        )
    radius = 3.5 if n <= 7 else 2.5
    for i, (day, value) in enumerate(zip(days, measure.values, strict=True)):
        if value is None:
            continue
        x, y = _x(i, n), _y(value, measure.top)
        parts.append(
            f'<circle cx="{_num(x)}" cy="{_num(y)}" r="{radius}" fill="{LINE}" '
            f'data-day="{day.isoformat()}" data-value="{value}"/>'
        )
    for i, (day, acted) in enumerate(zip(days, measure.acted or [None] * n, strict=True)):
        if not acted:
            continue
        # a triangle above the day (at the top when the urge was not answered)
        x = _x(i, n)
        value = measure.values[i]
        y = _y(value if value is not None else measure.top, measure.top) - 6
        points = f"{_num(x)},{_num(y - 7)} {_num(x - 5)},{_num(y + 1)} {_num(x + 5)},{_num(y + 1)}"
        parts.append(
            f'<polygon points="{points}" fill="{ACTED}" data-day="{day.isoformat()}" '
            f'data-acted="yes"/>'
        )
    parts.append("</svg>")
    return "".join(parts)
