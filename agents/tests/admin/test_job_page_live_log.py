"""A running job's admin page shows its live log and follows it (mimic/livelog.js asks the
page's log URL with the cursor until the answer is complete); a finished job's page shows the
bounded log, nothing to follow."""

from __future__ import annotations

import pytest

from agents.models import JobLogChunk, JobStatus
from billing.models import Role

pytestmark = pytest.mark.django_db


def _running(job) -> None:
    job.status, job.log = JobStatus.RUNNING, "step 1\n"
    job.save()
    JobLogChunk.objects.create(job=job, attempt=1, seq=1, text="step 1\n", end=7)


def test_a_running_jobs_page_follows_its_log(acme, staff_client):
    job = acme["job"]
    _running(job)
    client = staff_client(acme["org"], Role.VIEWER)

    text = client.get(f"/app/agents/job/{job.pk}/change/").content.decode()
    url = f"/app/agents/job/{job.pk}/log/"
    assert f'data-live-log="{url}" data-next="1:1"' in text
    assert "step 1\n</pre>" in text
    assert "mimic/livelog.js" in text

    assert client.get(url, {"after": "1:1"}).json() == {"log": "", "next": "1:1", "complete": False}
    JobLogChunk.objects.create(job=job, attempt=1, seq=2, text="step 2\n", end=14)
    job.status = JobStatus.SUCCEEDED
    job.save()
    answer = client.get(url, {"after": "1:1"}).json()
    assert answer == {"log": "step 2\n", "next": "1:2", "complete": True}


def test_a_finished_jobs_page_has_nothing_to_follow(acme, staff_client):
    job = acme["job"]
    job.status, job.log = JobStatus.FAILED, "the end\n"
    job.save()
    text = staff_client(acme["org"], Role.VIEWER).get(f"/app/agents/job/{job.pk}/change/")
    assert "data-live-log" not in text.content.decode()
    assert "the end\n</pre>" in text.content.decode()


def test_the_log_url_is_scoped_and_refuses_a_bad_cursor(acme, globex, staff_client):
    job = acme["job"]
    _running(job)
    url = f"/app/agents/job/{job.pk}/log/"
    stranger = staff_client(globex["org"], Role.ADMIN)
    assert stranger.get(url).status_code == 404
    response = staff_client(acme["org"], Role.VIEWER).get(url, {"after": "nope"})
    assert response.status_code == 400 and list(response.json()) == ["after"]
