"""One Redis user per agent (SPEC §7, "The broker"), against the test run's real Redis: an agent
logged in as itself reaches its own queue and nothing else; rotation, removal and the watchdog's
sync keep Redis's users in step with the database; manual mode leaves Redis alone."""

from __future__ import annotations

import logging
import secrets
import uuid

import pytest
import redis
from rest_framework.test import APIClient

from agents import broker
from agents.broker import (
    agent_broker_url,
    broker_user_name,
    broker_user_provision,
    broker_user_remove,
    broker_users_sync,
)
from agents.dispatch import agent_queue
from agents.models import Agent, hash_token
from agents.tasks import run_watchdog
from agents.tests.conftest import agent_users
from tests.factories import AgentFactory

pytestmark = pytest.mark.django_db


class Provisioned:
    def __init__(self, org=None) -> None:
        self.token = secrets.token_urlsafe(32)
        fields = {"organization": org} if org else {}
        self.agent: Agent = AgentFactory.create(token_hash=hash_token(self.token), **fields)
        self.queue = agent_queue(self.agent.id)
        broker_user_provision(agent_id=self.agent.id, token_hash=self.agent.token_hash)

    def client(self, token: str | None = None) -> redis.Redis:
        url = agent_broker_url(agent_id=self.agent.id, token=token or self.token)
        return redis.Redis.from_url(url, socket_timeout=5)


@pytest.fixture
def a(broker_admin):
    return Provisioned()


@pytest.fixture
def b(broker_admin):
    return Provisioned()


@pytest.fixture
def as_a(a):
    client = a.client()
    yield client
    client.close()


@pytest.fixture
def b_queue_with_a_message(broker_admin, b):
    broker_admin.lpush(b.queue, "b's job")
    yield b.queue
    broker_admin.delete(b.queue)


def test_it_lets_an_agent_push_and_pop_its_own_queue(a, as_a):
    assert as_a.ping() is True
    as_a.lpush(a.queue, "one")
    assert as_a.llen(a.queue) == 1
    assert as_a.brpop([a.queue], timeout=1) == (a.queue.encode(), b"one")
    assert as_a.llen(a.queue) == 0


@pytest.mark.parametrize(
    "command",
    [
        ("LRANGE", "{q}", 0, -1),
        ("RPOP", "{q}"),
        ("BRPOP", "{q}", 1),
        ("LLEN", "{q}"),
        ("DEL", "{q}"),
        ("RENAME", "{q}", "stolen"),
        ("DUMP", "{q}"),
    ],
    ids=lambda command: command[0],
)
def test_it_refuses_an_agent_the_queue_of_another(
    as_a, b_queue_with_a_message, broker_admin, command
):
    name, *args = command
    args = [arg.format(q=b_queue_with_a_message) if isinstance(arg, str) else arg for arg in args]
    with pytest.raises(redis.exceptions.NoPermissionError):
        as_a.execute_command(name, *args)
    assert broker_admin.lrange(b_queue_with_a_message, 0, -1) == [b"b's job"]


def test_it_refuses_an_agent_a_push_to_the_control_planes_queue(as_a, broker_admin):
    with pytest.raises(redis.exceptions.NoPermissionError):
        as_a.lpush("celery", "a forged task")
    assert broker_admin.llen("celery") == 0


@pytest.mark.parametrize(
    "command",
    [
        ("PUBLISH", "/0.celery.pidbox", "{}"),  # remote control of the control plane's workers
        ("PUBLISH", "/0.celeryev/worker.heartbeat", "{}"),  # forged events
        ("SUBSCRIBE", "/0.celery.pidbox"),
        ("SUBSCRIBE", "/0.celeryev/task.succeeded"),
        ("PSUBSCRIBE", "*"),
    ],
    ids=lambda command: f"{command[0]} {command[1]}",
)
def test_it_refuses_an_agent_every_pubsub_channel(as_a, command):
    with pytest.raises(redis.exceptions.NoPermissionError):
        as_a.execute_command(*command)


