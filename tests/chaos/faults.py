"""The faults of SPEC §10, one function each: set up an organization, agents and jobs (or
schedules), break something, and say what every job must end as and within how long.

Durations at CHAOS_SCALE=1.0 are those of issue 11 (2-minute jobs, the watchdog stopped for
5 minutes, a 30 s pickup timeout); `t.seconds(base)` scales them. Each bound is the time the
product needs by its own thresholds (lost threshold, watchdog period, requeue delay, lease…)
plus the jobs' own run time and SLACK_SECONDS for process start-up — generous, but finite: a
job that is not final by then counts as lost. Every fault's bot scripts report to the suite's
collector, which judges overlaps on its own clock.
"""

from __future__ import annotations

import math
import time

from tests.chaos.harness import (
    SLACK_SECONDS,
    ChaosError,
    Fault,
    Harness,
    Runtime,
    TickProcess,
    db,
    say,
    wait_until,
)

STARTED_SECONDS = 60.0  # jobs published to a ready agent have started by then


def _runtime(h: Harness, fault: Fault, agent, name: str, **kw) -> Runtime:
    runtime = Runtime(h, agent, name, **kw).wait_ready()
    fault.runtimes.append(runtime)
    return runtime


def _wait_started(h: Harness, jobs: list[str], count: int, what: str) -> None:
    wait_until(what, STARTED_SECONDS, lambda: h.collector.started(jobs) >= count)


def agent_killed(h: Harness) -> Fault:
    """(a) An agent runtime killed with -9 while its scripts run: the scripts die with it (their
    supervisor sees its parent gone), the watchdog calls the jobs lost after the lost threshold
    and retries them; a new runtime for the agent runs them. The third job, still in the queue
    at the kill, is taken by the new runtime at once."""
    t = h.timing
    fault = Fault("a", "agent runtime killed with -9 mid-job")
    org, script = h.new_org("a")
    agent = h.new_agent(org, "a-bot", capacity=2)
    first = _runtime(h, fault, agent, "a-runtime-1")
    seconds = t.seconds(60, 5)
    fault.jobs = [h.make_job(agent, script, seconds=seconds) for _ in range(3)]
    fault.started = time.monotonic()
    h.publish([(j, agent) for j in fault.jobs])
    _wait_started(h, fault.jobs, 2, "two jobs to start")
    time.sleep(seconds / 3)
    first.kill9()
    fault.injected = time.monotonic()
    fault.note(f"runtime pid {first.proc.pid} killed with -9, two scripts mid-run")
    _runtime(h, fault, agent, "a-runtime-2")
    # lost threshold + watchdog passes, then the retried jobs run (one waits for a free slot).
    fault.bound = t.online + 2 * t.watchdog_period + 2 * seconds + SLACK_SECONDS
    return fault


def redis_restarted(h: Harness) -> Fault:
    """(b) Redis restarted without persistence while 50 jobs are queued: every queued message
    and every agent's Redis user is gone. The watchdog task re-creates the users and publishes
    again the queued jobs whose message vanished (an alive agent with a free slot has not taken
    them for JOB_REQUEUE_AFTER_SECONDS) — as many per agent and pass as it has free slots."""
    t = h.timing
    fault = Fault("b", "Redis restarted without persistence, 50 jobs queued")
    org, script = h.new_org("b")
    agents = [h.new_agent(org, f"b-bot-{i}", capacity=5) for i in (1, 2)]
    for i, agent in enumerate(agents, 1):
        _runtime(h, fault, agent, f"b-runtime-{i}")
    seconds = t.seconds(4)
    pairs = [(h.make_job(agents[i % 2], script, seconds=seconds), agents[i % 2]) for i in range(50)]
    fault.jobs = [j for j, _ in pairs]
    fault.expected_runs = {j: 1 for j in fault.jobs}  # a duplicate message is dropped by the claim
    fault.started = time.monotonic()
    h.publish(pairs)
    client = h.redis_client()
    try:
        queued = sum(client.llen(a.queue_name) for a in agents)
    finally:
        client.close()
    fault.injected = time.monotonic()
    took = h.restart_redis()
    client = h.redis_client()
    try:
        left = sum(client.llen(a.queue_name) for a in agents)
        users = [u for u in client.acl_users() if u != "default"]
    finally:
        client.close()
    fault.note(
        f"Redis restarted in {took:.1f}s with {queued} messages queued; after: {left} queued, "
        f"{len(users)} agent users"
    )
    capacity = sum(a.capacity for a in agents)
    passes = math.ceil(queued / capacity) + 2
    fault.bound = t.requeue + passes * (t.watchdog_period + seconds) + SLACK_SECONDS
    return fault


