"""Saving the schedule form goes through schedules.services: nextRunAt is computed from the
cron, the timezone and now on create; an edit of the timing recomputes it, any other edit leaves
a due schedule due."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine

from billing.models import Role
from schedules.models import Schedule
from schedules.tests.admin.forms import schedule_form
from tests.fixtures import form_errors

# Time is frozen with time-machine: the control plane's clock follows it.
pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("control_plane_clock_is_time_machines"),
]

NOW = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)


@time_machine.travel(NOW, tick=False)
def test_it_creates_a_schedule_with_its_next_run_computed(acme, staff_client):
    client = staff_client(acme["org"], Role.ADMIN)
    response = client.post(
        "/app/schedules/schedule/add/",
        schedule_form(acme, vault_keys=["ACME_PASSWORD"]),
    )
    assert response.status_code == 302, form_errors(response)
    schedule = Schedule.objects.get(name="Nightly invoice sync")
    assert schedule.organization == acme["org"]
    # 02:30 in New York on Nov 27 (EST, UTC-5) is 07:30Z.
    assert schedule.next_run_at == datetime(2026, 11, 27, 7, 30, tzinfo=UTC)
    assert schedule.variables == {"region": "us-east"}
    assert schedule.vault_keys == ["ACME_PASSWORD"]
    assert (schedule.max_retries, schedule.retry_delay_seconds) == (2, 300)


def test_it_recomputes_the_next_run_when_the_timing_changes(acme, staff_client):
    client = staff_client(acme["org"], Role.ADMIN)
    schedule = acme["schedule"]
    url = f"/app/schedules/schedule/{schedule.pk}/change/"
    with time_machine.travel(NOW, tick=False):
        response = client.post(
            url, schedule_form(acme, cron_expression="0 9 * * *", timezone="UTC")
        )
    assert response.status_code == 302, form_errors(response)
    schedule.refresh_from_db()
    assert schedule.next_run_at == datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def test_it_keeps_an_overdue_schedule_due_when_only_its_inputs_change(acme, staff_client):
    client = staff_client(acme["org"], Role.ADMIN)
    schedule = acme["schedule"]
    overdue = datetime(2026, 11, 26, 13, 55, tzinfo=UTC)
    Schedule.objects.filter(pk=schedule.pk).update(
        next_run_at=overdue, cron_expression="30 2 * * *", timezone="America/New_York"
    )
    with time_machine.travel(NOW, tick=False):
        response = client.post(
            f"/app/schedules/schedule/{schedule.pk}/change/",
            schedule_form(acme, name=schedule.name, variables='{"region": "eu-west"}'),
        )
    assert response.status_code == 302, form_errors(response)
    schedule.refresh_from_db()
    assert schedule.variables == {"region": "eu-west"}
    assert schedule.next_run_at == overdue


def test_it_clears_the_next_run_when_disabled_through_the_form(acme, staff_client):
    client = staff_client(acme["org"], Role.ADMIN)
    schedule = acme["schedule"]
    response = client.post(
        f"/app/schedules/schedule/{schedule.pk}/change/", schedule_form(acme, enabled=None)
    )
    assert response.status_code == 302, form_errors(response)
    schedule.refresh_from_db()
    assert (schedule.enabled, schedule.next_run_at) == (False, None)


def test_it_is_read_only_for_operators_and_viewers(acme, staff_client):
    for role in (Role.VIEWER, Role.OPERATOR):
        client = staff_client(acme["org"], role)
        assert client.get("/app/schedules/schedule/add/").status_code == 403
        url = f"/app/schedules/schedule/{acme['schedule'].pk}/change/"
        assert client.post(url, schedule_form(acme)).status_code == 403
