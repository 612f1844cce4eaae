"""Jobs in the staff UI are history: read-only (no add, change or delete), the page shows the
bounded log and every attempt, and operators cancel through the agents service."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages

from agents.models import JobAttempt, JobStatus
from billing.models import Role
from tests.factories import JobFactory

pytestmark = pytest.mark.django_db

LIST = "/app/agents/job/"


def _page(job) -> str:
    return f"/app/agents/job/{job.pk}/change/"


def test_it_shows_the_log_and_every_attempt(acme, staff_client):
    job = acme["job"]
    job.log = "line one\npassword=[REDACTED:SAP_PASSWORD]\n<script>not html</script>"
    job.attempt, job.max_attempts = 2, 3
    job.save()
    JobAttempt.objects.create(
        job=job, number=1, status=JobStatus.FAILED, log="first try", exit_code=75
    )
    JobAttempt.objects.create(
        job=job, number=2, status=JobStatus.SUCCEEDED, log="second try", exit_code=0
    )

    text = staff_client(acme["org"], Role.VIEWER).get(_page(job)).content.decode()
    assert "password=[REDACTED:SAP_PASSWORD]" in text
    assert "&lt;script&gt;not html&lt;/script&gt;" in text  # the log is text, never markup
    assert "first try" in text and "second try" in text
    assert text.index("first try") < text.index("second try")
    assert "2/3" in text
    assert 'data-status="succeeded"' in text


def test_it_has_no_add_change_or_delete(acme, staff_client):
    client = staff_client(acme["org"], Role.OWNER)
    job = acme["job"]
    assert client.get("/app/agents/job/add/").status_code == 403
    assert client.get(f"/app/agents/job/{job.pk}/delete/").status_code == 403
    response = client.post(_page(job), {"status": "failed"})
    assert response.status_code == 403
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED


def test_it_cancels_a_waiting_job_for_an_operator(acme, staff_client):
    job = JobFactory(schedule=acme["schedule"], status=JobStatus.QUEUED, idempotency_key="waiting")
    client = staff_client(acme["org"], Role.OPERATOR)
    assert 'name="cancel"' in client.get(_page(job)).content.decode()

    response = client.post(
        LIST, {"action": "cancel_jobs", "_selected_action": [str(job.pk)], "_return": "change"}
    )
    assert response["Location"] == _page(job)
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELED
    assert "canceled" in [str(m) for m in get_messages(response.wsgi_request)][0]


def test_it_requests_the_cancel_of_a_running_job(acme, staff_client):
    job = JobFactory(schedule=acme["schedule"], status=JobStatus.RUNNING, idempotency_key="running")
    client = staff_client(acme["org"], Role.OPERATOR)
    client.post(LIST, {"action": "cancel_jobs", "_selected_action": [str(job.pk)], "index": "0"})
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING
    assert job.cancel_requested_at is not None


def test_it_explains_why_a_finished_job_cannot_be_canceled(acme, staff_client):
    client = staff_client(acme["org"], Role.OPERATOR)
    job = acme["job"]
    assert 'name="cancel"' not in client.get(_page(job)).content.decode()
    response = client.post(
        LIST, {"action": "cancel_jobs", "_selected_action": [str(job.pk)], "index": "0"}
    )
    [message] = [str(m) for m in get_messages(response.wsgi_request)]
    assert "already succeeded" in message


def test_it_lets_viewers_look_but_not_cancel(acme, staff_client):
    job = JobFactory(schedule=acme["schedule"], status=JobStatus.QUEUED, idempotency_key="v")
    client = staff_client(acme["org"], Role.VIEWER)
    assert 'name="cancel"' not in client.get(_page(job)).content.decode()
    assert "cancel_jobs" not in client.get(LIST).content.decode()
    client.post(LIST, {"action": "cancel_jobs", "_selected_action": [str(job.pk)], "index": "0"})
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED
