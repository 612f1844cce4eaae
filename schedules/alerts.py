"""Alerts (SPEC §14): validation of channels, the outbox writes, the sending.

- `alerts_enqueue(candidates, now)`: inside the caller's transaction (the tick's batch, a job
  outcome's receiver, the watchdog's): one read of the organizations' channels (and one of
  their schedule filters), one of what was written for them within ALERT_DEDUP_MINUTES, one
  INSERT — whatever the number of candidates. After commit the new rows are handed to the
  `send_alerts` task (schedules.tasks) on the control plane's queue; a message lost there is
  found by the sweep (`deliveries_due`). Nothing here does network I/O inside a transaction.
- `delivery_send(delivery_id, now)`: claim one pending row (compare-and-swap), send it, record
  the outcome: `sent`, or back to `pending` after a backoff, or `failed` after
  ALERT_MAX_ATTEMPTS. Runs in the Celery task; tests call it directly.

An alert carries names, ids, statuses and the error kind — never a variable, a vault value, a
job's log or a channel's secret.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q

from agents import netguard
from agents.controllers import SIGNATURE_HEADER, webhook_signature
from agents.runtime.logformat import log_event
from config.clock import iso_z
from schedules.alert_models import (
    ALERT_EVENTS,
    TEST_EVENT,
    AlertChannel,
    AlertDelivery,
    ChannelKind,
    DeliveryStatus,
)
from schedules.alert_rules import Candidate, ChannelRule, deliveries_owed, retry_delay

log = logging.getLogger(__name__)

EVENT_HEADER = "X-Mimic-Event"
SECRET_NEEDED = "A webhook channel needs a signing secret (its bodies are signed)."  # noqa: S105
DELIVERY_HEADER = "X-Mimic-Delivery"


# ------------------------------------------------------------------------------ validation


def email_addresses(target: str) -> list[str]:
    return [a.strip() for a in target.split(",") if a.strip()]


def channel_errors(*, kind: str, target: str, events: Any) -> dict[str, str]:
    """Why a channel may not be saved, by model field name ({} = it may). Resolves a webhook's
    host (agents.netguard): call it when kind or target is being set."""
    errors: dict[str, str] = {}
    if kind not in ChannelKind.values:
        errors["kind"] = f"Choose one of {', '.join(ChannelKind.values)}."
    if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
        errors["events"] = "A list of event names."
    else:
        unknown = [e for e in events if e not in ALERT_EVENTS]
        if unknown:
            errors["events"] = (
                f"Unknown event {unknown[0]!r}: choose among {', '.join(ALERT_EVENTS)}."
            )
    if kind == ChannelKind.EMAIL:
        addresses = email_addresses(target)
        try:
            if not addresses:
                raise ValidationError("empty")
            for address in addresses:
                validate_email(address)
        except ValidationError:
            errors["target"] = "One or more e-mail addresses, separated by commas."
    elif kind in (ChannelKind.WEBHOOK, ChannelKind.SLACK):
        try:
            netguard.vet_url(target, allow_private=settings.ALERT_WEBHOOK_ALLOW_PRIVATE)
        except netguard.WebhookURLRefused as exc:
            errors["target"] = str(exc)
    return errors


def masked_target(channel: AlertChannel) -> str:
    """What may be shown of a target: a Slack incoming-webhook URL is a credential (whoever
    has it can post), so only its scheme and host are."""
    if channel.kind != ChannelKind.SLACK:
        return channel.target
    try:
        where = netguard.parse_url(channel.target, allow_private=True)
    except netguard.WebhookURLRefused:
        return "…"
    return f"{where.scheme}://{where.host}/…"


def alert_channel_save(
    *, channel: AlertChannel, schedules: Sequence[Any] | None = None, vet_target: bool
) -> AlertChannel:
    """Validate and save a channel (create or edit) and, when given, its schedule filter.
    Raises django ValidationError keyed by field name; nothing is written then. `vet_target`:
    kind or target is being set (resolving a webhook's host is not free)."""
    errors = channel_errors(
        kind=channel.kind, target=channel.target if vet_target else "", events=channel.events
    )
    if not vet_target:
        errors.pop("target", None)
    if channel.kind == ChannelKind.WEBHOOK and not channel.secret:
        errors["secret"] = SECRET_NEEDED
    taken = AlertChannel.objects.filter(organization_id=channel.organization_id, name=channel.name)
    if taken.exclude(pk=channel.pk).exists():
        errors["name"] = "A channel with this name already exists in the organization."
    if errors:
        raise ValidationError({k: [v] for k, v in errors.items()})
    with transaction.atomic():
        channel.save()
        if schedules is not None:
            channel.schedules.set(schedules)
    return channel


# ------------------------------------------------------------------------------ outbox


def _channel_rules(candidates: Sequence[Candidate]) -> list[ChannelRule]:
    """The channels that could want any of the candidates: two queries (channels, their
    schedule filters), whatever the number of candidates."""
    organizations = {c.organization_id for c in candidates}
    scope = Q(organization_id__in={o for o in organizations if o is not None})
    if None in organizations:  # an alert about the platform (tick_stale): every organization's
        scope = Q()
    rows = list(
        AlertChannel.objects.filter(scope).values_list(
            "id", "organization_id", "events", "skips_threshold"
        )
    )
    if not rows:
        return []
    through = AlertChannel.schedules.through
    filters: dict[UUID, set[UUID]] = {}
    for channel_id, schedule_id in through.objects.filter(
        alertchannel_id__in=[r[0] for r in rows]
    ).values_list("alertchannel_id", "schedule_id"):
        filters.setdefault(channel_id, set()).add(schedule_id)
    return [
        ChannelRule(
            id=pk,
            organization_id=org,
            events=frozenset(events or []),
            schedule_ids=frozenset(filters.get(pk, ())),
            skips_threshold=threshold,
        )
        for pk, org, events, threshold in rows
    ]


def alerts_enqueue(*, candidates: Sequence[Candidate], now: datetime) -> list[UUID]:
    """Write the outbox rows the candidates are owed, in the caller's transaction; send them
    after it commits. Returns the ids written (a duplicate raced in is not written)."""
    if not candidates:
        return []
    channels = [
        c for c in _channel_rules(candidates) if any(x.event in c.events for x in candidates)
    ]
    if not channels:
        return []
    minutes = settings.ALERT_DEDUP_MINUTES
    recent = set(
        AlertDelivery.objects.filter(
            channel_id__in=[c.id for c in channels],
            event__in={c.event for c in candidates},
            subject__in={c.subject for c in candidates},
            created_at__gt=now - timedelta(minutes=minutes),
        ).values_list("channel_id", "event", "subject")
    )
    owed = deliveries_owed(candidates, channels, recent=recent, now=now, dedup_minutes=minutes)
    rows = [
        AlertDelivery(
            channel_id=channel.id,
            event=candidate.event,
            subject=candidate.subject,
            dedup_key=key,
            title=candidate.title[:300],
            body=candidate.body,
            payload=candidate.payload,
            next_attempt_at=now,
            created_at=now,
        )
        for channel, candidate, key in owed
    ]
    return _insert_and_send(rows)


def _insert_and_send(rows: list[AlertDelivery]) -> list[UUID]:
    if not rows:
        return []
    with transaction.atomic():
        # A row whose dedup key another writer took in this window is dropped by the database.
        AlertDelivery.objects.bulk_create(rows, ignore_conflicts=True)
        ids = [r.id for r in rows]
        transaction.on_commit(lambda: enqueue_send(ids))
    return ids


def enqueue_send(ids: Sequence[UUID]) -> None:
    """Hand rows to the send task; never raises (the sweep resends what did not get there)."""
    from schedules.tasks import send_alerts

    try:
        send_alerts.apply_async(args=[[str(i) for i in ids]], queue="celery", retry=False)
    except Exception:  # noqa: BLE001 - the broker is down: the sweep will find the rows
        log_event(log, logging.WARNING, "alert_enqueue_failed", deliveries=len(ids))


def alert_send_test(*, channel: AlertChannel, now: datetime) -> AlertDelivery:
    """The "send test" action: an outbox row for this channel alone (never deduplicated),
    sent after commit like any other."""
    test = Candidate(
        event=TEST_EVENT,
        subject=str(uuid.uuid4()),
        title=f"[Mimic] Test alert for channel {channel.name}",
        body=f"This is a test alert from Mimic Scheduled Runs for channel {channel.name!r}.",
        payload={"channelId": str(channel.id)},
        organization_id=channel.organization_id,
    )
    delivery = AlertDelivery(
        channel=channel,
        event=test.event,
        subject=test.subject,
        dedup_key=f"{channel.id}:{test.event}:{test.subject}",
        title=test.title,
        body=test.body,
        payload=test.payload,
        next_attempt_at=now,
        created_at=now,
    )
    _insert_and_send([delivery])
    return delivery


# ------------------------------------------------------------------------------ sending


class DeliveryError(Exception):
    """A delivery attempt failed; `str(exc)` is safe to store and show (no secret, no address
    of our network)."""


def deliveries_due(*, now: datetime, limit: int = 500) -> list[UUID]:
    """Pending rows whose attempt is due and which no sender holds (the sweep)."""
    return list(
        AlertDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .order_by("next_attempt_at")
        .values_list("id", flat=True)[:limit]
    )


def _claim(delivery_id: UUID | str, *, now: datetime) -> AlertDelivery | None:
    """One compare-and-swap: the row is ours to send until the claim lapses."""
    hold = timedelta(seconds=settings.ALERT_TIMEOUT_SECONDS * 2 + 30)
    won = (
        AlertDelivery.objects.filter(
            id=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now
        )
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=now + hold)
    )
    if not won:
        return None
    return AlertDelivery.objects.select_related("channel").get(id=delivery_id)


