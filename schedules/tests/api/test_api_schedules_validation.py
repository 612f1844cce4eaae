"""Schedule writes: every guardrail bound, cron, timezone, variables, vault keys, references of
another organization — each a 400 naming the camelCase field, and none leaves a row behind."""

from __future__ import annotations

import pytest

from schedules import cron
from schedules.models import GUARDRAILS, Schedule
from tests.factories import AgentFactory, ScheduleFactory, ScriptFactory, schedule_body

pytestmark = pytest.mark.django_db

CAMEL = {
    "max_runtime_minutes": "maxRuntimeMinutes",
    "max_retries": "maxRetries",
    "retry_delay_seconds": "retryDelaySeconds",
    "concurrency_limit": "concurrencyLimit",
    "idempotency_window_minutes": "idempotencyWindowMinutes",
    "catch_up_window_minutes": "catchUpWindowMinutes",
    "auto_pause_after_failures": "autoPauseAfterFailures",
}
BOUNDS = [
    (CAMEL[name], value, ok)
    for name, (_, low, high) in GUARDRAILS.items()
    for value, ok in ((low - 1, False), (low, True), (high, True), (high + 1, False))
]


@pytest.fixture
def base(org):
    return schedule_body(org, name="Guarded", cron_expression="0 * * * *")


def test_it_covers_every_guardrail_of_the_model():
    assert set(CAMEL) == set(GUARDRAILS)


@pytest.mark.parametrize(("field", "value", "ok"), BOUNDS)
def test_it_enforces_each_guardrail_bound_on_create(
    api, base, assert_no_rows_written, field, value, ok
):
    if ok:
        response = api.post("/api/schedules/", {**base, field: value}, format="json")
        assert response.status_code == 201, response.data
        assert response.json()[field] == value
        return
    with assert_no_rows_written():
        response = api.post("/api/schedules/", {**base, field: value}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == [field]


@pytest.mark.parametrize(("field", "value", "ok"), BOUNDS)
def test_it_enforces_each_guardrail_bound_on_update(api, org, field, value, ok):
    schedule = ScheduleFactory(organization=org)

    response = api.patch(f"/api/schedules/{schedule.id}/", {field: value}, format="json")

    assert response.status_code == (200 if ok else 400), response.data
    schedule.refresh_from_db()
    snake = next(k for k, v in CAMEL.items() if v == field)
    if ok:
        assert getattr(schedule, snake) == value
    else:
        assert list(response.json()) == [field]
        assert getattr(schedule, snake) == GUARDRAILS[snake][0]


@pytest.mark.parametrize("value", ["ten", None, 1.5, True, 10**30, [], {}])
def test_it_rejects_a_guardrail_that_is_not_an_integer(api, base, assert_no_rows_written, value):
    with assert_no_rows_written():
        response = api.post("/api/schedules/", {**base, "maxRetries": value}, format="json")

    assert response.status_code == 400
    assert "maxRetries" in response.json()


@pytest.mark.parametrize(
    "expression", ["*/5 * * * * *", "@reboot", "5/15 * * * *", "0 0 30 2 *", "0 0 * * MONDAY", ""]
)
def test_it_rejects_a_bad_cron_with_the_parser_message(
    api, base, assert_no_rows_written, expression
):
    with assert_no_rows_written():
        response = api.post(
            "/api/schedules/", {**base, "cronExpression": expression}, format="json"
        )

    assert response.status_code == 400
    assert list(response.json()) == ["cronExpression"]
    if expression:
        with pytest.raises(cron.CronError) as exc:
            cron.parse(expression)
        assert response.json()["cronExpression"] == [str(exc.value)]


@pytest.mark.parametrize("name", ["Mars/Olympus_Mons", "", "utc+2", "../etc/passwd"])
def test_it_rejects_a_bad_timezone(api, base, assert_no_rows_written, name):
    with assert_no_rows_written():
        response = api.post("/api/schedules/", {**base, "timezone": name}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["timezone"]


@pytest.mark.parametrize("value", [["a"], "region=us", 3, None, True])
def test_it_rejects_variables_that_are_not_an_object(api, base, assert_no_rows_written, value):
    with assert_no_rows_written():
        response = api.post("/api/schedules/", {**base, "variables": value}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["variables"]


@pytest.mark.parametrize(
    "value",
    ["SAP_PASSWORD", {"SAP_PASSWORD": 1}, [1], ["has space"], ["A", "A"], [None], ["x" * 200]],
)
def test_it_rejects_vault_keys_that_are_not_a_list_of_names(
    api, base, assert_no_rows_written, value
):
    with assert_no_rows_written():
        response = api.post("/api/schedules/", {**base, "vaultKeys": value}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["vaultKeys"]


@pytest.mark.parametrize("field", ["scriptId", "agentId"])
def test_it_rejects_a_reference_to_another_organizations_object(
    api, base, other_org, assert_no_rows_written, field
):
    foreign = (ScriptFactory if field == "scriptId" else AgentFactory)(organization=other_org)

    with assert_no_rows_written():
        response = api.post("/api/schedules/", {**base, field: str(foreign.id)}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == [field]


@pytest.mark.parametrize("value", ["not-a-uuid", "00000000-0000-0000-0000-000000000000", None, 7])
@pytest.mark.parametrize("field", ["scriptId", "agentId"])
def test_it_rejects_a_reference_that_names_nothing(api, base, assert_no_rows_written, field, value):
    with assert_no_rows_written():
        response = api.post("/api/schedules/", {**base, field: value}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_it_rejects_moving_a_schedule_to_another_organizations_agent(api, org, other_org):
    schedule = ScheduleFactory(organization=org)
    foreign = AgentFactory(organization=other_org)

    response = api.patch(
        f"/api/schedules/{schedule.id}/", {"agentId": str(foreign.id)}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()) == ["agentId"]
    schedule.refresh_from_db()
    assert schedule.agent.organization == org


def test_it_names_every_missing_required_field(api, assert_no_rows_written):
    with assert_no_rows_written():
        response = api.post("/api/schedules/", {}, format="json")

    assert response.status_code == 400
    assert set(response.json()) == {"name", "scriptId", "agentId", "cronExpression"}


def test_it_rejects_a_body_that_is_not_json(api, assert_no_rows_written):
    with assert_no_rows_written():
        response = api.post(
            "/api/schedules/", "name=x", content_type="application/x-www-form-urlencoded"
        )
        broken = api.post("/api/schedules/", "{not json", content_type="application/json")

    assert response.status_code == 415
    assert broken.status_code == 400


def test_it_leaves_the_schedule_unchanged_when_an_update_fails(api, org):
    schedule = ScheduleFactory(organization=org, name="Before")
    before = Schedule.objects.filter(pk=schedule.pk).values().get()

    response = api.patch(
        f"/api/schedules/{schedule.id}/",
        {"name": "After", "cronExpression": "61 * * * *"},
        format="json",
    )

    assert response.status_code == 400
    assert Schedule.objects.filter(pk=schedule.pk).values().get() == before
