"""log_event (agents/runtime/logformat.py): the product's records carry `event` and its fields
as JSON fields of their own, written by the one JSON formatter."""

from __future__ import annotations

import ast
import io
import json
import logging
import uuid
from pathlib import Path

import pytest

from agents.runtime.logformat import RESERVED_FIELDS, JsonFormatter, log_event

ROOT = Path(__file__).resolve().parents[2]
APPS = ["agents", "schedules", "billing", "vault", "config"]


@pytest.fixture
def written():
    """(logger, lines): a logger of its own writing through the JSON formatter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger(f"test.log_event.{uuid.uuid4().hex}")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False

    def lines() -> list[dict]:
        return [json.loads(line) for line in stream.getvalue().splitlines()]

    yield logger, lines
    logger.removeHandler(handler)


def test_an_event_and_its_fields_are_json_fields_of_their_own(written):
    logger, lines = written
    job = uuid.UUID("5f0c6f2e-8a3e-4c1e-9d0a-0d6f3c1b2a10")

    log_event(
        logger,
        logging.INFO,
        "job_attempt_finished",
        job=job,
        attempt=2,
        seconds=1.5,
        exit_code=None,
        done=True,
        reason="script exited: code 2",
    )

    (record,) = lines()
    assert record["level"] == "INFO" and record["logger"] == logger.name
    assert record["event"] == "job_attempt_finished"
    # JSON's own types stay theirs; anything else is its text.
    assert record["job"] == str(job)
    assert (record["attempt"], record["seconds"], record["exit_code"]) == (2, 1.5, None)
    assert record["done"] is True
    assert record["reason"] == "script exited: code 2"  # spaces and all, one value
    assert record["message"] == (
        f"job_attempt_finished job={job} attempt=2 seconds=1.5 exit_code=null done=true "
        'reason="script exited: code 2"'
    )


def test_the_message_quotes_what_would_read_back_ambiguously(written):
    logger, lines = written

    log_event(logger, logging.WARNING, "x", a="k=v", b="", c='say "hi"', d="plain/path:1")

    (record,) = lines()
    assert record["message"] == 'x a="k=v" b="" c="say \\"hi\\"" d=plain/path:1'
    assert (record["a"], record["b"], record["c"]) == ("k=v", "", 'say "hi"')


def test_an_exception_is_logged_with_its_traceback(written):
    logger, lines = written
    try:
        raise ZeroDivisionError("division by zero")
    except ZeroDivisionError:
        log_event(logger, logging.ERROR, "tick_batch_failed", exc_info=True, schedules=3)

    (written_record,) = lines()
    assert written_record["event"] == "tick_batch_failed" and written_record["schedules"] == 3
    assert "ZeroDivisionError: division by zero" in written_record["exception"]


def test_the_record_names_the_caller_not_the_helper(written):
    logger, _ = written
    seen = []
    logger.addFilter(lambda record: seen.append(record) or True)

    log_event(logger, logging.INFO, "here")

    assert seen[0].funcName == "test_the_record_names_the_caller_not_the_helper"
    assert seen[0].pathname == __file__


@pytest.mark.parametrize("name", ["name", "msg", "args", "process", "message", "lineno",
                                  "level", "timestamp", "logger", "event", "request"])  # fmt: skip
def test_a_reserved_field_name_is_refused(written, name):
    logger, lines = written

    with pytest.raises(TypeError, match=name):
        log_event(logger, logging.INFO, "agent_start", **{name: "x"})

    assert lines() == []


def _log_event_calls(path: Path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name == "log_event":
                yield node


def _sources():
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "tests" not in path.relative_to(ROOT).parts:
                yield path


def test_every_call_site_uses_field_names_the_helper_accepts():
    # A reserved name raises only when its line runs: some are in rarely taken except-branches.
    calls = 0
    for path in _sources():
        for call in _log_event_calls(path):
            calls += 1
            names = {keyword.arg for keyword in call.keywords if keyword.arg}
            where = f"{path.relative_to(ROOT)}:{call.lineno}"
            assert not names & (RESERVED_FIELDS - {"exc_info"}), where
            assert len(call.args) == 3, f"{where}: log_event(logger, level, event, **fields)"
    assert calls >= 40


def test_no_code_writes_its_fields_into_the_message_text():
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert not node.value.startswith("event="), f"{path.relative_to(ROOT)}"