@pytest.mark.parametrize(
    "command",
    [("KEYS", "*"), ("SCAN", 0), ("FLUSHALL",), ("CONFIG", "GET", "*"), ("ACL", "LIST")],
    ids=lambda command: " ".join(map(str, command)),
)
def test_it_refuses_an_agent_the_server_wide_commands(as_a, b_queue_with_a_message, command):
    with pytest.raises(redis.exceptions.NoPermissionError):
        as_a.execute_command(*command)


def test_it_refuses_a_wrong_password(a):
    client = a.client(token="not-" + a.token)
    with pytest.raises(redis.exceptions.AuthenticationError):
        client.ping()


def test_it_refuses_the_password_of_another_agent(a, b):
    client = a.client(token=b.token)
    with pytest.raises(redis.exceptions.AuthenticationError):
        client.ping()


def test_it_makes_the_previous_token_fail_on_rotation(a, as_a):
    assert as_a.ping() is True
    new_token = secrets.token_urlsafe(32)

    broker_user_provision(agent_id=a.agent.id, token_hash=hash_token(new_token))

    # The session opened with the old token is logged out…
    with pytest.raises(redis.exceptions.AuthenticationError):
        as_a.ping()
    # …and the old token no longer logs in; the new one does.
    with pytest.raises(redis.exceptions.AuthenticationError):
        a.client().ping()
    assert a.client(token=new_token).ping() is True


def test_it_deletes_the_user_of_a_removed_agent(a, broker_admin):
    broker_user_remove(agent_id=a.agent.id)

    assert broker_user_name(a.agent.id) not in agent_users(broker_admin)
    with pytest.raises(redis.exceptions.AuthenticationError):
        a.client().ping()


def test_it_changes_nothing_when_the_users_are_in_place(a, b):
    assert broker_users_sync() == 0


def test_it_recreates_the_users_after_a_redis_restart(a, b, broker_admin):
    # A Redis restarted without persistence has no user but `default`.
    for name in agent_users(broker_admin):
        broker_admin.acl_deluser(name)
    no_token = AgentFactory(token_hash="")

    assert broker_users_sync() == 2

    assert agent_users(broker_admin) == {broker_user_name(a.agent.id), broker_user_name(b.agent.id)}
    assert broker_user_name(no_token.id) not in agent_users(broker_admin)
    assert a.client().ping() is True
    assert broker_users_sync() == 0


def test_it_removes_the_users_of_agents_that_are_gone(a, b, broker_admin):
    Agent.objects.filter(id=b.agent.id).delete()
    broker_admin.acl_setuser("agent-monitoring", enabled=False)  # not one of ours: left alone

    try:
        assert broker_users_sync() == 1
        assert agent_users(broker_admin) == {broker_user_name(a.agent.id), "agent-monitoring"}
    finally:
        broker_admin.acl_deluser("agent-monitoring")


def test_it_repairs_a_rotation_whose_provisioning_failed(a, as_a, broker_admin):
    assert as_a.ping() is True
    new_token = secrets.token_urlsafe(32)
    Agent.objects.filter(id=a.agent.id).update(token_hash=hash_token(new_token))

    assert broker_users_sync() == 1

    with pytest.raises(redis.exceptions.AuthenticationError):
        as_a.ping()  # logged out
    assert a.client(token=new_token).ping() is True


def test_it_restores_rules_changed_behind_its_back(a, as_a, broker_admin):
    assert as_a.ping() is True
    broker_admin.execute_command("ACL", "SETUSER", broker_user_name(a.agent.id), "+keys", "allkeys")

    assert broker_users_sync() == 1

    with pytest.raises(redis.exceptions.NoPermissionError):
        as_a.keys("*")
    assert as_a.ping() is True  # same password: the session stays


def test_it_syncs_the_users_on_every_watchdog_run(a, broker_admin):
    broker_admin.acl_deluser(broker_user_name(a.agent.id))

    run_watchdog()

    assert a.client().ping() is True


