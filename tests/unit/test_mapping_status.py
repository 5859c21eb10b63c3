"""AccountMapping status: the writer's last word is always what the cache says now.

The mapping's status is refreshed from several coroutines (a Namespace event, a mapping
event, a component's pass reporting what it holds). A refresh that computed an older
status and is still waiting for its patch must never land after, or be remembered
over, a newer one: nothing would ever write the newer one again (CI once saw a
mapping's `status.held` stay empty while its component said AccountChanged)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from ic_operator.aws.placement import Unmapped
from ic_operator.kube.accounts import AccountsCache, MappingStatuses

ROLE_B = "arn:aws:iam::222222222222:role/team-b"
ROLE_C = "arn:aws:iam::111111111111:role/team-c"


def _mapping(name: str, role: str, team: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "generation": 1},
        "spec": {
            "roleArn": role,
            "defaultRegion": "eu-west-1",
            "namespaceSelector": {"matchLabels": {"team": team}},
        },
    }


class SlowFirstPatch:
    """The API server answering the first patch after the second (two connections)."""

    def __init__(self) -> None:
        self.server: dict[str, dict[str, Any]] = {}
        self.calls = 0
        self.second_done = asyncio.Event()

    async def __call__(self, body: dict[str, Any], status: dict[str, Any]) -> None:
        self.calls += 1
        if self.calls == 1:
            # Until the second has landed; refreshes one at a time never send one.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.second_done.wait(), timeout=0.2)
        self.server[body["metadata"]["name"]] = status
        if self.calls == 2:
            self.second_done.set()


async def _ran_together() -> tuple[AccountsCache, SlowFirstPatch]:
    cache = AccountsCache(
        unmapped=Unmapped.REFUSE, operator_account="123456789012", operator_region="eu-west-1"
    )
    patch = SlowFirstPatch()
    statuses = MappingStatuses(cache, patch)
    cache.namespace_seen("ADDED", {"metadata": {"name": "b-prod", "labels": {"team": "b"}}})
    cache.mapping_seen("ADDED", _mapping("b", ROLE_B, "b"))
    cache.mapping_seen("ADDED", _mapping("c", ROLE_C, "c"))
    first = asyncio.create_task(statuses.refresh())  # c: nothing held yet
    await asyncio.sleep(0)
    cache.held["b-prod/llm"] = (("b", "c"), "account")
    second = asyncio.create_task(statuses.refresh())  # c: the held component
    await asyncio.gather(first, second)
    return cache, patch


def test_an_older_status_never_lands_over_a_newer_one() -> None:
    _, patch = asyncio.run(_ran_together())
    assert patch.server["c"]["held"] == [{"component": "b-prod/llm", "wouldMove": "account"}]
    assert patch.server["b"]["held"] == [{"component": "b-prod/llm", "wouldMove": "account"}]
