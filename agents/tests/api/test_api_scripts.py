"""Scripts CRUD: a new source or runtime bumps the version; jobs keep what they ran."""

from __future__ import annotations

import pytest

from agents.models import Script, ScriptVersion
from tests.factories import JobFactory, ScheduleFactory, ScriptFactory

pytestmark = pytest.mark.django_db


def test_it_creates_a_script_at_version_1(api, org):
    response = api.post(
        "/api/scripts/",
        {"name": "Invoice sync", "runtime": "shell", "source": "echo hi\n"},
        format="json",
    )

    assert response.status_code == 201, response.data
    data = response.json()
    assert set(data) == {"id", "name", "runtime", "source", "version", "createdAt", "updatedAt"}
    assert (data["version"], data["runtime"], data["source"]) == (1, "shell", "echo hi\n")
    assert Script.objects.get(pk=data["id"]).organization == org


@pytest.mark.parametrize(
    ("change", "version"),
    [
        ({"source": "print(2)\n"}, 2),
        ({"runtime": "shell"}, 2),
        ({"name": "Renamed"}, 1),
        ({"source": "print('hello')\n"}, 1),  # the same source is no new version
    ],
)
def test_it_bumps_the_version_only_when_source_or_runtime_change(api, org, change, version):
    script = ScriptFactory(organization=org, source="print('hello')\n", runtime="python")

    response = api.patch(f"/api/scripts/{script.id}/", change, format="json")

    assert response.status_code == 200, response.data
    assert response.json()["version"] == version
    script.refresh_from_db()
    assert script.version == version


def test_it_bumps_once_per_edit(api, org):
    script = ScriptFactory(organization=org)

    for n in range(3):
        api.patch(f"/api/scripts/{script.id}/", {"source": f"print({n})"}, format="json")

    script.refresh_from_db()
    assert script.version == 4


def test_it_leaves_a_dispatched_jobs_snapshot_alone(api, org):
    schedule = ScheduleFactory(organization=org)
    job = JobFactory(schedule=schedule, status="running")

    api.patch(f"/api/scripts/{schedule.script_id}/", {"source": "print('new')"}, format="json")

    job.refresh_from_db()
    assert (job.script_version, job.code.version, job.code.source) == (1, 1, "print('hello')\n")
    # The edit is a new version, stored once beside the first.
    assert list(
        ScriptVersion.objects.filter(script_id=schedule.script_id)
        .order_by("version")
        .values_list("version", "source")
    ) == [(1, "print('hello')\n"), (2, "print('new')")]


@pytest.mark.parametrize(
    "data",
    [{"runtime": "ruby"}, {"source": ""}, {"source": 42}, {"name": ""}, {"name": None}],
)
def test_it_rejects_bad_script_fields(api, org, assert_no_rows_written, data):
    payload = {"name": "S", "source": "print(1)", **data}

    with assert_no_rows_written():
        response = api.post("/api/scripts/", payload, format="json")

    assert response.status_code == 400
    assert list(response.json()) == [next(iter(data))]


def test_it_ignores_a_version_sent_by_the_client(api, org):
    script = ScriptFactory(organization=org)

    response = api.patch(f"/api/scripts/{script.id}/", {"version": 99}, format="json")

    assert response.status_code == 200
    assert response.json()["version"] == 1


def test_it_refuses_to_delete_a_script_in_use(api, org):
    schedule = ScheduleFactory(organization=org)

    response = api.delete(f"/api/scripts/{schedule.script_id}/")

    assert response.status_code == 409
    assert Script.objects.filter(pk=schedule.script_id).exists()
    assert api.delete(f"/api/scripts/{ScriptFactory(organization=org).id}/").status_code == 204
