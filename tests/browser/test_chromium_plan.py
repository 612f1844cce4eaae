"""What the browser tests do about Chromium: use the one found; install it with apt-get where we
are root on a machine with apt (CI, so the browser tests run there); otherwise skip with a reason
that says how to get one — never error on a machine without apt."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.chromium import Plan, chromium_plan, find_chromium


@pytest.mark.parametrize("is_root", [True, False])
@pytest.mark.parametrize("has_apt", [True, False])
def test_it_uses_the_chromium_it_found_whoever_we_are(is_root: bool, has_apt: bool) -> None:
    assert chromium_plan("/usr/bin/chromium", is_root, has_apt) == Plan("use", "/usr/bin/chromium")


def test_it_installs_chromium_as_root_where_there_is_apt() -> None:
    assert chromium_plan(None, is_root=True, has_apt=True) == Plan("install")


def test_it_skips_as_root_without_apt_and_says_how_to_get_a_browser() -> None:
    plan = chromium_plan(None, is_root=True, has_apt=False)
    assert plan.action == "skip"
    assert "no apt-get here" in plan.detail
    assert "CHROMIUM_PATH" in plan.detail


def test_it_skips_without_root_where_there_is_apt_and_says_why() -> None:
    plan = chromium_plan(None, is_root=False, has_apt=True)
    assert plan.action == "skip"
    assert "not root" in plan.detail
    assert "CHROMIUM_PATH" in plan.detail


def test_it_skips_without_root_or_apt() -> None:
    assert chromium_plan(None, is_root=False, has_apt=False).action == "skip"


def test_chromium_path_wins_when_it_is_an_executable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    browser = tmp_path / "my-chrome"
    browser.write_text("#!/bin/sh\n")
    browser.chmod(0o755)
    monkeypatch.setenv("CHROMIUM_PATH", str(browser))
    assert find_chromium() == str(browser)


def test_a_chromium_path_that_is_not_an_executable_is_an_error_not_a_skip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHROMIUM_PATH", str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError, match="CHROMIUM_PATH"):
        find_chromium()
