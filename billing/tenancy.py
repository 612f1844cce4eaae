"""Who is calling, for which organization, with which role — one answer for the API and admin.

A user belongs to organizations through Membership. "The caller's organization"
(`organization_from_request`, the one resolver) is the one named by the `X-Organization` header
(slug or id) when the user has several, else their only (or oldest) membership. Superusers see
every organization's objects; with the header they act for that organization even without a
membership.

Two scopes, on purpose:
- `scope_queryset(qs, user)` — every organization the user belongs to: the admin's lists
  (billing/tenancy_admin.py), where each object's own organization then decides the role;
- `scope_queryset_for_request(qs, request)` — only the caller's organization: every API view
  (billing/tenancy_api.py), so a user who is admin in one organization and viewer in another
  never edits the second one through a header naming the first.
Object-level role checks (`role_in_organization`) close the same gap for the admin.
"""

from __future__ import annotations

import uuid

from django.db.models import QuerySet
from rest_framework.authtoken.models import Token

from billing.audit import Actor
from billing.models import Membership, Organization, Role

ORGANIZATION_HEADER = "X-Organization"

# Higher rank can do everything a lower rank can.
ROLE_RANK = {Role.VIEWER: 0, Role.OPERATOR: 1, Role.ADMIN: 2, Role.OWNER: 3}


def role_at_least(role: str | None, required: str) -> bool:
    return role is not None and ROLE_RANK[Role(role)] >= ROLE_RANK[Role(required)]


def memberships_for(user) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(user=user).select_related("organization").order_by("created_at")
    )


def _matches(organization: Organization, requested: str) -> bool:
    return requested in (organization.slug, str(organization.pk))


def resolve_membership(
    user, requested: str | None = None, *, memberships: list[Membership] | None = None
) -> Membership | None:
    """The membership the caller acts through, or None (not a member / unknown org).
    `memberships`: the user's, as memberships_for lists them, when already read."""
    if not getattr(user, "is_authenticated", False):
        return None
    if memberships is None:
        memberships = list(memberships_for(user))
    if requested:
        for m in memberships:
            if _matches(m.organization, requested):
                return m
        return None
    return memberships[0] if memberships else None


def organization_ids_visible_to(user) -> list | None:
    """Org ids whose objects `user` may see; None means all (superuser)."""
    if user.is_superuser:
        return None
    if not getattr(user, "is_authenticated", False):
        return []
    return list(Membership.objects.filter(user=user).values_list("organization_id", flat=True))


def scope_queryset(queryset: QuerySet, user, *, field: str = "organization") -> QuerySet:
    """Filter any organization-owned queryset to what `user` may see (all their orgs)."""
    org_ids = organization_ids_visible_to(user)
    if org_ids is None:
        return queryset
    return queryset.filter(**{f"{field}__in": org_ids})


def roles_by_organization(user) -> dict[uuid.UUID, str]:
    """{organization id: role} for every membership of `user` (one query)."""
    if not getattr(user, "is_authenticated", False):
        return {}
    return dict(Membership.objects.filter(user=user).values_list("organization_id", "role"))


def _cached_roles(request) -> dict[uuid.UUID, str]:
    roles = getattr(request, "_mimic_roles", None)
    if roles is None:
        roles = roles_by_organization(request.user)
        request._mimic_roles = roles
    return roles


def role_in_organization(request, organization_id) -> str | None:
    """The caller's role in one organization (cached per request); None if not a member."""
    key = _as_uuid(organization_id)
    if key is None:
        return None
    # An API view's object is of the caller's organization (its queryset is scoped to it): the
    # membership the request already resolved holds that role, without a second query.
    membership = getattr(request, "_mimic_membership", None)
    if membership is not None and membership.organization_id == key:
        return membership.role
    return _cached_roles(request).get(key)


