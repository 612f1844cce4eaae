"""GET /api/schedules/preview?scheduleId=… (SPEC §14 "When it runs"): a saved schedule's next
runs within its bounds and run budget, the occurrences it skips and why, DST changes annotated,
and with viewerTimezone the runs as wall times there. Another organization's is a 404."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.models import Role
from config.clock import parse_iso
from schedules.models import StopReason
from tests.factories import ScheduleFactory

pytestmark = pytest.mark.django_db
URL = "/api/schedules/preview"
AFTER = "2026-03-07T00:00:00Z"


@pytest.fixture
def viewer(org, client_for):
    return client_for(org, Role.VIEWER, token=True)


def saved(org, **fields):
    fields.setdefault("cron_expression", "30 2 * * *")
    fields.setdefault("timezone", "America/New_York")
    return ScheduleFactory.create(organization=org, **fields)


def test_it_previews_a_saved_schedule_up_to_its_end_and_lists_the_stop(viewer, org):
    schedule = saved(org, ends_at=datetime(2026, 3, 9, 6, 30, tzinfo=UTC))

    response = viewer.get(URL, {"scheduleId": schedule.id, "after": AFTER})

    assert response.status_code == 200, response.content
    assert response.json() == {
        "scheduleId": str(schedule.id),
        "cron": "30 2 * * *",
        "timezone": "America/New_York",
        "description": response.json()["description"],
        # 02:30 on the 8th does not exist: it runs at the end of the gap, 03:00 EDT.
        "nextRuns": ["2026-03-07T07:30:00Z", "2026-03-08T07:00:00Z"],
        "jitterSeconds": 0,
        "fireTimes": ["2026-03-07T07:30:00Z", "2026-03-08T07:00:00Z"],
        "stoppedReason": None,
        "skippedRuns": [{"at": "2026-03-09T06:30:00Z", "reason": "ended"}],
        "dstTransitions": [
            {
                "at": "2026-03-08T07:00:00Z",
                "zone": "America/New_York",
                "offsetBefore": "-05:00",
                "offsetAfter": "-04:00",
            }
        ],
    }
    assert "02:30" in response.json()["description"]


def test_runs_start_at_starts_at_and_stop_after_the_run_budget(viewer, org):
    schedule = saved(
        org,
        cron_expression="0 9 * * *",
        timezone="UTC",
        starts_at=datetime(2026, 4, 1, tzinfo=UTC),
        remaining_runs=2,
    )

    body = viewer.get(URL, {"scheduleId": schedule.id, "after": AFTER, "count": 5}).json()

    assert body["nextRuns"] == ["2026-04-01T09:00:00Z", "2026-04-02T09:00:00Z"]
    assert body["skippedRuns"] == [{"at": "2026-04-03T09:00:00Z", "reason": "run_budget_spent"}]
    assert body["dstTransitions"] == []


def test_a_one_time_schedule_has_its_one_run(viewer, org):
    run_at = datetime(2026, 3, 20, 14, 0, tzinfo=UTC)
    schedule = saved(org, cron_expression="", run_at=run_at, next_run_at=run_at, timezone="UTC")

    body = viewer.get(URL, {"scheduleId": schedule.id, "after": AFTER}).json()

    assert body["cron"] == ""
    assert body["description"] == "Once, at 2026-03-20T14:00:00+00:00"
    assert body["nextRuns"] == ["2026-03-20T14:00:00Z"]
    assert body["skippedRuns"] == []
    assert body["stoppedReason"] is None


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"ends_at": datetime(2026, 3, 1, tzinfo=UTC)}, StopReason.ENDED),
        ({"remaining_runs": 0}, StopReason.RUN_BUDGET_SPENT),
    ],
)
def test_a_stopped_schedule_has_no_runs_and_says_why(viewer, org, fields, reason):
    schedule = saved(org, next_run_at=None, stopped_reason=reason, **fields)

    body = viewer.get(URL, {"scheduleId": schedule.id, "after": AFTER}).json()

    assert body["nextRuns"] == []
    assert body["skippedRuns"] == []
    assert body["stoppedReason"] == reason


def test_with_a_viewer_timezone_the_runs_are_also_wall_times_there(viewer, org):
    # Paris springs forward on March 29 (01:00Z), New York on March 8: both annotated.
    schedule = saved(org, cron_expression="30 1 * * 0", timezone="UTC", remaining_runs=3)

    body = viewer.get(
        URL,
        {"scheduleId": schedule.id, "after": AFTER, "viewerTimezone": "Europe/Paris"},
    ).json()

    assert body["viewerTimezone"] == "Europe/Paris"
    assert body["nextRuns"] == [
        "2026-03-08T01:30:00Z",
        "2026-03-15T01:30:00Z",
        "2026-03-22T01:30:00Z",
    ]
    assert body["nextRunsViewer"] == [
        "2026-03-08T02:30:00+01:00",
        "2026-03-15T02:30:00+01:00",
        "2026-03-22T02:30:00+01:00",
    ]
    assert body["skippedRuns"] == [
        {
            "at": "2026-03-29T01:30:00Z",
            "reason": "run_budget_spent",
            "atViewer": "2026-03-29T03:30:00+02:00",
        }
    ]
    assert body["dstTransitions"] == [
        {
            "at": "2026-03-29T01:00:00Z",
            "zone": "Europe/Paris",
            "offsetBefore": "+01:00",
            "offsetAfter": "+02:00",
        }
    ]


def test_an_expression_with_a_viewer_timezone_gets_the_wall_times_and_transitions(viewer):
    body = viewer.get(
        URL,
        {
            "cron": "0 12 * * *",
            "timezone": "Pacific/Auckland",
            "after": "2026-04-03T00:00:00Z",
            "count": 3,
            "viewerTimezone": "America/New_York",
        },
    ).json()

    assert body["nextRuns"] == [
        "2026-04-03T23:00:00Z",
        "2026-04-05T00:00:00Z",
        "2026-04-06T00:00:00Z",
    ]
    assert body["nextRunsViewer"] == [
        "2026-04-03T19:00:00-04:00",
        "2026-04-04T20:00:00-04:00",
        "2026-04-05T20:00:00-04:00",
    ]
    assert body["skippedRuns"] == []
    assert body["dstTransitions"] == [
        {
            "at": "2026-04-04T14:00:00Z",
            "zone": "Pacific/Auckland",
            "offsetBefore": "+13:00",
            "offsetAfter": "+12:00",
        }
    ]


def test_another_organizations_schedule_is_a_404(viewer, other_org):
    schedule = saved(other_org)

    response = viewer.get(URL, {"scheduleId": schedule.id})

    assert response.status_code == 404
    assert "cron" not in response.json()


def test_no_such_schedule_is_a_404(viewer):
    response = viewer.get(URL, {"scheduleId": "00000000-0000-4000-8000-000000000000"})
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("params", "field", "hint"),
    [
        ({"cron": "* * * * *"}, "scheduleId", "not both"),
        ({"timezone": "UTC"}, "scheduleId", "timezone"),
        ({"viewerTimezone": "Mars/Base"}, "viewerTimezone", "Mars/Base"),
        ({"count": 0}, "count", "1"),
    ],
)
def test_bad_input_with_a_schedule_id_is_a_400_naming_the_field(viewer, org, params, field, hint):
    schedule = saved(org)

    response = viewer.get(URL, {"scheduleId": schedule.id, **params})

    assert response.status_code == 400
    assert field in response.json()
    assert hint.lower() in " ".join(response.json()[field]).lower()


@pytest.mark.parametrize(
    ("params", "field", "hint"),
    [
        ({"scheduleId": "nope"}, "scheduleId", "uuid"),
        ({"viewerTimezone": "UTC"}, "cron", "required"),
        ({"cron": "* * * * *", "viewerTimezone": "Mars/Base"}, "viewerTimezone", "Mars/Base"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(viewer, params, field, hint):
    response = viewer.get(URL, params)

    assert response.status_code == 400
    assert field in response.json()
    assert hint.lower() in " ".join(response.json()[field]).lower()


def test_it_reads_the_schedule_in_one_query(viewer, org):
    schedule = saved(org, ends_at=datetime(2026, 3, 20, tzinfo=UTC), remaining_runs=4)

    with CaptureQueriesContext(connection) as queries:
        response = viewer.get(
            URL, {"scheduleId": schedule.id, "after": AFTER, "viewerTimezone": "Europe/Paris"}
        )

    assert response.status_code == 200
    # Reads of the schedule table itself (its calendars' link table is another table).
    reads = [q["sql"] for q in queries.captured_queries if 'FROM "schedules_schedule"' in q["sql"]]
    assert len(reads) == 1


def test_a_jittered_schedule_lists_when_each_run_starts(viewer, org):
    schedule = saved(org, jitter_seconds=900)

    body = viewer.get(URL, {"scheduleId": schedule.id, "after": AFTER, "count": 3}).json()

    # The occurrences stay nominal; each starts at its own deterministic offset after it,
    # the one the tick will use (Schedule.fire_at_for), within the 900 s bound.
    assert body["jitterSeconds"] == 900
    runs = [parse_iso(r) for r in body["nextRuns"]]
    fires = [parse_iso(f) for f in body["fireTimes"]]
    assert fires == [schedule.fire_at_for(r) for r in runs]
    assert all(0 <= (f - r).total_seconds() <= 900 for r, f in zip(runs, fires, strict=True))
    assert len({round((f - r).total_seconds()) for r, f in zip(runs, fires, strict=True)}) > 1
