"""Schedule.from_db sets a whole row straight into the instance: the instance is the one
Django's own construction gives, and anything it cannot do that way goes Django's way."""

import pytest
from django.db.models.signals import post_init

from schedules.models import Schedule
from tests.factories import ScheduleFactory

pytestmark = pytest.mark.django_db


def _djangos(pk) -> Schedule:
    """The row as Django's Model.from_db builds it (Schedule's override bypassed)."""
    qs = Schedule.objects.filter(pk=pk)
    fields = [f.attname for f in Schedule._meta.concrete_fields]
    values = qs.values_list(*fields).get()
    return super(Schedule, Schedule).from_db("default", fields, values)


def _columns(s: Schedule) -> dict:
    return {k: v for k, v in vars(s).items() if k != "_state"}


def test_a_whole_row_loads_as_djangos_construction_would_load_it(now):
    made = ScheduleFactory(
        variables={"region": "eu", "n": [1, 2]},
        vault_keys=["API_TOKEN"],
        remaining_runs=3,
        jitter_seconds=30,
        next_run_at=now,
    )
    loaded = Schedule.objects.get(pk=made.pk)
    expected = _djangos(made.pk)
    assert _columns(loaded) == _columns(expected)
    assert list(_columns(loaded)) == list(_columns(expected))  # every column, none more
    assert (loaded._state.adding, loaded._state.db) == (False, "default")
    assert loaded.agent == made.agent and loaded.organization_id == made.organization_id
    # It saves as a stored row: an UPDATE, not a second INSERT.
    loaded.name = "renamed"
    loaded.save(update_fields=["name"])
    assert Schedule.objects.get(pk=made.pk).name == "renamed"
    assert Schedule.objects.count() == 1


def test_a_partial_row_keeps_djangos_deferred_fields():
    made = ScheduleFactory()
    loaded = Schedule.objects.only("name").get(pk=made.pk)
    assert "cron_expression" in loaded.get_deferred_fields()
    assert loaded.cron_expression == made.cron_expression  # read on first access


def test_a_post_init_receiver_still_hears_every_loaded_schedule():
    made = ScheduleFactory()
    heard = []

    def receiver(sender, instance, **kwargs):
        heard.append(instance.pk)

    post_init.connect(receiver, sender=Schedule)
    try:
        Schedule.objects.get(pk=made.pk)
    finally:
        post_init.disconnect(receiver, sender=Schedule)
    assert heard == [made.pk]
