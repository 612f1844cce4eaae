"""The cyclic garbage collector is off while a batch is evaluated (schedules.engine), on again
once no lane is inside one — and left as it was found."""

import gc
import threading

import pytest

from schedules.engine import _CollectorPaused


@pytest.fixture(autouse=True)
def _collector_restored():
    was = gc.isenabled()
    yield
    (gc.enable if was else gc.disable)()


def test_it_is_off_inside_a_batch_and_on_after():
    gc.enable()
    paused = _CollectorPaused()
    with paused:
        assert not gc.isenabled()
    assert gc.isenabled()


def test_it_stays_off_until_the_last_lane_leaves():
    gc.enable()
    paused = _CollectorPaused()
    inside, leave = threading.Event(), threading.Event()

    def other_lane():
        with paused:
            inside.set()
            leave.wait(10)

    lane = threading.Thread(target=other_lane)
    lane.start()
    assert inside.wait(10)
    with paused:
        assert not gc.isenabled()
    assert not gc.isenabled()  # the other lane is still inside its batch
    leave.set()
    lane.join(10)
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off():
    gc.disable()
    with _CollectorPaused():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_an_exception_inside_still_turns_it_back_on():
    gc.enable()
    paused = _CollectorPaused()
    with pytest.raises(RuntimeError), paused:
        raise RuntimeError
    assert gc.isenabled()
