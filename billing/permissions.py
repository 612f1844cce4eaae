"""DRF permissions by role (SPEC §6): viewer reads; operator executes, pauses, cancels;
admin and owner edit everything.

A view declares the least role per action in `required_roles` (action name -> Role); actions not
listed need VIEWER for safe methods and ADMIN otherwise. The request-level check uses the role in
the caller's organization; the object-level check uses the role in the *object's* organization
(`organization_field` on the view, default "organization"), so a queryset scoped to all of a
user's organizations can never be edited through a stronger role held elsewhere.
"""

from rest_framework import permissions

from billing.models import Role
from billing.tenancy import (
    organization_id_of,
    request_membership,
    role_at_least,
    role_in_organization,
)


def request_role(request) -> str | None:
    membership = request_membership(request)
    return membership.role if membership else None


def required_role(request, view) -> str:
    action = getattr(view, "action", None) or request.method.lower()
    default = Role.VIEWER if request.method in permissions.SAFE_METHODS else Role.ADMIN
    return getattr(view, "required_roles", {}).get(action, default)


class HasOrganizationRole(permissions.BasePermission):
    message = "Your role in this organization does not allow this action."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if user.is_superuser:
            return True
        return role_at_least(request_role(request), required_role(request, view))

    def has_object_permission(self, request, view, obj) -> bool:
        if request.user.is_superuser:
            return True
        field = getattr(view, "organization_field", "organization")
        org_id = organization_id_of(obj, field)
        if org_id is None:
            # Not organization-owned as far as we can tell: the request-level check decided.
            return True
        return role_at_least(role_in_organization(request, org_id), required_role(request, view))
