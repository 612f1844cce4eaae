"""The billing gate of SPEC §9 as one pure decision: no database, no clock.

The engine builds `BillingState`s for a whole batch with `billing.selectors.billing_states_for`
(two queries) and asks `billing_block_reason` per schedule; the string it returns is the `detail`
of a `billing_blocked` skip in the tick report.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from billing.models import BillingStatus
from config.clock import iso_z


@dataclass(frozen=True)
class BillingState:
    organization_id: uuid.UUID
    status: str
    trial_ends_at: datetime | None
    past_due_since: datetime | None
    monthly_run_quota: int | None  # None = unlimited
    runs_this_month: int  # jobs created since the start of the current UTC month, any trigger


def billing_block_reason(
    state: BillingState, *, now: datetime, grace_days: int, runs_added: int = 0
) -> str | None:
    """None when the organization may dispatch, else why not (human text for the report).

    Boundaries are exclusive of the end: at exactly `trial_ends_at`, or exactly `grace_days`
    after `past_due_since`, dispatch is blocked. `runs_added`: runs dispatched since the state
    was read (earlier schedules of the same batch), counted against the quota too.
    """
    status = state.status
    if status == BillingStatus.ACTIVE:
        pass
    elif status == BillingStatus.TRIALING:
        # A trial with no end date is open-ended (e.g. a design partner).
        if state.trial_ends_at is not None and now >= state.trial_ends_at:
            return f"trial ended {iso_z(state.trial_ends_at)}"
    elif status == BillingStatus.PAST_DUE:
        if state.past_due_since is None:
            # Without a start the grace period cannot be computed: deny rather than run free.
            return "organization is past due (no past-due date recorded)"
        grace_end = state.past_due_since + timedelta(days=grace_days)
        if now >= grace_end:
            return (
                f"past due since {iso_z(state.past_due_since)} "
                f"(grace {grace_days} days ended {iso_z(grace_end)})"
            )
    elif status in (BillingStatus.SUSPENDED, BillingStatus.CANCELED):
        return f"organization is {status}"
    else:
        return f"unknown billing status {status!r}"

    quota = state.monthly_run_quota
    runs = state.runs_this_month + runs_added
    if quota is not None and runs >= quota:
        return f"monthly run quota reached ({runs}/{quota})"
    return None
