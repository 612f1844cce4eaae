"""A tick in a process of its own, stopped at a chosen point so the suite can break something
there (faults (c) and (d)). Run by the suite as `python -m tests.chaos.tick_process WHERE
[SCHEDULE_ID]` with the control plane's environment; it is what beat's tick task does on a
worker (schedules.engine.run_tick under the executor lease) — or, given a schedule id, what
`POST /api/schedules/execute {"scheduleId"}` does (that schedule only, no lease) — with one
pause point wrapped around the engine's own functions — nothing in the product is changed or configured for it:

- `in-transaction`: after the batch's jobs, events and schedule updates are written, before its
  transaction commits (schedules.engine._apply);
- `before-publish`: after the commit, before the jobs' messages are sent
  (schedules.engine.jobs_send, as the engine calls it).

At the pause it prints `PAUSED <where>` on stdout and waits for a line on stdin (`go`); the
suite restarts PostgreSQL meanwhile (c), or kills this process with SIGKILL (d). It pauses at
most once, and gives up waiting after PAUSE_MAX_SECONDS. When the tick returns it prints
`REPORT <json>`; an exception ends the process with a traceback on stderr.
"""

from __future__ import annotations

import json
import select
import sys
import uuid

PAUSE_MAX_SECONDS = 300
POINTS = ("in-transaction", "before-publish")


def main(argv: list[str]) -> int:
    if len(argv) not in (1, 2) or argv[0] not in POINTS:
        print(
            f"usage: python -m tests.chaos.tick_process {'|'.join(POINTS)} [SCHEDULE_ID]",
            file=sys.stderr,
        )
        return 2
    where = argv[0]
    schedule_id = uuid.UUID(argv[1]) if len(argv) == 2 else None

    import django

    django.setup()
    from django.utils import timezone

    from schedules import engine
    from schedules.api.serializers import report_json

    paused: list[str] = []

    def pause() -> None:
        if paused:
            return
        paused.append(where)
        print(f"PAUSED {where}", flush=True)
        ready, _, _ = select.select([sys.stdin], [], [], PAUSE_MAX_SECONDS)
        if ready:
            sys.stdin.readline()

    real_apply, real_send = engine._apply, engine.jobs_send

    def apply_then_pause(decisions, *, now):
        owed = real_apply(decisions, now=now)
        if where == "in-transaction" and owed.jobs:
            pause()
        return owed

    def pause_then_send(*, jobs):
        if where == "before-publish" and jobs:
            pause()
        return real_send(jobs=jobs)

    engine._apply, engine.jobs_send = apply_then_pause, pause_then_send
    report = engine.run_tick(
        now=timezone.now(), schedule_id=schedule_id, use_executor_lock=schedule_id is None
    )
    print("REPORT " + json.dumps(report_json(report)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
