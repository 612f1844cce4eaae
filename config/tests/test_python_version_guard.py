"""An older Python stops at the entry points with what to do, not with a traceback from inside an
app (3.10 installs the requirements, then fails at `migrate` on `from datetime import UTC`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from config.python_version import unsupported_python_message

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.mark.parametrize("version", [(3, 11, 0), (3, 12, 4), (3, 13, 1), (4, 0, 0)])
def test_it_lets_python_3_11_and_newer_through(version: tuple[int, ...]) -> None:
    assert unsupported_python_message(version, "/usr/bin/python3") is None


@pytest.mark.parametrize("version", [(3, 10, 12), (3, 9, 18), (2, 7, 18)])
def test_it_names_the_python_found_and_what_to_do(version: tuple[int, ...]) -> None:
    message = unsupported_python_message(version, "/usr/bin/python3")
    assert message is not None
    assert "needs Python 3.11 or newer" in message
    assert "/usr/bin/python3 is Python " + ".".join(map(str, version)) in message
    assert "Requirements in the README" in message


# Run as Python 3.10 would see it: the same interpreter, told it is 3.10 before anything loads.
AS_3_10 = "import sys; sys.version_info = (3, 10, 12, 'final', 0); "


@pytest.mark.parametrize(
    "entry",
    [
        pytest.param(
            "sys.argv = ['manage.py', 'migrate']; import runpy; "
            "runpy.run_path('manage.py', run_name='__main__')",
            id="manage.py",
        ),
        pytest.param("import config.wsgi", id="wsgi"),
        pytest.param("import config.celery", id="celery"),
    ],
)
def test_every_entry_point_stops_an_older_python_with_the_message(entry: str) -> None:
    run = subprocess.run(
        [sys.executable, "-c", AS_3_10 + entry],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 1
    assert "needs Python 3.11 or newer" in run.stderr
    assert "is Python 3.10.12" in run.stderr
    assert "Traceback" not in run.stderr
