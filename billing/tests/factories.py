"""Factories for organizations, users and memberships (importable from any app's tests)."""

import factory
from django.contrib.auth import get_user_model

from billing.models import BillingStatus, Membership, Organization, Role


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Org {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")
    billing_status = BillingStatus.ACTIVE


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    is_staff = True

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        # No password by default (tests log in with force_login): hashing one is slow.
        kwargs.setdefault("password", None)
        return model_class.objects.create_user(*args, **kwargs)


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = Role.VIEWER


def member(organization, role: str, **user_fields):
    """A staff user holding `role` in `organization`."""
    return MembershipFactory(
        organization=organization, role=role, user=UserFactory(**user_fields)
    ).user
