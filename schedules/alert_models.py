"""Alert channels and their outbox (SPEC §14 "Knowing what happened"). Imported by
schedules.models, so Django sees them as the schedules app's models.

An `AlertChannel` says where an organization's alerts go (an e-mail address list, a signed
webhook, a Slack-compatible incoming webhook) and for which events and schedules. An
`AlertDelivery` is one alert for one channel: written in the transaction of what caused it
(the outbox), sent after commit by a Celery task (schedules.tasks.send_alerts), retried with
backoff, its outcome kept here.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q

# The events a channel can subscribe to (SPEC §14); the pure rules live in schedules.alert_rules.
ALERT_EVENTS = (
    "job_failed",
    "job_timed_out",
    "job_lost",
    "schedule_auto_paused",
    "credential_rejected",
    "runs_skipped",
    "agent_offline",
    "tick_stale",
)
# Only for the "send test" action: never subscribable, never deduplicated.
TEST_EVENT = "test"


class ChannelKind(models.TextChoices):
    EMAIL = "email"
    WEBHOOK = "webhook"
    SLACK = "slack"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class AlertChannel(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        "billing.Organization", on_delete=models.CASCADE, related_name="alert_channels"
    )
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=ChannelKind.choices)
    # email: addresses separated by commas; webhook/slack: the URL. A Slack URL is itself a
    # credential (whoever has it can post): it is write-only like `secret`.
    target = models.CharField(max_length=1000)
    # webhook: the HMAC-SHA256 key of X-Mimic-Signature (agents.controllers' scheme). Stored as
    # the agents' webhook controller stores its secret; never returned by the API, shown in the
    # admin, logged or put in an alert.
    secret = models.CharField(max_length=200, blank=True)
    events = models.JSONField(default=list, blank=True)
    # Empty: every schedule of the organization.
    schedules = models.ManyToManyField(
        "schedules.Schedule", blank=True, related_name="alert_channels"
    )
    skips_threshold = models.PositiveIntegerField(
        "skips threshold",
        default=3,
        help_text="runs_skipped fires when this many occurrences in a row were skipped.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="alert_channel_unique_org_name"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=ChannelKind.values), name="alert_channel_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(skips_threshold__gte=1), name="alert_channel_skips_threshold_min"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class AlertDelivery(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    channel = models.ForeignKey(AlertChannel, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=40)
    # What the alert is about: a schedule, job or agent id, or "tick".
    subject = models.CharField(max_length=100)
    # channel:event:subject:window — unique, so two writers racing in one dedup window insert
    # one row (alert_rules.dedup_key); the window before it is checked by a read.
    dedup_key = models.CharField(max_length=300)
    title = models.CharField(max_length=300)
    body = models.TextField()
    payload = models.JSONField(default=dict)
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    # A pending delivery is sent once this has passed (backoff after a failed attempt).
    next_attempt_at = models.DateTimeField()
    # A sender's claim (compare-and-swap): the sweep and the after-commit task never send the
    # same row at once; a claim that outlived a crashed sender lapses.
    claimed_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "alert deliveries"
        constraints = [
            models.UniqueConstraint(fields=["dedup_key"], name="alert_delivery_unique_dedup"),
            models.CheckConstraint(
                condition=Q(status__in=DeliveryStatus.values), name="alert_delivery_status_valid"
            ),
        ]
        indexes = [
            # schedules.alerts.deliveries_due (the sweep): pending rows by next attempt.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="alert_delivery_pending",
            ),
            # schedules.alerts.alerts_enqueue's dedup read: a channel's recent rows.
            models.Index(fields=["channel", "event", "subject", "created_at"], name="alert_dedup"),
        ]

    def __str__(self) -> str:
        return f"{self.event} {self.subject} → {self.channel_id}"
