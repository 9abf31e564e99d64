"""The timeline as a Gantt chart, SVG or PNG bytes, drawn with matplotlib's Agg backend.

Rules:
- sprints are shaded bands (alternating greys) named at the top; tasks are bars, one row per
  task, rows grouped in lanes per skill (one colour per skill, a legend); a bar spans the task's
  start to the end of its last working day;
- a dependency is an arrow from the end of the blocker's bar to the start of the dependant's,
  drawn when both are on the chart;
- the estimated completion date is a dashed line, `today` a solid one when it falls on the chart;
- at most `MAX_TASKS` tasks are drawn (the earliest); a note says how many were left out;
- labels are bounded (`LABEL_CHARS`), control characters dropped and `$` escaped, so a summary
  can neither stretch the figure nor switch on matplotlib's math text;
- output is deterministic for one input: a fixed font, SVG ids from a fixed salt, no date or
  software in the metadata, text kept as `<text>` in SVG; each bar, band and arrow has an id
  (`task-KEY`, `sprint-N`, `dependency-A-B`) so a reader (and a test) can find it.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display, before anything else of matplotlib loads a backend

from matplotlib import dates as mdates
from matplotlib.artist import Artist
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.typing import RcKeyType

from bot.charts.model import GanttInput, TaskInfo
from bot.scheduling.timeline import ScheduledTask

MAX_TASKS = 80
LABEL_CHARS = 48
WIDTH_INCHES = 13.0
ROW_INCHES = 0.32
PNG_DPI = 100
UNASSIGNED = "Unassigned"
_PALETTE = ("#4C78A8", "#F58518", "#54A24B", "#B279A2", "#E45756", "#72B7B2", "#9D755D", "#BAB0AC")
_BANDS = ("#F2F2F2", "#E4E4E4")
# rcParams are global: one render at a time keeps a concurrent render from seeing another's.
_RENDER_LOCK = threading.Lock()
_RC: dict[RcKeyType, Any] = {
    "font.family": "DejaVu Sans",  # shipped with matplotlib: the same glyphs everywhere
    "font.size": 9,
    "svg.fonttype": "none",  # text stays text: readable, searchable, small
    "svg.hashsalt": "augment-gantt",  # stable element ids
    "path.simplify": False,
}


def render_svg(chart: GanttInput) -> bytes:
    return _render(chart, "svg", {"Date": None, "Creator": None})


def render_png(chart: GanttInput) -> bytes:
    return _render(chart, "png", {"Software": None})


def _render(chart: GanttInput, fmt: str, metadata: Mapping[str, str | None]) -> bytes:
    with _RENDER_LOCK, matplotlib.rc_context(_RC):
        figure = _draw(chart)
        buffer = io.BytesIO()
        figure.savefig(buffer, format=fmt, dpi=PNG_DPI, metadata=dict(metadata), bbox_inches="tight")
    return buffer.getvalue()


def label(text: str) -> str:
    """A summary fit for the chart: one line, at most `LABEL_CHARS`, no math text."""
    flat = "".join(ch if ch.isprintable() else " " for ch in text)
    flat = " ".join(flat.split())
    if len(flat) > LABEL_CHARS:
        flat = flat[: LABEL_CHARS - 1] + "…"
    return flat.replace("$", r"\$")


def _draw(chart: GanttInput) -> Figure:
    scheduled = sorted(
        (task for sprint in chart.timeline.sprints for task in sprint.tasks), key=lambda t: (t.start, t.end, t.key)
    )
    shown = scheduled[:MAX_TASKS]
    rows = _rows(shown, chart.tasks)
    skills = sorted({_skill(chart.tasks, t.key) for t in shown}, key=lambda s: (s == UNASSIGNED, s))
    colours = {skill: _PALETTE[n % len(_PALETTE)] for n, skill in enumerate(skills)}

    # Rows are at most MAX_TASKS, so the figure is bounded too.
    figure = Figure(figsize=(WIDTH_INCHES, 1.8 + ROW_INCHES * (len(rows) + 2)))
    axes = figure.add_subplot()
    axes.invert_yaxis()
    axes.set_ylim(len(rows) + 0.5, -1.5)

    for n, sprint in enumerate(chart.timeline.sprints):
        start, end = mdates.date2num(sprint.start), mdates.date2num(sprint.end + timedelta(days=1))
        band = axes.axvspan(start, end, color=_BANDS[n % 2], zorder=0)
        band.set_gid(f"sprint-{sprint.index}")
        axes.text((start + end) / 2, -1.0, label(sprint.name), ha="center", va="center", fontsize=9, weight="bold")

    position = {task.key: row for row, task in enumerate(rows)}
    for row in range(1, len(rows)):
        if _skill(chart.tasks, rows[row].key) != _skill(chart.tasks, rows[row - 1].key):
            axes.axhline(row - 0.5, color="#999999", lw=0.6, zorder=1)  # where one skill's lane ends
    for task in rows:
        skill = _skill(chart.tasks, task.key)
        start = mdates.date2num(task.start)
        width = mdates.date2num(task.end + timedelta(days=1)) - start
        (bar,) = axes.barh(position[task.key], width, left=start, height=0.6, color=colours[skill], zorder=2)
        bar.set_gid(f"task-{task.key}")

    for task in rows:
        for blocker in (chart.tasks.get(task.key) or TaskInfo()).blocked_by:
            if blocker not in position:
                continue
            before = next(t for t in rows if t.key == blocker)
            arrow = axes.annotate(
                "",
                xy=(mdates.date2num(task.start), position[task.key]),
                xytext=(mdates.date2num(before.end + timedelta(days=1)), position[blocker]),
                arrowprops={"arrowstyle": "->", "color": "#333333", "lw": 0.8, "connectionstyle": "arc3,rad=0.15"},
                zorder=3,
            )
            if arrow.arrow_patch is not None:
                arrow.arrow_patch.set_gid(f"dependency-{blocker}-{task.key}")

    completion = chart.timeline.estimated_completion_date
    if completion is not None:
        line = axes.axvline(mdates.date2num(completion + timedelta(days=1)), color="#C0392B", ls="--", lw=1.2)
        line.set_gid("completion")
        line.set_label(f"Estimated completion {completion.isoformat()}")
    if chart.today is not None and chart.timeline.sprints:
        first, last = chart.timeline.sprints[0].start, chart.timeline.sprints[-1].end
        if first <= chart.today <= last + timedelta(days=1):
            line = axes.axvline(mdates.date2num(chart.today), color="#1F618D", lw=1.2)
            line.set_gid("today")
            line.set_label(f"Today {chart.today.isoformat()}")

    axes.set_yticks(
        range(len(rows)), [f"{t.key}  {label((chart.tasks.get(t.key) or TaskInfo()).summary)}" for t in rows]
    )
    axes.xaxis.set_major_locator(mdates.WeekdayLocator(byweekday=mdates.MO))
    axes.xaxis.set_major_formatter(mdates.DateFormatter("%d %b"))
    axes.grid(axis="x", color="#FFFFFF", lw=0.8, zorder=1)
    axes.set_axisbelow(True)
    handles: list[Artist] = [Patch(color=colours[skill], label=skill) for skill in skills]
    handles += [line for line in axes.get_lines() if line.get_gid() in ("completion", "today")]
    if handles:
        axes.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    title = label(chart.title) or "Timeline"
    axes.set_title(title, loc="left", fontsize=11, weight="bold")
    if len(scheduled) > len(shown):
        note = figure.text(
            0.01, 0.005, f"Showing {len(shown)} of {len(scheduled)} tasks (the earliest).", fontsize=9, style="italic"
        )
        note.set_gid("cut-note")
    if not rows:
        axes.text(0.5, 0.5, "No tasks planned", transform=axes.transAxes, ha="center", va="center")
    return figure


def _skill(tasks: Mapping[str, TaskInfo], key: str) -> str:
    info = tasks.get(key)
    return (info.skill if info is not None and info.skill else None) or UNASSIGNED


def _rows(shown: Sequence[ScheduledTask], tasks: Mapping[str, TaskInfo]) -> list[ScheduledTask]:
    """Lanes per skill, in skill order; inside a lane, by start."""
    return sorted(
        shown, key=lambda t: (_skill(tasks, t.key) == UNASSIGNED, _skill(tasks, t.key), t.start, t.end, t.key)
    )
