"""decide() with an overlap policy, pure: an occurrence the concurrency limit blocks is held
(queue_one, replace) or skipped (skip); a forced run, or another gate's block, is never held; a
held occurrence spends the run budget but not the slot, the quota or lastRunAt."""

from __future__ import annotations

from agents.models import JobStatus, Trigger
from schedules.decisions import decide
from schedules.tests.test_start_deadline import NOW, context, schedule


def blocked(policy, **fields):
    fields.setdefault("start_deadline_minutes", None)
    s = schedule(overlap_policy=policy, **fields)
    ctx = context(s)
    ctx.active_jobs[s.id] = 1
    return s, ctx


def test_skip_skips():
    s, ctx = blocked("skip")
    d = decide(s, ctx, now=NOW, force=False)
    assert d.job is None and not d.held
    assert d.report_skips == [("concurrency_limit", "1 active job(s), limit 1")]


def test_queue_one_and_replace_hold_the_occurrence():
    for policy in ("queue_one", "replace"):
        s, ctx = blocked(policy, start_deadline_minutes=45)
        d = decide(s, ctx, now=NOW, force=False)
        assert d.held and d.replace_active == (policy == "replace")
        assert d.job["status"] == JobStatus.HELD and d.job["trigger"] == Trigger.SCHEDULED
        assert d.job["idempotency_key"] == f"{s.id}:2026-11-26T14:00:00Z"
        assert d.job["start_deadline_at"] == NOW.replace(minute=45, second=0)
        [(reason, detail)] = d.report_skips
        assert reason == "concurrency_limit" and detail.startswith("held: 1 active job(s)")
        [event] = d.events
        assert (event["kind"], event["job_id"]) == ("skipped", d.job["id"])
        # No slot, no quota: a held job counts when it is released.
        assert ctx.active_jobs[s.id] == 1
        assert ctx.runs_added.get(s.organization_id, 0) == 0


def test_a_held_occurrence_spends_the_run_budget():
    s, ctx = blocked("queue_one", remaining_runs=1)
    d = decide(s, ctx, now=NOW, force=False)
    assert d.held and d.spend_run and d.stop_reason == "run_budget_spent"


def test_a_forced_run_is_never_held():
    s, ctx = blocked("replace")
    d = decide(s, ctx, now=NOW, force=True)
    assert d.job is None and not d.held


def test_another_gate_first_is_a_skip():
    s, ctx = blocked("queue_one")
    ctx.billing.clear()  # billing blocks before concurrency
    d = decide(s, ctx, now=NOW, force=False)
    assert d.job is None and d.report_skips[0][0] == "billing_blocked"
