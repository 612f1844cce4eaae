"""The API's token authentication (config/settings.py REST_FRAMEWORK), with the tenancy's first
read folded in. Its own module: DRF imports authentication classes while it loads its views,
before any module that builds on them (billing/tenancy_api.py) can be imported."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from billing.models import Membership


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's token authentication (REST_FRAMEWORK in config/settings.py), reading the caller's
    memberships in the same query: the token, its user and their organizations are one join,
    where DRF's lookup and the tenancy's were two queries on every request a script makes.
    A user without a membership (a superuser, say) is looked up as DRF does."""

    def authenticate(self, request):
        self._memberships: list[Membership] | None = None
        result = super().authenticate(request)
        if result is not None and self._memberships is not None:
            request._mimic_memberships = self._memberships  # billing.tenancy.request_membership
        return result

    def authenticate_credentials(self, key):
        memberships = list(
            Membership.objects.filter(user__auth_token__key=key)
            .select_related("organization", "user__auth_token")
            .order_by("created_at")  # as billing.tenancy.memberships_for orders them
        )
        if not memberships:
            return super().authenticate_credentials(key)
        user = memberships[0].user
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        for membership in memberships:
            membership.user = user
        self._memberships = memberships
        return (user, user.auth_token)
