"""Shared pytest configuration: fixture plugins live in tests/fixtures/."""

pytest_plugins = [
    "tests.fixtures.controlplane",
]
