"""The one way the local world, its tests and the benchmark run the real kubectl.

Each caller fixes a kubeconfig and, optionally, a discovery cache (kubectl caches per
server address under ~/.kube/cache by default, and every sandbox has a new port), and
says what a failure is: a SandboxError for the sandbox, a failed test for the tests,
a BenchError that aborts a benchmark run.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass
from pathlib import Path
from typing import NoReturn

# A failure message never carries a whole manifest or a whole error page.
_ARGS_SHOWN = 200
_OUTPUT_SHOWN = 2000


@dataclass
class Kubectl:
    """The real kubectl against one kubeconfig; a call returns the CompletedProcess.

    check=True (the default) turns a non-zero exit into `error`, with kubectl's
    output; pass check=False to read or assert on a rejection. Running past
    `timeout` seconds is always an `error`.
    """

    binary: Path
    kubeconfig: Path
    cache_dir: Path | None = None
    _: KW_ONLY
    timeout: float = 60.0
    error: Callable[[str], BaseException] = RuntimeError

    def __call__(
        self,
        *args: str,
        input: str | None = None,
        check: bool = True,
        timeout: float | None = None,
    ) -> subprocess.CompletedProcess[str]:
        limit = self.timeout if timeout is None else timeout
        command = " ".join(args)[:_ARGS_SHOWN]
        try:
            result = subprocess.run(
                self.argv(*args),
                input=input,
                capture_output=True,
                text=True,
                timeout=limit,
                check=False,
                stdin=None if input is not None else subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as exc:
            self.fail(f"kubectl {command} did not finish in {limit:.0f}s", exc)
        if check and result.returncode != 0:
            output = (result.stderr.strip() + "\n" + result.stdout.strip()).strip()
            self.fail(f"kubectl {command} exited {result.returncode}: {output[-_OUTPUT_SHOWN:]}")
        return result

    def argv(self, *args: str) -> list[str]:
        """The command line for `args`, for callers that run kubectl themselves (streams)."""
        cache = [] if self.cache_dir is None else [f"--cache-dir={self.cache_dir}"]
        return [str(self.binary), f"--kubeconfig={self.kubeconfig}", *cache, *args]

    def fail(self, message: str, cause: BaseException | None = None) -> NoReturn:
        raise self.error(message) from cause
