"""Admin of alert channels and their deliveries (SPEC §14), registered by schedules.admin.

A channel's signing secret is write-only here as in the API: the form never renders it, and
leaving it empty keeps the current one; a Slack target (a credential) likewise. Deliveries are
read-only: they are the record of what was sent.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError as DjangoValidationError

from billing.tenancy_admin import OrgScopedAdminMixin
from config import clock
from config.admin_common import ReadOnlyAdminMixin
from schedules import alerts
from schedules.alert_models import ALERT_EVENTS, AlertChannel, AlertDelivery, ChannelKind

KEEP_HELP = "Write-only: never shown; leave empty to keep the current one."


class AlertChannelAdminForm(forms.ModelForm):
    events = forms.MultipleChoiceField(
        choices=[(e, e) for e in ALERT_EVENTS],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    secret = forms.CharField(
        required=False,
        max_length=200,
        widget=forms.PasswordInput(render_value=False),
        help_text="webhook: the HMAC-SHA256 signing key (X-Mimic-Signature). " + KEEP_HELP,
    )

    class Meta:
        model = AlertChannel
        fields = ["organization", "name", "kind", "target", "secret", "events", "schedules"]
        widgets = {"schedules": forms.SelectMultiple(attrs={"size": 8})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target"].help_text = (
            "email: addresses, comma-separated; webhook: an https URL; slack: the "
            "incoming-webhook URL (" + KEEP_HELP + ")"
        )
        if "schedules" in self.fields:
            self.fields[
                "schedules"
            ].help_text = "None selected: every schedule of the organization."
        existing = self.instance.pk is not None
        if existing and self.instance.kind == ChannelKind.SLACK:
            self.initial["target"] = ""
            self.fields["target"].required = False
        if existing:
            self.initial["secret"] = ""

    def clean_secret(self):
        return self.cleaned_data.get("secret") or self.instance.secret or ""

    def clean_target(self):
        target = self.cleaned_data.get("target") or ""
        if not target and self.instance.pk is not None and self.instance.kind == ChannelKind.SLACK:
            return self.instance.target
        return target

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("kind")
        target = cleaned.get("target")
        if kind is None or target is None or "events" in self.errors:
            return cleaned
        vet = bool({"kind", "target"} & set(self.changed_data)) or self.instance.pk is None
        errors = alerts.channel_errors(
            kind=kind, target=target if vet else "", events=cleaned.get("events") or []
        )
        if not vet:
            errors.pop("target", None)
        organization = cleaned.get("organization") or getattr(self.instance, "organization", None)
        chosen = cleaned.get("schedules") or []
        if organization is not None and any(s.organization_id != organization.pk for s in chosen):
            errors["schedules"] = "Choose schedules of the channel's organization."
        if kind == ChannelKind.WEBHOOK and not cleaned.get("secret"):
            errors["secret"] = alerts.SECRET_NEEDED
        for field, message in errors.items():
            self.add_error(field if field in self.fields else None, message)
        return cleaned


@admin.register(AlertChannel)
class AlertChannelAdmin(OrgScopedAdminMixin, admin.ModelAdmin):
    form = AlertChannelAdminForm
    list_display = ["name", "organization", "kind", "shown_target", "event_list", "scope"]
    list_filter = ["kind"]
    search_fields = ["name"]
    actions = ["send_test"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("schedules")

    @admin.display(description="target")
    def shown_target(self, channel):
        return alerts.masked_target(channel)

    @admin.display(description="events")
    def event_list(self, channel):
        return ", ".join(channel.events or []) or "—"

    @admin.display(description="schedules")
    def scope(self, channel):
        names = [s.name for s in channel.schedules.all()]
        return ", ".join(names) if names else "all of the organization's"

    @admin.action(permissions=["operate"], description="Send a test alert")
    def send_test(self, request, queryset):
        now = clock.control_plane_now()
        for channel in queryset:
            if not self.has_operate_permission(request, channel):
                messages.error(request, f"“{channel}”: you may not operate this organization.")
                continue
            try:
                delivery = alerts.alert_send_test(channel=channel, now=now)
            except DjangoValidationError as exc:  # pragma: no cover - nothing raises today
                messages.error(request, f"“{channel}”: {exc}")
                continue
            messages.success(
                request,
                f"“{channel}”: test alert queued (delivery {delivery.id}); its outcome is in "
                "Alert deliveries.",
            )


@admin.register(AlertDelivery)
class AlertDeliveryAdmin(ReadOnlyAdminMixin, OrgScopedAdminMixin, admin.ModelAdmin):
    """The record of every alert: read-only."""

    organization_field = "channel__organization"
    list_display = ["created_at", "channel", "event", "subject", "status", "attempts", "sent_at"]
    list_filter = ["status", "event"]
    list_select_related = ["channel"]
    search_fields = ["subject", "title"]
    fields = (
        "channel",
        "event",
        "subject",
        "title",
        "body",
        "status",
        "attempts",
        "last_error",
        "next_attempt_at",
        "created_at",
        "sent_at",
    )
    readonly_fields = fields
