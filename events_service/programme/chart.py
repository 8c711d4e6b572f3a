"""The cumulative reach chart as inline SVG, drawn on the server (no script, no CDN)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    actual_points: str  # polyline "x,y x,y ..."
    target_points: str
    labels: list[tuple[float, str]]  # x position, month label
    max_value: int
    last_value: int


def months_between(start: date, end: date) -> list[str]:
    months = []
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def reach_chart(
    by_month: dict[str, int], start: date, end: date, today: date, target: int
) -> Chart:
    """Cumulative people reached per month up to today, against the straight line to
    the target at the end of the window."""
    width, height, pad = 960, 320, 40
    months = months_between(start, end)
    elapsed = months_between(start, min(today, end))
    top = max(target, 1)
    step = (width - 2 * pad) / max(1, len(months) - 1)

    def xy(index: int, value: float) -> str:
        x = pad + index * step
        y = height - pad - (height - 2 * pad) * min(value, top) / top
        return f"{x:.1f},{y:.1f}"

    running, actual = 0, []
    # People first reached before the window (none, normally) count from its start.
    running += sum(v for m, v in by_month.items() if m < months[0])
    for index, month in enumerate(elapsed):
        running += by_month.get(month, 0)
        actual.append(xy(index, running))
    target_line = f"{xy(0, 0)} {xy(len(months) - 1, target)}"
    labels = [(pad + index * step, month) for index, month in enumerate(months) if index % 6 == 0]
    return Chart(width, height, " ".join(actual), target_line, labels, top, running)
