"""A private containerd for the local node, and the pause image it needs.

Private: its own root, state, socket and config under the node's working directory,
never the Debian package's system service (left disabled). The settings are the ones
found to work on this kind of machine (docs/node.md): runc with the cgroupfs driver,
overlayfs, `restrict_oom_score_adj` (root here lacks CAP_SYS_RESOURCE, so the -998
oom_score_adj a sandbox asks for would fail every pod), and pod network namespaces
under the state directory, so they are cleaned up with it.

There is no registry, so the sandbox ("pause") image is made here: a static binary
that sleeps until signalled, packed by Python into an OCI image archive and imported
with `ctr`. The C is a few lines; gcc and libc6-dev come from Debian.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import subprocess
import tarfile
import time
from pathlib import Path

from ic_sandbox.processes import ManagedProcess

PAUSE_IMAGE = "localhost/ic-sandbox/pause:3.10"
CNI_BIN_DIR = Path("/usr/lib/cni")
K8S_NAMESPACE = "k8s.io"

_PAUSE_C = r"""
#include <signal.h>
#include <unistd.h>
static void done(int sig) { (void)sig; _exit(0); }
int main(void) {
    signal(SIGINT, done);
    signal(SIGTERM, done);
    for (;;) pause();
}
"""


class ContainerdError(RuntimeError):
    """containerd did not come up, or a ctr command failed."""


def config_toml(root: Path, state: Path, socket: Path, cni_conf_dir: Path) -> str:
    return f"""version = 2
root = "{root}"
state = "{state}"
disabled_plugins = ["io.containerd.internal.v1.tracing", "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs"]

[grpc]
  address = "{socket}"

[ttrpc]
  address = "{socket}.ttrpc"

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{PAUSE_IMAGE}"
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  enable_selinux = false
  disable_apparmor = true
  stream_server_address = "127.0.0.1"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        BinaryName = "runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{CNI_BIN_DIR}"
    conf_dir = "{cni_conf_dir}"
    max_conf_num = 1
"""


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _pause_binary(workdir: Path) -> bytes:
    source = workdir / "pause.c"
    binary = workdir / "pause"
    source.write_text(_PAUSE_C)
    subprocess.run(
        ["gcc", "-static", "-Os", "-s", "-o", str(binary), str(source)],
        check=True,
        capture_output=True,
        stdin=subprocess.DEVNULL,
    )
    return binary.read_bytes()


def _layer(files: dict[str, tuple[bytes, int]]) -> tuple[bytes, str]:
    """A gzipped layer tar of files (path -> (content, mode)) and its uncompressed diff ID."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path, (content, mode) in files.items():
            info = tarfile.TarInfo(path)
            info.size, info.mode, info.mtime = len(content), mode, 0
            tar.addfile(info, io.BytesIO(content))
    uncompressed = raw.getvalue()
    return gzip.compress(uncompressed, mtime=0), _sha256(uncompressed)


def write_oci_archive(
    path: Path, ref: str, files: dict[str, tuple[bytes, int]], entrypoint: str
) -> None:
    """An OCI image layout tar with one layer and one manifest, named ref for `ctr import`."""
    layer, diff_id = _layer(files)
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Entrypoint": [entrypoint], "User": "65535:65535"},
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        }
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": _sha256(config),
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": _sha256(layer),
                    "size": len(layer),
                }
            ],
        }
    ).encode()
    index = json.dumps(
        {
            "schemaVersion": 2,
            "manifests": [
                {
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": _sha256(manifest),
                    "size": len(manifest),
                    "annotations": {
                        "io.containerd.image.name": ref,
                        "org.opencontainers.image.ref.name": ref.rsplit(":", 1)[1],
                    },
                }
            ],
        }
    ).encode()
    with tarfile.open(path, "w") as tar:
        entries = {
            "oci-layout": json.dumps({"imageLayoutVersion": "1.0.0"}).encode(),
            "index.json": index,
        }
        for blob in (layer, config, manifest):
            entries[f"blobs/sha256/{_sha256(blob).removeprefix('sha256:')}"] = blob
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))


def build_pause_archive(workdir: Path) -> Path:
    workdir.mkdir(parents=True, exist_ok=True)
    archive = workdir / "pause.oci.tar"
    write_oci_archive(archive, PAUSE_IMAGE, {"pause": (_pause_binary(workdir), 0o755)}, "/pause")
    return archive


class Containerd:
    """One containerd process with everything under workdir."""

    def __init__(self, workdir: Path, cni_conf_dir: Path, exec_prefix: list[str]) -> None:
        self.workdir = workdir
        self.root = workdir / "root"
        self.state = workdir / "state"
        self.socket = workdir / "containerd.sock"
        self.config = workdir / "config.toml"
        self.cni_conf_dir = cni_conf_dir
        self.exec_prefix = exec_prefix
        self.process: ManagedProcess | None = None

    def start(self, timeout: float = 30.0) -> None:
        if shutil.which("containerd") is None:
            raise ContainerdError("containerd not found: `make node-packages` installs it")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config.write_text(config_toml(self.root, self.state, self.socket, self.cni_conf_dir))
        self.process = ManagedProcess(
            "containerd",
            [*self.exec_prefix, "containerd", f"--config={self.config}"],
            self.workdir / "containerd.log",
        )
        self.process.start()
        deadline = time.monotonic() + timeout
        while True:
            if (code := self.process.exit_code()) is not None:
                raise ContainerdError(f"containerd exited {code}:\n{self.process.log_tail()}")
            if self.socket.exists() and self._ctr_ok("version"):
                return
            if time.monotonic() > deadline:
                tail = self.process.log_tail()
                raise ContainerdError(f"containerd not up in {timeout}s:\n{tail}")
            time.sleep(0.1)

    def _ctr_ok(self, *args: str) -> bool:
        return (
            subprocess.run(
                self._ctr_argv(*args), capture_output=True, check=False, stdin=subprocess.DEVNULL
            ).returncode
            == 0
        )

    def _ctr_argv(self, *args: str) -> list[str]:
        return ["ctr", f"--address={self.socket}", f"--namespace={K8S_NAMESPACE}", *args]

    def ctr(self, *args: str, timeout: float = 300.0) -> str:
        result = subprocess.run(
            self._ctr_argv(*args),
            capture_output=True,
            text=True,
            check=False,
            stdin=subprocess.DEVNULL,
            timeout=timeout,
        )
        if result.returncode != 0:
            command = " ".join(args)
            raise ContainerdError(f"ctr {command} exited {result.returncode}: {result.stderr}")
        return result.stdout

    def import_image(self, archive: Path) -> None:
        self.ctr("images", "import", str(archive))

    def _try(self, *args: str) -> None:
        subprocess.run(
            self._ctr_argv(*args), capture_output=True, check=False, stdin=subprocess.DEVNULL
        )

    def kill_all_tasks(self) -> None:
        """SIGKILL and delete every container, so each runc shim exits before containerd does.

        The shims start in process groups of their own and re-parent to init: left
        running, they would outlive the node (stop() kills any that remain).
        """
        if self.process is None or not self.process.running():
            return
        for task in self.ctr("tasks", "list", "--quiet").split():
            self._try("tasks", "kill", "--signal=SIGKILL", task)
        for task in self.ctr("tasks", "list", "--quiet").split():
            self._try("tasks", "delete", "--force", task)
        for container in self.ctr("containers", "list", "--quiet").split():
            self._try("containers", "delete", container)

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
