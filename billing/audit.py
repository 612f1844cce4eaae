"""The audit trail (SPEC §14): who created, edited, paused, resumed, forced, canceled, backfilled,
rotated or deleted what, when, with the changed fields.

Each service that makes an audited change takes a keyword-only `actor: Actor | None = None`
and calls `audit_record` inside its own transaction, so the entry commits or rolls back with
the change. The interfaces build the actor from the request (`actor_from_request`, in
billing/tenancy.py, beside the other "who is calling" answers) and pass it down explicitly — no
thread-local. `actor=None` writes nothing: the machinery's own calls (a runtime started with a
fresh token, a test's fixture) are not someone's change; the system acting on its own (an
auto-pause) passes `Actor.system(...)`.

Secrets never enter an entry: a secret field is recorded as changed, with SECRET_PLACEHOLDER for
both values (`field_changes(..., secret=...)`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from django.core.serializers.json import DjangoJSONEncoder

from billing.models import ActorKind, AuditEntry

SECRET_PLACEHOLDER = "•••"  # noqa: S105 - shown instead of a secret, not one
_LABEL_MAX = AuditEntry._meta.get_field("object_label").max_length or 200


@dataclass(frozen=True)
class Actor:
    kind: str  # ActorKind
    ref: str = ""  # the user's id (user, api_token); never a token or key
    label: str = ""  # the username; "cron key"; "tick"; what the system did

    @classmethod
    def user(cls, user, *, token: bool = False) -> Actor:
        kind = ActorKind.API_TOKEN if token else ActorKind.USER
        return cls(kind=kind, ref=str(user.pk), label=user.get_username())

    @classmethod
    def cron_key(cls) -> Actor:
        return cls(kind=ActorKind.CRON_KEY, label="cron key")

    @classmethod
    def tick(cls) -> Actor:
        return cls(kind=ActorKind.TICK, label="tick")

    @classmethod
    def system(cls, label: str) -> Actor:
        return cls(kind=ActorKind.SYSTEM, label=label)


def jsonable(value):
    """A value as it is stored in `changes`: instants, ids, decimals as JSON writes them."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def field_changes(
    before: Mapping, after: Mapping, *, secret: Iterable[str] = ()
) -> dict[str, list]:
    """{field: [old, new]} for each field of `after` whose value differs from `before` — pure.
    A field in `secret` that changed is [SECRET_PLACEHOLDER, SECRET_PLACEHOLDER]: that it
    changed is the record, never what it was or became."""
    hidden = set(secret)
    changes: dict[str, list] = {}
    for name, new in after.items():
        old = before.get(name)
        if jsonable(old) == jsonable(new):
            continue
        if name in hidden:
            changes[name] = [SECRET_PLACEHOLDER, SECRET_PLACEHOLDER]
        else:
            changes[name] = [jsonable(old), jsonable(new)]
    return changes


def audit_entry(
    *,
    actor: Actor,
    organization_id,
    action: str,
    object_type: str,
    object_id,
    object_label: str = "",
    now: datetime,
    changes: Mapping | None = None,
    note: str = "",
) -> AuditEntry:
    """An unsaved entry (for `audit_record` or a batch's bulk_create)."""
    return AuditEntry(
        organization_id=organization_id,
        at=now,
        actor_kind=actor.kind,
        actor_ref=actor.ref,
        actor_label=actor.label[:150],
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        object_label=str(object_label)[:_LABEL_MAX],
        changes=dict(changes or {}),
        note=note,
    )


def audit_record(*, actor: Actor | None, **fields) -> AuditEntry | None:
    """Write one entry (see `audit_entry`); nothing when there is no actor. Call it inside the
    transaction of the change it records."""
    if actor is None:
        return None
    entry = audit_entry(actor=actor, **fields)
    entry.save(force_insert=True)
    return entry


def audit_record_many(entries: list[AuditEntry]) -> None:
    """Several entries in one statement (a bulk delete, a forced batch)."""
    if entries:
        AuditEntry.objects.bulk_create(entries)
