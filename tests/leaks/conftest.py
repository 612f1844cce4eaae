"""The leak hunt runs a real agent process: the process tests' fixture, shared."""

from tests.process.conftest import control_plane, drop_dir, start_agent  # noqa: F401
