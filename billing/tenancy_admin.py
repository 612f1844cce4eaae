"""Organization scoping and role-based permissions for ModelAdmins of organization-owned models.

    @admin.register(Schedule)
    class ScheduleAdmin(OrgScopedAdminMixin, admin.ModelAdmin):
        ...
        @admin.action(permissions=["operate"], description="Run now")
        def run_now(self, request, queryset): ...

- querysets are scoped to the user's organizations (superusers: all); another organization's
  object is a 404 on the change, delete and history pages;
- foreign-key choices (and therefore autocompletes' accepted values) are scoped the same way;
- `organization` is set from the user's membership on add and hidden from non-superusers (shown,
  limited to the eligible organizations, only when the user may add in several);
- permissions come from the role (SPEC §6), not from Django's per-user permission table: viewer
  views; operator views and runs actions declared with `permissions=["operate"]`; admin and owner
  add, change and delete. Staff status is still needed to enter the admin at all.

Per-object checks use the role in the *object's* organization, so a user who is admin in one
organization and viewer in another cannot edit the second.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.http import Http404

from billing.models import Organization, Role
from billing.tenancy import (
    organization_id_of,
    organization_ids_with_role,
    scope_queryset,
    user_has_role,
)

__all__ = ["OrgScopedAdminMixin", "OrgScopedInlineMixin", "user_has_role"]


def _is_superuser(request) -> bool:
    return bool(getattr(request.user, "is_superuser", False))


def _is_staff_member(request) -> bool:
    user = request.user
    return bool(user.is_active and user.is_staff)


def scoped_related_queryset(request, queryset):
    """Choices for a foreign key: organizations the user belongs to, or objects they own."""
    model = queryset.model
    if model is Organization:
        return scope_queryset(queryset, request.user, field="pk")
    if any(f.name == "organization" for f in model._meta.get_fields()):
        return scope_queryset(queryset, request.user)
    return queryset


class _RolePermissionsMixin:
    """has_*_permission by role; shared by model admins and inlines."""

    organization_field = "organization"
    view_role = Role.VIEWER
    add_role = Role.ADMIN
    change_role = Role.ADMIN
    delete_role = Role.ADMIN
    operate_role = Role.OPERATOR

    def get_organization_id(self, obj):
        return organization_id_of(obj, self.organization_field)

    def _allowed(self, request, role: str, obj=None) -> bool:
        if not _is_staff_member(request):
            return False
        if _is_superuser(request):
            return True
        if obj is None:
            return user_has_role(request, role)
        org_id = self.get_organization_id(obj)
        if org_id is None:
            # An object not yet attached to an organization (e.g. an unsaved add): any org will do.
            return user_has_role(request, role)
        return user_has_role(request, role, org_id)

    def has_view_permission(self, request, obj=None):
        return self._allowed(request, self.view_role, obj)

    def has_add_permission(self, request, *args):
        return self._allowed(request, self.add_role)

    def has_change_permission(self, request, obj=None):
        return self._allowed(request, self.change_role, obj)

    def has_delete_permission(self, request, obj=None):
        return self._allowed(request, self.delete_role, obj)

    def has_operate_permission(self, request, obj=None):
        """For `@admin.action(permissions=["operate"])`: operator and above."""
        return self._allowed(request, self.operate_role, obj)


class OrgScopedAdminMixin(_RolePermissionsMixin):
    def has_module_permission(self, request):
        return self._allowed(request, self.view_role)

    # -- querysets ---------------------------------------------------------------------------
    def get_queryset(self, request):
        qs = super().get_queryset(request)
        field = "pk" if self.organization_field == "pk" else self.organization_field
        return scope_queryset(qs, request.user, field=field)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        formfield = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if formfield is not None and hasattr(formfield, "queryset"):
            if db_field.name == self.organization_field and not _is_superuser(request):
                formfield.queryset = formfield.queryset.filter(
                    pk__in=organization_ids_with_role(request, self.add_role)
                )
            else:
                formfield.queryset = scoped_related_queryset(request, formfield.queryset)
        return formfield

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        # Choices of a many-to-many (a schedule's calendars): the caller's organizations' only.
        # The roles cached for this request (the permission checks read them): no query.
        formfield = super().formfield_for_manytomany(db_field, request, **kwargs)
        if formfield is not None and hasattr(formfield, "queryset") and not _is_superuser(request):
            visible = organization_ids_with_role(request, self.view_role)
            formfield.queryset = formfield.queryset.filter(organization_id__in=visible)
        return formfield

    # -- the organization field --------------------------------------------------------------
    def _owns_organization_field(self) -> bool:
        return self.organization_field == "organization"

    def _default_organization_id(self, request):
        """The organization a non-superuser adds into, if there is exactly one choice."""
        eligible = organization_ids_with_role(request, self.add_role)
        return eligible[0] if len(eligible) == 1 else None

    def _hide_organization(self, request, obj) -> bool:
        """On add, a non-superuser with one eligible organization never sees the field."""
        if not self._owns_organization_field() or _is_superuser(request) or obj is not None:
            return False
        return self._default_organization_id(request) is not None

    def _organization_read_only(self, request, obj) -> bool:
        # Objects never move between organizations, except by a superuser.
        return self._owns_organization_field() and obj is not None and not _is_superuser(request)

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if self._organization_read_only(request, obj) and "organization" not in readonly:
            readonly.append("organization")
        return readonly

    def get_exclude(self, request, obj=None):
        exclude = list(super().get_exclude(request, obj) or [])
        if self._hide_organization(request, obj):
            exclude.append("organization")
        return exclude

    def get_fields(self, request, obj=None):
        fields = list(super().get_fields(request, obj))
        if self._hide_organization(request, obj) and "organization" in fields:
            fields.remove("organization")
        return fields

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if not self._hide_organization(request, obj):
            return fieldsets
        return [
            (name, {**opts, "fields": [f for f in opts["fields"] if f != "organization"]})
            for name, opts in fieldsets
        ]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)
        if not (
            self._hide_organization(request, obj) or self._organization_read_only(request, obj)
        ):
            return form_class
        default_org_id = None if obj is not None else self._default_organization_id(request)

        class OrganizationBoundForm(form_class):
            def __init__(self, *args, **kw):
                super().__init__(*args, **kw)
                if default_org_id is not None and self.instance.organization_id is None:
                    self.instance.organization_id = default_org_id

            def _get_validation_exclusions(self):
                # The field is hidden but set: unique constraints involving it
                # (e.g. one vault key per organization) must still be validated.
                exclusions = super()._get_validation_exclusions()
                exclusions.discard("organization")
                return exclusions

        OrganizationBoundForm.__name__ = form_class.__name__
        return OrganizationBoundForm

    # -- another organization's object is a 404 ----------------------------------------------
    def _get_visible_or_404(self, request, object_id):
        if object_id is None:
            return None
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404(f"No {self.opts.verbose_name} with this id.")
        return obj

    def change_view(self, request, object_id, form_url="", extra_context=None):
        self._get_visible_or_404(request, object_id)
        return super().change_view(request, object_id, form_url, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        self._get_visible_or_404(request, object_id)
        return super().delete_view(request, object_id, extra_context)

    def history_view(self, request, object_id, extra_context=None):
        self._get_visible_or_404(request, object_id)
        return super().history_view(request, object_id, extra_context)


class OrgScopedInlineMixin(_RolePermissionsMixin):
    """For inlines: `obj` passed to the permission methods is the *parent* object."""

    def get_queryset(self, request):
        return scope_queryset(
            super().get_queryset(request), request.user, field=self.organization_field
        )

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        formfield = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if formfield is not None and hasattr(formfield, "queryset"):
            formfield.queryset = scoped_related_queryset(request, formfield.queryset)
        return formfield

    def has_add_permission(self, request, obj=None):
        return self._allowed(request, self.add_role, obj)


class OrgScopedRelatedFilter(admin.RelatedFieldListFilter):
    """A foreign-key filter whose choices are only the caller's organizations' objects.

    Django's RelatedFieldListFilter lists every row of the related table, whoever asks.
    """

    def field_choices(self, field, request, model_admin):
        queryset = scope_queryset(field.related_model._default_manager.all(), request.user)
        ordering = self.field_admin_ordering(field, request, model_admin)
        if ordering:
            queryset = queryset.order_by(*ordering)
        return [(obj.pk, str(obj)) for obj in queryset]
