"""Writes behind the agents/scripts CRUD API (HackSoft style: views stay thin).

They live beside the API until agents/services.py exists; move them there then.
"""

from __future__ import annotations

import secrets

from django.db import IntegrityError, transaction
from django.db.models import F, ProtectedError
from rest_framework import exceptions

from agents.models import Agent, Runtime, Script, hash_token


class InUse(exceptions.APIException):
    status_code = 409
    default_detail = "In use."
    default_code = "in_use"


def _protected(exc: ProtectedError, what: str) -> InUse:
    count = len(exc.protected_objects)
    return InUse(f"This {what} is used by {count} schedule(s): delete or re-point them first.")


def agent_create(*, organization, **fields) -> tuple[Agent, str]:
    """Create an agent and its token; returns the plaintext token, which is never stored."""
    token = secrets.token_urlsafe(32)
    agent = Agent(organization=organization, token_hash=hash_token(token), **fields)
    agent.full_clean(exclude=["token_hash"])
    try:
        with transaction.atomic():
            agent.save()
    except IntegrityError:
        # Two creates with the same slug raced past the serializer's check.
        raise exceptions.ValidationError(
            {"slug": ["An agent with this slug already exists in the organization."]}
        ) from None
    return agent, token


def agent_update(*, agent: Agent, **fields) -> Agent:
    for name, value in fields.items():
        setattr(agent, name, value)
    agent.full_clean(exclude=["token_hash"])
    try:
        with transaction.atomic():
            # Only the edited columns: status/heartbeat are written by the agent meanwhile.
            agent.save(update_fields=list(fields))
    except IntegrityError:
        raise exceptions.ValidationError(
            {"slug": ["An agent with this slug already exists in the organization."]}
        ) from None
    return agent


def agent_delete(*, agent: Agent) -> None:
    try:
        with transaction.atomic():
            agent.delete()
    except ProtectedError as exc:
        raise _protected(exc, "agent") from None


def script_create(*, organization, name: str, source: str, runtime: str = Runtime.PYTHON) -> Script:
    script = Script(organization=organization, name=name, source=source, runtime=runtime)
    script.full_clean()
    script.save()
    return script


@transaction.atomic
def script_update(*, script: Script, **fields) -> Script:
    """Edit a script; a change of source or runtime bumps the version.

    The row is locked so two concurrent edits each get their own version, and the bump is
    relative (F) rather than read-modify-write. Jobs already dispatched keep the source and
    version they snapshot, so a running job is never affected.
    """
    current = Script.objects.select_for_update().get(pk=script.pk)
    changed = any(
        name in fields and fields[name] != getattr(current, name) for name in ("source", "runtime")
    )
    for name, value in fields.items():
        setattr(current, name, value)
    current.full_clean()
    update_fields = [*fields, "updated_at"]
    if changed:
        current.version = F("version") + 1
        update_fields.append("version")
    current.save(update_fields=update_fields)
    if changed:
        current.refresh_from_db(fields=["version"])
    return current


def script_delete(*, script: Script) -> None:
    try:
        with transaction.atomic():
            script.delete()
    except ProtectedError as exc:
        raise _protected(exc, "script") from None
