"""Tenants: an Organization is both the tenant boundary and the billing account."""

import uuid

from django.conf import settings
from django.db import models


class BillingStatus(models.TextChoices):
    TRIALING = "trialing"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    SUSPENDED = "suspended"
    CANCELED = "canceled"


class Role(models.TextChoices):
    OWNER = "owner"
    ADMIN = "admin"
    OPERATOR = "operator"
    VIEWER = "viewer"


class Organization(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    billing_status = models.CharField(
        max_length=20, choices=BillingStatus.choices, default=BillingStatus.TRIALING
    )
    trial_ends_at = models.DateTimeField(null=True, blank=True)
    past_due_since = models.DateTimeField(null=True, blank=True)
    # Jobs per calendar month (UTC); null = unlimited.
    monthly_run_quota = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organization"], name="membership_unique_user_org"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organization} ({self.role})"


class MonthlyUsage(models.Model):
    """Runs dispatched per organization per calendar month (UTC).

    The quota gate reads one row per organization instead of counting a month of jobs on every
    tick (a count that would grow with every run of the month). The tick adds its dispatches in
    the same transaction that writes the jobs (billing.services.usage_add_runs).
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="monthly_usage"
    )
    month = models.DateField(help_text="First day of the UTC month.")
    runs = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-month"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "month"], name="usage_unique_org_month")
        ]

    def __str__(self) -> str:
        return f"{self.organization_id} {self.month:%Y-%m}: {self.runs} runs"


class ActorKind(models.TextChoices):
    """Who did it: a person signed in (session, the admin), a person's API token, the cron key,
    the tick, or the system acting on its own (an auto-pause)."""

    USER = "user"
    API_TOKEN = "api_token"  # noqa: S105 - a kind of caller, not a credential
    CRON_KEY = "cron_key"
    TICK = "tick"
    SYSTEM = "system"


class AuditAction(models.TextChoices):
    CREATED = "created"
    EDITED = "edited"
    PAUSED = "paused"
    RESUMED = "resumed"
    FORCED = "forced"
    CANCELED = "canceled"
    BACKFILLED = "backfilled"
    ROTATED = "rotated"
    DELETED = "deleted"


class AuditObjectType(models.TextChoices):
    """What an entry is about. Names only (billing imports no app above it): each app's
    services say which of these they write."""

    SCHEDULE = "schedule"
    JOB = "job"
    AGENT = "agent"
    VAULT_ENTRY = "vault_entry"


class AuditEntry(models.Model):
    """One change made by someone (SPEC §14 "An audit trail"): who, what, when, which fields.

    Written by the services, in the transaction of the change they record (billing.audit), so
    a change that rolls back leaves no entry. The object is named by type, id and label rather
    than a foreign key: the entry outlives a deleted schedule, and every app (all above billing)
    can write one. `changes` is {field: [old, new]}; a secret field's values are a placeholder.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="audit_entries"
    )
    at = models.DateTimeField()
    actor_kind = models.CharField(max_length=20, choices=ActorKind.choices)
    # The user's id for a user or an API token (never the token itself); empty otherwise.
    actor_ref = models.CharField(max_length=64, blank=True)
    # The username for a user or an API token; "cron key", "tick", or what the system did.
    actor_label = models.CharField(max_length=150)
    action = models.CharField(max_length=20, choices=AuditAction.choices)
    object_type = models.CharField(max_length=40, choices=AuditObjectType.choices)
    object_id = models.CharField(max_length=64)
    object_label = models.CharField(max_length=200, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["organization", "-at"], name="audit_org_at"),
            models.Index(
                fields=["organization", "object_type", "object_id", "-at"], name="audit_org_object"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(actor_kind__in=ActorKind.values), name="audit_actor_kind_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(action__in=AuditAction.values), name="audit_action_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(object_type__in=AuditObjectType.values),
                name="audit_object_type_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.actor_label} {self.action} {self.object_type} {self.object_label}"
