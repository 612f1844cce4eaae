"""Pre-warm through the real tick and database (SPEC §14): a full tick starts an offline agent
whose next run is within its prewarmMinutes — once, through its controller — and reports and
logs it; outside the lead, in a dry run or a scoped execution nothing is started; a failed
start is reported and fails no job. The local controller's spawn is recorded, not run (a real
agent process: tests/process/test_agent_prewarm.py)."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agents import controllers
from agents.controllers import AgentStartFailed
from agents.models import Agent, AgentStatus, Controller, Job
from schedules.api.serializers import report_json
from schedules.engine import run_tick
from schedules.selectors import prewarm_candidates
from tests.factories import AgentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def at(now):
    return now.replace(second=0)  # 14:00:00: the tick's instant, runs whole minutes ahead


@pytest.fixture
def spawned(monkeypatch, settings):
    settings.AGENT_LOCAL_CONTROLLER = True
    started: list = []
    monkeypatch.setattr(controllers, "_spawn_local", lambda agent, env: started.append(agent.id))
    return started


def offline_agent(org, *, prewarm_minutes, **kw):
    fields = dict(
        organization=org,
        status=AgentStatus.OFFLINE,
        auto_start=True,
        controller=Controller.LOCAL,
        prewarm_minutes=prewarm_minutes,
    )
    fields.update(kw)
    return AgentFactory(**fields)


def runs_in(make_due, agent, at, minutes):
    return make_due(agent=agent, cron_expression="3 14 * * *", next_run_at=at + minutes)


def test_a_full_tick_prewarms_an_agent_whose_run_is_within_its_lead(
    at, make_due, org, spawned, caplog
):
    agent = offline_agent(org, prewarm_minutes=5)
    runs_in(make_due, agent, at, timedelta(minutes=3))

    with caplog.at_level(logging.INFO, logger="schedules.engine"):
        report = report_json(run_tick(now=at))

    assert spawned == [agent.id]
    agent.refresh_from_db()
    assert (agent.status, agent.start_requested_at) == (AgentStatus.STARTING, at)
    assert report["prewarmedAgents"] == [
        {
            "agentId": str(agent.id),
            "agentName": agent.name,
            "nextFireAt": "2026-11-26T14:03:00Z",
            "prewarmMinutes": 5,
        }
    ]
    assert report["triggeredSchedules"] == report["skipped"] == report["errors"] == []
    assert not Job.objects.exists()  # a run is dispatched when it is due, not before
    [line] = [r for r in caplog.records if getattr(r, "event", None) == "agent_prewarmed"]
    assert (line.agent, line.next_fire_at, line.prewarm_minutes) == (
        agent.slug,
        "2026-11-26T14:03:00Z",
        5,
    )


def test_it_prewarms_nothing_when_the_run_is_beyond_the_lead(at, make_due, org, spawned):
    agent = offline_agent(org, prewarm_minutes=2)
    runs_in(make_due, agent, at, timedelta(minutes=3))

    report = report_json(run_tick(now=at))

    assert spawned == []
    assert report["prewarmedAgents"] == []
    assert Agent.objects.get(id=agent.id).status == AgentStatus.OFFLINE
    # A minute later the run is 2 minutes ahead: now it is.
    report = report_json(run_tick(now=at + timedelta(minutes=1)))
    assert spawned == [agent.id]


def test_it_starts_an_agent_once_across_ticks(at, make_due, org, spawned):
    agent = offline_agent(org, prewarm_minutes=5)
    runs_in(make_due, agent, at, timedelta(minutes=3))

    first = report_json(run_tick(now=at))
    second = report_json(run_tick(now=at + timedelta(minutes=1)))  # still `starting`

    assert spawned == [agent.id]
    assert len(first["prewarmedAgents"]) == 1
    assert second["prewarmedAgents"] == []


def test_it_leaves_online_disabled_manual_and_paused_schedules_agents_alone(
    at, make_due, org, spawned, online_agent
):
    online_agent.prewarm_minutes = 5
    online_agent.save()
    runs_in(make_due, online_agent, at, timedelta(minutes=3))
    disabled = offline_agent(org, prewarm_minutes=5, status=AgentStatus.DISABLED)
    runs_in(make_due, disabled, at, timedelta(minutes=3))
    manual = offline_agent(org, prewarm_minutes=5, controller=Controller.MANUAL)
    runs_in(make_due, manual, at, timedelta(minutes=3))
    paused = offline_agent(org, prewarm_minutes=5)
    s = runs_in(make_due, paused, at, timedelta(minutes=3))
    s.enabled = False
    s.save()

    report = report_json(run_tick(now=at))

    assert spawned == []
    assert report["prewarmedAgents"] == []


def test_a_dry_run_or_a_scoped_execution_prewarms_nothing(at, make_due, org, spawned):
    agent = offline_agent(org, prewarm_minutes=5)
    runs_in(make_due, agent, at, timedelta(minutes=3))

    dry = report_json(run_tick(now=at, dry_run=True))
    scoped = report_json(run_tick(now=at, organization_id=org.id, use_executor_lock=False))

    assert spawned == []
    assert dry["prewarmedAgents"] == scoped["prewarmedAgents"] == []


def test_a_failed_prewarm_is_reported_and_fails_no_job(at, make_due, org, monkeypatch, settings):
    settings.AGENT_LOCAL_CONTROLLER = True

    def broken_spawn(agent, env):
        raise AgentStartFailed("could not spawn the agent runtime: no such file")

    monkeypatch.setattr(controllers, "_spawn_local", broken_spawn)
    agent = offline_agent(org, prewarm_minutes=5)
    runs_in(make_due, agent, at, timedelta(minutes=3))
    due = make_due()  # on the online agent, due now: dispatched as usual

    report = report_json(run_tick(now=at))

    assert [t["scheduleId"] for t in report["triggeredSchedules"]] == [str(due.id)]
    assert report["prewarmedAgents"] == []
    [error] = report["errors"]
    assert (error["scheduleId"], error["code"]) == (None, "agent_start_failed")
    assert agent.slug in error["message"] and "no such file" in error["message"]
    assert Agent.objects.get(id=agent.id).status == AgentStatus.OFFLINE  # the next tick retries
    assert list(Job.objects.values_list("schedule_id", "status")) == [(due.id, "queued")]


def test_an_organization_the_billing_gate_blocks_gets_no_prewarm(at, make_due, org, spawned):
    runs_in(make_due, offline_agent(org, prewarm_minutes=5), at, timedelta(minutes=3))
    org.billing_status = "suspended"
    org.save()
    report = report_json(run_tick(now=at))
    assert spawned == [] and report["prewarmedAgents"] == []


def test_the_candidates_cost_one_query_however_many_agents(
    at, make_due, org, django_assert_num_queries
):
    for _ in range(2):
        runs_in(make_due, offline_agent(org, prewarm_minutes=5), at, timedelta(minutes=3))
    with CaptureQueriesContext(connection) as few:
        assert len(prewarm_candidates(now=at)) == 2
    for _ in range(20):
        runs_in(make_due, offline_agent(org, prewarm_minutes=5), at, timedelta(minutes=3))
    with django_assert_num_queries(len(few.captured_queries)):
        assert len(prewarm_candidates(now=at)) == 22
    assert len(few.captured_queries) == 1


def test_the_candidate_query_keeps_each_agents_soonest_run_within_a_day(at, make_due, org):
    near = offline_agent(org, prewarm_minutes=10)
    runs_in(make_due, near, at, timedelta(minutes=8))
    runs_in(make_due, near, at, timedelta(minutes=4))
    runs_in(make_due, near, at, timedelta(minutes=-1))  # due: not a pre-warm's business
    far = offline_agent(org, prewarm_minutes=10)
    runs_in(make_due, far, at, timedelta(minutes=11))  # beyond its lead: prewarm.py says no
    tomorrow = offline_agent(org, prewarm_minutes=1440)
    runs_in(make_due, tomorrow, at, timedelta(days=1, seconds=1))
    off = offline_agent(org, prewarm_minutes=0)
    runs_in(make_due, off, at, timedelta(minutes=1))

    found = {a.id: fires_at for a, fires_at in prewarm_candidates(now=at)}

    assert found == {near.id: at + timedelta(minutes=4), far.id: at + timedelta(minutes=11)}


def test_it_prewarms_within_the_ticks_budget_soonest_run_first(
    at, make_due, org, settings, monkeypatch
):
    settings.TICK_TIME_BUDGET_SECONDS = 10
    elapsed = [0.0]
    started = []

    def slow_start(*, agent, now):
        elapsed[0] += 8  # a webhook that answers slowly
        agent.start_requested_at = now
        started.append(agent.id)

    monkeypatch.setattr(controllers, "agent_start", slow_start)
    later = offline_agent(org, prewarm_minutes=5)
    runs_in(make_due, later, at, timedelta(minutes=4))
    sooner = offline_agent(org, prewarm_minutes=5)
    runs_in(make_due, sooner, at, timedelta(minutes=2))

    report = report_json(run_tick(now=at, clock=lambda: elapsed[0]))

    # The first start took 8 s; another as long would end past the 10 s budget: next tick.
    assert started == [sooner.id]
    assert [p["agentId"] for p in report["prewarmedAgents"]] == [str(sooner.id)]
    assert report["errors"] == []
