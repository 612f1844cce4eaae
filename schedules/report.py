"""The tick's report (SPEC §5 step 6): what one evaluation triggered, skipped and failed.

Plain data: the engine fills it, the admin reads its attributes, the metrics count it, and the
API's `TickReportSerializer` (schedules/api/serializers.py) turns it into the camelCase body of
the execute and cron endpoints — the only place the wire format is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple
from uuid import UUID

from schedules.models import ErrorCode


class Triggered(NamedTuple):
    """One dispatch (a named tuple: a busy tick makes ten thousand, and a frozen dataclass's
    __init__ sets each field through object.__setattr__)."""

    schedule_id: UUID
    schedule_name: str
    job_id: UUID | None  # None in a dry run: nothing was written
    scheduled_for: datetime
    agent_id: UUID
    notes: list[str]
    # A scheduled occurrence's fire instant (scheduled_for plus jitter), for the dispatch
    # lateness histogram; None for forced and released runs. Not part of the API's body.
    fire_at: datetime | None = None


class Skipped(NamedTuple):
    """One skip (a named tuple, like Triggered: with two evaluators each reports the thousands
    of rows the other holds, `lock_contention`)."""

    schedule_id: UUID
    reason: str
    detail: str = ""
    # Dry runs only (None in a real tick): every gate that would block, in order — `reason` is
    # the first. A skip that is not a gate's (missed, ended, not due …) lists its reason alone.
    reasons: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Prewarmed:
    """An agent the tick started ahead of a run (SPEC §14 pre-warm)."""

    agent_id: UUID
    agent_name: str
    next_fire_at: datetime  # the run it was started for
    prewarm_minutes: int


@dataclass(frozen=True)
class TickError:
    schedule_id: UUID | None  # None: the tick as a whole (executor locked, republish failed)
    code: str
    message: str


@dataclass
class Report:
    dry_run: bool
    evaluated_at: datetime
    triggered: list[Triggered] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    errors: list[TickError] = field(default_factory=list)
    prewarmed: list[Prewarmed] = field(default_factory=list)  # full ticks only

    def skip(
        self,
        schedule_id: UUID,
        reason: str,
        detail: str = "",
        reasons: tuple[str, ...] | None = None,
    ) -> None:
        if reasons is None and self.dry_run:
            reasons = (str(reason),)
        self.skipped.append(
            Skipped(
                schedule_id,
                str(reason),
                detail,
                None if reasons is None else tuple(str(r) for r in reasons),
            )
        )

    def error(self, schedule_id: UUID | None, code: str, message: str) -> None:
        self.errors.append(TickError(schedule_id, str(code), message))

    @property
    def executor_locked(self) -> bool:
        return any(e.code == ErrorCode.EXECUTOR_LOCKED for e in self.errors)

    def merge(self, other: Report) -> None:
        """Add another evaluation's lines (the admin's dry run of several schedules)."""
        self.triggered.extend(other.triggered)
        self.skipped.extend(other.skipped)
        self.errors.extend(other.errors)
        self.prewarmed.extend(other.prewarmed)
