"""A test image for pods: Debian's static busybox (nslookup, nc, wget), no registry needed."""

from __future__ import annotations

from pathlib import Path

from ic_sandbox.node.containerd import write_oci_archive

BUSYBOX_IMAGE = "localhost/ic-sandbox/busybox:test"
BUSYBOX = Path("/bin/busybox")


def busybox_archive(workdir: Path) -> Path:
    workdir.mkdir(parents=True, exist_ok=True)
    archive = workdir / "busybox.oci.tar"
    files = {"bin/busybox": (BUSYBOX.read_bytes(), 0o755)}
    write_oci_archive(archive, BUSYBOX_IMAGE, files, "/bin/busybox")
    return archive
