"""A finished attempt is reported until the control plane takes it (agents/runtime/jobs.py):
while it is away the attempt stays registered, so heartbeats keep it alive when it comes back
and it is never declared lost and run again; a drop ends the attempt's reporting."""

from __future__ import annotations

from agents.runtime import jobs
from agents.runtime.client import Unreachable


class Client:
    def __init__(self, failures: int, registry: jobs.Registry):
        self.failures, self.registry = failures, registry
        self.calls: list[list] = []

    def finish(self, *, job_id, attempt, report):
        self.calls.append(self.registry.snapshot())
        if self.failures:
            self.failures -= 1
            raise Unreachable("control plane away")
        return {"status": "succeeded"}


def context(client, registry) -> jobs.Context:
    return jobs.Context(
        client=client,
        registry=registry,
        tuning=jobs.Tuning(heartbeat_seconds=0.01),
        work_base="/nonexistent",
        user=None,
        python="python3",
        passthrough={},
    )


def test_it_keeps_reporting_and_stays_registered_until_the_report_lands():
    registry = jobs.Registry()
    running = jobs.RunningJob("job-1", 1)
    registry.add(running)
    client = Client(failures=3, registry=registry)
    answer = jobs._report(context(client, registry), running=running, report={"exitCode": 0})
    assert answer == {"status": "succeeded"}
    assert client.calls == [[("job-1", 1)]] * 4  # heartbeats reported it all along


def test_a_dropped_attempt_stops_reporting():
    registry = jobs.Registry()
    running = jobs.RunningJob("job-1", 1)
    registry.add(running)
    running.kill(jobs.DROPPED)
    client = Client(failures=100, registry=registry)
    answer = jobs._report(context(client, registry), running=running, report={"exitCode": 0})
    assert answer is jobs._UNREPORTED and len(client.calls) == 1
