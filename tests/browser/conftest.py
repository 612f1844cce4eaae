"""Real headless Chromium for the staff UI tests: Debian's `chromium` (or any Chromium or Chrome
found, or CHROMIUM_PATH) driven by Playwright's Python package through `executable_path` —
Playwright never downloads a browser here.

The browser is installed with apt-get on first use when missing and we are root on a machine with
apt (CI is); otherwise the tests are skipped with the reason (tests/browser/chromium.py). The app
is served by pytest-django's `live_server` (a thread of this process on the transactional test
database)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections

from tests.browser.chromium import APT_INSTALL, chromium_plan, find_chromium

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# The committed screenshots (shown in the README) are rewritten only when asked
# (`UPDATE_SCREENSHOTS=1 make test PYTEST_ARGS=tests/browser`); otherwise a run keeps its own
# copies under the temp dir, so an ordinary test run leaves the work tree clean.
SCREENSHOTS = (
    Path(settings.BASE_DIR) / "docs" / "screenshots"
    if os.environ.get("UPDATE_SCREENSHOTS")
    else Path(tempfile.gettempdir()) / "mimic-screenshots"
)


def _chromium() -> str:
    try:
        found = find_chromium()
    except FileNotFoundError as error:
        pytest.fail(str(error))
    plan = chromium_plan(found, is_root=os.geteuid() == 0, has_apt=bool(shutil.which("apt-get")))
    if plan.action == "use":
        return plan.detail
    if plan.action == "skip":
        pytest.skip(plan.detail)
    installed = subprocess.run(
        APT_INSTALL,
        shell=True,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    if installed.returncode != 0:
        # A failure, not a skip: where apt should work (CI), the browser tests must not vanish.
        pytest.fail(
            f"`{APT_INSTALL}` failed ({installed.stderr.strip()[-300:]}): install Chromium or "
            "Google Chrome, or set CHROMIUM_PATH to its executable"
        )
    found = find_chromium()
    if not found:
        pytest.fail("apt-get installed chromium but it is not on PATH")
    return found


@pytest.fixture(scope="session")
def chromium_path() -> str:
    return _chromium()


@pytest.fixture
def browser(chromium_path, monkeypatch):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an asyncio loop on this thread; Django refuses ORM calls
    # from a thread with a running loop unless told otherwise. Only for these tests.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
            # The test's ORM calls ran beside that loop, on connections of their own (asgiref's
            # context-aware locals): closed here, or the run's end cannot drop the test database
            # ("being accessed by other users").
            connections.close_all()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture
def page(browser, request, tmp_path_factory):
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-GB")
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        yield page
    finally:
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            # What the browser showed when it failed, for the person reading the CI log.
            path = tmp_path_factory.mktemp("browser-failure") / "page.png"
            page.screenshot(path=str(path), full_page=True)
            print(f"browser: {page.url}; screenshot of the failure: {path}")
        context.close()


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot (see SCREENSHOTS)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    page.screenshot(path=str(path), full_page=True)
    return path
