"""The agent API, seen from the agent (SPEC §7): four POSTs, `Authorization: Agent <token>`.

Standard library only. Every answer that decides something (a claim, an outcome, cancel, drop,
stop) comes from the control plane; the runtime sends no timestamp.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from agents.runtime.logformat import log_event

log = logging.getLogger("agents.runtime.client")

# Connection errors and 5xx are worth another try; a 4xx answer is final.
RETRYABLE_STATUSES = frozenset({502, 503, 504})


class Unauthorized(Exception):
    """401: the token was rotated or the agent deleted — this runtime must stop."""


class Unreachable(Exception):
    """No answer (network, DNS, a 5xx from a proxy): say nothing about the job, try again."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirect would send the token to wherever it points.
    def redirect_request(self, *args, **kwargs):
        return None


class AgentClient:
    def __init__(self, *, url: str, agent_id: str, token: str, timeout: float = 15.0):
        self.base = f"{url}/api/agents/{agent_id}"
        self._token = token
        self.timeout = timeout
        # No proxies from the environment (the runtime's environment is cleaned anyway).
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect)

    def __repr__(self) -> str:
        return f"AgentClient({self.base!r})"

    # ------------------------------------------------------------------ the four calls

    def heartbeat(
        self,
        *,
        running: list[tuple[str, int]],
        hostname: str,
        stopped: bool = False,
        timeout: float | None = None,
    ):
        """-> {"status", "cancel", "drop", "stop", "fenceAfterSeconds", …}. `timeout`: a beat
        that hangs must not delay fencing beyond its interval."""
        body = {
            "running": [{"jobId": job_id, "attempt": attempt} for job_id, attempt in running],
            "hostname": hostname,
            "stopped": stopped,
        }
        answer = self._post("/heartbeat", body, timeout=timeout)
        if answer.status != 200:
            raise Unreachable(f"heartbeat answered HTTP {answer.status}")
        return answer.body

    def claim(self, *, job_id: str, worker: str) -> dict | None:
        """The job's script, variables and secrets for one attempt; None when it is not ours to
        run (409: claimed already, canceled, not due; 404: not this agent's job)."""
        answer = self._post_retrying(f"/jobs/{job_id}/claim", {"worker": worker}, tries=5)
        if answer.status == 200:
            return answer.body
        if answer.status in (404, 409):
            log_event(
                log,
                logging.INFO,
                "job_message_dropped",
                job=job_id,
                reason=answer.body.get("code", answer.status),
            )
            return None
        raise Unreachable(f"claim answered HTTP {answer.status}")

    def log(self, *, job_id: str, attempt: int, chunk: str) -> bool:
        """Append to the job's live log; False when the attempt is no longer this runner's."""
        answer = self._post(f"/jobs/{job_id}/log", {"attempt": attempt, "chunk": chunk})
        if answer.status in (200, 204):
            return True
        if answer.status in (404, 409):
            return False
        raise Unreachable(f"log answered HTTP {answer.status}")

    def finish(self, *, job_id: str, attempt: int, report: dict, tries: int = 8) -> dict | None:
        """Report how the attempt ended; the control plane decides the outcome. None when the
        attempt was no longer ours (someone else decided it)."""
        answer = self._post_retrying(
            f"/jobs/{job_id}/finish", {"attempt": attempt, **report}, tries=tries
        )
        if answer.status == 200:
            return answer.body
        if answer.status in (404, 409):
            return None
        raise Unreachable(f"finish answered HTTP {answer.status}")

    # ------------------------------------------------------------------ transport

    def _post_retrying(self, path: str, body: dict, *, tries: int) -> Answer:
        delay = 0.5
        for attempt in range(1, tries + 1):
            try:
                answer = self._post(path, body)
            except Unreachable:
                if attempt == tries:
                    raise
            else:
                if answer.status not in RETRYABLE_STATUSES or attempt == tries:
                    return answer
            time.sleep(delay)
            delay = min(delay * 2, 8.0)
        raise AssertionError("unreachable")  # pragma: no cover

    def _post(self, path: str, body: dict, timeout: float | None = None) -> Answer:
        request = urllib.request.Request(
            self.base + path,
            data=json.dumps(body).encode(),
            method="POST",
            headers={
                "Authorization": f"Agent {self._token}",
                "Content-Type": "application/json",
                "Accept": "application/json",
                "User-Agent": "mimic-agent-runtime",
            },
        )
        try:
            with self._opener.open(request, timeout=timeout or self.timeout) as response:
                return Answer(response.status, _json(response.read()))
        except urllib.error.HTTPError as exc:
            status = exc.code
            payload = _json(exc.read())
            if status == 401:
                raise Unauthorized(payload.get("detail", "agent token refused")) from None
            if status >= 500 and status not in RETRYABLE_STATUSES:
                raise Unreachable(f"HTTP {status}") from None
            return Answer(status, payload)
        except (urllib.error.URLError, OSError) as exc:
            raise Unreachable(f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}") from None


def _json(raw: bytes) -> dict:
    try:
        value = json.loads(raw or b"{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
