"""Organization scoping and role-based permissions for the API's views of organization-owned
models — what billing/tenancy_admin.py is for the admin. Every API view of every app takes its
tenancy from here, and "the caller's organization" from billing.tenancy's one resolver
(`organization_from_request`).

    class ScheduleViewSet(OrganizationContextMixin, OrganizationApiMixin, viewsets.ModelViewSet):
        required_roles = {"pause": Role.OPERATOR}

        def get_queryset(self):
            return scope_queryset_for_request(Schedule.objects.all(), self.request)

- authenticated callers only; the least role per action (`required_roles`, HasOrganizationRole);
- a query sees only the caller's organization (`scope_queryset_for_request`): another
  organization's object is a 404, never a 403 that would confirm it exists;
- a new object belongs to the caller's organization (`acting_organization`), and references it
  carries (`scriptId`, `agentId`) must name objects of that same organization
  (`OrganizationContextMixin` puts it in the serializer context for
  config.api_common.ScopedPrimaryKeyRelatedField).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rest_framework import exceptions
from rest_framework.permissions import IsAuthenticated

from billing.models import Organization
from billing.permissions import HasOrganizationRole
from billing.tenancy import ORGANIZATION_HEADER, organization_from_request
from config.api_common import ApiViewMixin

if TYPE_CHECKING:
    from rest_framework.permissions import _PermissionClass


def acting_organization(request) -> Organization:
    """The organization a new object belongs to: the caller's; a superuser (or a member of
    several) names one with `X-Organization: <slug or id>`. 400 on `organization` when none."""
    organization = organization_from_request(request)
    if organization is None:
        raise exceptions.ValidationError(
            {
                "organization": f"No organization: send {ORGANIZATION_HEADER} with the slug or "
                "id of one you belong to."
            }
        )
    return organization


class OrganizationApiMixin(ApiViewMixin):
    """JSON in, JSON out (config.api_common); authenticated; roles per action."""

    permission_classes: Sequence[_PermissionClass] = [IsAuthenticated, HasOrganizationRole]


class OrganizationContextMixin:
    """Writes are validated against the organization the object belongs to (or will): the
    serializer context carries it, so references (scriptId, agentId…) resolve in that
    organization only."""

    def get_serializer(self, *args, **kwargs):
        context = kwargs.setdefault("context", self.get_serializer_context())
        instance = args[0] if args else kwargs.get("instance")
        if getattr(self, "swagger_fake_view", False):
            pass  # schema generation: no caller
        elif self.action == "create":
            context["organization"] = acting_organization(self.request)
        elif instance is not None and hasattr(instance, "organization_id"):
            context["organization"] = instance.organization_id
        return super().get_serializer(*args, **kwargs)
