"""Random (version 4) UUIDs for the rows the tick makes by the thousand: its jobs.

`uuid.uuid4()` reads 16 bytes with one `os.urandom` call, and CPython releases the GIL around
that system call. An evaluator works two batches at once in two threads (`TICK_LANES`): while
one decides its rows, the other's every `uuid4()` gave the GIL away and waited to get it back —
thousands of thread switches a batch, measured at a seventh of the tick's CPU (2026-12-02,
alternated runs: 1.64 s → 1.40 s for 10,000 dispatches, voluntary context switches ~5,000 →
~700). Here the same kernel randomness is read 4 KiB at a time, per thread, and cut into UUIDs.

Forking copies the unread bytes: a child (a Celery prefork worker, a benchmark's evaluator)
would then make the UUIDs its parent makes next. `os.register_at_fork` empties the pool in the
child, which reads fresh bytes of its own.
"""

from __future__ import annotations

import os
import threading
import uuid

_POOL_BYTES = 4096


class _Pool(threading.local):
    data = b""
    used = 0


_pool = _Pool()


def _forget_in_child() -> None:
    # Only the forking thread lives on in the child: its pool is the one to empty.
    _pool.data, _pool.used = b"", 0


os.register_at_fork(after_in_child=_forget_in_child)


def uuid4() -> uuid.UUID:
    """A random UUID, as `uuid.uuid4()` makes (same source, same version and variant bits)."""
    pool = _pool
    start = pool.used
    if start + 16 > len(pool.data):
        pool.data, start = os.urandom(_POOL_BYTES), 0
    pool.used = start + 16
    return uuid.UUID(bytes=pool.data[start : start + 16], version=4)
