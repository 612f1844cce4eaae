"""The billing gate decision, every status/trial/grace/quota case (pure: no DB, no clock)."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from billing.gate import BillingState, billing_block_reason

NOW = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)
GRACE = 7
ORG = uuid.UUID(int=1)


def state(
    status: str,
    *,
    trial_ends_at: datetime | None = None,
    past_due_since: datetime | None = None,
    quota: int | None = None,
    runs: int = 0,
) -> BillingState:
    return BillingState(
        organization_id=ORG,
        status=status,
        trial_ends_at=trial_ends_at,
        past_due_since=past_due_since,
        monthly_run_quota=quota,
        runs_this_month=runs,
    )


CASES = [
    # (id, state, expected: None = allowed, else the exact reason)
    ("active", state("active"), None),
    ("active-with-stale-dates", state("active", trial_ends_at=NOW - timedelta(days=30)), None),
    ("trialing-no-end", state("trialing"), None),
    ("trialing-before-end", state("trialing", trial_ends_at=NOW + timedelta(seconds=1)), None),
    (
        "trialing-at-end",
        state("trialing", trial_ends_at=NOW),
        "trial ended 2026-11-26T14:00:00Z",
    ),
    (
        "trialing-after-end",
        state("trialing", trial_ends_at=datetime(2026, 11, 20, tzinfo=UTC)),
        "trial ended 2026-11-20T00:00:00Z",
    ),
    ("past-due-just-now", state("past_due", past_due_since=NOW), None),
    (
        "past-due-inside-grace",
        state("past_due", past_due_since=NOW - timedelta(days=GRACE) + timedelta(seconds=1)),
        None,
    ),
    (
        "past-due-grace-ends-now",
        state("past_due", past_due_since=NOW - timedelta(days=GRACE)),
        "past due since 2026-11-19T14:00:00Z (grace 7 days ended 2026-11-26T14:00:00Z)",
    ),
    (
        "past-due-after-grace",
        state("past_due", past_due_since=datetime(2026, 11, 1, tzinfo=UTC)),
        "past due since 2026-11-01T00:00:00Z (grace 7 days ended 2026-11-08T00:00:00Z)",
    ),
    (
        "past-due-without-date",
        state("past_due"),
        "organization is past due (no past-due date recorded)",
    ),
    ("suspended", state("suspended"), "organization is suspended"),
    ("canceled", state("canceled"), "organization is canceled"),
    ("unknown-status", state("frozen"), "unknown billing status 'frozen'"),
    ("quota-unlimited", state("active", quota=None, runs=10**6), None),
    ("quota-below", state("active", quota=500, runs=499), None),
    ("quota-reached", state("active", quota=500, runs=500), "monthly run quota reached (500/500)"),
    ("quota-exceeded", state("active", quota=500, runs=612), "monthly run quota reached (612/500)"),
    ("quota-zero", state("active", quota=0, runs=0), "monthly run quota reached (0/0)"),
    (
        "quota-trialing",
        state("trialing", trial_ends_at=NOW + timedelta(days=1), quota=10, runs=10),
        "monthly run quota reached (10/10)",
    ),
    (
        "quota-past-due-in-grace",
        state("past_due", past_due_since=NOW - timedelta(days=1), quota=3, runs=3),
        "monthly run quota reached (3/3)",
    ),
    # Status blocks are reported before the quota: the status is what needs fixing first.
    ("suspended-over-quota", state("suspended", quota=1, runs=5), "organization is suspended"),
]


@pytest.mark.parametrize(("billing", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_it_allows_or_blocks_with_the_right_reason(billing, expected):
    assert billing_block_reason(billing, now=NOW, grace_days=GRACE) == expected


def test_it_uses_the_grace_days_given():
    since = NOW - timedelta(days=3)
    assert (
        billing_block_reason(state("past_due", past_due_since=since), now=NOW, grace_days=7) is None
    )
    assert billing_block_reason(state("past_due", past_due_since=since), now=NOW, grace_days=3) == (
        "past due since 2026-11-23T14:00:00Z (grace 3 days ended 2026-11-26T14:00:00Z)"
    )


def test_it_reports_instants_in_utc_whatever_their_zone():
    from zoneinfo import ZoneInfo

    ends = datetime(2026, 11, 20, 9, 0, tzinfo=ZoneInfo("America/New_York"))
    assert billing_block_reason(
        state("trialing", trial_ends_at=ends), now=NOW, grace_days=GRACE
    ) == ("trial ended 2026-11-20T14:00:00Z")


def test_it_is_frozen() -> None:
    with pytest.raises(AttributeError):
        state("active").status = "suspended"  # type: ignore[misc]
