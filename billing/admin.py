from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model

from billing.models import AuditEntry, Membership, Organization, Role
from billing.tenancy import organization_ids_visible_to
from billing.tenancy_admin import OrgScopedAdminMixin, OrgScopedInlineMixin, user_has_role
from config.admin_common import ReadOnlyAdminMixin, audit_rows_html

BILLING_FIELDS = ["billing_status", "trial_ends_at", "past_due_since", "monthly_run_quota"]


def _superuser(request) -> bool:
    return bool(request.user.is_active and request.user.is_staff and request.user.is_superuser)


class MembershipInline(OrgScopedInlineMixin, admin.TabularInline):
    """Read-only list of members on the organization page; members are managed in Memberships."""

    model = Membership
    extra = 0
    fields = ["user", "role", "created_at"]
    readonly_fields = ["created_at"]
    autocomplete_fields = ["user"]

    def has_add_permission(self, request, obj=None):
        return _superuser(request)

    def has_change_permission(self, request, obj=None):
        return _superuser(request)

    def has_delete_permission(self, request, obj=None):
        return _superuser(request)


@admin.register(Organization)
class OrganizationAdmin(OrgScopedAdminMixin, admin.ModelAdmin):
    """Members see their organizations; admins rename them; only owners edit billing fields.

    Creating and deleting tenants (deletion cascades to everything they own) is for superusers.
    """

    organization_field = "pk"
    list_display = ["name", "slug", "billing_status", "trial_ends_at", "monthly_run_quota"]
    list_filter = ["billing_status"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]

    def has_add_permission(self, request):
        return _superuser(request)

    def has_delete_permission(self, request, obj=None):
        return _superuser(request)

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None and not request.user.is_superuser:
            # The slug is how API callers name the organization (X-Organization).
            readonly.append("slug")
            if not user_has_role(request, Role.OWNER, obj.pk):
                readonly.extend(BILLING_FIELDS)
        return readonly

    def get_prepopulated_fields(self, request, obj=None):
        return self.prepopulated_fields if obj is None or request.user.is_superuser else {}


class MembershipAdminForm(forms.ModelForm):
    class Meta:
        model = Membership
        fields = ["user", "organization", "role"]


@admin.register(Membership)
class MembershipAdmin(OrgScopedAdminMixin, admin.ModelAdmin):
    """Admins and owners manage their organizations' members; only owners grant or touch `owner`."""

    form = MembershipAdminForm
    list_display = ["user", "organization", "role", "created_at"]
    list_filter = ["role"]
    list_select_related = ["user", "organization"]
    search_fields = ["user__username", "user__email", "organization__name"]

    def _may_touch(self, request, obj) -> bool:
        return (
            obj is None
            or obj.role != Role.OWNER
            or user_has_role(request, Role.OWNER, obj.organization_id)
        )

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._may_touch(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._may_touch(request, obj)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        formfield = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "user" and formfield is not None and not request.user.is_superuser:
            # No tenant-wide user directory: a member can be given a role in another of the
            # requester's organizations; new users are invited by a superuser.
            org_ids = organization_ids_visible_to(request.user) or []
            formfield.queryset = (
                get_user_model()
                .objects.filter(memberships__organization_id__in=org_ids)
                .distinct()
                .order_by("username")
            )
        return formfield

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)

        class OwnerGuardForm(form_class):
            def clean(self):
                cleaned = super().clean()
                org = cleaned.get("organization") or getattr(self.instance, "organization", None)
                org_id = getattr(org, "pk", None) or self.instance.organization_id
                if cleaned.get("role") == Role.OWNER and not user_has_role(
                    request, Role.OWNER, org_id
                ):
                    self.add_error(
                        "role", "Only an owner of the organization can make someone an owner."
                    )
                return cleaned

        OwnerGuardForm.__name__ = form_class.__name__
        return OwnerGuardForm


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdminMixin, OrgScopedAdminMixin, admin.ModelAdmin):
    """The audit trail (SPEC §14), read-only: entries are written by the services, never here.
    Each organization's members see its entries; an object's page shows its own."""

    list_display = ["at", "actor_label", "actor_kind", "action", "object_type", "object_label"]
    list_filter = ["action", "object_type", "actor_kind"]
    search_fields = ["actor_label", "object_label", "object_id", "note"]
    date_hierarchy = "at"
    list_per_page = 100
    _shown = (
        "organization",
        "at",
        "actor_kind",
        "actor_label",
        "actor_ref",
        "action",
        "object_type",
        "object_id",
        "object_label",
        "changed_fields",
        "note",
    )
    fields = _shown
    readonly_fields = _shown

    @admin.display(description="changes")
    def changed_fields(self, entry):
        return audit_rows_html([entry])
