"""One set of test fixtures and factories: no pytest fixture and no factory class is defined in
two places anywhere in the project. A second `org` or `UserFactory` fails here, naming both
places — use the first one (the shared ones are in tests/fixtures.py and tests/factories.py; an
app's conftest.py keeps only what that app's tests alone need), or give a fixture that means
something else a name of its own."""

from __future__ import annotations

import ast
import os
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Not ours: installed packages, generated files.
SKIP_DIRS = {"node_modules", "var", "__pycache__"}


def python_files(root: Path) -> Iterator[Path]:
    for folder, dirs, files in os.walk(root):
        # Hidden folders hold the virtualenv and tools' state, never our code.
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIP_DIRS)
        yield from (Path(folder) / name for name in sorted(files) if name.endswith(".py"))


def _fixture_name(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    """The name a function is a fixture under (`name=` wins), or None if it is not one."""
    for decorator in node.decorator_list:
        call = decorator if isinstance(decorator, ast.Call) else None
        target = ast.unparse(call.func if call else decorator)
        if target in ("pytest.fixture", "fixture"):
            for keyword in call.keywords if call else []:
                if keyword.arg == "name" and isinstance(keyword.value, ast.Constant):
                    return str(keyword.value.value)
            return node.name
    return None


def definitions(source: str) -> Iterator[tuple[str, str, int]]:
    """(kind, name, line) of every fixture and factory class in a module."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            name = _fixture_name(node)
            if name:
                yield "fixture", name, node.lineno
        elif isinstance(node, ast.ClassDef) and node.name.endswith("Factory"):
            yield "factory", node.name, node.lineno


def duplicates(root: Path) -> dict[tuple[str, str], list[str]]:
    places: dict[tuple[str, str], list[str]] = defaultdict(list)
    for path in python_files(root):
        for kind, name, line in definitions(path.read_text(encoding="utf-8")):
            places[kind, name].append(f"{path.relative_to(root)}:{line}")
    return {key: sorted(where) for key, where in sorted(places.items()) if len(where) > 1}


def test_no_fixture_or_factory_is_defined_twice():
    found = duplicates(ROOT)
    assert not found, "defined more than once:\n" + "\n".join(
        f"  {kind} {name}: {', '.join(where)}" for (kind, name), where in found.items()
    )


def test_it_finds_a_second_definition(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "conftest.py").write_text(
        "import pytest\n\n@pytest.fixture\ndef org(db):\n    pass\n\nclass UserFactory:\n    pass\n"
    )
    (tmp_path / "b.py").write_text(
        "import pytest\n\n@pytest.fixture(name='org')\ndef _org():\n    pass\n\n"
        "@pytest.fixture()\ndef other():\n    pass\n\nclass UserFactory:\n    pass\n"
    )
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "c.py").write_text("import pytest\n\n@pytest.fixture\ndef other(): ...\n")

    assert duplicates(tmp_path) == {
        ("factory", "UserFactory"): ["a/conftest.py:7", "b.py:11"],
        ("fixture", "org"): ["a/conftest.py:4", "b.py:4"],
    }
