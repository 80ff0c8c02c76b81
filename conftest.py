"""Fixtures for every suite, tests/ and each plugin's tests/ alike."""

pytest_plugins = ["tests.fixtures"]
