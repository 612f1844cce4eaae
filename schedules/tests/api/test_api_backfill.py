"""POST /api/schedules/{id}/backfill (SPEC §14): the answer's shape, 400s naming the field with
nothing written, roles (a forced run's: operator; a dry run: viewer), another organization's
schedule 404, billing 409 with nothing written."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from agents.models import Job, JobStatus
from billing.models import Role
from schedules.models import EventKind, ScheduleEvent
from schedules.tests.conftest import NOW
from tests.factories import AgentFactory, ScheduleFactory, ScriptFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("control_plane_clock_is_time_machines"),
]


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def url(schedule) -> str:
    return f"/api/schedules/{schedule.id}/backfill"


RANGE = {"from": "2026-11-26T12:00:00Z", "to": "2026-11-26T14:00:00Z"}


def test_it_enqueues_a_range_and_answers_what_it_did(operator, hourly):
    response = operator.post(url(hourly), RANGE, format="json")
    assert response.status_code == 200, response.json()
    assert response.json() == {
        "scheduleId": str(hourly.id),
        "dryRun": False,
        "from": "2026-11-26T12:00:00Z",
        "to": "2026-11-26T14:00:00Z",
        "enqueued": ["2026-11-26T12:00:00Z", "2026-11-26T13:00:00Z", "2026-11-26T14:00:00Z"],
        "alreadyPresent": [],
        "skippedRuns": [],
        "blockedBy": [],
    }
    assert set(Job.objects.values_list("status", flat=True)) == {JobStatus.HELD}
    again = operator.post(url(hourly), RANGE, format="json").json()
    assert again["enqueued"] == [] and len(again["alreadyPresent"]) == 3
    assert Job.objects.count() == 3
    assert ScheduleEvent.objects.filter(kind=EventKind.BACKFILLED).count() == 2


def test_a_dry_run_answers_and_writes_nothing(operator, hourly, org, assert_no_rows_written):
    hourly.vault_keys = ["PORTAL_PASSWORD"]
    hourly.save()
    with assert_no_rows_written():
        response = operator.post(url(hourly), RANGE | {"dryRun": True}, format="json")
    body = response.json()
    assert body["dryRun"] is True and len(body["enqueued"]) == 3
    assert body["blockedBy"] == [
        {"reason": "vault_keys_missing", "detail": "missing: PORTAL_PASSWORD"}
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"to": "2026-11-26T14:00:00Z"}, "from"),
        ({"from": "2026-11-26T12:00:00Z"}, "to"),
        (RANGE | {"from": "yesterday"}, "from"),
        (RANGE | {"to": 42}, "to"),
        (RANGE | {"dryRun": "perhaps"}, "dryRun"),
        ({"from": "2026-11-26T14:00:00Z", "to": "2026-11-26T12:00:00Z"}, "from"),
        (RANGE | {"to": "2026-11-26T14:01:00Z"}, "to"),  # in the future
        (RANGE | {"from": "2026-08-01T00:00:00Z"}, "from"),  # older than the 90-day retention
    ],
)
def test_it_rejects_a_bad_range_naming_the_field(
    operator, hourly, assert_no_rows_written, body, field
):
    with assert_no_rows_written():
        response = operator.post(url(hourly), body, format="json")
    assert response.status_code == 400
    assert field in response.json()


def test_it_refuses_more_than_a_thousand_occurrences(operator, make_due, assert_no_rows_written):
    s = make_due(cron_expression="* * * * *")
    thousand = {"from": "2026-11-25T21:21:00Z", "to": "2026-11-26T14:00:00Z"}
    with assert_no_rows_written():
        response = operator.post(
            url(s), {**thousand, "from": "2026-11-25T21:20:00Z"}, format="json"
        )
    assert response.status_code == 400 and "to" in response.json()
    response = operator.post(url(s), thousand | {"dryRun": True}, format="json")
    assert len(response.json()["enqueued"]) == 1000


def test_a_one_time_schedule_has_no_range(operator, org, script, online_agent):
    once = ScheduleFactory(
        organization=org,
        agent=online_agent,
        script=script,
        cron_expression="",
        run_at=NOW + timedelta(days=1),
        next_run_at=NOW + timedelta(days=1),
    )
    response = operator.post(url(once), RANGE, format="json")
    assert response.status_code == 400 and "runAt" in response.json()


@pytest.mark.parametrize(
    ("role", "dry_run", "status"),
    [
        (Role.VIEWER, False, 403),
        (Role.VIEWER, True, 200),
        (Role.OPERATOR, False, 200),
    ],
)
def test_it_needs_the_role_of_a_forced_run(org, client_for, hourly, role, dry_run, status):
    client = client_for(org, role)
    response = client.post(url(hourly), RANGE | {"dryRun": dry_run}, format="json")
    assert response.status_code == status
    assert Job.objects.count() == (3 if status == 200 and not dry_run else 0)


def test_another_organizations_schedule_is_not_found(operator, other_org):
    theirs = ScheduleFactory(
        organization=other_org,
        agent=AgentFactory(organization=other_org),
        script=ScriptFactory(organization=other_org),
        cron_expression="0 * * * *",
    )
    for body in (RANGE, RANGE | {"dryRun": True}):
        assert operator.post(url(theirs), body, format="json").status_code == 404
    assert not Job.objects.exists()


def test_billing_blocked_is_a_409_with_nothing_written(
    operator, hourly, org, assert_no_rows_written
):
    org.billing_status = "suspended"
    org.save()
    with assert_no_rows_written():
        response = operator.post(url(hourly), RANGE, format="json")
    assert response.status_code == 409
    assert response.json()["reason"] == "billing_blocked"
    dry = operator.post(url(hourly), RANGE | {"dryRun": True}, format="json").json()
    assert [b["reason"] for b in dry["blockedBy"]] == ["billing_blocked"]
