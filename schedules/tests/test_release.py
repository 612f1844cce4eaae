"""schedules.release, pure: which held jobs the tick releases (oldest first into the free slots,
never past the start deadline) and the gates at release."""

import uuid
from datetime import UTC, datetime, timedelta

from agents.models import AgentStatus, Controller
from agents.readiness import AgentState
from billing.gate import BillingState
from schedules.gates import GateContext
from schedules.release import HeldJob, choose_releases, gate_releases

NOW = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)
S1, S2, ORG, AGENT = (uuid.uuid4() for _ in range(4))


def held(schedule=S1, hours_ago=1, created=0, deadline=None, keys=()):
    return HeldJob(
        id=uuid.uuid4(),
        schedule_id=schedule,
        organization_id=ORG,
        agent_id=AGENT,
        scheduled_for=NOW - timedelta(hours=hours_ago),
        created_at=NOW + timedelta(seconds=created),
        start_deadline_at=deadline,
        vault_keys=keys,
    )


def test_it_releases_the_oldest_into_the_free_slots():
    a, b, c = held(hours_ago=1), held(hours_ago=3), held(hours_ago=2)
    assert choose_releases([a, b, c], active={}, limits={S1: 1}, now=NOW) == [b]
    assert choose_releases([a, b, c], active={S1: 1}, limits={S1: 3}, now=NOW) == [b, c]
    assert choose_releases([a, b, c], active={S1: 1}, limits={S1: 1}, now=NOW) == []


def test_same_occurrence_time_goes_by_creation():
    late, early = held(created=5), held(created=1)
    assert choose_releases([late, early], active={}, limits={S1: 1}, now=NOW) == [early]


def test_each_schedule_has_its_own_slots():
    a, b = held(schedule=S1), held(schedule=S2)
    assert choose_releases([a, b], active={S1: 1}, limits={S1: 1, S2: 1}, now=NOW) == [b]
    assert choose_releases([a, b], active={}, limits={S2: 1}, now=NOW) == [b]  # S1 not locked


def test_never_past_its_start_deadline():
    late = held(hours_ago=2, deadline=NOW - timedelta(seconds=1))
    on_time = held(hours_ago=1, deadline=NOW)  # at the instant itself: still in time
    assert choose_releases([late, on_time], active={}, limits={S1: 1}, now=NOW) == [on_time]


def test_a_replace_schedule_whose_canceled_job_still_runs_releases_nothing():
    a, b = held(schedule=S1), held(schedule=S2)
    chosen = choose_releases(
        [a, b], active={S1: 1}, limits={S1: 3, S2: 1}, now=NOW, draining=frozenset({S1})
    )
    assert chosen == [b]


def ctx(*, billing="active", vault=(), agent_status=AgentStatus.ONLINE, quota=None):
    agent = AgentState(
        id=AGENT,
        organization_id=ORG,
        name="a",
        status=agent_status,
        last_heartbeat_at=NOW,
        auto_start=False,
        controller=Controller.MANUAL,
        start_requested_at=None,
    )
    return GateContext(
        now=NOW,
        billing={
            ORG: BillingState(
                organization_id=ORG,
                status=billing,
                trial_ends_at=None,
                past_due_since=None,
                monthly_run_quota=quota,
                runs_this_month=0,
            )
        },
        grace_days=7,
        active_jobs={},
        last_job_at={},
        vault_names={ORG: set(vault)},
        agents={AGENT: agent},
        online_seconds=90,
    )


def test_gates_at_release():
    job = held(keys=("SAP",))
    assert gate_releases([job], ctx(vault={"SAP"})).released == [job]
    [(_, skip)] = gate_releases([job], ctx()).blocked
    assert skip.reason == "vault_keys_missing"
    [(_, skip)] = gate_releases([job], ctx(billing="suspended", vault={"SAP"})).blocked
    assert skip.reason == "billing_blocked"


def test_each_release_counts_toward_the_quota():
    a, b = held(hours_ago=2), held(schedule=S2)
    out = gate_releases([a, b], ctx(quota=1))
    assert out.released == [a]
    assert [skip.reason for _, skip in out.blocked] == ["billing_blocked"]
