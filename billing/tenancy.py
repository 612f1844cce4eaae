"""Who is calling, for which organization, with which role — one answer for the API and admin.

A user belongs to organizations through Membership. "The caller's organization" is the one named
by the `X-Organization` header (slug or id) when the user has several, else their only (or
oldest) membership. Superusers see every organization's objects.
"""

from __future__ import annotations

from django.db.models import QuerySet

from billing.models import Membership, Organization, Role

# Higher rank can do everything a lower rank can.
ROLE_RANK = {Role.VIEWER: 0, Role.OPERATOR: 1, Role.ADMIN: 2, Role.OWNER: 3}


def role_at_least(role: str | None, required: str) -> bool:
    return role is not None and ROLE_RANK[Role(role)] >= ROLE_RANK[Role(required)]


def memberships_for(user) -> QuerySet[Membership]:
    return Membership.objects.filter(user=user).select_related("organization").order_by("created_at")


def resolve_membership(user, requested: str | None = None) -> Membership | None:
    """The membership the caller acts through, or None (not a member / unknown org)."""
    if not getattr(user, "is_authenticated", False):
        return None
    memberships = list(memberships_for(user))
    if requested:
        for m in memberships:
            if requested in (m.organization.slug, str(m.organization_id)):
                return m
        return None
    return memberships[0] if memberships else None


def organization_ids_visible_to(user) -> list | None:
    """Org ids whose objects `user` may see; None means all (superuser)."""
    if user.is_superuser:
        return None
    return list(Membership.objects.filter(user=user).values_list("organization_id", flat=True))


def scope_queryset(queryset: QuerySet, user, *, field: str = "organization") -> QuerySet:
    """Filter any organization-owned queryset to what `user` may see."""
    org_ids = organization_ids_visible_to(user)
    if org_ids is None:
        return queryset
    return queryset.filter(**{f"{field}__in": org_ids})


def organization_from_request(request) -> Organization | None:
    membership = getattr(request, "_mimic_membership", None)
    if membership is None:
        membership = resolve_membership(request.user, request.headers.get("X-Organization"))
        request._mimic_membership = membership
    return membership.organization if membership else None
