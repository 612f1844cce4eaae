"""Vault admin: set or replace a value, never read it back (SPEC §8, §11).

The value field is a password input that never renders a value (not even after a failed POST);
the ciphertext is neither shown nor editable; lists show names and metadata only.
"""

from django import forms
from django.contrib import admin
from django.db import transaction
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters

from billing.audit import field_changes
from billing.models import AuditAction
from billing.tenancy import actor_from_request
from billing.tenancy_admin import OrgScopedAdminMixin
from vault import crypto
from vault.errors import VaultNotConfigured
from vault.models import VaultEntry
from vault.services import VALUE_REPLACED, vault_audit


class VaultEntryAdminForm(forms.ModelForm):
    value = forms.CharField(
        label="Value",
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Write-only. Leave empty to keep the current value.",
    )

    class Meta:
        model = VaultEntry
        fields = ["organization", "key", "value", "description"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance._state.adding:
            self.fields["value"].required = True
            self.fields["value"].help_text = "Write-only: it can be replaced, never read back."

    def clean(self):
        cleaned = super().clean()
        value = cleaned.pop("value", "")
        if value:
            try:
                # Encrypted here so a missing key is a form error, not a 500.
                self.instance.ciphertext = crypto.encrypt(value)
            except VaultNotConfigured as exc:
                self.add_error(None, str(exc))
        return cleaned


@admin.register(VaultEntry)
class VaultEntryAdmin(OrgScopedAdminMixin, admin.ModelAdmin):
    form = VaultEntryAdminForm
    list_display = ["key", "organization", "description", "created_at", "updated_at"]
    list_select_related = ["organization"]
    search_fields = ["key", "description"]
    readonly_fields = ["created_at", "updated_at"]

    def get_list_filter(self, request):
        # Django's organization filter lists every organization by name: superusers only.
        return ["organization"] if request.user.is_superuser else []

    @method_decorator(sensitive_post_parameters("value"))
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return super().changeform_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        # The form encrypted the value (clean); the entry and its audit entry commit together.
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            if not change:
                vault_audit(
                    entry=obj, actor=actor_from_request(request), action=AuditAction.CREATED
                )
                return
            changes = field_changes(
                {name: form.initial.get(name) for name in ("key", "description")},
                {name: form.cleaned_data.get(name) for name in ("key", "description")},
            )
            if "value" in form.changed_data:  # a new value was typed (the form never shows one)
                changes |= VALUE_REPLACED
            if changes:
                actor = actor_from_request(request)
                vault_audit(entry=obj, actor=actor, action=AuditAction.EDITED, changes=changes)

    def delete_model(self, request, obj):
        with transaction.atomic():
            vault_audit(entry=obj, actor=actor_from_request(request), action=AuditAction.DELETED)
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        actor = actor_from_request(request)
        with transaction.atomic():
            for entry in queryset:
                vault_audit(entry=entry, actor=actor, action=AuditAction.DELETED)
            super().delete_queryset(request, queryset)

    def get_fields(self, request, obj=None):
        fields = [
            f for f in super().get_fields(request, obj) if f not in ("created_at", "updated_at")
        ]
        if obj is not None and not self.has_change_permission(request, obj):
            fields.remove("value")  # a view-only page has nothing to show for it
        if obj is not None:
            fields += ["created_at", "updated_at"]
        return fields
