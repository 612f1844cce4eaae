"""Live logs (SPEC §14): while a real agent runs a 30-second script that prints a line every
second, GET /api/jobs/{id}/log?after=<cursor> answers a growing log — pieces that, put end to
end, are the job's final log — and says `complete` only once the job has ended."""

from __future__ import annotations

import time

import pytest
from django.utils import timezone

from agents.dispatch import jobs_publish
from agents.models import Job, JobStatus
from billing.models import Role
from tests.process.helpers import make_agent, make_job, make_org

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

LINES = 30
SCRIPT = f"""
import time
for i in range({LINES}):
    print("tick %02d" % i)
    time.sleep(1)
"""


def test_the_log_grows_while_the_script_runs(start_agent, client_for):
    org = make_org()
    agent = make_agent(org)
    job = make_job(agent, SCRIPT)
    start_agent(agent)
    api = client_for(org, Role.VIEWER)
    assert jobs_publish(jobs=[(job.id, agent.id)], now=timezone.now()).published == [job.id]

    increments: list[str] = []  # the non-empty pieces read while the job had not ended
    pieces: list[str] = []
    cursor = None
    give_up = time.monotonic() + LINES + 60
    while time.monotonic() < give_up:
        query = {} if cursor is None else {"after": cursor}
        response = api.get(f"/api/jobs/{job.id}/log", query)
        assert response.status_code == 200, response.content
        answer = response.json()
        pieces.append(answer["log"])
        cursor = answer["next"]
        if answer["complete"]:
            break
        if answer["log"]:
            increments.append(answer["log"])
        time.sleep(0.5)
    else:
        pytest.fail(f"the log never became complete; read so far: {''.join(pieces)!r}")

    job = Job.objects.get(id=job.id)
    assert job.status == JobStatus.SUCCEEDED
    expected = "".join(f"tick {i:02d}\n" for i in range(LINES))
    assert job.log == expected
    assert "".join(pieces) == expected  # each line read once, in order, none lost
    # It grew while the script ran: many separate pieces, each whole lines, before the end.
    assert len(increments) >= 5, increments
    assert all(piece.endswith("\n") for piece in increments), increments
    again = api.get(f"/api/jobs/{job.id}/log", {"after": cursor}).json()
    assert (again["log"], again["next"], again["complete"]) == ("", cursor, True)
