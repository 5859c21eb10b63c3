"""`ic-sandbox emulator`: run the SageMaker emulator as a process.

The first stdout line is `listening on http://HOST:PORT`, so launchers that pass
`--port 0` can read the port the kernel picked.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from .runner import Emulator


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--account-id", default="123456789012")
    parser.add_argument(
        "--extra-regions",
        default="",
        help="comma-separated regions served besides --region, each account's state kept "
        "apart per region (see PUT /_emulator/regions)",
    )
    parser.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="multiply every simulated duration by this factor (0.01: 10 minutes take 6 s)",
    )
    parser.add_argument(
        "--verify-signatures",
        action="store_true",
        help="refuse requests not SigV4-signed by a credential the emulator issued "
        "(see PUT /_emulator/identity; off: any credentials do)",
    )
    parser.add_argument(
        "--authorize",
        action="store_true",
        help="evaluate each SageMaker, Application Auto Scaling and CloudWatch call against "
        "the caller's identity policies (see PUT /_emulator/identity; off: all allowed)",
    )


async def _serve(args: argparse.Namespace) -> None:
    emulator = Emulator(
        region=args.region,
        account_id=args.account_id,
        time_scale=args.time_scale,
        verify_signatures=args.verify_signatures,
        authorize=args.authorize,
        extra_regions=[r for r in args.extra_regions.split(",") if r],
    )
    url = await emulator.start(args.host, args.port)
    print(f"listening on {url}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await emulator.stop()


def run(args: argparse.Namespace) -> int:
    if args.time_scale <= 0:
        print("--time-scale must be positive", file=sys.stderr)
        return 2
    asyncio.run(_serve(args))
    return 0
