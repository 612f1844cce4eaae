"""Vault changes made in the admin are in the audit trail by name, with the staff user — a new
value as "changed" (a placeholder), never the value or its ciphertext."""

import json

import pytest

from billing.audit import SECRET_PLACEHOLDER
from billing.models import AuditEntry, Role

pytestmark = pytest.mark.django_db

ADD = "/app/vault/vaultentry/add/"


def test_admin_vault_changes_are_recorded_without_the_value(org, staff_client):
    client = staff_client(org, Role.ADMIN)
    first, second = "admin-first-secret", "admin-second-secret"
    assert client.post(ADD, {"key": "SAP", "value": first, "description": ""}).status_code == 302
    entry = AuditEntry.objects.get()
    url = f"/app/vault/vaultentry/{entry.object_id}/change/"
    # Left empty: the value is kept, so only the description changed.
    body = {"key": "SAP", "value": "", "description": "ERP login"}
    assert client.post(url, body).status_code == 302
    assert (
        client.post(url, {"key": "SAP", "value": second, "description": "ERP login"}).status_code
        == 302
    )
    delete = f"/app/vault/vaultentry/{entry.object_id}/delete/"
    assert client.post(delete, {"post": "yes"}).status_code == 302

    created, described, replaced, deleted = AuditEntry.objects.order_by("at", "id")
    assert [e.action for e in (created, described, replaced, deleted)] == [
        "created",
        "edited",
        "edited",
        "deleted",
    ]
    assert {e.actor_label for e in (created, described, replaced, deleted)} == {
        client.user.username
    }
    assert described.changes == {"description": ["", "ERP login"]}
    assert replaced.changes == {"value": [SECRET_PLACEHOLDER, SECRET_PLACEHOLDER]}
    rows = json.dumps(list(AuditEntry.objects.values()), default=str)
    assert first not in rows and second not in rows
