"""startsAt, endsAt, remainingRuns and runAt through the API: written and read in camelCase,
nextRunAt computed within them, stoppedReason saying why it is null, and every bad combination
a 400 naming the field with no row written."""

from __future__ import annotations

import pytest
import time_machine
from django.core.exceptions import ValidationError

from schedules import services
from schedules.models import Schedule, StopReason
from tests.factories import ScheduleFactory, schedule_body

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("control_plane_clock_is_time_machines"),
]

FROZEN = "2026-11-26T14:00:00Z"


@pytest.fixture
def new_schedule(org):
    return schedule_body(org, name="Bounded", cron_expression="0 * * * *")


@time_machine.travel(FROZEN, tick=False)
def test_it_creates_a_bounded_schedule_with_its_first_run_at_the_start(api, new_schedule):
    response = api.post(
        "/api/schedules/",
        {
            **new_schedule,
            "startsAt": "2026-11-27T09:00:00Z",
            "endsAt": "2026-12-01T00:00:00Z",
            "remainingRuns": 3,
        },
        format="json",
    )
    assert response.status_code == 201, response.data
    data = response.json()
    assert data["startsAt"] == "2026-11-27T09:00:00Z"
    assert data["endsAt"] == "2026-12-01T00:00:00Z"
    assert data["remainingRuns"] == 3
    assert data["runAt"] is None
    assert data["nextRunAt"] == "2026-11-27T09:00:00Z"
    assert data["stoppedReason"] is None


@time_machine.travel(FROZEN, tick=False)
def test_it_creates_a_one_time_run(api, new_schedule):
    response = api.post(
        "/api/schedules/",
        {**new_schedule, "cronExpression": "", "runAt": "2026-11-26T16:30:00Z"},
        format="json",
    )
    assert response.status_code == 201, response.data
    data = response.json()
    assert (data["runAt"], data["nextRunAt"]) == ("2026-11-26T16:30:00Z", "2026-11-26T16:30:00Z")
    assert data["cronExpression"] == ""
    assert data["description"] == "Once, at 2026-11-26T16:30:00Z"


@time_machine.travel(FROZEN, tick=False)
def test_it_creates_a_schedule_whose_end_has_passed_as_stopped(api, new_schedule):
    response = api.post(
        "/api/schedules/",
        {**new_schedule, "startsAt": "2026-11-01T00:00:00Z", "endsAt": "2026-11-02T00:00:00Z"},
        format="json",
    )
    assert response.status_code == 201, response.data
    data = response.json()
    assert (data["nextRunAt"], data["stoppedReason"]) == (None, "ended")


BAD = [
    ({"runAt": "2026-11-26T16:30:00Z"}, "runAt", "not both"),
    ({"cronExpression": ""}, "cronExpression", "cron expression"),
    (
        {"startsAt": "2026-11-27T09:00:00Z", "endsAt": "2026-11-27T09:00:00Z"},
        "endsAt",
        "after starts at",
    ),
    (
        {"startsAt": "2026-11-27T09:00:00Z", "endsAt": "2026-11-27T08:00:00Z"},
        "endsAt",
        "after starts at",
    ),
    ({"cronExpression": "", "runAt": "2026-11-26T13:59:00Z"}, "runAt", "future"),
    (
        {"cronExpression": "", "runAt": "2026-11-27T00:00:00Z", "startsAt": FROZEN},
        "startsAt",
        "one-time",
    ),
    ({"remainingRuns": 0}, "remainingRuns", "1 or more"),
    ({"remainingRuns": -1}, "remainingRuns", "greater than or equal"),
    ({"runAt": "tomorrow"}, "runAt", "format"),
]


@time_machine.travel(FROZEN, tick=False)
@pytest.mark.parametrize(("change", "field", "message"), BAD)
def test_it_refuses_bad_bounds_naming_the_field(
    api, new_schedule, assert_no_rows_written, change, field, message
):
    with assert_no_rows_written():
        response = api.post("/api/schedules/", {**new_schedule, **change}, format="json")
    assert response.status_code == 400, response.data
    errors = response.json()
    assert list(errors) == [field]
    assert message.lower() in str(errors[field]).lower()


