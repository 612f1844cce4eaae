"""The stored log grows chunk by chunk and stays bounded: the head and the tail are kept with a
marker counting what was dropped between (agents.joblog, pure)."""

from __future__ import annotations

import re

from agents.joblog import log_append


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
