"""Chart geometry for server-drawn SVG: the templates only place the rectangles computed here, so charts
render with no script and no network."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from leadhub.reports.service import DayCount
from leadhub.web import messages

# Colour-blind-safe palette (Okabe-Ito), dark enough for 3:1 contrast against white.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#8A6D00", "#56B4E9", "#6b6b6b")
MAX_SERIES = 6
WIDTH = 600
HEIGHT = 200
_LEFT = 40
_BOTTOM = 24


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    colour: str
    label: str


@dataclass
class Series:
    name: str
    colour: str
    total: int


@dataclass
class StackedBars:
    width: int
    height: int
    bars: list[Bar] = field(default_factory=list)
    series: list[Series] = field(default_factory=list)
    max_value: int = 0
    ticks: list[tuple[float, str]] = field(default_factory=list)
    day_labels: list[tuple[float, str]] = field(default_factory=list)
    total: int = 0
    baseline: float = 0


def new_leads(counts: list[DayCount], today: date, days: int = 30) -> StackedBars:
    """One stacked bar per day, a colour per source (the top sources; the rest together as one)."""
    by_source: dict[str | None, int] = {}
    for c in counts:
        by_source[c.source] = by_source.get(c.source, 0) + c.count
    ranked = sorted(by_source, key=lambda s: (-by_source[s], s or ""))
    top = ranked[:MAX_SERIES] if len(ranked) <= MAX_SERIES else ranked[: MAX_SERIES - 1]
    other = messages.t("dash.other_sources") if len(ranked) > len(top) else None

    def series_of(source: str | None) -> str:
        if source in top:
            return source or messages.t("dash.no_source")
        return other or ""

    names = [s or messages.t("dash.no_source") for s in top] + ([other] if other else [])
    colours = {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(names)}
    first = today - timedelta(days=days - 1)
    grid: dict[tuple[int, str], int] = {}
    for c in counts:
        index = (c.day - first).days
        if 0 <= index < days:
            key = (index, series_of(c.source))
            grid[key] = grid.get(key, 0) + c.count
    per_day = [sum(v for (i, _), v in grid.items() if i == d) for d in range(days)]
    chart = StackedBars(width=WIDTH, height=HEIGHT, total=sum(per_day), baseline=HEIGHT - _BOTTOM)
    chart.max_value = max(per_day, default=0)
    scale_top = max(chart.max_value, 1)
    plot_height = HEIGHT - _BOTTOM - 10
    slot = (WIDTH - _LEFT) / days
    for d in range(days):
        y = float(HEIGHT - _BOTTOM)
        day_label = (first + timedelta(days=d)).isoformat()
        for name in names:
            n = grid.get((d, name), 0)
            if not n:
                continue
            h = plot_height * n / scale_top
            y -= h
            label = f"{day_label} · {name}: {n}"
            chart.bars.append(
                Bar(_LEFT + d * slot + 1, round(y, 2), round(slot - 2, 2), round(h, 2), colours[name], label)
            )
        if d % 7 == 0 or (d == days - 1 and d % 7 >= 4):
            chart.day_labels.append((_LEFT + d * slot + slot / 2, (first + timedelta(days=d)).strftime("%m-%d")))
    for fraction in (0, 0.5, 1):
        chart.ticks.append((round(HEIGHT - _BOTTOM - plot_height * fraction, 2), str(round(scale_top * fraction))))
    chart.series = [Series(name, colours[name], sum(v for (_, s), v in grid.items() if s == name)) for name in names]
    return chart


@dataclass
class Step:
    stage: str
    label: str
    count: int
    width: float
    share: str


def funnel(stages: list[tuple[str, int]]) -> list[Step]:
    """Horizontal bars, each as wide as its share of the first stage."""
    first = stages[0][1] if stages else 0
    steps = []
    for stage, count in stages:
        fraction = count / first if first else 0
        steps.append(
            Step(stage, messages.t(f"status.{stage}"), count, round(fraction * (WIDTH - 330), 2), f"{fraction:.0%}")
        )
    return steps
