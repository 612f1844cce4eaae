"""The stored log grows chunk by chunk and stays bounded: the head and the tail are kept with a
marker counting what was dropped between (agents.joblog, pure)."""

from __future__ import annotations

import re

import pytest

from agents.joblog import LIVE_MARKER, format_cursor, live_chunk, log_append, parse_cursor


def test_it_keeps_short_output_whole():
    log = log_append("", "login as bot\n", max_chars=1024)
    log = log_append(log, "done\n", max_chars=1024)
    assert log == "login as bot\ndone\n"


def test_it_keeps_head_and_tail_of_long_output_within_the_bound():
    log, total = "", 0
    for chunk in ["START\n", *(f"line {i:05d}\n" for i in range(2000)), "END\n"]:
        log = log_append(log, chunk, max_chars=1000)
        total += len(chunk)
    assert log.startswith("START\nline 00000\n")
    assert log.endswith("line 01999\nEND\n")
    [dropped] = re.findall(r"…truncated (\d+) characters…", log)
    head, tail = log.split(f"\n…truncated {dropped} characters…\n")
    assert len(head) == 500 and len(tail) == 500
    assert int(dropped) == total - 1000  # every character is either kept or counted


def test_a_chunk_larger_than_the_bound_keeps_its_end():
    log = log_append("a" * 100, "b" * 5000 + "THE END", max_chars=1000)
    assert log.startswith("a" * 100) and log.endswith("THE END")
    assert "…truncated 4107 characters…" in log


def test_an_empty_chunk_changes_nothing():
    assert log_append("x", "", max_chars=300) == "x"


# ------------------------------------------------------------------------------ the live log


def test_the_live_log_stores_chunks_whole_within_the_bound_then_the_beginning_and_a_marker():
    assert live_chunk("abc\n", stored=0, max_chars=300) == "abc\n"
    assert live_chunk("x" * 10, stored=295, max_chars=300) == "xxxxx" + LIVE_MARKER.format(
        limit=300
    )
    assert live_chunk("more\n", stored=300, max_chars=300) == LIVE_MARKER.format(limit=300)
    # Once the marker is in (more stored than the bound), nothing more.
    assert live_chunk("more\n", stored=301, max_chars=300) == ""


@pytest.mark.parametrize("position", [(0, 0), (1, 7), (32767, 2**31 - 1)])
def test_a_cursor_names_the_position_it_was_made_from(position):
    assert parse_cursor(format_cursor(position)) == position


@pytest.mark.parametrize("text", ["", "1", "1:", ":1", "a:1", "1:2:3", " 1:2", "-1:2", "40000:1"])
def test_anything_else_is_not_a_cursor(text):
    with pytest.raises(ValueError):
        parse_cursor(text)
