"""bin/ensure-venv, the first thing a newcomer runs (through `make run` / `make test`): it stops
with what to install when Python is older than 3.11, and concurrent runs take turns (bin/with-lock,
which works where flock(1) does not exist, e.g. macOS).

Each test runs the real scripts from a copy of bin/ in a temp folder (so the repository's .venv is
never touched), with stand-in interpreters: small shell scripts that answer the version question
or record a "pip install" — no real virtualenv or install is made.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

BIN = Path(__file__).resolve().parents[2] / "bin"


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A folder shaped like the repository for ensure-venv: bin/ and the requirements files."""
    (tmp_path / "bin").mkdir()
    for script in ("ensure-venv", "with-lock"):
        shutil.copy2(BIN / script, tmp_path / "bin" / script)
    (tmp_path / "requirements.txt").write_text("")
    (tmp_path / "requirements-dev.txt").write_text("")
    return tmp_path


def executable(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)
    return path


def old_python(path: Path, version: str = "3.10.12") -> Path:
    """An interpreter that says it is `version` to any -c and records being asked for a venv."""
    return executable(
        path,
        f"""#!/bin/sh
if [ "$1" = "-m" ]; then echo "$@" >> "{path}.asked"; exit 0; fi
echo {version}
""",
    )


def python_making_fake_venvs(path: Path, log: Path) -> Path:
    """The real interpreter, except that `-m venv DIR` makes a venv whose "pip install" only
    writes its start and end to `log`, a second apart."""
    venv_python = executable(
        path.parent / "venv-python",
        f"""#!/bin/sh
if [ "$1" = "-m" ] && [ "$2" = "pip" ]; then
  echo "install $$ start" >> "{log}"; sleep 1; echo "install $$ end" >> "{log}"; exit 0
fi
exec "{sys.executable}" "$@"
""",
    )
    return executable(
        path,
        f"""#!/bin/sh
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then
  echo "venv $3" >> "{log}"; mkdir -p "$3/bin" && cp "{venv_python}" "$3/bin/python"; exit $?
fi
exec "{sys.executable}" "$@"
""",
    )


def ensure_venv(checkout: Path, python: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(checkout / "bin" / "ensure-venv")],
        env={"PATH": "/usr/bin:/bin", "PYTHON": str(python)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_it_stops_on_python_3_10_saying_what_to_install_and_makes_no_venv(
    checkout: Path, tmp_path: Path
) -> None:
    python = old_python(tmp_path / "fake" / "python3")
    run = ensure_venv(checkout, python)
    out, err = run.communicate(timeout=30)
    assert run.returncode == 1
    assert "needs Python 3.11 or newer" in err
    assert f"{python} is Python 3.10.12" in err
    assert "apt-get install python3 python3-venv" in err
    assert "brew install python@3.12" in err
    assert not (checkout / ".venv").exists()
    assert not Path(f"{python}.asked").exists()  # never asked to make a venv or install


def test_it_says_so_when_the_python_it_was_given_does_not_run(checkout: Path) -> None:
    run = ensure_venv(checkout, checkout / "no-such-python")
    _, err = run.communicate(timeout=30)
    assert run.returncode == 1
    assert f"none of {checkout / 'no-such-python'} runs here" in err
    assert not (checkout / ".venv").exists()


def test_a_venv_made_by_an_old_python_is_made_again(checkout: Path, tmp_path: Path) -> None:
    log = tmp_path / "log"
    old_python(checkout / ".venv" / "bin" / "python")
    (checkout / ".venv" / ".requirements.stamp").touch()  # "up to date", but with 3.10
    run = ensure_venv(checkout, python_making_fake_venvs(tmp_path / "fake" / "python3", log))
    _, err = run.communicate(timeout=30)
    assert run.returncode == 0, err
    assert "creating" in err
    lines = log.read_text().splitlines()
    assert lines[0] == f"venv {checkout / '.venv'}"
    assert [line.split()[2] for line in lines[1:]] == ["start", "end"]


def test_two_concurrent_runs_on_a_fresh_checkout_install_once(
    checkout: Path, tmp_path: Path
) -> None:
    log = tmp_path / "log"
    python = python_making_fake_venvs(tmp_path / "fake" / "python3", log)
    runs = [ensure_venv(checkout, python) for _ in range(2)]
    for run in runs:
        _, err = run.communicate(timeout=30)
        assert run.returncode == 0, err
    # The second waited for the first's lock, then found the venv up to date.
    lines = log.read_text().splitlines()
    assert len(lines) == 3, lines
    assert lines[0] == f"venv {checkout / '.venv'}"
    assert [line.split()[2] for line in lines[1:]] == ["start", "end"]
    assert (checkout / ".venv" / ".requirements.stamp").exists()


def with_lock(path: Path, *command: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(BIN / "with-lock"), str(path), *command], text=True
    )


def test_with_lock_runs_critical_sections_one_at_a_time(tmp_path: Path) -> None:
    log = tmp_path / "log"
    section = f'echo "$$ start" >> {log}; sleep 0.5; echo "$$ end" >> {log}'
    runs = [with_lock(tmp_path, "sh", "-c", section) for _ in range(2)]
    assert [run.wait(timeout=30) for run in runs] == [0, 0]
    steps = [line.split() for line in log.read_text().splitlines()]
    assert [step for _, step in steps] == ["start", "end", "start", "end"]
    assert steps[0][0] == steps[1][0] != steps[2][0] == steps[3][0]


def test_with_lock_is_released_when_its_holder_is_killed(tmp_path: Path) -> None:
    lock, held = tmp_path / "lock", tmp_path / "held"
    holder = with_lock(lock, "sh", "-c", f"touch {held}; exec sleep 60")
    deadline = time.monotonic() + 10
    while not held.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    waiter = with_lock(lock, "true")
    with pytest.raises(subprocess.TimeoutExpired):
        waiter.wait(timeout=0.5)  # held: the waiter waits
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=10)
    assert waiter.wait(timeout=10) == 0  # no stale lock left behind
