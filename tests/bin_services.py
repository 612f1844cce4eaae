"""bin/services.py — the throwaway PostgreSQL and Redis behind `make test`, `bin/testenv` and the
fault suite — loaded by path, once, for the tests that drive it: bin/ holds scripts, not a package."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("mimic_services", ROOT / "bin" / "services.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


services = _load()
