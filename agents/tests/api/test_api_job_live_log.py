"""The live log (SPEC §14): a running job's output, appended through the agent's log endpoint,
is read in pieces by GET /api/jobs/{id}/log?after=<cursor> — stored as chunks, redacted even
when a secret is cut between two chunks, bounded per attempt, organization-scoped."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agents.joblog import LIVE_MARKER
from agents.models import Job, JobLogChunk
from agents.tests.api.test_agent_api import as_agent, claim
from tests.factories import AgentFactory, JobFactory, ScheduleFactory
from vault.services import vault_set

pytestmark = pytest.mark.django_db

SECRET = "hunter2-s3cret"


@pytest.fixture
def running(org, agent, make_job):
    """A job of `agent`, claimed: (job, post(chunk), finish(exit_code))."""
    vault_set(organization=org, key="PORTAL_PASSWORD", value=SECRET)
    job = make_job(vault_keys=["PORTAL_PASSWORD"])
    client = as_agent(agent)
    assert claim(client, agent, job).status_code == 200
    base = f"/api/agents/{agent.id}/jobs/{job.id}"

    def post(chunk: str) -> None:
        response = client.post(f"{base}/log", {"attempt": 1, "chunk": chunk}, format="json")
        assert response.status_code == 204, response.content

    def finish(exit_code: int = 0) -> None:
        body = {"attempt": 1, "exitCode": exit_code}
        assert client.post(f"{base}/finish", body, format="json").status_code == 200

    return job, post, finish


def read(api, job, after: str | None = None) -> dict:
    query = "" if after is None else f"?after={after}"
    response = api.get(f"/api/jobs/{job.id}/log{query}")
    assert response.status_code == 200, response.content
    return response.json()


def test_a_secret_cut_between_two_chunks_is_never_stored_nor_answered(api, running):
    job, post, finish = running
    post("login as bot hunt")
    post("er2-s3cret ok\n")

    chunks = list(
        JobLogChunk.objects.filter(job=job).order_by("seq").values_list("text", flat=True)
    )
    assert chunks == ["login as bot ", "[REDACTED:PORTAL_PASSWORD] ok\n"]
    answer = read(api, job)
    assert answer["log"] == "login as bot [REDACTED:PORTAL_PASSWORD] ok\n"
    stored = Job.objects.get(id=job.id)
    assert stored.log == answer["log"] and stored.log_held == ""

    # A secret's beginning held back is kept encrypted, never as text.
    post("bye hunter2")
    assert "hunter2" not in Job.objects.get(id=job.id).log_held
    assert Job.objects.get(id=job.id).log_held != ""
    finish()  # the attempt's end lets the held text out (it never became the secret)
    rest = read(api, job, answer["next"])
    assert rest == {**rest, "log": "bye hunter2", "complete": True}
    assert Job.objects.get(id=job.id).log.endswith("ok\nbye hunter2")


def test_a_reader_gets_each_piece_once_and_complete_after_the_end(api, running):
    job, post, finish = running
    first = read(api, job)
    assert (first["log"], first["complete"]) == ("", False)

    increments, cursor = [], first["next"]
    for line in ("one\n", "two\n", "three\n"):
        post(line)
        answer = read(api, job, cursor)
        assert answer["complete"] is False
        increments.append(answer["log"])
        cursor = answer["next"]
    assert increments == ["one\n", "two\n", "three\n"]
    assert read(api, job, cursor)["log"] == ""  # nothing new: the same cursor again
    assert read(api, job, cursor)["next"] == cursor

    finish()
    last = read(api, job, cursor)
    assert (last["log"], last["next"], last["complete"]) == ("", cursor, True)
    whole = read(api, job)
    assert whole["log"] == "".join(increments) == Job.objects.get(id=job.id).log
    assert whole["complete"] is True
    assert [a["number"] for a in whole["attempts"]] == [1]


def test_a_finished_job_without_chunks_answers_its_stored_log(api, org):
    job = JobFactory(
        schedule=ScheduleFactory(organization=org), log="stored before", status="failed"
    )
    answer = read(api, job)
    assert (answer["log"], answer["complete"]) == ("stored before", True)
    assert read(api, job, answer["next"])["log"] == ""


def test_a_retry_reads_after_its_attempt_line(api, running, agent):
    job, post, _ = running
    post("first try\n")
    JobLogChunk.objects.create(job=job, attempt=2, seq=1, text="second try\n", end=11)
    assert read(api, job)["log"] == "first try\n\n— attempt 2 —\nsecond try\n"


def test_an_attempts_chunks_stop_at_the_bound_where_the_log_keeps_head_and_tail(
    api, running, settings
):
    settings.JOB_LOG_MAX_BYTES = 300
    job, post, finish = running
    lines = [f"line {i:03d} " + "x" * 40 + "\n" for i in range(20)]  # 50 characters each
    for line in lines:
        post(line)
    finish()
    answer = read(api, job)
    assert answer["log"] == "".join(lines)[:300] + LIVE_MARKER.format(limit=300)
    assert JobLogChunk.objects.filter(job=job).count() == 7  # six whole, the marker's
    assert Job.objects.get(id=job.id).log.endswith(lines[-1])  # the final log keeps the end


@pytest.mark.parametrize("after", ["", "x", "1", "1:2:3", "-1:0", "99999:1"])
def test_a_bad_cursor_is_a_400_naming_after(api, running, after):
    job, _, _ = running
    response = api.get(f"/api/jobs/{job.id}/log", {"after": after})
    assert response.status_code == 400
    assert list(response.json()) == ["after"]


def test_another_organizations_job_is_a_404(client_for, other_org, running):
    from billing.models import Role

    job, post, _ = running
    post("ours\n")
    response = client_for(other_org, Role.ADMIN).get(f"/api/jobs/{job.id}/log")
    assert response.status_code == 404
    assert "ours" not in response.content.decode()


def test_the_log_is_read_in_a_constant_number_of_queries(api, running):
    job, post, _ = running

    def count(after: str | None) -> int:
        with CaptureQueriesContext(connection) as queries:
            read(api, job, after)
        return len(queries)

    post("one\n")
    few = count(None)
    for i in range(40):
        post(f"line {i}\n")
    assert count(None) == few
    assert count("1:3") == few


def test_a_job_of_an_agent_of_another_organization_cannot_be_appended(other_org, running):
    job, _, _ = running
    stranger = AgentFactory(organization=other_org)
    response = as_agent(stranger).post(
        f"/api/agents/{stranger.id}/jobs/{job.id}/log",
        {"attempt": 1, "chunk": "x\n"},
        format="json",
    )
    assert response.status_code == 404
    assert not JobLogChunk.objects.filter(job=job).exists()
