"""The database refuses an overlap policy it does not know (schedule_overlap_policy_valid)."""

import pytest
from django.db import IntegrityError

from schedules.models import Schedule
from tests.factories import ScheduleFactory

pytestmark = pytest.mark.django_db


def test_the_database_refuses_an_unknown_policy():
    s = ScheduleFactory()
    with pytest.raises(IntegrityError):
        Schedule.objects.filter(pk=s.pk).update(overlap_policy="queue_all")
