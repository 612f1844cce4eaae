"""overlapPolicy through the API (SPEC §14): `skip` by default, written and read, and a bad
value a 400 naming the field with no row written."""

import pytest

from schedules.models import Schedule
from tests.factories import ScheduleFactory, schedule_body

pytestmark = pytest.mark.django_db


def test_it_defaults_to_skip_and_writes_each_policy(api, org):
    body = schedule_body(org, name="Nightly", cron_expression="0 2 * * *")
    response = api.post("/api/schedules/", body, format="json")
    assert response.status_code == 201, response.data
    assert response.json()["overlapPolicy"] == "skip"
    for policy in ("queue_one", "replace", "skip"):
        pk = response.json()["id"]
        patched = api.patch(f"/api/schedules/{pk}/", {"overlapPolicy": policy}, format="json")
        assert patched.status_code == 200, patched.data
        assert Schedule.objects.get(pk=pk).overlap_policy == policy


@pytest.mark.parametrize("bad", ["queue", "", None, 1, "REPLACE"])
def test_a_bad_policy_is_a_400_naming_the_field(api, org, bad):
    body = {**schedule_body(org, name="Bad", cron_expression="0 2 * * *"), "overlapPolicy": bad}
    response = api.post("/api/schedules/", body, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["overlapPolicy"]
    assert not Schedule.objects.exists()
    s = ScheduleFactory(organization=org)
    response = api.patch(f"/api/schedules/{s.pk}/", {"overlapPolicy": bad}, format="json")
    assert response.status_code == 400 and list(response.json()) == ["overlapPolicy"]
    s.refresh_from_db()
    assert s.overlap_policy == "skip"
