"""The runtime's heartbeat (agents/runtime/heartbeat.py) obeys its answers and fences: cancel
and drop kill those attempts, stop shuts the runtime down once, a refused token kills
everything, and a control plane unreachable for fenceAfterSeconds gets every script killed.
The client is a stand-in for the network (the real one is exercised by the process tests)."""

from __future__ import annotations

from agents.runtime import heartbeat
from agents.runtime.client import Unauthorized, Unreachable
from agents.runtime.jobs import CANCELED, DROPPED, FENCED, STOPPING, Registry, RunningJob, Tuning


class Answers:
    def __init__(self, *answers: dict) -> None:
        self.answers = list(answers)
        self.sent: list[list] = []

    def heartbeat(self, *, running, hostname, stopped=False, timeout=None):
        self.sent.append(running)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def pulse_with(client, *jobs: RunningJob):
    registry = Registry()
    for job in jobs:
        registry.add(job)
    shutdowns: list[bool] = []
    pulse = heartbeat.Pulse(
        client=client, registry=registry, tuning=Tuning(), shutdown=lambda: shutdowns.append(True)
    )
    return pulse, shutdowns


def test_it_reports_running_attempts_and_obeys_cancel_and_drop():
    a, b, c = RunningJob("a", 1), RunningJob("b", 2), RunningJob("c", 1)
    client = Answers({"cancel": ["a"], "drop": ["b"], "stop": False, "heartbeatSeconds": 0.5})
    pulse, shutdowns = pulse_with(client, a, b, c)
    pulse.beat()
    assert sorted(client.sent[0]) == [("a", 1), ("b", 2), ("c", 1)]
    assert (a.kill_reason, b.kill_reason, c.kill_reason) == (CANCELED, DROPPED, None)
    assert pulse.tuning.heartbeat_seconds == 0.5 and not shutdowns


def test_a_stop_answer_shuts_down_once():
    pulse, shutdowns = pulse_with(Answers({"stop": True}, {"stop": True}))
    pulse.beat()
    pulse.beat()
    assert shutdowns == [True]


def test_a_refused_token_kills_every_script_and_shuts_down():
    job = RunningJob("a", 1)
    pulse, shutdowns = pulse_with(Answers(Unauthorized("rotated")), job)
    pulse.beat()
    assert job.kill_reason == STOPPING and shutdowns == [True]


def test_it_fences_only_after_the_silence_outlasts_fence_after_seconds(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(heartbeat, "boottime", lambda: clock[0])
    job = RunningJob("a", 1)
    pulse, _ = pulse_with(Answers({"fenceAfterSeconds": 30}, *[Unreachable("down")] * 3), job)
    pulse.beat()  # confirmed at t=1000, fence after 30 s
    clock[0] = 1020.0
    pulse.beat()
    assert job.kill_reason is None  # 20 s of silence: keep the bot running
    clock[0] = 1031.0
    pulse.beat()
    assert job.kill_reason == FENCED  # 31 s: the control plane may have given it away
