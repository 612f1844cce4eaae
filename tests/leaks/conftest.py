"""The leak hunt runs a real agent process: the process tests' fixture, shared."""

from tests.process.conftest import start_agent  # noqa: F401
