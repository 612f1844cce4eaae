"""Imports point one way (STYLE.md, "What that looks like here"), read from the source with `ast`:

- `config` is the bottom layer: it imports no app of ours, but in `urls.py` (which wires every
  app's routes) and `celery.py` (which finds every app's tasks);
- the apps stack billing → vault → agents → schedules: an app imports only apps below it
  (a lower app tells a higher one something through a signal or a hook it registers);
- interfaces are edges: no admin or API module (`admin.py`, `admin_*.py`, `api/`) imports another
  app's admin or API module — shared reads are selectors, shared markup templates, shared
  presentation config/admin_common.py and config/api_common.py. billing's `tenancy*.py` modules
  are the tenancy owner's layer beneath every interface, not interfaces.
"""

from __future__ import annotations

import ast
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)
APPS = ["billing", "vault", "agents", "schedules"]  # bottom to top
CONFIG_WIRING = {"config/urls.py", "config/celery.py"}


def _modules(top: str):
    for path in sorted((ROOT / top).rglob("*.py")):
        relative = path.relative_to(ROOT)
        if "tests" in relative.parts or "migrations" in relative.parts:
            continue
        yield relative, ast.parse(path.read_text(), filename=str(relative))


def _imported(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _app(module: str) -> str | None:
    top = module.split(".")[0]
    return top if top in APPS else None


def _is_interface(module: str) -> bool:
    parts = module.split(".")
    if len(parts) < 2 or parts[0] not in APPS:
        return False
    return parts[1] == "api" or parts[1] == "admin" or parts[1].startswith("admin_")


def _module_name(relative: Path) -> str:
    return ".".join(relative.with_suffix("").parts).removesuffix(".__init__")


def test_config_imports_no_app_but_to_wire_them():
    found = [
        f"{relative}: {name}"
        for relative, tree in _modules("config")
        if str(relative) not in CONFIG_WIRING
        for name in sorted(_imported(tree))
        if _app(name)
    ]
    assert found == []


def test_an_app_imports_only_apps_below_it():
    found = []
    for app in APPS:
        allowed = set(APPS[: APPS.index(app) + 1])
        for relative, tree in _modules(app):
            found += [
                f"{relative}: {name}"
                for name in sorted(_imported(tree))
                if _app(name) and _app(name) not in allowed
            ]
    assert found == []


def test_no_interface_imports_another_apps_interface():
    found = []
    for app in APPS:
        for relative, tree in _modules(app):
            module = _module_name(relative)
            if not _is_interface(module):
                continue
            found += [
                f"{relative}: {name}"
                for name in sorted(_imported(tree))
                if _is_interface(name) and _app(name) != app
            ]
    assert found == []


def test_it_sees_the_modules_it_judges():
    # Guards the guards: an empty walk would pass every test above.
    interfaces = [
        _module_name(relative)
        for app in APPS
        for relative, _ in _modules(app)
        if _is_interface(_module_name(relative))
    ]
    assert {"schedules.admin", "agents.api.views", "vault.api.views"} <= set(interfaces)
    assert _is_interface("agents.admin") and not _is_interface("billing.tenancy_admin")
