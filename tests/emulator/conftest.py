"""Fixtures for the emulator's own tests: a fast emulator (time scale 0.001) and helpers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.config import Config

from ic_sandbox.emulator import EmulatorThread
from tests.fixtures.emulator import ACCOUNT_ID, REGION, Admin, RunningEmulator, ic_endpoint

FAST_SCALE = 0.001


@pytest.fixture(scope="session")
def fast_emulator() -> Iterator[RunningEmulator]:
    with EmulatorThread(time_scale=FAST_SCALE, region=REGION, account_id=ACCOUNT_ID) as thread:
        yield RunningEmulator(thread)


@pytest.fixture
def admin(fast_emulator: RunningEmulator) -> Admin:
    fast_emulator.admin.reset()
    return fast_emulator.admin


NO_RETRIES = Config(retries={"total_max_attempts": 1, "mode": "standard"})


@pytest.fixture(scope="session")
def fast_client(fast_emulator: RunningEmulator) -> Any:
    return fast_emulator.client(config=NO_RETRIES)


@pytest.fixture
def aas(fast_emulator: RunningEmulator, sm: Any) -> Any:
    """An Application Auto Scaling client (no retries) on the freshly reset emulator."""
    return fast_emulator.client("application-autoscaling", config=NO_RETRIES)


@pytest.fixture
def cw(fast_emulator: RunningEmulator, sm: Any) -> Any:
    """A CloudWatch client (no retries) on the freshly reset emulator."""
    return fast_emulator.client("cloudwatch", config=NO_RETRIES)


@pytest.fixture
def sm(fast_client: Any, admin: Admin) -> Any:
    """A client that reports errors at once (no retries), on a freshly reset emulator."""
    return fast_client


@pytest.fixture
def endpoint(sm: Any) -> str:
    """An InService IC endpoint `ep`: one ml.g5.12xlarge (4 GPUs, 48 vCPU, 192 GiB)."""
    ic_endpoint(sm, "ep")
    return "ep"
