"""The pure figures of schedules.stats: PostgreSQL's percentile_cont in Python (the SQLite
demo's path), the success rate and the suggested max runtime."""

from __future__ import annotations

import pytest

from schedules.stats import percentile_cont, success_rate, suggested_max_runtime_minutes

DURATIONS = [1000, 10, 90, 20, 80, 30, 70, 40, 60, 50]  # unsorted on purpose


def test_it_interpolates_like_percentile_cont():
    assert percentile_cont(DURATIONS, 0.5) == 55.0  # rank 4.5: halfway between 50 and 60
    # rank 8.55: 90 + 910 × 0.55 (0.95 × 9 is 8.549999… in binary floating point)
    assert percentile_cont(DURATIONS, 0.95) == pytest.approx(590.5, abs=1e-9)
    assert percentile_cont(DURATIONS, 0.0) == 10
    assert percentile_cont(DURATIONS, 1.0) == 1000


def test_it_answers_the_value_of_a_single_run_and_none_for_no_runs():
    assert percentile_cont([42.0], 0.95) == 42.0
    assert percentile_cont([], 0.5) is None


def test_it_refuses_a_fraction_outside_0_1():
    with pytest.raises(ValueError):
        percentile_cont(DURATIONS, 1.5)


def test_it_rates_succeeded_over_finished():
    assert success_rate(succeeded=7, finished=11) == 7 / 11
    assert success_rate(succeeded=0, finished=0) is None


def test_it_suggests_p95_times_one_and_a_half_rounded_up_to_a_minute():
    assert suggested_max_runtime_minutes(590.5) == 15  # 885.75 s = 14.76 min
    assert suggested_max_runtime_minutes(40.0) == 1  # 60 s exactly
    assert suggested_max_runtime_minutes(40.1) == 2
    assert suggested_max_runtime_minutes(0.2) == 1  # at least a minute
    assert suggested_max_runtime_minutes(None) is None