def postgres_restarted(h: Harness) -> Fault:
    """(c) PostgreSQL restarted (`pg_ctl restart -m fast`) twice while two long jobs run, each
    time with a tick stopped in the middle:
    1. a full tick (beat's, under the executor lease) inside its dispatch transaction: the
       commit fails, nothing is written; the schedule stays due and a later tick runs it;
    2. a tick for one schedule (the execute endpoint's) after its commit, before its publish:
       the message goes out, marking the job queued fails; the agent claims it as it is.
    Each schedule's occurrence must run exactly once; the long jobs must succeed (a runtime
    that could not confirm them for fenceAfterSeconds would kill them: then they are retried,
    never run twice at once)."""
    t = h.timing
    fault = Fault("c", "PostgreSQL restarted mid-tick and mid-job")
    org, script = h.new_org("c")
    agent = h.new_agent(org, "c-bot", capacity=4)
    _runtime(h, fault, agent, "c-runtime")
    long_seconds = t.seconds(60, 10)
    fault.jobs = [h.make_job(agent, script, seconds=long_seconds) for _ in range(2)]
    fault.started = time.monotonic()
    h.publish([(j, agent) for j in fault.jobs])
    _wait_started(h, fault.jobs, 2, "the long jobs to start")
    short = t.seconds(10, 2)
    fault.schedule_job_runs = 1
    h.beat.pause_ticks()
    try:
        h.wait_tick_lease_free()
        in_tx = h.make_schedule(agent, script, seconds=short, name="c: tick in transaction")
        fault.schedules.append(in_tx)
        tick = TickProcess(h, "in-transaction")
        tick.expect("PAUSED", 60)
        fault.injected = time.monotonic()
        took = h.restart_postgres()
        tick.go()
        code, report = tick.finish()
        fault.note(
            f"PostgreSQL restarted in {took:.1f}s under a full tick paused in its transaction: "
            f"tick exit {code}, report errors {_codes(report)}"
        )
        before = h.make_schedule(agent, script, seconds=short, name="c: tick before publish")
        fault.schedules.append(before)
        tick = TickProcess(h, "before-publish", schedule_id=before)
        tick.expect("PAUSED", 60)
        took = h.restart_postgres()
        tick.go()
        code, report = tick.finish()
        fault.note(
            f"PostgreSQL restarted in {took:.1f}s under a schedule's tick paused between commit "
            f"and publish: tick exit {code}, report errors {_codes(report)}"
        )
    finally:
        h.beat.resume_ticks()
    # The first schedule waits for a tick, which may wait for the first tick's lease to expire.
    fault.bound = (
        max(long_seconds, t.lease + 2 * t.tick_period + short)
        + 2 * t.watchdog_period
        + t.online
        + SLACK_SECONDS
    )
    return fault


def tick_killed(h: Harness) -> Fault:
    """(d) The tick's process killed (SIGKILL) between its commit and its publish: the jobs
    are committed `queued` (the tick writes each job once) with no message anywhere, and the
    dead tick still holds the executor lease. The watchdog's vanished-message check publishes
    queued jobs that an alive agent with a free slot has not taken for
    JOB_REQUEUE_AFTER_SECONDS and that are not on its queue (agents.dispatch)."""
    from agents.models import Job

    t = h.timing
    fault = Fault("d", "the tick's process killed between commit and publish")
    org, script = h.new_org("d")
    agent = h.new_agent(org, "d-bot", capacity=3)
    _runtime(h, fault, agent, "d-runtime")
    seconds = t.seconds(10, 2)
    fault.schedule_job_runs = 1
    h.beat.pause_ticks()
    try:
        fault.schedules = [
            h.make_schedule(agent, script, seconds=seconds, name=f"d: schedule {i}")
            for i in range(3)
        ]
        h.wait_tick_lease_free()
        fault.started = time.monotonic()
        tick = TickProcess(h, "before-publish")
        tick.expect("PAUSED", 60)
        queued = db(
            lambda: Job.objects.filter(schedule_id__in=fault.schedules, status="queued").count()
        )
        if queued != 3:
            raise ChaosError(f"the paused tick committed {queued} queued jobs, not 3")
        tick.kill9()
        fault.injected = time.monotonic()
        fault.note("tick process killed with -9 after committing 3 queued jobs, none sent")
    finally:
        h.beat.resume_ticks()
    fault.bound = t.requeue + 2 * t.watchdog_period + seconds + SLACK_SECONDS
    return fault


def clock_skewed(h: Harness) -> Fault:
    """(e) Two agent hosts, one clock 5 minutes ahead, one 5 minutes behind (simulated in the
    runtime process, tests/chaos/clock_skew.py). The runtime sends no timestamp and times
    deadlines on its monotonic clock: every job runs exactly once per attempt, and a transient
    failure (exit 75) is retried after its delay on the control plane's clock."""
    t = h.timing
    fault = Fault("e", "agent host clock 5 min ahead / 5 min behind")
    org, script = h.new_org("e")
    seconds = t.seconds(20, 2)
    retry_delay = max(1, round(10 * t.scale))
    fault.started = time.monotonic()
    pairs = []
    for offset in (300.0, -300.0):
        name = "ahead" if offset > 0 else "behind"
        agent = h.new_agent(org, f"e-bot-{name}", capacity=2)
        runtime = _runtime(h, fault, agent, f"e-runtime-{name}", clock_offset=offset)
        seen = runtime.logged_clock_offset()
        if seen is None or abs(seen - offset) > 60:
            raise ChaosError(f"the {name} runtime's clock is not {offset:+g}s off (log: {seen})")
        fault.note(f"runtime {name}: its log clock is {seen:+.0f}s off the real one")
        for _ in range(2):
            job = h.make_job(agent, script, seconds=seconds)
            fault.expected_runs[job] = 1
            pairs.append((job, agent))
        job = h.make_job(agent, script, seconds=seconds, fail_attempts=1, retry_delay=retry_delay)
        fault.expected_runs[job] = 2  # exit 75, then a retry that succeeds
        pairs.append((job, agent))
    fault.jobs = [j for j, _ in pairs]
    h.publish(pairs)
    fault.bound = (
        3 * seconds + retry_delay + 2 * max(t.tick_period, t.watchdog_period) + SLACK_SECONDS
    )
    return fault


