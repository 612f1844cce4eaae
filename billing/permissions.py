"""DRF permissions by role (SPEC §6): viewer reads; operator executes, pauses, cancels;
admin and owner edit everything.

A view declares the least role per action in `required_roles` (action name -> Role); actions not
listed need VIEWER for safe methods and ADMIN otherwise.
"""

from rest_framework import permissions

from billing.models import Role
from billing.tenancy import resolve_membership, role_at_least


def request_role(request) -> str | None:
    membership = getattr(request, "_mimic_membership", None)
    if membership is None:
        membership = resolve_membership(request.user, request.headers.get("X-Organization"))
        request._mimic_membership = membership
    return membership.role if membership else None


class HasOrganizationRole(permissions.BasePermission):
    message = "Your role in this organization does not allow this action."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if user.is_superuser:
            return True
        action = getattr(view, "action", None) or request.method.lower()
        default = Role.VIEWER if request.method in permissions.SAFE_METHODS else Role.ADMIN
        required = getattr(view, "required_roles", {}).get(action, default)
        return role_at_least(request_role(request), required)
