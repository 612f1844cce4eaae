"""Is an agent ready to take a job? Pure: the stored row plus `now`, no queries, no clock."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from django.db.models import Q

from agents.models import AgentStatus, Controller

# A start request younger than this counts as "starting": its queue will be drained once the
# agent boots, so jobs may be queued for it meanwhile.
START_GRACE = timedelta(minutes=3)


@dataclass(frozen=True)
class AgentState:
    id: UUID
    organization_id: UUID
    name: str
    status: str
    last_heartbeat_at: datetime | None
    auto_start: bool
    controller: str
    start_requested_at: datetime | None

    @classmethod
    def from_agent(cls, agent) -> "AgentState":
        return cls(
            id=agent.id,
            organization_id=agent.organization_id,
            name=agent.name,
            status=agent.status,
            last_heartbeat_at=agent.last_heartbeat_at,
            auto_start=agent.auto_start,
            controller=agent.controller,
            start_requested_at=agent.start_requested_at,
        )

    @property
    def can_auto_start(self) -> bool:
        return self.auto_start and self.controller != Controller.MANUAL


def effective_status(state: AgentState, *, now: datetime, online_seconds: int) -> str:
    """Online means a heartbeat younger than `online_seconds` — the stored status alone can lie
    (a killed agent never writes `offline`)."""
    if state.status == AgentStatus.DISABLED:
        return AgentStatus.DISABLED
    fresh = state.last_heartbeat_at is not None and now - state.last_heartbeat_at < timedelta(
        seconds=online_seconds
    )
    if fresh and state.status != AgentStatus.STOPPED:
        return AgentStatus.ONLINE
    if (
        state.status == AgentStatus.STARTING
        and state.start_requested_at is not None
        and now - state.start_requested_at < START_GRACE
    ):
        return AgentStatus.STARTING
    if state.status == AgentStatus.STOPPED:
        return AgentStatus.STOPPED
    return AgentStatus.OFFLINE


def online_q(*, now: datetime, online_seconds: int) -> Q:
    """The agents `effective_status` calls online, as a filter (the metrics count them in SQL):
    a heartbeat younger than `online_seconds`, and neither disabled nor stopped."""
    fresh = Q(last_heartbeat_at__gt=now - timedelta(seconds=online_seconds))
    return fresh & ~Q(status__in=[AgentStatus.DISABLED, AgentStatus.STOPPED])
