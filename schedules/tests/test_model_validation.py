"""The schedule's rules live in the model and in the database: full_clean names the field with a
readable message, and the CheckConstraints reject the same out-of-range values written around
validation (a raw UPDATE)."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from schedules.models import GUARDRAILS, Schedule
from tests.factories import ScheduleFactory

pytestmark = pytest.mark.django_db

REJECTED_CRON = [
    ("0 0 * * * *", "5 fields"),
    ("0 0 * * * * 2026", "5 fields"),
    ("@reboot", "@reboot"),
    ("@every 5m", "@every"),
    ("0 0 ? * *", "?"),
    ("0 0 15W * *", "W"),
    ("H * * * *", "H"),
    ("5/15 * * * *", "5-59/15"),
    ("60 * * * *", "out of range"),
    ("-1 * * * *", "minute"),
    ("0 10-5 * * *", "10-5"),
    ("0 0 1,,2 * *", "empty"),
    ("0 0 * JANUARY *", "JAN"),
    ("0 0 * * MONDAY", "MON"),
    ("0 0 30 2 *", "never"),
]


def out_of_range(field):
    _, low, high = GUARDRAILS[field]
    return [low - 1, high + 1] if low > 0 else [high + 1]


@pytest.mark.parametrize(("expression", "hint"), REJECTED_CRON)
def test_it_rejects_a_bad_cron_with_a_field_error(expression, hint):
    schedule = ScheduleFactory.build(cron_expression=expression, next_run_at=None)
    with pytest.raises(ValidationError) as exc:
        schedule.full_clean(exclude=["organization", "script", "agent"])
    message = " ".join(exc.value.message_dict["cron_expression"])
    assert hint.lower() in message.lower()


@pytest.mark.parametrize("tz", ["Mars/Olympus", "", "EST5EDT ", "../etc/passwd", "utc+2"])
def test_it_rejects_an_unknown_timezone(tz):
    schedule = ScheduleFactory.build(timezone=tz, next_run_at=None)
    with pytest.raises(ValidationError) as exc:
        schedule.full_clean(exclude=["organization", "script", "agent"])
    assert "timezone" in exc.value.message_dict


@pytest.mark.parametrize(("field", "value"), [(f, v) for f in GUARDRAILS for v in out_of_range(f)])
def test_it_rejects_an_out_of_range_guardrail_in_validation_and_in_the_database(field, value):
    schedule = ScheduleFactory()
    setattr(schedule, field, value)
    with pytest.raises(ValidationError) as exc:
        schedule.full_clean()
    assert field in exc.value.message_dict
    # Around validation: a raw UPDATE hits the CheckConstraint.
    with pytest.raises(IntegrityError, match=f"schedule_{field}_range"), transaction.atomic():
        Schedule.objects.filter(pk=schedule.pk).update(**{field: value})


@pytest.mark.parametrize("field", list(GUARDRAILS))
def test_it_accepts_both_bounds(field):
    _, low, high = GUARDRAILS[field]
    schedule = ScheduleFactory()
    for value in (low, high):
        setattr(schedule, field, value)
        schedule.full_clean()
        schedule.save()


def test_it_rejects_variables_that_are_not_an_object_and_bad_vault_keys():
    schedule = ScheduleFactory.build(variables=["a"], vault_keys="SAP_PASSWORD")
    with pytest.raises(ValidationError) as exc:
        schedule.full_clean(exclude=["organization", "script", "agent"])
    assert set(exc.value.message_dict) >= {"variables", "vault_keys"}