def delivery_send(*, delivery_id: UUID | str, now: datetime) -> str | None:
    """Send one pending delivery if it is due and unclaimed; record the outcome. Returns the
    row's new status (`pending` again: retried at its next_attempt_at), or None when there
    was nothing to do (sent, failed, not yet due, or another sender holds it)."""
    delivery = _claim(delivery_id, now=now)
    if delivery is None:
        return None
    attempts = delivery.attempts + 1
    try:
        _deliver(delivery, now=now)
    except DeliveryError as exc:
        error = str(exc)[:500]
        final = attempts >= settings.ALERT_MAX_ATTEMPTS
        AlertDelivery.objects.filter(id=delivery.id).update(
            attempts=attempts,
            last_error=error,
            claimed_until=None,
            status=DeliveryStatus.FAILED if final else DeliveryStatus.PENDING,
            next_attempt_at=now
            + retry_delay(
                attempts,
                base_seconds=settings.ALERT_RETRY_BASE_SECONDS,
                cap_seconds=settings.ALERT_RETRY_MAX_SECONDS,
            ),
        )
        log_event(
            log,
            logging.WARNING,
            "alert_delivery_failed",
            delivery=delivery.id,
            channel=delivery.channel_id,
            attempts=attempts,
            final=final,
            error=error,
        )
        return DeliveryStatus.FAILED if final else DeliveryStatus.PENDING
    AlertDelivery.objects.filter(id=delivery.id).update(
        attempts=attempts,
        last_error="",
        claimed_until=None,
        status=DeliveryStatus.SENT,
        sent_at=now,
    )
    log_event(log, logging.INFO, "alert_sent", delivery=delivery.id, alert=delivery.event)
    return DeliveryStatus.SENT


