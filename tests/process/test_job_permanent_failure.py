"""Any exit other than 0 and 75 is permanent: one attempt, never retried. Exit 77 (credential
rejected) says so, so the schedule can be paused instead of locking the account."""

from __future__ import annotations

import pytest
from django.utils import timezone

from agents.dispatch import jobs_publish, jobs_republish_due
from agents.models import ErrorKind, JobStatus
from tests.process.helpers import make_agent, make_job, make_org, wait_for_status

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_it_fails_a_nonzero_exit_once_without_retry(start_agent):
    agent = make_agent(make_org(), capacity=2)
    exit_1 = make_job(agent, "print('boom'); raise SystemExit(1)", max_attempts=3)
    exit_77 = make_job(
        agent, "/bin/echo 'login rejected'; exit 77", runtime="shell", max_attempts=3
    )
    start_agent(agent)

    jobs_publish(jobs=[(exit_1.id, agent.id), (exit_77.id, agent.id)], now=timezone.now())
    exit_1 = wait_for_status(exit_1, JobStatus.FAILED, timeout=20)
    exit_77 = wait_for_status(exit_77, JobStatus.FAILED, timeout=20)
    jobs_republish_due(now=timezone.now())

    assert (exit_1.exit_code, exit_1.error_kind, exit_1.attempt) == (1, ErrorKind.EXIT_CODE, 1)
    assert exit_1.retry_at is None and exit_1.attempts.count() == 1
    assert "boom" in exit_1.log
    assert (exit_77.exit_code, exit_77.error_kind) == (77, ErrorKind.CREDENTIAL_REJECTED)
    assert exit_77.attempts.count() == 1
    assert "login rejected" in exit_77.log
