"""A job's log as the control plane stores it: appended chunk by chunk while the script runs,
bounded to the first and last halves of the limit with a marker for what was dropped between
(the start says what the bot did, the end why it stopped). Pure.

Each chunk is redacted before it is appended (agents.services.job_log_append), so a cut never
splits a secret that redaction would have caught; the agent sends whole lines.
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
