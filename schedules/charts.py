"""Server-side SVG for the staff UI (SPEC §14): a schedule's recent runs as bars (duration per
run, coloured by outcome) and the list's sparkline of the last outcomes.

Pure functions of plain data: no queries, no clock, no JavaScript and nothing fetched from
anywhere. Colours are the stylesheet's (config/static/mimic/admin.css, `.mimic-run-<status>`),
so the SVG carries classes, not colours. Every bar and square has a <title> (its time, duration
and outcome): a tooltip for the mouse, a name for a screen reader.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

OUTCOMES = ("succeeded", "failed", "timed_out", "canceled", "lost")

# The chart's geometry (SVG user units; the SVG scales to its container's width).
_HEIGHT = 140
_TOP = 16  # room for the longest duration's label
_BOTTOM = 4
_LEFT = 56  # room for the axis labels
_SLOT = 14  # one run
_BAR = 10
_STUB = 2  # a run that never started: a sliver on the baseline, so it is still seen
_SPARK_SLOT = 8
_SPARK_SIZE = 6


@dataclass(frozen=True)
class RunBar:
    job_id: UUID
    at: datetime  # when it started (created, for a run that never started)
    seconds: float | None  # None: it never started
    status: str


def format_duration(seconds: float | None) -> str:
    """`0.4s`, `42s`, `3m 20s`, `1h 02m`: a duration as staff read it."""
    if seconds is None:
        return "—"
    if seconds < 10:
        return f"{seconds:.1f}s"
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def _outcome(status: str) -> str:
    return status if status in OUTCOMES else "other"


def _label(status: str) -> str:
    return status.replace("_", " ")


def _bar_title(run: RunBar) -> str:
    at = run.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    took = "did not start" if run.seconds is None else format_duration(run.seconds)
    return f"{at} · {took} · {_label(run.status)}"


def runs_chart_svg(runs: Sequence[RunBar]) -> SafeString:
    """Bars of the runs' durations, oldest left, on a scale from 0 to the longest run."""
    if not runs:
        return mark_safe('<p class="mimic-muted mimic-run-chart-empty">No finished runs yet.</p>')
    longest = max((r.seconds or 0.0 for r in runs), default=0.0)
    plot = _HEIGHT - _TOP - _BOTTOM
    width = _LEFT + _SLOT * len(runs)
    bars = []
    for i, run in enumerate(runs):
        if run.seconds is None or longest <= 0:
            height = float(_STUB)
        else:
            height = max(float(_STUB), plot * run.seconds / longest)
        x = _LEFT + i * _SLOT + (_SLOT - _BAR) / 2
        y = _HEIGHT - _BOTTOM - height
        bars.append(
            f'<rect class="mimic-run mimic-run-{_outcome(run.status)}" data-status="'
            f'{escape(run.status)}" x="{x:g}" y="{y:.1f}" width="{_BAR}" height="{height:.1f}">'
            f"<title>{escape(_bar_title(run))}</title></rect>"
        )
    base = _HEIGHT - _BOTTOM
    summary = f"Duration of the last {len(runs)} finished runs, oldest first; longest " + (
        format_duration(longest)
    )
    svg = (
        f'<svg class="mimic-run-chart" role="img" aria-labelledby="mimic-run-chart-title" '
        f'viewBox="0 0 {width} {_HEIGHT}" width="{width}" height="{_HEIGHT}" '
        f'xmlns="http://www.w3.org/2000/svg">'
        f'<title id="mimic-run-chart-title">{escape(summary)}</title>'
        f'<line class="mimic-run-axis" x1="{_LEFT - 4}" y1="{base}" x2="{width}" y2="{base}"/>'
        f'<line class="mimic-run-axis" x1="{_LEFT - 4}" y1="{_TOP}" x2="{width}" y2="{_TOP}"/>'
        f'<text class="mimic-run-label" x="{_LEFT - 8}" y="{_TOP + 4}" text-anchor="end">'
        f"{escape(format_duration(longest))}</text>"
        f'<text class="mimic-run-label" x="{_LEFT - 8}" y="{base}" text-anchor="end">0</text>'
        f"{''.join(bars)}</svg>"
    )
    counts = Counter(_outcome(r.status) for r in runs)
    legend = "".join(
        format_html(
            '<span class="mimic-legend"><span class="mimic-swatch mimic-run-{}"></span>{} {}'
            "</span>",
            outcome,
            counts[outcome],
            _label(outcome),
        )
        for outcome in (*OUTCOMES, "other")
        if counts[outcome]
    )
    return mark_safe(f'{svg}<div class="mimic-run-legend">{legend}</div>')


def outcome_sparkline(statuses: Sequence[str], *, empty: str = "—") -> SafeString | str:
    """The last outcomes, oldest left, as small squares (the list's "recent runs" column)."""
    if not statuses:
        return empty
    counts = Counter(_label(s) for s in statuses)
    summary = f"last {len(statuses)} runs: " + ", ".join(f"{n} {s}" for s, n in counts.items())
    squares = "".join(
        f'<rect class="mimic-run mimic-run-{_outcome(s)}" data-status="{escape(s)}" '
        f'x="{i * _SPARK_SLOT}" y="0" width="{_SPARK_SIZE}" height="{_SPARK_SIZE * 2}">'
        f"<title>{escape(_label(s))}</title></rect>"
        for i, s in enumerate(statuses)
    )
    width = _SPARK_SLOT * len(statuses)
    return mark_safe(
        f'<svg class="mimic-sparkline" role="img" aria-label="{escape(summary)}" '
        f'viewBox="0 0 {width} {_SPARK_SIZE * 2}" width="{width}" height="{_SPARK_SIZE * 2}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(summary)}</title>{squares}</svg>'
    )
