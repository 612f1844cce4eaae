"""Which channel gets which alert (SPEC §14), as pure functions: no DB, no clock, no I/O.

Fed by one batched read (schedules.alerts): the candidate alerts of a batch and the channels
of their organizations; answers the outbox rows to write.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

# Skips that do not count toward runs_skipped: nothing was wrong, the schedule said so itself
# (a calendar date, its agent's maintenance window, its end or run budget; not due yet). They
# neither count nor break a streak.
PLANNED_SKIP_REASONS = frozenset(
    {
        "calendar_excluded",
        "agent_maintenance",
        "ended",
        "run_budget_spent",
        "not_due",
        "disabled",
    }
)

# A job's final status -> the event it raises (retrying, succeeded, canceled raise none).
JOB_STATUS_EVENTS = {"failed": "job_failed", "timed_out": "job_timed_out", "lost": "job_lost"}


@dataclass(frozen=True)
class Candidate:
    """An alert that may be owed to some channels of `organization_id` (None: to every
    organization's channels — the tick is everyone's)."""

    event: str
    subject: str
    title: str
    body: str
    payload: dict[str, Any] = field(default_factory=dict)
    organization_id: UUID | None = None
    schedule_id: UUID | None = None
    # runs_skipped: the schedule's streak before and after this batch; a channel with
    # threshold N is owed the alert when the streak reaches N (before < N <= after).
    streak: tuple[int, int] | None = None


@dataclass(frozen=True)
class ChannelRule:
    id: UUID
    organization_id: UUID
    events: frozenset[str]
    schedule_ids: frozenset[UUID]  # empty: the whole organization
    skips_threshold: int


def job_events(*, status: str, error_kind: str) -> list[str]:
    """The events a job's new status raises: failed/timed_out/lost, and credential_rejected
    for a failure on exit 77."""
    events = [JOB_STATUS_EVENTS[status]] if status in JOB_STATUS_EVENTS else []
    if status == "failed" and error_kind == "credential_rejected":
        events.append("credential_rejected")
    return events


def next_streak(previous: int, *, ran: bool, skip_reasons: Iterable[str]) -> int:
    """A schedule's count of consecutive unplanned skips after one decision of the tick: a run
    (a job written, held ones included) resets it; each unplanned skip adds one."""
    if ran:
        return 0
    return previous + sum(1 for r in skip_reasons if r not in PLANNED_SKIP_REASONS)


def wants(channel: ChannelRule, candidate: Candidate) -> bool:
    if candidate.event not in channel.events:
        return False
    if candidate.organization_id is not None:
        if channel.organization_id != candidate.organization_id:
            return False
        if channel.schedule_ids and candidate.schedule_id not in channel.schedule_ids:
            return False
    if candidate.streak is not None:
        before, after = candidate.streak
        return before < channel.skips_threshold <= after
    return True


def dedup_window(now: datetime, minutes: int) -> int:
    """The number of the dedup window `now` falls in (epoch-aligned windows of `minutes`)."""
    return int(now.timestamp() // (minutes * 60))


def dedup_key(channel_id: UUID, candidate: Candidate, window: int) -> str:
    return f"{channel_id}:{candidate.event}:{candidate.subject}:{window}"


def deliveries_owed(
    candidates: Sequence[Candidate],
    channels: Sequence[ChannelRule],
    *,
    recent: set[tuple[UUID, str, str]],
    now: datetime,
    dedup_minutes: int,
) -> list[tuple[ChannelRule, Candidate, str]]:
    """(channel, candidate, dedup key) for each alert to write: every channel that wants it,
    once per channel, event and subject — not when `recent` (what was written for them in the
    last `dedup_minutes`) has it. Two writers racing in one window are kept apart by the
    unique dedup key; `recent` covers a window boundary between them."""
    window = dedup_window(now, dedup_minutes)
    owed: list[tuple[ChannelRule, Candidate, str]] = []
    seen: set[tuple[UUID, str, str]] = set(recent)
    for candidate in candidates:
        for channel in channels:
            key = (channel.id, candidate.event, candidate.subject)
            if key in seen or not wants(channel, candidate):
                continue
            seen.add(key)
            owed.append((channel, candidate, dedup_key(channel.id, candidate, window)))
    return owed


def retry_delay(attempts: int, *, base_seconds: float, cap_seconds: float) -> timedelta:
    """Exponential backoff after the `attempts`-th failed attempt: base, 2·base, 4·base … cap."""
    return timedelta(seconds=min(cap_seconds, base_seconds * 2 ** max(0, attempts - 1)))


# --- What an alert says (names, ids, statuses; never a variable, a value or a log) ------------

_JOB_TITLES = {
    "job_failed": "failed",
    "job_timed_out": "timed out",
    "job_lost": "was lost",
    "credential_rejected": "was refused its credentials (exit 77)",
}


def job_alerts(
    *,
    organization_id: UUID,
    job_id: UUID,
    status: str,
    error_kind: str,
    schedule_id: UUID | None,
    schedule_name: str | None,
    scheduled_for: datetime | None,
) -> list[Candidate]:
    """The alerts a job's new status raises. Their subject is the schedule (one alert per
    schedule and event per dedup window, however many of its runs fail), or the job itself for
    a run of no schedule."""
    what = f"schedule {schedule_name!r}" if schedule_name else f"job {job_id}"
    payload: dict[str, Any] = {
        "organizationId": str(organization_id),
        "jobId": str(job_id),
        "scheduleId": str(schedule_id) if schedule_id else None,
        "status": status,
        "errorKind": error_kind,
    }
    when = f" (scheduled for {scheduled_for.isoformat()})" if scheduled_for else ""
    return [
        Candidate(
            event=event,
            subject=str(schedule_id or job_id),
            title=f"[Mimic] {what}: run {_JOB_TITLES[event]}",
            body=f"Job {job_id} of {what}{when} ended {status}"
            + (f" ({error_kind})" if error_kind else "")
            + ".",
            payload=payload,
            organization_id=organization_id,
            schedule_id=schedule_id,
        )
        for event in job_events(status=status, error_kind=error_kind)
    ]


def auto_paused_alert(
    *, organization_id: UUID, schedule_id: UUID, schedule_name: str, note: str
) -> Candidate:
    return Candidate(
        event="schedule_auto_paused",
        subject=str(schedule_id),
        title=f"[Mimic] schedule {schedule_name!r} was paused automatically",
        body=note,
        payload={"organizationId": str(organization_id), "scheduleId": str(schedule_id)},
        organization_id=organization_id,
        schedule_id=schedule_id,
    )


def runs_skipped_alert(
    *,
    organization_id: UUID,
    schedule_id: UUID,
    schedule_name: str,
    streak: tuple[int, int],
    last_reason: str,
) -> Candidate:
    return Candidate(
        event="runs_skipped",
        subject=str(schedule_id),
        title=f"[Mimic] schedule {schedule_name!r}: {streak[1]} runs skipped in a row",
        body=f"The last {streak[1]} occurrences of schedule {schedule_name!r} were skipped "
        f"(latest: {last_reason}).",
        payload={
            "organizationId": str(organization_id),
            "scheduleId": str(schedule_id),
            "consecutiveSkips": streak[1],
            "reason": last_reason,
        },
        organization_id=organization_id,
        schedule_id=schedule_id,
        streak=streak,
    )


def agent_offline_alert(
    *, organization_id: UUID, agent_id: UUID, agent_name: str, last_heartbeat_at: datetime | None
) -> Candidate:
    return Candidate(
        event="agent_offline",
        subject=str(agent_id),
        title=f"[Mimic] agent {agent_name!r} is offline",
        body=f"Agent {agent_name!r} has not sent a heartbeat since "
        f"{last_heartbeat_at.isoformat() if last_heartbeat_at else 'it started'}.",
        payload={"organizationId": str(organization_id), "agentId": str(agent_id)},
        organization_id=organization_id,
    )


def tick_stale_alert(*, last_tick_at: datetime | None, age_seconds: int | None) -> Candidate:
    since = "has never run" if last_tick_at is None else f"last ran {age_seconds} s ago"
    return Candidate(
        event="tick_stale",
        subject="tick",
        title="[Mimic] the scheduler's tick is stale",
        body=f"The every-minute tick {since}: scheduled runs are not being dispatched. "
        "Check the beat and worker processes.",
        payload={"lastTickAgeSeconds": age_seconds},
    )
