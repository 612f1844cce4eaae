"""The staff UI's SVG (schedules.charts): bars of recent runs (height by duration, class by
outcome, a title per bar), the empty state, and the list's sparkline."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

from schedules.charts import RunBar, format_duration, outcome_sparkline, runs_chart_svg

AT = datetime(2026, 11, 26, 14, 0, 5, tzinfo=UTC)


def bar(seconds, status="succeeded"):
    return RunBar(job_id=uuid.uuid4(), at=AT, seconds=seconds, status=status)


def rects(svg: str) -> list[dict[str, str]]:
    return [
        dict(re.findall(r'(\w[\w-]*)="([^"]*)"', attrs)) | {"title": title}
        for attrs, title in re.findall(r"<rect ([^>]*)><title>([^<]*)</title></rect>", svg)
    ]


def test_it_draws_a_bar_per_run_scaled_to_the_longest():
    svg = str(runs_chart_svg([bar(60), bar(120, "failed"), bar(30, "timed_out")]))
    drawn = rects(svg)
    assert [r["class"] for r in drawn] == [
        "mimic-run mimic-run-succeeded",
        "mimic-run mimic-run-failed",
        "mimic-run mimic-run-timed_out",
    ]
    heights = [float(r["height"]) for r in drawn]
    assert heights[1] == 120.0  # the longest fills the plot (140 − 16 − 4)
    assert heights == [60.0, 120.0, 30.0]
    assert [float(r["x"]) for r in drawn] == [58.0, 72.0, 86.0]  # oldest left, one slot each


def test_it_titles_each_bar_with_time_duration_and_outcome():
    svg = str(runs_chart_svg([bar(200, "timed_out"), bar(None, "canceled")]))
    titles = [r["title"] for r in rects(svg)]
    assert titles == [
        "2026-11-26 14:00:05 UTC · 3m 20s · timed out",
        "2026-11-26 14:00:05 UTC · did not start · canceled",
    ]
    assert 'role="img"' in svg
    assert "Duration of the last 2 finished runs, oldest first; longest 3m 20s" in svg
    # A run that never started is still seen: a sliver on the baseline.
    assert float(rects(svg)[1]["height"]) == 2.0


def test_it_lists_the_outcomes_in_a_legend():
    svg = str(runs_chart_svg([bar(1), bar(2), bar(3, "lost")]))
    legend = re.sub(r"<[^>]+>", "", svg.split('class="mimic-run-legend"')[1])
    assert legend == ">2 succeeded1 lost"


def test_it_says_so_when_there_is_no_run():
    assert str(runs_chart_svg([])) == (
        '<p class="mimic-muted mimic-run-chart-empty">No finished runs yet.</p>'
    )


def test_it_escapes_an_unknown_status():
    svg = str(runs_chart_svg([bar(5, "<x>")]))
    assert "<x>" not in svg and "&lt;x&gt;" in svg
    assert rects(svg)[0]["class"] == "mimic-run mimic-run-other"


def test_it_draws_a_sparkline_of_the_last_outcomes():
    svg = str(outcome_sparkline(["succeeded", "failed", "succeeded"]))
    drawn = rects(svg)
    assert [r["data-status"] for r in drawn] == ["succeeded", "failed", "succeeded"]
    assert [r["x"] for r in drawn] == ["0", "8", "16"]
    assert 'aria-label="last 3 runs: 2 succeeded, 1 failed"' in svg
    assert outcome_sparkline([]) == "—"


def test_it_formats_durations_as_staff_read_them():
    assert [format_duration(s) for s in (None, 0.42, 42, 200, 3725)] == [
        "—",
        "0.4s",
        "42s",
        "3m 20s",
        "1h 02m",
    ]
