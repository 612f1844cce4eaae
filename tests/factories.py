"""factory_boy factories for every model tests commonly need. Generic on purpose: any test module
may use them. Related objects are created in the same organization as their parent."""

from __future__ import annotations

import functools

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from agents.models import Agent, Job, JobStatus, Runtime, Script, Trigger
from billing.models import Membership, Role

# One organization factory (one slug sequence) for every test package.
from billing.tests.factories import OrganizationFactory
from schedules import cron
from schedules.models import Schedule


@functools.cache
def _password_hash() -> str:
    return make_password("password")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    # Every user's password is "password"; hashed once per run (PBKDF2 costs ~0.3 s a call).
    password = factory.LazyFunction(lambda: _password_hash())


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = Role.ADMIN


class AgentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agent

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Agent {n}")
    slug = factory.Sequence(lambda n: f"agent-{n}")


class ScriptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Script

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Script {n}")
    runtime = Runtime.PYTHON
    source = "print('hello')\n"


class ScheduleFactory(factory.django.DjangoModelFactory):
    """next_run_at is the first occurrence after now (None when disabled)."""

    class Meta:
        model = Schedule

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Schedule {n}")
    script = factory.SubFactory(ScriptFactory, organization=factory.SelfAttribute("..organization"))
    agent = factory.SubFactory(AgentFactory, organization=factory.SelfAttribute("..organization"))
    cron_expression = "*/5 * * * *"
    timezone = "UTC"
    enabled = True
    next_run_at = factory.LazyAttribute(
        lambda s: (
            cron.next_after(s.cron_expression, s.timezone, timezone.now()) if s.enabled else None
        )
    )


class JobFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Job

    schedule = factory.SubFactory(ScheduleFactory)
    organization = factory.LazyAttribute(lambda j: j.schedule.organization if j.schedule else None)
    script = factory.LazyAttribute(lambda j: j.schedule.script if j.schedule else None)
    agent = factory.LazyAttribute(lambda j: j.schedule.agent if j.schedule else None)
    script_version = factory.LazyAttribute(lambda j: j.script.version if j.script else 1)
    script_runtime = factory.LazyAttribute(lambda j: j.script.runtime if j.script else "python")
    script_source = factory.LazyAttribute(lambda j: j.script.source if j.script else "")
    trigger = Trigger.SCHEDULED
    scheduled_for = factory.LazyFunction(timezone.now)
    idempotency_key = factory.Sequence(lambda n: f"test-job-{n}")
    status = JobStatus.SUCCEEDED
