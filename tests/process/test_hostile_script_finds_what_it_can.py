"""Positive controls for the hostile script (tests/process/hostile.py): what it can read, it dumps,
and search_dump finds it.

The script runs here as a plain subprocess of the test — the SAME user as a sibling process that
holds a planted secret in its environment and sits in a folder with `var/dev.env` — so it can
read both, and the test asserts that the search does find them. A process test that later finds
nothing in a dump written under the agent's own script user can then only mean "not readable".
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest

from tests.process.hostile import (
    HOSTILE_SCRIPT,
    MIN_DUMP_CHARS,
    PREAMBLE,
    dump_sources,
    dump_summary,
    search_dump,
    telling_paths,
)


def test_search_dump_finds_every_encoding_and_names_the_section():
    value = 'Zq9"x/y+z&w=é\\k~'
    raw = value.encode()
    sections = {
        "plain": f"TOKEN={value}",
        "json": json.dumps({"k": value}, ensure_ascii=False),
        "json-ascii": json.dumps({"k": value}),
        "url": "https://example.test/?q=" + quote(value, safe=""),
        "form": urlencode({"q": value, "n": 1}),
        "b64-aligned": base64.b64encode(raw + b"tail").decode(),
        "b64-shift-1": base64.b64encode(b"a" + raw + b"tail!").decode(),
        "b64-shift-2": base64.b64encode(b"ab" + raw).decode(),
        "b64-urlsafe": base64.urlsafe_b64encode(b"x" + raw).decode(),
        "unrelated": "nothing to see " + value[:7],
    }
    other = "another-needle-value"
    text = f"{value}\n" + "".join(f"=== {h} ===\n{body}\n" for h, body in sections.items())
    text += f"=== /proc/42/environ ===\nA=1\nB={other}\n"

    found = search_dump(text, {"value": value, "other": other, "absent": "never-in-the-dump"})

    assert found["value"] == [PREAMBLE] + [h for h in sections if h != "unrelated"]
    assert found["other"] == ["/proc/42/environ"]
    assert found["absent"] == []
    assert dump_sources(text) == [*sections, "/proc/42/environ"]


@pytest.mark.parametrize("needle", ["", "1", "1234567"])
def test_search_dump_refuses_needles_shorter_than_8_chars(needle):
    with pytest.raises(ValueError, match="distinctive core"):
        search_dump("=== s ===\n1234567\n", {"short": needle})
    assert search_dump("=== s ===\n12345678\n", {"ok": "12345678"}) == {"ok": ["s"]}


@pytest.mark.slow
def test_hostile_script_finds_what_a_same_user_sibling_exposes(tmp_path: Path):
    declared = "decl-" + secrets.token_hex(16)
    planted_env = secrets.token_hex(16)
    planted_file = secrets.token_hex(16)
    in_root = secrets.token_hex(16)
    too_deep = secrets.token_hex(16)
    behind_link = secrets.token_hex(16)
    job_id = str(uuid.uuid4())

    dump_dir = tmp_path  # world-writable like the shared dump folder of the process test
    dump_dir.chmod(0o1777)
    sibling_dir = tmp_path / "sibling"
    (sibling_dir / "var").mkdir(parents=True)
    dev_env = sibling_dir / "var" / "dev.env"
    # A line shaped like a header must not be able to forge a source in the dump.
    dev_env.write_text(f"REDIS_PASSWORD={planted_file}\n=== forged header ===\n")
    extra = tmp_path / "extra"
    (extra / "config").mkdir(parents=True)
    (extra / "config" / "settings.json").write_text(json.dumps({"key": in_root}))
    (extra / "a" / "b" / "c" / "d").mkdir(parents=True)
    (extra / "a" / "b" / "c" / "d" / "deep.txt").write_text(too_deep)  # depth 5: beyond the walk
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "s.txt").write_text(behind_link)
    (extra / "linked").symlink_to(tmp_path / "outside", target_is_directory=True)
    work = tmp_path / "work"
    work.mkdir()
    script = work / "script.py"
    script.write_text(HOSTILE_SCRIPT)
    payload = {
        "variables": {"dumpDir": str(dump_dir), "roots": [str(extra)]},
        "secrets": {"API_TOKEN": declared},
        "job": {"id": job_id, "attempt": 1},
    }
    dump = dump_dir / f"hostile-{job_id}.txt"

    sibling = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"],
        cwd=sibling_dir,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PLANTED_SECRET": planted_env},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        run = subprocess.run(
            [sys.executable, str(script)],
            input=json.dumps(payload),
            capture_output=True,
            text=True,
            cwd=work,
            env={
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "HOME": str(work),
                "LANG": "C.UTF-8",
                "MIMIC_JOB_ID": job_id,
            },
            timeout=60,
        )
        assert run.returncode == 0, run.stderr[-2000:]
        assert "HOSTILE SUMMARY" in run.stdout
        for value in (declared, planted_env, planted_file, in_root):
            assert value not in run.stdout  # counts only, never contents
        assert dump.stat().st_mode & 0o777 == 0o644
        text = dump.read_text(encoding="utf-8", errors="replace")
        assert len(text) >= MIN_DUMP_CHARS, f"dump of {len(text)} chars read almost nothing"
        sources = dump_sources(text)
        assert "forged header" not in sources
        assert dump_summary(text)["read"] > 0

        found = search_dump(
            text,
            {
                "declared": declared,
                "job_id": job_id,
                "planted_env": planted_env,
                "planted_file": planted_file,
                "in_root": in_root,
                "too_deep": too_deep,
                "behind_link": behind_link,
            },
        )
        # Only header names below: the dump itself holds other processes' environments.
        assert "self:stdin" in found["declared"], found["declared"]
        assert "self:environ" in found["job_id"], found["job_id"]
        assert f"/proc/{sibling.pid}/environ" in found["planted_env"], found["planted_env"]
        real_dev_env = os.path.realpath(dev_env)
        assert real_dev_env in found["planted_file"], found["planted_file"]
        settings_file = os.path.realpath(extra / "config" / "settings.json")
        assert settings_file in found["in_root"], found["in_root"]
        real_extra = os.path.realpath(extra)
        assert not [s for s in found["too_deep"] if s.startswith(real_extra)], found["too_deep"]
        assert not [s for s in found["behind_link"] if "/linked/" in s], found["behind_link"]

        telling = telling_paths(text)
        assert telling.get(real_dev_env, ("",))[0] == "READABLE", telling.get(real_dev_env)
        assert "/proc/1/environ" in telling
    finally:
        sibling.kill()
        sibling.wait(timeout=10)
        # As root it holds every process's environment on this host: do not leave it behind.
        dump.unlink(missing_ok=True)
