"""Editing a script in the staff UI goes through the service the API uses: a new source or
runtime bumps the version, a rename does not; the source is kept verbatim (LF line ends)."""

from __future__ import annotations

import pytest

from agents.models import Script
from billing.models import Role

pytestmark = pytest.mark.django_db


def _post(client, script, **fields):
    data = {"name": script.name, "runtime": script.runtime, "source": script.source, **fields}
    return client.post(f"/app/agents/script/{script.pk}/change/", data)


def test_it_bumps_the_version_when_the_source_changes(acme, staff_client):
    client = staff_client(acme["org"], Role.ADMIN)
    script = acme["script"]
    assert _post(client, script, source="print('v2')\r\n  \r\n").status_code == 302
    script.refresh_from_db()
    assert (script.version, script.source) == (2, "print('v2')\n  \n")


def test_it_keeps_the_version_on_a_rename(acme, staff_client):
    client = staff_client(acme["org"], Role.ADMIN)
    script = acme["script"]
    assert _post(client, script, name="Renamed").status_code == 302
    script.refresh_from_db()
    assert (script.name, script.version) == ("Renamed", 1)


def test_it_creates_scripts_at_version_one_in_the_users_organization(acme, staff_client):
    client = staff_client(acme["org"], Role.ADMIN)
    response = client.post(
        "/app/agents/script/add/", {"name": "New", "runtime": "shell", "source": "echo hi\n"}
    )
    assert response.status_code == 302
    script = Script.objects.get(name="New")
    assert (script.organization, script.version, script.source) == (acme["org"], 1, "echo hi\n")