def watchdog_stopped(h: Harness) -> Fault:
    """(f) The watchdog stopped for 5 minutes, then started again. Meanwhile one agent runs a
    job longer than the stop (it must run once and succeed: after the gap the watchdog waits a
    full lost threshold of its own uptime before calling anything lost, and this runtime
    heartbeats throughout), and another agent is killed with -9 mid-job and started again (its
    job can only be found lost once the watchdog is back; then it is retried)."""
    t = h.timing
    stop = t.seconds(300, 10)
    fault = Fault("f", f"watchdog stopped for {_span(stop)}, then started")
    org, script = h.new_org("f")
    live = h.new_agent(org, "f-bot-live")
    doomed = h.new_agent(org, "f-bot-killed")
    _runtime(h, fault, live, "f-runtime-live")
    victim = _runtime(h, fault, doomed, "f-runtime-killed-1")
    killed_seconds = t.seconds(60, 5)
    long_job = h.make_job(live, script, seconds=stop + 2 * t.online)
    killed_job = h.make_job(doomed, script, seconds=killed_seconds)
    fault.jobs = [long_job, killed_job]
    fault.expected_runs = {long_job: 1, killed_job: 2}
    fault.started = time.monotonic()
    h.publish([(long_job, live), (killed_job, doomed)])
    _wait_started(h, fault.jobs, 2, "both jobs to start")
    h.beat.watchdog_on.clear()
    stopped = time.monotonic()
    say(f"(f) watchdog stopped for {stop:.0f}s")
    time.sleep(min(killed_seconds, stop) / 3)
    victim.kill9()
    fault.note(
        f"runtime of f-bot-killed killed with -9 {time.monotonic() - stopped:.0f}s into the stop"
    )
    _runtime(h, fault, doomed, "f-runtime-killed-2")
    time.sleep(max(0.0, stopped + stop - time.monotonic()))
    h.beat.watchdog_on.set()
    fault.injected = time.monotonic()
    fault.note(f"watchdog started again after {fault.injected - stopped:.0f}s")
    remaining = max(0.0, fault.started + stop + 2 * t.online - fault.injected)
    fault.bound = max(remaining, t.online + 2 * t.watchdog_period + killed_seconds) + SLACK_SECONDS
    return fault


def waiting_for_a_slot(h: Harness) -> Fault:
    """(g) Two agents of capacity 1 and five overlapping 2-minute jobs, with a 30 s pickup
    timeout: the jobs wait up to 4 minutes for a slot on a live agent, which is never a fault
    (SPEC §10) — none may fail for waiting, each runs once."""
    t = h.timing
    seconds = t.seconds(120, 5)
    fault = Fault(
        "g",
        f"2 agents x capacity 1, 5 overlapping {_span(seconds)} jobs, {t.pickup} s pickup timeout",
    )
    org, script = h.new_org("g")
    agents = [h.new_agent(org, f"g-bot-{i}") for i in (1, 2)]
    for i, agent in enumerate(agents, 1):
        _runtime(h, fault, agent, f"g-runtime-{i}")
    pairs = [(h.make_job(agents[i % 2], script, seconds=seconds), agents[i % 2]) for i in range(5)]
    fault.jobs = [j for j, _ in pairs]
    fault.expected_runs = {j: 1 for j in fault.jobs}
    fault.started = time.monotonic()
    h.publish(pairs)
    fault.bound = 3 * seconds + 2 * t.watchdog_period + SLACK_SECONDS
    return fault


def after_waiting_for_a_slot(fault: Fault, pickup: int) -> None:
    waits = [
        (r["started_at"] - r["queued_at"]).total_seconds()
        for r in fault.rows
        if r["started_at"] and r["queued_at"]
    ]
    if waits:
        fault.note(f"longest wait for a slot {max(waits):.0f}s (pickup timeout {pickup}s)")


def _span(seconds: float) -> str:
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"


def _codes(report: dict | None) -> str:
    if report is None:
        return "(no report: the tick ended with an exception)"
    return ",".join(sorted({e["code"] for e in report.get("errors", [])})) or "none"


FAULTS = {
    "a": agent_killed,
    "b": redis_restarted,
    "c": postgres_restarted,
    "d": tick_killed,
    "e": clock_skewed,
    "f": watchdog_stopped,
    "g": waiting_for_a_slot,
}
