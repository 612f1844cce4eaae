"""Which Chromium the browser tests drive, and what to do when there is none (no Django here).

CI is Debian, root, with apt: Chromium is installed there on first use, so the browser tests run.
Anywhere else without a Chromium (a laptop, macOS, a container without apt, a non-root user) the
tests are skipped with a reason saying how to get one, rather than erroring on `apt-get`.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from typing import Literal

# Any Chromium-based browser Playwright can drive through `executable_path`.
NAMES = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"]
MACOS_APPS = [
    "/Applications/Chromium.app/Contents/MacOS/Chromium",
    "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
]
APT_INSTALL = "apt-get update -qq && apt-get install -y -qq chromium"


@dataclass(frozen=True)
class Plan:
    action: Literal["use", "install", "skip"]
    detail: str = ""  # the path to use, or the reason to skip


def chromium_plan(found: str | None, is_root: bool, has_apt: bool) -> Plan:
    if found:
        return Plan("use", found)
    if has_apt and is_root:
        return Plan("install")
    how = "not root to install it with apt-get" if has_apt else "no apt-get here to install it"
    return Plan(
        "skip",
        f"Chromium not found and {how}: install Chromium or Google Chrome, "
        "or set CHROMIUM_PATH to its executable",
    )


def find_chromium() -> str | None:
    """CHROMIUM_PATH when set (it must then be an executable), else the first browser found."""
    configured = os.environ.get("CHROMIUM_PATH")
    if configured:
        if not (os.path.isfile(configured) and os.access(configured, os.X_OK)):
            raise FileNotFoundError(f"CHROMIUM_PATH={configured} is not an executable file")
        return configured
    for name in NAMES:
        found = shutil.which(name)
        if found:
            return found
    return next((app for app in MACOS_APPS if os.access(app, os.X_OK)), None)
