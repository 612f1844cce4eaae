"""factory_boy factories for every model tests commonly need — the only ones: every app's tests
and the cross-cutting suites import them from here. Generic on purpose: any test module may use
them. Related objects are created in the same organization as their parent."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from agents.models import Agent, Job, JobStatus, Runtime, Script, ScriptVersion, Trigger
from billing.models import BillingStatus, Membership, Organization, Role
from schedules import cron
from schedules.models import Calendar, Schedule


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Org {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")
    billing_status = BillingStatus.ACTIVE


class UserFactory(factory.django.DjangoModelFactory):
    """A staff user (the staff UI is the admin, so every member of an organization is staff);
    pass is_staff=False for one who is not."""

    class Meta:
        model = get_user_model()

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    is_staff = True

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        # No usable password by default (tests log in with force_login): hashing one is slow.
        kwargs.setdefault("password", None)
        return model_class.objects.create_user(*args, **kwargs)


class MembershipFactory(factory.django.DjangoModelFactory):
    """The least privileged role by default (the model's default too); a test that needs more
    asks for it."""

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


class CalendarFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Calendar

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"calendar-{n}")
    dates = factory.LazyFunction(list)


def schedule_body(organization, *, name: str, cron_expression: str, **fields) -> dict:
    """A new schedule's POST /api/schedules/ body: a fresh script and agent of `organization`,
    then whatever camelCase `fields` the test adds."""
    return {
        "name": name,
        "scriptId": str(ScriptFactory.create(organization=organization).id),
        "agentId": str(AgentFactory.create(organization=organization).id),
        "cronExpression": cron_expression,
        **fields,
    }


class JobFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Job

    schedule = factory.SubFactory(ScheduleFactory)
    organization = factory.LazyAttribute(lambda j: j.schedule.organization if j.schedule else None)
    script = factory.LazyAttribute(lambda j: j.schedule.script if j.schedule else None)
    agent = factory.LazyAttribute(lambda j: j.schedule.agent if j.schedule else None)
    # The script's current version (or, without a script, code of its own).
    code = factory.LazyAttribute(
        lambda j: (
            ScriptVersion.record(j.script)
            if j.script
            else ScriptVersion.objects.create(
                organization=j.organization, version=1, runtime="python", source=""
            )
        )
    )
    script_version = factory.LazyAttribute(lambda j: j.code.version)
    trigger = Trigger.SCHEDULED
    scheduled_for = factory.LazyFunction(timezone.now)
    idempotency_key = factory.Sequence(lambda n: f"test-job-{n}")
    status = JobStatus.SUCCEEDED