def organization_ids_with_role(request, required: str) -> list[uuid.UUID]:
    """Organizations where the caller holds at least `required` (never includes superuser's all)."""
    return [
        org_id for org_id, role in _cached_roles(request).items() if role_at_least(role, required)
    ]


def user_has_role(request, required: str, organization_id=None) -> bool:
    """Does the caller hold at least `required` — in `organization_id`, or in any of their orgs?

    Superusers hold every role everywhere. Used by the admin (permissions, actions that operate)
    and usable by any view.
    """
    user = request.user
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser:
        return True
    if organization_id is not None:
        return role_at_least(role_in_organization(request, organization_id), required)
    return bool(organization_ids_with_role(request, required))


def _requested_organization(request) -> str | None:
    value = request.headers.get(ORGANIZATION_HEADER)
    return value.strip() if value and value.strip() else None


def _organization_by_reference(reference: str) -> Organization | None:
    lookup = Organization.objects.filter(slug=reference)
    try:
        lookup = lookup | Organization.objects.filter(pk=uuid.UUID(reference))
    except ValueError:
        pass
    return lookup.first()


def request_membership(request) -> Membership | None:
    membership = getattr(request, "_mimic_membership", None)
    if membership is None:
        # The API's token authentication read them with the token (billing.tenancy_auth).
        known = getattr(request, "_mimic_memberships", None)
        membership = resolve_membership(
            request.user, _requested_organization(request), memberships=known
        )
        request._mimic_membership = membership
    return membership


def organization_from_request(request) -> Organization | None:
    """The organization the caller acts for, or None (no membership / header names a stranger)."""
    membership = request_membership(request)
    if membership is not None:
        return membership.organization
    user = request.user
    requested = _requested_organization(request)
    if requested and getattr(user, "is_superuser", False):
        org = getattr(request, "_mimic_superuser_org", None)
        if org is None or not _matches(org, requested):
            org = _organization_by_reference(requested)
            request._mimic_superuser_org = org
        return org
    return None


def scope_queryset_for_request(
    queryset: QuerySet, request, *, field: str = "organization"
) -> QuerySet:
    """Only the caller's organization (superusers: all, or the one named by the header)."""
    user = request.user
    if getattr(user, "is_superuser", False) and not _requested_organization(request):
        return queryset
    org = organization_from_request(request)
    if org is None:
        return queryset.none()
    return queryset.filter(**{field: org.pk})


def _as_uuid(value) -> uuid.UUID | None:
    """An organization id as the UUID memberships are keyed by; None for none or a non-id."""
    if value is None or isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def organization_id_of(obj, field: str = "organization") -> uuid.UUID | None:
    """The organization owning `obj` by following `field` ("organization", "schedule__organization",
    "pk" for an Organization itself)."""
    if isinstance(obj, Organization) or field == "pk":
        return obj.pk
    *path, last = field.split("__")
    target = obj
    for step in path:
        target = getattr(target, step, None)
        if target is None:
            return None
    return getattr(target, f"{last}_id", None)


def actor_from_request(request) -> Actor:
    """Who made a change, for the audit trail (billing.audit): the signed-in user (the admin, a
    session), or the user whose DRF API token authenticated the request (`request.auth`, never
    recorded itself); a request with neither is the cron key's (the only other caller that
    changes anything)."""
    user = getattr(request, "user", None)
    if user is not None and getattr(user, "is_authenticated", False):
        return Actor.user(user, token=isinstance(getattr(request, "auth", None), Token))
    return Actor.cron_key()


__all__ = [
    "ORGANIZATION_HEADER",
    "actor_from_request",
    "ROLE_RANK",
    "memberships_for",
    "organization_from_request",
    "organization_id_of",
    "organization_ids_visible_to",
    "organization_ids_with_role",
    "request_membership",
    "resolve_membership",
    "role_at_least",
    "role_in_organization",
    "roles_by_organization",
    "scope_queryset",
    "scope_queryset_for_request",
    "user_has_role",
]
