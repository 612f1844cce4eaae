"""Redaction of secret values (and their common encodings) from text and log records."""

import base64
import json
import logging
from urllib.parse import quote

import pytest

from vault.redaction import Redactor, SecretRedactingFilter, redact, redacting_log_handlers

SECRET = 'p@ss "word"/\\ü+1'


@pytest.mark.parametrize(
    "form",
    [
        SECRET,
        json.dumps(SECRET)[1:-1],
        json.dumps(SECRET, ensure_ascii=False)[1:-1],
        quote(SECRET, safe=""),
        base64.b64encode(SECRET.encode()).decode(),
        base64.urlsafe_b64encode(SECRET.encode()).decode().rstrip("="),
    ],
    ids=["raw", "json", "json-unicode", "url", "base64", "base64url-unpadded"],
)
def test_it_redacts_each_encoding_of_a_value(form):
    text = f"before {form} after"
    assert redact(text, [SECRET]) == "before *** after"


def test_it_labels_with_the_key_name_when_given_a_mapping():
    text = "login admin / hunter2, token abc-123"
    assert redact(text, {"SAP_PASSWORD": "hunter2", "API_TOKEN": "abc-123"}) == (
        "login admin / [REDACTED:SAP_PASSWORD], token [REDACTED:API_TOKEN]"
    )


def test_it_replaces_the_longest_secret_first():
    # "abc" is a prefix of "abcdef": the whole longer secret is replaced, leaving no tail.
    assert redact("x abcdef y abc", {"SHORT": "abc", "LONG": "abcdef"}) == (
        "x [REDACTED:LONG] y [REDACTED:SHORT]"
    )


def test_it_ignores_empty_values_and_empty_text() -> None:
    assert redact("nothing to hide", ["", None]) == "nothing to hide"  # type: ignore[list-item]
    assert redact("", ["x"]) == ""


def test_it_treats_values_literally_not_as_patterns():
    assert redact("a.b a*b", ["a*b"]) == "a.b ***"


def test_it_scrubs_log_messages_args_and_tracebacks():
    stream_records = []

    class Capture(logging.Handler):
        def emit(self, record):
            stream_records.append(self.format(record))

    handler = Capture()
    handler.addFilter(SecretRedactingFilter({"PW": "hunter2"}))
    logger = logging.getLogger("test.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("login with %s failed", "hunter2")
        try:
            raise RuntimeError("bad password hunter2")
        except RuntimeError:
            logger.exception("portal said no")
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    text = "\n".join(stream_records)
    assert "hunter2" not in text
    assert "login with [REDACTED:PW] failed" in text
    assert "RuntimeError: bad password [REDACTED:PW]" in text


def test_it_installs_and_removes_itself_on_handlers(caplog):
    caplog.set_level(logging.INFO)
    root = logging.getLogger()
    with redacting_log_handlers(["topsecret"], logger=root) as flt:
        assert flt in caplog.handler.filters
        logging.getLogger("x").info("value=%s", "topsecret")
    assert flt not in caplog.handler.filters
    assert "topsecret" not in caplog.text
    assert "value=***" in caplog.text


def test_it_scrubs_text_fields_passed_in_extra():
    records = []

    class Capture(logging.Handler):
        def emit(self, record):
            records.append(record)

    handler = Capture()
    handler.addFilter(SecretRedactingFilter({"PW": "hunter2"}))
    logger = logging.getLogger("test.redaction.extra")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("login failed", extra={"error": "bad password hunter2", "attempt": 2})
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    (record,) = records
    assert record.error == "bad password [REDACTED:PW]"
    assert record.attempt == 2
    assert record.levelname == "WARNING"


# --------------------------------------------------------------- a stream redacted piece by piece


def _stream(redactor, pieces: list[str]) -> list[str]:
    """What a reader of the stream sees, piece by piece: each piece redacted with the held end
    of the one before in front of it, the last held end let out at the stream's end."""
    shown, held = [], ""
    for piece in pieces:
        ready, held = redactor.split_ready(held + piece)
        shown.append(ready)
    shown.append(redactor(held))
    return shown


@pytest.mark.parametrize("cut", range(1, len("hunter2-s3cret")))
def test_a_secret_cut_between_two_pieces_is_redacted_whole(cut):

    redactor = Redactor({"PORTAL_PASSWORD": "hunter2-s3cret"})
    secret = "hunter2-s3cret"
    shown = _stream(redactor, [f"login as bot {secret[:cut]}", f"{secret[cut:]} ok\n", "done\n"])
    # The piece that ends with the secret's beginning shows none of it; the next shows it whole.
    assert shown == ["login as bot ", "[REDACTED:PORTAL_PASSWORD] ok\n", "done\n", ""]


def test_an_encoded_secret_cut_in_three_pieces_is_redacted_whole():

    secret = "hunter2-s3cret"
    encoded = base64.b64encode(secret.encode()).decode()
    redactor = Redactor({"PORTAL_PASSWORD": secret})
    third = len(encoded) // 3
    pieces = ["auth ", encoded[:third], encoded[third : 2 * third], encoded[2 * third :] + "\n"]
    assert "".join(_stream(redactor, pieces)) == "auth [REDACTED:PORTAL_PASSWORD]\n"


def test_a_piece_ending_a_line_holds_nothing_back():

    redactor = Redactor({"PORTAL_PASSWORD": "hunter2-s3cret"})
    assert redactor.split_ready("login hunter2-s3cret\n") == (
        "login [REDACTED:PORTAL_PASSWORD]\n",
        "",
    )
    assert redactor.split_ready("login hunt") == ("login ", "hunt")
    assert Redactor({}).split_ready("login hunt") == ("login hunt", "")


def test_a_longer_secret_that_begins_with_a_shorter_one_is_not_cut_by_it():

    redactor = Redactor({"SHORT": "abc123", "LONG": "abc123-and-more"})
    pieces = ["x abc123", "-and-more y\n", "abc123", " z\n"]
    assert "".join(_stream(redactor, pieces)) == "x [REDACTED:LONG] y\n[REDACTED:SHORT] z\n"
