"""The webhook controller POSTs a signed JSON request; a connection error, a timeout or a
non-2xx answer is AgentStartFailed with a message that never carries the secret, and the agent
is left startable for the next tick. These endpoints live on loopback, which only
AGENT_WEBHOOK_ALLOW_PRIVATE permits; without it the URL is refused before any connection."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from agents import netguard
from agents.controllers import AgentStartFailed, agent_start, agent_stop
from agents.models import Agent, AgentStatus, Controller, hash_token
from tests.factories import AgentFactory

SECRET = "whsec-0123456789abcdef"


@pytest.fixture(autouse=True)
def _loopback_webhooks_allowed(settings):
    settings.AGENT_WEBHOOK_ALLOW_PRIVATE = True


class Endpoint:
    """A tiny local HTTP server answering every POST with `status` after `delay` seconds."""

    def __init__(self, status: int = 204, delay: float = 0.0):
        self.requests: list[tuple[dict, bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.requests.append((dict(self.headers), body))
                time.sleep(delay)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/boot?token=abc"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint():
    servers = []

    def make(**kw) -> Endpoint:
        servers.append(Endpoint(**kw))
        return servers[-1]

    yield make
    for server in servers:
        server.close()


def webhook_agent(url: str, **kw) -> Agent:
    return AgentFactory.create(
        controller=Controller.WEBHOOK,
        auto_start=True,
        controller_config={"url": url, "secret": SECRET},
        **kw,
    )


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def assert_start_fails(agent: Agent, *, containing: str) -> None:
    with pytest.raises(AgentStartFailed) as failure:
        agent_start(agent=agent, now=timezone.now())
    message = str(failure.value)
    assert containing in message
    assert SECRET not in message and "token=abc" not in message
    agent.refresh_from_db()
    assert agent.status == AgentStatus.OFFLINE and agent.start_requested_at is None


def test_it_posts_a_signed_start_request(db, endpoint):
    server = endpoint(status=204)
    agent = webhook_agent(server.url)
    now = timezone.now()

    agent_start(agent=agent, now=now)

    [(headers, body)] = server.requests
    expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Mimic-Signature"] == f"sha256={expected}"
    assert headers["Content-Type"] == "application/json"
    payload = json.loads(body)
    environment = payload.pop("runtimeEnvironment")
    assert payload == {
        "agentId": str(agent.id),
        "slug": agent.slug,
        "action": "start",
        "ts": now.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ"),  # whole seconds, UTC
    }
    agent.refresh_from_db()
    assert agent.status == AgentStatus.STARTING and agent.start_requested_at == now
    # A start issues the runtime a fresh token, in the signed body (never in the URL).
    assert environment["MIMIC_AGENT_ID"] == str(agent.id)
    assert hash_token(environment["MIMIC_AGENT_TOKEN"]) == agent.token_hash
    assert environment["MIMIC_AGENT_TOKEN"] in environment["MIMIC_BROKER_URL"]


def test_it_fails_on_a_closed_port(db):
    agent = webhook_agent(f"http://127.0.0.1:{closed_port()}/boot?token=abc")
    assert_start_fails(agent, containing="unreachable")


def test_it_fails_on_a_server_error(db, endpoint):
    agent = webhook_agent(endpoint(status=500).url)
    assert_start_fails(agent, containing="HTTP 500")


def test_it_fails_on_a_redirect(db, endpoint):
    agent = webhook_agent(endpoint(status=302).url)
    assert_start_fails(agent, containing="HTTP 302")


def test_it_fails_on_a_slow_endpoint(db, endpoint, settings):
    settings.AGENT_WEBHOOK_TIMEOUT_SECONDS = 0.3
    agent = webhook_agent(endpoint(status=204, delay=2).url)
    started = time.monotonic()
    assert_start_fails(agent, containing="timed out after 0.3s")
    assert time.monotonic() - started < 1.5


def test_it_fails_without_a_url_or_secret(db):
    agent = AgentFactory(controller=Controller.WEBHOOK, controller_config={"url": "file:///etc"})
    assert_start_fails(agent, containing="must start with https:// or http://")
    agent = AgentFactory(controller=Controller.WEBHOOK, controller_config={"url": "http://x/"})
    assert_start_fails(agent, containing="signing secret")


def test_it_never_auto_starts_a_manual_agent(db):
    agent = AgentFactory(controller=Controller.MANUAL)
    with pytest.raises(AgentStartFailed, match="manual controller cannot auto-start"):
        agent_start(agent=agent, now=timezone.now())


def test_it_posts_a_signed_stop_request(db, endpoint):
    server = endpoint(status=200)
    agent = webhook_agent(server.url)
    agent_stop(agent=agent, now=timezone.now())
    [(_headers, body)] = server.requests
    assert json.loads(body)["action"] == "stop"


def test_it_starts_an_agent_once_when_two_starts_race(db, endpoint):
    server = endpoint(status=204)
    agent = webhook_agent(server.url)
    now = timezone.now()
    agent_start(agent=Agent.objects.get(id=agent.id), now=now)
    agent_start(agent=Agent.objects.get(id=agent.id), now=now)  # sees the fresh start request
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9/boot", "https://10.0.0.5/boot", "https://internal.example.com/x"]
)
def test_it_refuses_a_private_url_without_connecting(
    db, settings, fake_dns, monkeypatch, caplog, url
):
    settings.AGENT_WEBHOOK_ALLOW_PRIVATE = False
    fake_dns({"internal.example.com": ["10.9.8.7"]})
    monkeypatch.setattr(netguard, "_open_socket", lambda *a, **kw: pytest.fail("connected"))
    agent = webhook_agent(url)

    with caplog.at_level(logging.WARNING), pytest.raises(AgentStartFailed) as failure:
        agent_start(agent=agent, now=timezone.now())

    message = str(failure.value)
    assert failure.value.code == "not_startable"
    assert "must" in message
    assert not any(detail in message for detail in ("127.0.0.1", "10.0.0.5", "10.9.8.7"))
    agent.refresh_from_db()
    assert agent.status == AgentStatus.OFFLINE and agent.start_requested_at is None
    if "internal" in url:  # the resolved address is for the server's log only
        assert "10.9.8.7" in caplog.text


def test_it_refuses_a_name_that_turned_private_since_it_was_saved(
    db, settings, fake_dns, monkeypatch
):
    settings.AGENT_WEBHOOK_ALLOW_PRIVATE = False
    fake_dns({"vm-boot.example.com": ["93.184.216.34"]})
    agent = webhook_agent("https://vm-boot.example.com/start")  # public when saved
    fake_dns({"vm-boot.example.com": ["169.254.169.254"]})  # and now the metadata service
    monkeypatch.setattr(netguard, "_open_socket", lambda *a, **kw: pytest.fail("connected"))

    assert_start_fails(agent, containing="public internet address")
