"""GET /api/schedules/preview (SPEC §6): the next N occurrences of any expression in any
timezone after any instant, behind token auth; bad input is a 400 naming the field."""

import pytest
from rest_framework.test import APIClient

from billing.models import Role

pytestmark = pytest.mark.django_db
URL = "/api/schedules/preview"


@pytest.fixture
def token_viewer(org, client_for):
    """A viewer calling with a DRF token (the preview is behind token auth)."""
    return client_for(org, Role.VIEWER, token=True)


def test_it_previews_a_fixed_time_schedule_across_spring_forward(token_viewer):
    response = token_viewer.get(
        URL,
        {
            "cron": "30 2 * * *",
            "timezone": "America/New_York",
            "after": "2024-03-09T12:00:00Z",
            "count": 3,
        },
    )
    assert response.status_code == 200
    assert response.json() == {
        "cron": "30 2 * * *",
        "timezone": "America/New_York",
        "description": response.json()["description"],
        "nextRuns": ["2024-03-10T07:00:00Z", "2024-03-11T06:30:00Z", "2024-03-12T06:30:00Z"],
        "skippedRuns": [],
        # 02:30 does not exist that night: the run moves to 03:00 EDT, and the change is named.
        "dstTransitions": [
            {
                "at": "2024-03-10T07:00:00Z",
                "zone": "America/New_York",
                "offsetBefore": "-05:00",
                "offsetAfter": "-04:00",
            }
        ],
    }
    assert "02:30" in response.json()["description"]


def test_it_defaults_to_utc_five_runs_after_now(token_viewer):
    body = token_viewer.get(URL, {"cron": "@hourly"}).json()
    assert body["timezone"] == "UTC"
    assert len(body["nextRuns"]) == 5
    assert all(run.endswith(":00:00Z") for run in body["nextRuns"])


@pytest.mark.parametrize(
    ("params", "field", "hint"),
    [
        ({"cron": "5/15 * * * *"}, "cron", "5-59/15"),
        ({"cron": "0 0 30 2 *"}, "cron", "never"),
        ({"cron": "x" * 500}, "cron", "200"),
        ({}, "cron", "required"),
        ({"cron": "* * * * *", "timezone": "Mars/Base"}, "timezone", "Mars/Base"),
        ({"cron": "* * * * *", "after": "yesterday"}, "after", "format"),
        ({"cron": "* * * * *", "count": 0}, "count", "1"),
        ({"cron": "* * * * *", "count": 51}, "count", "50"),
        ({"cron": "* * * * *", "count": "many"}, "count", "integer"),
    ],
)
def test_it_rejects_bad_input_naming_the_field(token_viewer, params, field, hint):
    response = token_viewer.get(URL, params)
    assert response.status_code == 400
    errors = response.json()
    assert field in errors
    assert hint.lower() in " ".join(errors[field]).lower()


def test_it_requires_a_token():
    assert APIClient().get(URL, {"cron": "* * * * *"}).status_code in (401, 403)
