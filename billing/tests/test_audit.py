"""billing.audit: the changed fields of an edit (pure), secrets as a placeholder, the actor of a
request, and nothing written without an actor."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from rest_framework.authtoken.models import Token

from billing.audit import SECRET_PLACEHOLDER, Actor, audit_record, field_changes
from billing.models import AuditEntry
from billing.tenancy import actor_from_request
from tests.factories import UserFactory

T0 = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)


def test_only_changed_fields_are_listed_as_old_and_new_json():
    pk = uuid.uuid4()
    before = {"name": "a", "max_retries": 1, "run_at": None, "script_id": pk}
    after = {"name": "a", "max_retries": 2, "run_at": T0, "script_id": pk}
    assert field_changes(before, after) == {
        "max_retries": [1, 2],
        "run_at": [None, "2026-11-26T14:00:00Z"],
    }


def test_a_secret_field_is_a_placeholder_pair_and_unchanged_secrets_are_absent():
    changes = field_changes(
        {"password": "old-secret", "token": "same"},
        {"password": "new-secret", "token": "same"},
        secret=["password", "token"],
    )
    assert changes == {"password": [SECRET_PLACEHOLDER, SECRET_PLACEHOLDER]}


@pytest.mark.django_db
def test_the_actor_of_a_request(rf):
    user = UserFactory()
    session = rf.get("/")
    session.user = user
    assert actor_from_request(session) == Actor(kind="user", ref=str(user.pk), label=user.username)
    token = rf.get("/")
    token.user, token.auth = user, Token.objects.create(user=user)
    assert actor_from_request(token).kind == "api_token"
    assert token.auth.key not in repr(actor_from_request(token))
    anonymous = rf.get("/")
    anonymous.user = SimpleNamespace(is_authenticated=False)
    assert actor_from_request(anonymous) == Actor.cron_key()


@pytest.mark.django_db
def test_nothing_is_written_without_an_actor(org):
    fields = {
        "organization_id": org.id,
        "action": "edited",
        "object_type": "schedule",
        "object_id": "x",
        "now": T0,
    }
    assert audit_record(actor=None, **fields) is None
    assert not AuditEntry.objects.exists()
    assert audit_record(actor=Actor.tick(), **fields) is not None
    assert AuditEntry.objects.get().actor_label == "tick"
