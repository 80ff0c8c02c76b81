"""The shared fixtures live in tests/fixtures.py (registered by the root conftest.py)."""

from tests.fixtures import requests_frame

__all__ = ["requests_frame"]