@time_machine.travel(FROZEN, tick=False)
def test_raising_a_spent_budget_rearms_the_schedule(api, org):
    schedule = ScheduleFactory(organization=org, cron_expression="0 * * * *", remaining_runs=1)
    Schedule.objects.filter(pk=schedule.pk).update(
        remaining_runs=0, next_run_at=None, stopped_reason=StopReason.RUN_BUDGET_SPENT
    )
    url = f"/api/schedules/{schedule.pk}/"
    read = api.get(url).json()
    assert (read["remainingRuns"], read["nextRunAt"], read["stoppedReason"]) == (
        0,
        None,
        "run_budget_spent",
    )
    # What was read can be sent back as it is (0 unchanged)...
    assert api.patch(url, {"remainingRuns": 0}, format="json").status_code == 200

    response = api.patch(url, {"remainingRuns": 2}, format="json")

    assert response.status_code == 200, response.data
    data = response.json()
    assert (data["nextRunAt"], data["stoppedReason"]) == ("2026-11-26T15:00:00Z", None)


@time_machine.travel(FROZEN, tick=False)
def test_moving_the_end_rearms_an_ended_schedule(api, org):
    schedule = ScheduleFactory(organization=org, cron_expression="0 * * * *")
    Schedule.objects.filter(pk=schedule.pk).update(
        ends_at="2026-11-26T13:00:00Z", next_run_at=None, stopped_reason=StopReason.ENDED
    )
    response = api.patch(
        f"/api/schedules/{schedule.pk}/", {"endsAt": "2026-11-27T00:00:00Z"}, format="json"
    )
    assert response.status_code == 200, response.data
    assert response.json()["nextRunAt"] == "2026-11-26T15:00:00Z"
    assert response.json()["stoppedReason"] is None


@time_machine.travel(FROZEN, tick=False)
def test_resuming_a_one_time_schedule_that_ran_keeps_it_stopped(api, org):
    schedule = ScheduleFactory(
        organization=org, cron_expression="", run_at="2026-11-26T13:00:00Z", next_run_at=None
    )
    Schedule.objects.filter(pk=schedule.pk).update(stopped_reason=StopReason.RAN_ONCE)
    api.post(f"/api/schedules/{schedule.pk}/pause", {}, format="json")
    response = api.post(f"/api/schedules/{schedule.pk}/resume", format="json")
    assert response.status_code == 200, response.data
    assert (response.json()["nextRunAt"], response.json()["stoppedReason"]) == (None, "ran_once")
    # A new instant is a new run.
    moved = api.patch(
        f"/api/schedules/{schedule.pk}/", {"runAt": "2026-11-27T08:00:00Z"}, format="json"
    )
    assert moved.status_code == 200, moved.data
    assert (moved.json()["nextRunAt"], moved.json()["stoppedReason"]) == (
        "2026-11-27T08:00:00Z",
        None,
    )


@time_machine.travel(FROZEN, tick=False)
def test_switching_to_a_one_time_run_needs_the_cron_cleared(api, org):
    schedule = ScheduleFactory(organization=org)
    url = f"/api/schedules/{schedule.pk}/"
    refused = api.patch(url, {"runAt": "2026-11-27T08:00:00Z"}, format="json")
    assert refused.status_code == 400
    assert list(refused.json()) == ["runAt"]
    switched = api.patch(
        url, {"runAt": "2026-11-27T08:00:00Z", "cronExpression": ""}, format="json"
    )
    assert switched.status_code == 200, switched.data
    assert switched.json()["nextRunAt"] == "2026-11-27T08:00:00Z"


def test_the_service_refuses_a_one_time_run_in_the_past(org, script, agent, now):
    with pytest.raises(ValidationError) as caught:
        services.schedule_create(
            now=now,
            organization=org,
            script=script,
            agent=agent,
            name="x",
            run_at=now.replace(hour=1),
        )
    assert list(caught.value.message_dict) == ["run_at"]
