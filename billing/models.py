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
