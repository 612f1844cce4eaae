"""usage_add_runs locks the usage rows of a batch in organization order, whatever order the
batch found them in: two batches committing at once (two evaluators, an evaluator's two lanes)
then wait for each other instead of deadlocking. Real PostgreSQL."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.models import MonthlyUsage
from billing.services import usage_add_runs
from tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)


def test_it_upserts_in_organization_order_and_adds_up():
    orgs = [OrganizationFactory() for _ in range(4)]
    found_in = list(reversed(sorted(orgs, key=lambda o: str(o.id))))  # the worst order

    with CaptureQueriesContext(connection) as q:
        usage_add_runs(counts={o.id: 2 for o in found_in}, now=NOW)
    usage_add_runs(counts={o.id: 1 for o in found_in}, now=NOW)

    sql = q.captured_queries[0]["sql"]
    positions = [sql.index(str(o.id) if str(o.id) in sql else o.id.hex) for o in found_in]
    assert positions == sorted(positions, reverse=True)  # written in ascending id order
    assert {u.organization_id: u.runs for u in MonthlyUsage.objects.all()} == {
        o.id: 3 for o in orgs
    }
