"""Fixtures shared by every test package (apps' tests/ and the top-level tests/)."""

pytest_plugins = ["tests.fixtures"]
