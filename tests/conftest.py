"""Shared pytest configuration: fixture plugins live in tests/fixtures/."""

pytest_plugins: list[str] = [
    "tests.fixtures.emulator",
    "tests.fixtures.controlplane",
    "tests.fixtures.operator",
    "tests.fixtures.faults",
]
