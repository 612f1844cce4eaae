"""The broker's access control: one Redis ACL user per agent (SPEC §7, "The broker").

An agent runtime logs in to Redis as `agent-<agent id>` with its agent token as the password. The
control plane never keeps the plaintext token, only its SHA-256 (`Agent.token_hash`), which is
what Redis stores for a password anyway: `ACL SETUSER … #<sha256 hex>` provisions the user from
the hash, so the control plane can re-create it at any time (after a Redis restart without
persistence) without knowing the token.

The user reaches its own queue keys and nothing else — the rule set below was found by running a
real Celery worker as the user and reading `ACL LOG` (agents/tests/test_broker_acl_celery.py
proves it still consumes):

- keys `agent.<id>*`: the queue list and kombu's priority lists (`agent.<id>\\x06\\x16<n>`);
  `_kombu.binding.agent.<id>` and `_kombu.binding_permanent.agent.<id>`: the worker declares its
  queue's binding to its own direct exchange on start-up (two SADDs). No key two agents share:
  the shared ones (`unacked*`, the pidbox and event bindings) are used only by features the
  runtime turns off (ack emulation, remote control, events).
- commands: BRPOP (consume), LLEN in MULTI/EXEC (queue size at declaration), SADD (binding),
  PING (connection checks), LPUSH (kombu puts back a message received but not yet acknowledged
  when the worker stops; only ever onto its own queue).
- no pub/sub channel at all (`resetchannels`): it can neither publish to nor listen on pidbox or
  event channels.

Redis users outlive nothing: a Redis restarted without persistence has none, so the watchdog beat
task calls `broker_users_sync` every 30 s. In `BROKER_ACL_MODE=manual` (a managed Redis that
refuses `ACL SETUSER`) nothing here touches Redis and agents get `AGENT_BROKER_URL` as the
operator wrote it.

Failures never propagate: the database row is the truth and the next sync repairs the broker, so
creating an agent or rotating its token never fails because Redis was briefly away. They are
logged; a Redis that refuses ACL commands is logged as an error naming BROKER_ACL_MODE.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterable
from urllib.parse import quote, urlsplit, urlunsplit

import redis
from django.conf import settings

from agents.dispatch import agent_queue
from agents.models import Agent
from agents.runtime.logformat import log_event

log = logging.getLogger(__name__)

MODE_ACL = "acl"
MODE_MANUAL = "manual"

USER_PREFIX = "agent-"
_USER_NAME = re.compile(r"agent-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})")
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")

# What a consuming Celery worker sends (see the module docstring); anything else is refused.
WORKER_COMMANDS = ("brpop", "lpush", "llen", "sadd", "multi", "exec", "ping")

# The control plane's own ACL calls must not hang a request or the watchdog on a stuck Redis.
_SOCKET_TIMEOUT_SECONDS = 5.0

_REFUSED_HINT = (
    "this Redis refuses ACL commands to the control plane's user (REDIS_URL). Give that user "
    "+acl and +client|kill, or, for a managed Redis that does not allow ACL SETUSER, set "
    "BROKER_ACL_MODE=manual and give agents a broker URL yourself (AGENT_BROKER_URL)"
)


def _manual() -> bool:
    return settings.BROKER_ACL_MODE == MODE_MANUAL


def _agent_uuid(agent_id) -> uuid.UUID:
    # A UUID and nothing else: the id becomes part of key patterns, where `*` would widen them.
    return agent_id if isinstance(agent_id, uuid.UUID) else uuid.UUID(str(agent_id))


def broker_user_name(agent_id) -> str:
    """The agent's Redis user."""
    return f"{USER_PREFIX}{_agent_uuid(agent_id)}"


def broker_user_rules(*, agent_id, token_hash: str) -> list[str]:
    """The `ACL SETUSER` rules of the agent's user, password given as its SHA-256 hex."""
    if not _SHA256_HEX.fullmatch(token_hash):
        raise ValueError("token_hash must be a SHA-256 hex digest (lower case)")
    queue = agent_queue(_agent_uuid(agent_id))
    return [
        "reset",  # nothing left over from an earlier provisioning
        "on",
        f"#{token_hash}",
        f"~{queue}*",
        f"~_kombu.binding.{queue}",
        f"~_kombu.binding_permanent.{queue}",
        "resetchannels",
        "-@all",
        *(f"+{command}" for command in WORKER_COMMANDS),
    ]


def agent_broker_url(*, agent_id, token: str) -> str:
    """The broker URL an agent runtime is given (MIMIC_BROKER_URL): its own user and token on
    AGENT_BROKER_URL (default: REDIS_URL without the control plane's credentials). In manual
    mode, AGENT_BROKER_URL exactly as the operator gave it."""
    if _manual():
        return settings.AGENT_BROKER_URL
    parts = urlsplit(settings.AGENT_BROKER_URL or settings.REDIS_URL)
    host = parts.netloc.rpartition("@")[2]  # keeps the port and an IPv6 host's brackets
    userinfo = f"{quote(broker_user_name(agent_id), safe='')}:{quote(token, safe='')}"
    return urlunsplit(parts._replace(netloc=f"{userinfo}@{host}"))


