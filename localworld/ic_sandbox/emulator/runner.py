"""Ways to run the emulator: on the caller's event loop, or in a thread for sync tests."""

from __future__ import annotations

import asyncio
import threading

from aiohttp import web

from ic_sandbox.startstop import StartStop

from .clock import Clock, Durations
from .server import WORLDS, build_app
from .state import EmulatorState
from .worlds import Worlds


class Emulator:
    """The emulator on the running event loop: `url = await Emulator().start()`."""

    def __init__(
        self,
        *,
        region: str = "us-east-1",
        account_id: str = "123456789012",
        time_scale: float = 1.0,
        durations: Durations | None = None,
        verify_signatures: bool = False,
        authorize: bool = False,
        extra_regions: list[str] | None = None,
    ) -> None:
        self.extra_regions = list(extra_regions or [])
        self.world = EmulatorState(
            region=region,
            account_id=account_id,
            clock=Clock(time_scale),
            durations=durations or Durations(),
        )
        self.world.identities.verify = verify_signatures
        self.world.identities.authorize = authorize
        self._runner: web.AppRunner | None = None
        self.worlds: Worlds | None = None
        self.url = ""

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        app = build_app(self.world, extra_regions=self.extra_regions)
        self.worlds = app[WORLDS]
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        server = site._server
        assert server is not None
        sockets = getattr(server, "sockets", None) or []
        bound = sockets[0].getsockname()[1] if sockets else port
        self.url = f"http://{host}:{bound}"
        return self.url

    async def stop(self) -> None:
        if self.worlds is not None:
            await self.worlds.cancel_all()
        await self.world.cancel_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def reset(self) -> None:
        if self.worlds is not None:
            await self.worlds.reset()
        else:
            await self.world.reset()


class EmulatorThread(StartStop):
    """The emulator on its own event loop in a daemon thread, for synchronous callers."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        region: str = "us-east-1",
        account_id: str = "123456789012",
        time_scale: float = 1.0,
        durations: Durations | None = None,
        verify_signatures: bool = False,
        authorize: bool = False,
        extra_regions: list[str] | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.emulator = Emulator(
            region=region,
            account_id=account_id,
            time_scale=time_scale,
            durations=durations,
            verify_signatures=verify_signatures,
            authorize=authorize,
            extra_regions=extra_regions,
        )
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, daemon=True, name="sagemaker-emulator"
        )
        self.url = ""

    def start(self) -> str:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(
            self.emulator.start(self.host, self.port), self._loop
        )
        self.url = future.result(timeout=30)
        return self.url

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        asyncio.run_coroutine_threadsafe(self.emulator.stop(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        self._loop.close()