def seconds_until_retry(*, delivery_id: UUID | str) -> float:
    """How long until a pending row's next attempt (its backoff), by the database's clock."""
    from config.clock import control_plane_now

    at = AlertDelivery.objects.filter(id=delivery_id).values_list("next_attempt_at", flat=True)
    first = at.first()
    return 0.0 if first is None else max(0.0, (first - control_plane_now()).total_seconds())


def webhook_body(delivery: AlertDelivery, *, now: datetime) -> bytes:
    return json.dumps(
        {
            "id": str(delivery.id),
            "event": delivery.event,
            "subject": delivery.subject,
            "title": delivery.title,
            "text": delivery.body,
            "createdAt": iso_z(delivery.created_at),
            "ts": iso_z(now),
            **delivery.payload,
        },
        separators=(",", ":"),
    ).encode()


def _deliver(delivery: AlertDelivery, *, now: datetime) -> None:
    channel = delivery.channel
    if channel.kind == ChannelKind.EMAIL:
        message = EmailMessage(
            subject=delivery.title,
            body=delivery.body,
            from_email=settings.ALERT_FROM_EMAIL,
            to=email_addresses(channel.target),
        )
        try:
            message.send(fail_silently=False)
        except Exception as exc:  # noqa: BLE001 - smtplib, socket, backend errors alike
            raise DeliveryError(
                f"the mail server refused or did not answer ({type(exc).__name__})"
            ) from None
        return
    if channel.kind == ChannelKind.WEBHOOK:
        body = webhook_body(delivery, now=now)
        headers = {EVENT_HEADER: delivery.event, DELIVERY_HEADER: str(delivery.id)}
        if channel.secret:
            headers[SIGNATURE_HEADER] = webhook_signature(channel.secret, body)
    else:  # slack: an incoming webhook takes {"text": …}
        body = json.dumps({"text": f"*{delivery.title}*\n{delivery.body}"}).encode()
        headers = {}
    try:
        status = netguard.post_json(
            channel.target,
            body,
            headers={"User-Agent": "mimic-scheduled-runs", **headers},
            timeout=settings.ALERT_TIMEOUT_SECONDS,
            allow_private=settings.ALERT_WEBHOOK_ALLOW_PRIVATE,
        )
    except netguard.WebhookError as exc:  # its message names no address of our network
        raise DeliveryError(str(exc)) from None
    if not 200 <= status < 300:
        raise DeliveryError(f"the endpoint answered HTTP {status}")