def _admin() -> redis.Redis:
    """A client as the control plane's own user, which holds the ACL rights."""
    return redis.Redis.from_url(
        settings.REDIS_URL,
        socket_timeout=_SOCKET_TIMEOUT_SECONDS,
        socket_connect_timeout=_SOCKET_TIMEOUT_SECONDS,
    )


def _log_failure(action: str, exc: Exception, *, user: str | None = None) -> None:
    if isinstance(exc, redis.ResponseError):  # NOPERM, unknown command: refused, not unreachable
        log_event(
            log,
            logging.ERROR,
            "broker_acl_refused",
            action=action,
            user=user,
            error=str(exc),
            broker_acl_mode=settings.BROKER_ACL_MODE,
            note=_REFUSED_HINT,
        )
    else:
        log_event(
            log,
            logging.WARNING,
            "broker_acl_failed",
            action=action,
            user=user,
            error=f"{type(exc).__name__}: {exc}",
            note="the watchdog's sync retries",
        )


def _setuser(pipe: redis.client.Pipeline, *, name: str, rules: list[str], kill: bool) -> None:
    pipe.execute_command("ACL", "SETUSER", name, *rules)
    if kill:
        # A changed password does not log out connections opened with the old one (Redis keeps
        # them authenticated): the previous token must stop working at once, on the broker too.
        pipe.execute_command("CLIENT", "KILL", "USER", name)


def _execute(pipe: redis.client.Pipeline) -> None:
    for result in pipe.execute(raise_on_error=False):
        if isinstance(result, Exception):
            raise result


def broker_user_provision(*, agent_id, token_hash: str) -> None:
    """Create or replace the agent's Redis user with this password hash, and disconnect
    whoever was logged in as it (a new token: the previous one stops working). Call it after
    the token's row is written (never inside a transaction). Does nothing in manual mode."""
    if _manual():
        return
    name = broker_user_name(agent_id)
    rules = broker_user_rules(agent_id=agent_id, token_hash=token_hash)
    try:
        with _admin() as client, client.pipeline(transaction=False) as pipe:
            _setuser(pipe, name=name, rules=rules, kill=True)
            _execute(pipe)
    except redis.RedisError as exc:
        _log_failure("provision", exc, user=name)


def broker_user_remove(*, agent_id) -> None:
    """Delete the agent's Redis user (Redis disconnects its connections). Call it after the
    agent's row is deleted. Does nothing in manual mode."""
    if _manual():
        return
    name = broker_user_name(agent_id)
    try:
        with _admin() as client:
            client.execute_command("ACL", "DELUSER", name)
    except redis.RedisError as exc:
        _log_failure("remove", exc, user=name)


def _parse_acl_list(lines: Iterable[bytes | str]) -> dict[uuid.UUID, list[str]]:
    """{agent id: the user's described rules} for the `agent-<uuid>` users of `ACL LIST`."""
    users = {}
    for line in lines:
        words = (line.decode() if isinstance(line, bytes) else line).split()
        if len(words) >= 2 and words[0] == "user":
            match = _USER_NAME.fullmatch(words[1])
            if match:
                users[uuid.UUID(match.group(1))] = words[2:]
    return users


# Flags Redis adds by itself to a user's description in ACL LIST.
_REDIS_ADDED_FLAGS = {"sanitize-payload"}


def _in_place(described: list[str] | None, rules: list[str]) -> bool:
    # ACL LIST describes a user set with `rules` by the same words, without the leading `reset`
    # (commands in an order of its own, hence sets).
    return described is not None and set(described) - _REDIS_ADDED_FLAGS == set(rules) - {"reset"}


def broker_users_sync() -> int:
    """Make Redis's agent users match the database: create the missing ones (a Redis restarted
    without persistence has none), re-provision those with another password or other rules (a
    rotation whose provisioning failed, an upgrade that changed the rules), delete those whose
    agent is gone or has no token. Returns how many users it changed.

    One `ACL LIST`, one query, one pipeline. Redis is read before the database: a user that
    appears in between belongs to an agent the query sees, so a new agent's user is never taken
    for an orphan. Errors are logged and counted as no change (the next run retries)."""
    if _manual():
        return 0
    try:
        with _admin() as client:
            current = _parse_acl_list(client.execute_command("ACL", "LIST"))
            wanted = dict(Agent.objects.exclude(token_hash="").values_list("id", "token_hash"))
            changed = 0
            with client.pipeline(transaction=False) as pipe:
                for agent_id, token_hash in wanted.items():
                    rules = broker_user_rules(agent_id=agent_id, token_hash=token_hash)
                    described = current.get(agent_id)
                    if _in_place(described, rules):
                        continue
                    # Another password: log out the sessions opened with it. Only other rules
                    # (an upgrade): Redis applies them to the open sessions, which stay.
                    passwords = {word for word in described or () if word.startswith("#")}
                    kill = described is not None and passwords != {f"#{token_hash}"}
                    _setuser(pipe, name=broker_user_name(agent_id), rules=rules, kill=kill)
                    changed += 1
                for agent_id in current.keys() - wanted.keys():
                    pipe.execute_command("ACL", "DELUSER", broker_user_name(agent_id))
                    changed += 1
                _execute(pipe)
    except redis.RedisError as exc:
        _log_failure("sync", exc)
        return 0
    if changed:
        log_event(log, logging.INFO, "broker_users_synced", changed=changed, agents=len(wanted))
    return changed
