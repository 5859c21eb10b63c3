"""Fixtures for the chart tests: the pinned helm binary."""

from __future__ import annotations

import pytest

from .helm import Helm, install_helm


@pytest.fixture(scope="session")
def helm() -> Helm:
    return Helm(install_helm())
