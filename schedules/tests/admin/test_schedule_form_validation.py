"""The schedule form refuses bad input with a readable message on the field, and saves nothing:
cron, timezone, every guardrail bound, variables that are not JSON or not an object."""

from __future__ import annotations

import pytest

from billing.models import Role
from schedules.models import Schedule
from schedules.tests.admin.forms import schedule_form
from tests.fixtures import form_errors

pytestmark = pytest.mark.django_db

ADD = "/app/schedules/schedule/add/"

CASES = [
    ("cron_expression", "*/5 * * *", "5 fields"),
    ("cron_expression", "0 */5 * * * *", "seconds"),
    ("cron_expression", "5/15 * * * *", "5-59/15"),
    ("cron_expression", "0 0 30 2 *", "never"),
    ("cron_expression", "@reboot", "@reboot"),
    ("timezone", "Mars/Olympus_Mons", "Mars/Olympus_Mons"),
    ("max_runtime_minutes", "1321", "less than or equal to 1320"),
    ("max_runtime_minutes", "0", "greater than or equal to 1"),
    ("max_retries", "11", "less than or equal to 10"),
    ("retry_delay_seconds", "86401", "less than or equal to 86400"),
    ("concurrency_limit", "0", "greater than or equal to 1"),
    ("concurrency_limit", "101", "less than or equal to 100"),
    ("idempotency_window_minutes", "10081", "less than or equal to 10080"),
    ("catch_up_window_minutes", "10081", "less than or equal to 10080"),
    ("variables", "{region: us-east}", "Enter valid JSON"),
    ("variables", '["us-east"]', "must be a JSON object"),
    ("variables", '"us-east"', "must be a JSON object"),
]


@pytest.mark.parametrize(("field", "value", "message"), CASES)
def test_it_refuses_bad_input_with_a_readable_message(field, value, message, acme, staff_client):
    client = staff_client(acme["org"], Role.ADMIN)
    response = client.post(ADD, schedule_form(acme, **{field: value}))
    assert response.status_code == 200
    errors = form_errors(response)
    assert list(errors) == [field]
    assert message.lower() in errors[field][0].lower(), errors[field]
    assert Schedule.objects.count() == 1  # only the fixture's


def test_it_refuses_an_edit_that_breaks_the_cron_and_keeps_the_row(acme, staff_client):
    client = staff_client(acme["org"], Role.ADMIN)
    schedule = acme["schedule"]
    url = f"/app/schedules/schedule/{schedule.pk}/change/"
    response = client.post(url, schedule_form(acme, cron_expression="61 * * * *"))
    assert "minute" in form_errors(response)["cron_expression"][0].lower()
    schedule.refresh_from_db()
    assert schedule.cron_expression == "*/5 * * * *"


def test_it_shows_the_cron_error_in_the_page(acme, staff_client):
    client = staff_client(acme["org"], Role.ADMIN)
    response = client.post(ADD, schedule_form(acme, cron_expression="*/5 * * *"))
    text = response.content.decode()
    assert 'class="errorlist' in text
    assert "Please correct the error below." in text