def test_the_watchdog_endpoint_syncs_the_users_too(a, broker_admin, settings):
    # An installation driven by an external cron instead of beat (SPEC §10).
    settings.CRON_SECRET = "cron-key-for-the-test"
    broker_admin.acl_deluser(broker_user_name(a.agent.id))

    response = APIClient().post("/api/jobs/watchdog", HTTP_X_CRON_KEY="cron-key-for-the-test")

    assert response.status_code == 200
    assert a.client().ping() is True


def test_it_keeps_the_watchdog_report_when_the_sync_fails(broker_admin, monkeypatch, caplog):
    def broken():
        raise RuntimeError("boom")

    monkeypatch.setattr(broker, "broker_users_sync", broken)

    report = run_watchdog()

    assert isinstance(report, dict)
    (failed,) = [
        r for r in caplog.records if getattr(r, "event", None) == "broker_users_sync_failed"
    ]
    assert failed.exc_info and failed.exc_info[0] is RuntimeError


def test_it_puts_the_agents_user_and_token_in_its_broker_url(settings, redis_url):
    settings.BROKER_ACL_MODE = "acl"
    agent_id = uuid.uuid4()
    settings.REDIS_URL = "redis://:control-plane-secret@redis.internal:6380/0"
    settings.AGENT_BROKER_URL = ""
    assert agent_broker_url(agent_id=agent_id, token="t/k:n") == (
        f"redis://agent-{agent_id}:t%2Fk%3An@redis.internal:6380/0"
    )

    settings.AGENT_BROKER_URL = "rediss://someone:else@[2001:db8::1]:6390/0?ssl_cert_reqs=required"
    assert agent_broker_url(agent_id=agent_id, token="tok") == (
        f"rediss://agent-{agent_id}:tok@[2001:db8::1]:6390/0?ssl_cert_reqs=required"
    )


def test_it_refuses_an_agent_id_that_is_not_a_uuid():
    with pytest.raises(ValueError):
        broker_user_name("*")


def test_it_makes_no_acl_call_in_manual_mode(broker_admin, settings, monkeypatch):
    settings.BROKER_ACL_MODE = "manual"
    settings.AGENT_BROKER_URL = "rediss://agents:given-by-the-operator@redis.example:6380/0"

    def no_redis():
        raise AssertionError("manual mode must not call Redis")

    monkeypatch.setattr(broker, "_admin", no_redis)
    agent = AgentFactory(token_hash=hash_token("token"))

    broker_user_provision(agent_id=agent.id, token_hash=agent.token_hash)
    assert broker_users_sync() == 0
    broker_user_remove(agent_id=agent.id)

    assert agent_users(broker_admin) == set()
    assert agent_broker_url(agent_id=agent.id, token="token") == settings.AGENT_BROKER_URL


def test_it_logs_an_error_naming_the_mode_when_redis_refuses_acl(broker_admin, settings, caplog):
    # A managed Redis that refuses ACL SETUSER, as far as the control plane can tell.
    password = secrets.token_urlsafe(16)
    broker_admin.execute_command(
        "ACL", "SETUSER", "control-plane-without-acl", "on", f">{password}", "~*", "&*",
        "+@all", "-acl",
    )  # fmt: skip
    port = broker_admin.connection_pool.connection_kwargs["port"]
    settings.REDIS_URL = f"redis://control-plane-without-acl:{password}@127.0.0.1:{port}/0"
    agent = AgentFactory(token_hash=hash_token("token"))
    try:
        with caplog.at_level(logging.ERROR, logger="agents.broker"):
            broker_user_provision(agent_id=agent.id, token_hash=agent.token_hash)  # never raises
            assert broker_users_sync() == 0
    finally:
        broker_admin.acl_deluser("control-plane-without-acl")

    refused = [r for r in caplog.records if getattr(r, "event", None) == "broker_acl_refused"]
    assert [r.action for r in refused] == ["provision", "sync"]
    assert all(r.broker_acl_mode == "acl" for r in refused)
    assert all("BROKER_ACL_MODE=manual" in r.note for r in refused)
    assert agent_users(broker_admin) == set()
