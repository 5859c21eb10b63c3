"""What a local node changes on the host, captured before and restored after.

A kubelet rewrites host settings every time it starts (docs/node.md lists them). The
node keeps what it can inside its own network namespace (ic_sandbox.node.network) and its
own working directory; this module covers the rest, and gives a test one value to
compare: `HostState.capture()` before the node starts and after it stops must be equal.

Only what belongs to this node is looked at (its working directory, its namespace and
link names, its cgroup root), so that a podman build or another test run on the same
machine, which legitimately changes mounts and iptables, cannot make the comparison lie.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from ic_sandbox.processes import processes_mentioning

# Set by the kubelet's setupKernelTunables at every start (pkg/kubelet/cm); the
# last two only on some releases. Values are restored when the node stops.
KERNEL_TUNABLES = (
    "vm/overcommit_memory",
    "vm/panic_on_oom",
    "kernel/panic",
    "kernel/panic_on_oops",
    "kernel/keys/root_maxkeys",
    "kernel/keys/root_maxbytes",
)
CGROUP_FS = Path("/sys/fs/cgroup")
CNI_STATE = Path("/var/lib/cni")
LEGACY_CONTAINER_LOGS = Path("/var/log/containers")
_COUNTERS = re.compile(r"\[\d+:\d+\]")


def read_sysctls() -> dict[str, str]:
    values = {}
    for name in KERNEL_TUNABLES:
        with contextlib.suppress(FileNotFoundError):
            values[name] = (Path("/proc/sys") / name).read_text().strip()
    return values


def restore_sysctls(saved: dict[str, str]) -> None:
    for name, value in saved.items():
        path = Path("/proc/sys") / name
        if path.read_text().strip() != value:
            path.write_text(value + "\n")


def cgroup_hierarchies() -> list[Path]:
    """Every mounted cgroup hierarchy (v1 controllers and the hybrid layout's unified one)."""
    return sorted(p for p in CGROUP_FS.iterdir() if (p / "cgroup.procs").is_file())


def _iptables_lines(markers: tuple[str, ...]) -> list[str]:
    lines: list[str] = []
    for command in ("iptables-save", "ip6tables-save"):
        result = subprocess.run(
            [command], capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL
        )
        lines += [
            f"{command}: {_COUNTERS.sub('', line)}"
            for line in result.stdout.splitlines()
            if not line.startswith("#") and any(m in line for m in markers)
        ]
    return lines


def _mount_points() -> list[str]:
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].replace("\\040", " ")
        points.append(point)
    return points


def kill_processes_using(marker: str, timeout: float = 10.0) -> None:
    """SIGKILL what still runs from the node's directory (runc shims re-parented to init)."""
    deadline = time.monotonic() + timeout
    while pids := processes_mentioning(marker):
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if time.monotonic() > deadline:
            raise RuntimeError(f"processes of {marker} survive SIGKILL: {pids}")
        time.sleep(0.05)


def unmount_under(root: Path) -> None:
    """Unmount everything mounted at or below root, deepest first (kubelet volumes,
    container root filesystems, pod network namespaces, the kubelet's own bind mount)."""
    prefix = str(root)
    for _ in range(5):
        points = [p for p in _mount_points() if p == prefix or p.startswith(prefix + "/")]
        if not points:
            return
        for point in sorted(set(points), key=len, reverse=True):
            subprocess.run(
                ["umount", point], capture_output=True, check=False, stdin=subprocess.DEVNULL
            )
    left = [p for p in _mount_points() if p == prefix or p.startswith(prefix + "/")]
    if left:
        subprocess.run(["umount", "-l", *left], capture_output=True, check=False)


def remove_cgroup_tree(name: str) -> None:
    """rmdir the node's cgroup root in every hierarchy, leaves first (cgroups are dirs
    that only rmdir removes, and only once empty)."""
    for hierarchy in cgroup_hierarchies():
        top = hierarchy / name
        if not top.is_dir():
            continue
        dirs = sorted((Path(d) for d, _, _ in os.walk(top)), key=lambda p: len(p.parts))
        for directory in reversed(dirs):
            with contextlib.suppress(FileNotFoundError):
                directory.rmdir()


def remove_cni_state(network_name: str) -> None:
    """Drop the CNI result cache files libcni (in containerd) keeps for this network."""
    if not CNI_STATE.is_dir():
        return
    for path in CNI_STATE.rglob(f"*{network_name}*"):
        if path.is_file() or path.is_symlink():
            path.unlink()


def remove_container_log_links(pod_logs: Path) -> None:
    """The kubelet links every container log from /var/log/containers (a fixed path)."""
    if not LEGACY_CONTAINER_LOGS.is_dir():
        return
    for link in LEGACY_CONTAINER_LOGS.iterdir():
        if link.is_symlink() and str(link.readlink()).startswith(str(pod_logs)):
            link.unlink()


@dataclass(frozen=True)
class HostState:
    """The host facts a node could change, restricted to this node's own names."""

    sysctls: dict[str, str]
    iptables: list[str]
    mounts: list[str]
    cgroups: list[str]
    links: list[str]
    netns: list[str]
    cni_state: list[str]
    container_log_links: list[str]
    processes: list[int] = field(default_factory=list)

    @classmethod
    def capture(cls, workdir: Path, name: str, host_link: str) -> HostState:
        prefix = str(workdir)
        links = subprocess.run(
            ["ip", "-o", "link", "show"], capture_output=True, text=True, check=False
        ).stdout
        cni = sorted(str(p) for p in CNI_STATE.rglob(f"*{name}*")) if CNI_STATE.is_dir() else []
        log_links = (
            sorted(
                str(p)
                for p in LEGACY_CONTAINER_LOGS.iterdir()
                if p.is_symlink() and str(p.readlink()).startswith(prefix)
            )
            if LEGACY_CONTAINER_LOGS.is_dir()
            else []
        )
        return cls(
            sysctls=read_sysctls(),
            # Not CNI-* chains: podman's own CNI network makes those on the host.
            iptables=_iptables_lines(("KUBE-", name, host_link)),
            mounts=sorted(p for p in _mount_points() if p.startswith(prefix) or name in p),
            # A top-level kubepods would mean the kubelet ignored its cgroupRoot.
            cgroups=sorted(
                str(h / d)
                for h in cgroup_hierarchies()
                for d in (name, "kubepods", "kubepods.slice")
                if (h / d).exists()
            ),
            links=sorted(line for line in links.splitlines() if host_link in line),
            netns=sorted(p.name for p in Path("/run/netns").glob(f"{name}*")),
            cni_state=cni,
            container_log_links=log_links,
            processes=processes_mentioning(prefix),
        )
