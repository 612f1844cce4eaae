"""The stored log is bounded (head and tail kept, a marker between) and every secret value is
redacted before it is stored — including one cut in half by the truncation."""

from __future__ import annotations

from agents.runner import BoundedLog

SECRETS = {"SAP_PASSWORD": "Tr0ub4dor&3-horse"}


def test_it_keeps_short_output_whole_and_redacted():
    log = BoundedLog(1024)
    log.write(b"login as bot with Tr0ub4dor&3-horse\n")
    log.write(b"done\n")
    assert log.render(SECRETS) == "login as bot with [REDACTED:SAP_PASSWORD]\ndone\n"
    assert not log.truncated


def test_it_keeps_head_and_tail_of_long_output_within_the_bound():
    log = BoundedLog(1000)
    log.write(b"START\n")
    for i in range(2000):
        log.write(f"line {i:05d}\n".encode())
    log.write(b"END\n")
    text = log.render({})
    assert log.truncated
    assert text.startswith("START\nline 00000\n")
    assert text.endswith("line 01999\nEND\n")
    assert "…truncated " in text
    dropped = int(text.split("…truncated ")[1].split(" bytes")[0])
    assert dropped == log.total - 1000
    assert len(text.encode()) <= 1000 + 40


def test_it_redacts_a_secret_split_by_the_cut():
    secret = SECRETS["SAP_PASSWORD"]
    for offset in range(1, len(secret)):
        log = BoundedLog(512)  # head keeps 256 bytes
        log.write(b"x" * (256 - offset) + secret.encode() + b"y" * 2000)
        text = log.render(SECRETS)
        assert secret[:offset] not in text.split("…truncated")[0][-len(secret) :]
        assert secret not in text
    for offset in range(1, len(secret)):
        log = BoundedLog(512)  # tail keeps the last 256 bytes
        log.write(b"x" * 2000 + secret.encode() + b"y" * (256 - offset))
        text = log.render(SECRETS)
        assert secret[-offset:] not in text.split("bytes…\n")[1][: len(secret)]


def test_it_redacts_encoded_forms_and_survives_broken_utf8():
    log = BoundedLog(4096)
    log.write('{"password": "Tr0ub4dor&3-horse"} é'.encode()[:-1])  # cut inside "é"
    text = log.render(SECRETS)
    assert "Tr0ub4dor" not in text
    assert "[REDACTED:SAP_PASSWORD]" in text
