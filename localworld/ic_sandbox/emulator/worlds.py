"""Every account and region the emulator serves: one `EmulatorState` and one set of
services for each (account, region), made on first use.

AWS keeps an account's SageMaker, Application Auto Scaling and CloudWatch resources per
region, and a principal's calls land in its own account (an assumed role's in the role's
account): so a call is served by the world of the caller's account and of the region its
signature is scoped to (docs/emulator.md, "Accounts and regions"). What AWS keeps
globally is shared by every world: IAM and STS (`Identities`), and here also the clock
and the call log, whose entries say which account and region served each call.

The emulator's own account and region (`--account-id`, `--region`) are the primary
world: the admin routes act on it unless a request names another with `?account=` and
`?region=`. Other regions are served once enabled (`--extra-regions`,
`PUT /_emulator/regions`): a signature scoped to any other region is refused as before.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .authorization import Authorizer
from .components import InferenceComponents
from .protocols import JsonService
from .scaler import Scaler
from .state import EmulatorState


@dataclass
class Services:
    """One account's services in one region, over its state."""

    state: EmulatorState
    components: InferenceComponents
    services: dict[str, JsonService]  # by X-Amz-Target prefix
    authorizer: Authorizer
    scaler: Scaler


class Worlds:
    def __init__(self, primary: EmulatorState, build: Callable[[EmulatorState], Services]):
        self.primary = primary
        self._build = build
        self.regions: list[str] = [primary.region]
        self._by_key: dict[tuple[str, str], Services] = {}
        self.home = self._add(primary)

    def _add(self, state: EmulatorState) -> Services:
        services = self._build(state)
        self._by_key[(state.account_id, state.region)] = services
        return services

    def serves(self, region: str) -> bool:
        return region in self.regions

    def enable(self, regions: list[str]) -> None:
        """Serve these regions besides the primary one (which is always served); a region
        no longer listed is refused again (its worlds stay until a reset)."""
        self.regions = [self.primary.region]
        for region in regions:
            if region not in self.regions:
                self.regions.append(region)

    def get(self, account_id: str, region: str) -> Services:
        """The world of `account_id` in `region`, made on first use; it shares the primary
        world's identities, clock and call log."""
        found = self._by_key.get((account_id, region))
        if found is not None:
            return found
        p = self.primary
        state = EmulatorState(
            region=region,
            account_id=account_id,
            clock=p.clock,
            durations=p.durations,
            identities=p.identities,
            calls=p.calls,
        )
        return self._add(state)

    def find(self, account_id: str | None, region: str | None) -> Services | None:
        """An existing world (None: the primary's account or region), for the admin routes."""
        key = (account_id or self.primary.account_id, region or self.primary.region)
        return self._by_key.get(key)

    def all(self) -> list[Services]:
        return list(self._by_key.values())

    async def reset(self) -> None:
        """Every world forgets its resources; the other worlds go (a new call makes them
        again), as IAM survives and SageMaker's resources do not."""
        for services in self.all():
            await services.state.reset()
        home = self._by_key[(self.primary.account_id, self.primary.region)]
        self._by_key = {(self.primary.account_id, self.primary.region): home}

    async def cancel_all(self) -> None:
        for services in self.all():
            await services.state.cancel_all()

    def summary(self) -> list[dict[str, Any]]:
        return [
            {
                "account_id": s.state.account_id,
                "region": s.state.region,
                "components": len(s.state.components),
                "endpoints": len(s.state.endpoints),
            }
            for s in self.all()
        ]
