"""Writes to schedules. Views, admin and tasks call these; they never write rows themselves."""

from datetime import datetime

from django.db import transaction

from schedules.models import Schedule


def schedule_refresh_next_run(*, schedule: Schedule, now: datetime) -> None:
    """Set next_run_at to the first occurrence after `now` (on create, edit, or resume).

    It is not saved here: callers save with the rest of their change.
    """
    schedule.next_run_at = schedule.next_occurrence_after(now) if schedule.enabled else None


@transaction.atomic
def schedule_create(*, now: datetime, **fields) -> Schedule:
    schedule = Schedule(**fields)
    schedule.full_clean()
    schedule_refresh_next_run(schedule=schedule, now=now)
    schedule.save()
    return schedule
