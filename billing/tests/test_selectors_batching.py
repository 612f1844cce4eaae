"""billing_states_for: two queries whatever the number of organizations; quota counts this UTC
month (the MonthlyUsage counters the tick increments)."""

from datetime import UTC, datetime

import pytest

from billing.gate import BillingState
from billing.selectors import billing_states_for, month_start_utc
from billing.services import usage_add_runs
from tests.factories import OrganizationFactory

NOW = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)

pytestmark = pytest.mark.django_db


def record_runs(organization, at, n=1):
    usage_add_runs(counts={organization.pk: n}, now=at)


def test_it_counts_runs_recorded_since_the_start_of_the_utc_month(django_assert_num_queries):
    org = OrganizationFactory(monthly_run_quota=10)
    record_runs(org, datetime(2026, 11, 1, 0, 0, tzinfo=UTC))  # first instant of the month
    record_runs(org, datetime(2026, 11, 26, 13, 59, tzinfo=UTC))
    record_runs(org, datetime(2026, 10, 31, 23, 59, 59, tzinfo=UTC), n=5)  # last month
    with django_assert_num_queries(2):
        states = billing_states_for([org.pk], now=NOW)
    assert states == {
        org.pk: BillingState(
            organization_id=org.pk,
            status="active",
            trial_ends_at=None,
            past_due_since=None,
            monthly_run_quota=10,
            runs_this_month=2,
        )
    }


@pytest.mark.parametrize("count", [1, 5, 40])
def test_it_takes_two_queries_whatever_the_number_of_organizations(
    count, django_assert_num_queries
):
    orgs = OrganizationFactory.create_batch(count)
    for org in orgs[::2]:
        record_runs(org, NOW)
    with django_assert_num_queries(2):
        states = billing_states_for([o.pk for o in orgs], now=NOW)
    assert set(states) == {o.pk for o in orgs}
    assert [states[o.pk].runs_this_month for o in orgs] == [
        1 if i % 2 == 0 else 0 for i in range(count)
    ]


def test_it_leaves_out_unknown_organizations_and_asks_nothing_for_none(django_assert_num_queries):
    import uuid

    assert billing_states_for([uuid.uuid4()], now=NOW) == {}
    with django_assert_num_queries(0):
        assert billing_states_for([], now=NOW) == {}


def test_it_starts_the_month_in_utc():
    from zoneinfo import ZoneInfo

    # 2026-12-01 01:00 in Tokyo is still November in UTC.
    tokyo = datetime(2026, 12, 1, 1, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert month_start_utc(tokyo) == datetime(2026, 11, 1, tzinfo=UTC)


def test_it_adds_concurrent_increments_up():
    org = OrganizationFactory()
    other = OrganizationFactory()
    usage_add_runs(counts={org.pk: 3, other.pk: 0}, now=NOW)
    usage_add_runs(counts={org.pk: 4, other.pk: 2}, now=NOW)
    states = billing_states_for([org.pk, other.pk], now=NOW)
    assert (states[org.pk].runs_this_month, states[other.pk].runs_this_month) == (7, 2)
