"""Fixtures shared by every test package (apps' tests/ and the top-level tests/), and the marks
of the cross-cutting suites."""

from pathlib import Path

import pytest

pytest_plugins = ["tests.fixtures"]

_SUITES = Path(__file__).resolve().parent / "tests"
# Everything in these suites starts real processes (agent runtimes, workers, Chromium), so all of
# it is `slow` — and `browser` for the browser's — whatever a module remembered to mark itself:
# `make test-fast` (-m "not slow and not browser") then never starts one.
SUITE_MARKS = {
    _SUITES / "process": ("slow",),
    _SUITES / "leaks": ("slow",),
    _SUITES / "browser": ("slow", "browser"),
}


@pytest.hookimpl(tryfirst=True)  # before -m deselects by mark
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for folder, marks in SUITE_MARKS.items():
            if folder in item.path.parents:
                for mark in marks:
                    item.add_marker(mark)
