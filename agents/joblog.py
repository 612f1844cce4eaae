"""A job's log as the control plane stores it: appended chunk by chunk while the script runs,
bounded to the first and last halves of the limit with a marker for what was dropped between
(the start says what the bot did, the end why it stopped). Pure.

Each chunk is redacted before it is appended (agents.services.job_log_append), the raw end
that might begin a secret held back for the next chunk (vault.redaction.Redactor.split_ready),
so a cut never splits a secret that redaction would have caught.

The same chunks are also kept as they arrive (agents.models.JobLogChunk, the live log), up to
a bound per attempt: `live_chunk` says what of a chunk is stored.
"""

from __future__ import annotations

import re

MARKER = "\n…truncated {dropped} characters…\n"
_MARKER_RE = re.compile(r"\n…truncated (\d+) characters…\n")


def log_append(existing: str, chunk: str, *, max_chars: int) -> str:
    """`existing + chunk`, kept within `max_chars` (+ the marker) as head … tail."""
    max_chars = max(int(max_chars), 256)
    head_limit = max_chars // 2
    tail_limit = max_chars - head_limit
    if not chunk:
        return existing
    found = _MARKER_RE.search(existing)
    if found is None:
        whole = existing + chunk
        if len(whole) <= max_chars:
            return whole
        head, dropped, tail = whole[:head_limit], 0, whole[head_limit:]
    else:
        head = existing[: found.start()]
        dropped = int(found.group(1))
        tail = existing[found.end() :] + chunk
    if len(tail) > tail_limit:
        dropped += len(tail) - tail_limit
        tail = tail[-tail_limit:]
    return head + MARKER.format(dropped=dropped) + tail


LIVE_MARKER = "\n…the live log stops here ({limit} characters); the job's log keeps its end…\n"


def live_chunk(text: str, *, stored: int, max_chars: int) -> str:
    """What of `text` an attempt's live log stores, having stored `stored` characters: all of
    it within `max_chars`, then the beginning that fits and a marker once, then nothing (a
    `stored` past `max_chars` means the marker is in)."""
    max_chars = max(int(max_chars), 256)
    if stored > max_chars or not text:
        return ""
    room = max_chars - stored
    if len(text) <= room:
        return text
    return text[:room] + LIVE_MARKER.format(limit=max_chars)


# The live log's cursor: the last (attempt, seq) read; opaque to clients, who pass back `next`.
_CURSOR_RE = re.compile(r"(\d{1,5}):(\d{1,10})")
START: tuple[int, int] = (0, 0)


def format_cursor(position: tuple[int, int]) -> str:
    attempt, seq = position
    return f"{attempt}:{seq}"


def parse_cursor(text: str) -> tuple[int, int]:
    """The position a cursor names; ValueError for anything `format_cursor` does not make."""
    found = _CURSOR_RE.fullmatch(text)
    if found is None:
        raise ValueError("not a log cursor")
    attempt, seq = int(found.group(1)), int(found.group(2))
    if attempt > 32767 or seq > 2**31 - 1:
        raise ValueError("not a log cursor")
    return attempt, seq


def attempt_header(attempt: int) -> str:
    """Written before a retry's first output in the live log, so its attempts read apart."""
    return f"\n— attempt {attempt} —\n"
