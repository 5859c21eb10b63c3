"""kopf's handlers of this operator all run on the event loop.

kopf runs a sync handler in a worker thread. The wake handler sets the object loop's
asyncio.Event, and an Event set from another thread does not wake the loop waiting
on it: the edit then waits for the loop's next resync tick (measured: one edit in
fifty reached SageMaker 20 s late at N=1000). Every handler touches the loops' asyncio
state, so every one must be a coroutine function.
"""

from __future__ import annotations

from kopf._core.actions.invocation import is_async_fn

from ic_operator.kube import boot
from tests.reconciler.harness import SETTINGS


def test_every_resource_handler_is_a_coroutine_function() -> None:
    registry = boot.build(SETTINGS).registry
    handlers = [
        *registry._watching.get_all_handlers(),
        *registry._spawning.get_all_handlers(),
        *registry._changing.get_all_handlers(),
    ]
    assert {h.id for h in handlers} >= {"wake", "loop", "finalize"}
    assert [h.id for h in handlers if not is_async_fn(h.fn)] == []
