"""`ic-sandbox image` (`make image`): the operator's image, built without Docker.

No container registry is reachable from this machine (nor, often, from CI), so the
`python:3.11-slim` the Dockerfile names cannot be pulled. Instead a base with the
same contract (a Debian bookworm CPython 3.11 with `python` and `pip` on PATH) is
made from Debian packages with mmdebstrap, imported into podman under BASE_TAG and
passed as `--build-arg PYTHON_IMAGE`; the Dockerfile itself is the one users run
`docker build` on. The base tarball is cached under the machine-wide cache, keyed by
a hash of everything that goes into it, so only the first run pays for debootstrapping.

Podman runs with a containers.conf this module writes (CONTAINERS_CONF), not with
edits to /etc, because of what this kind of host lacks: PID 1 is not systemd
(cgroupfs manager, file events logger), root has no CAP_SYS_RESOURCE (podman's
default nofile/nproc ulimits are above the hard limit, so they are capped), and
cgroups are v1 (crun 1.8 refuses it; runc works). RUN steps get the host's CA
bundle mounted read-only, because the package index may be reached through a
TLS-inspecting proxy whose CA only the host trusts; `--pull=never` stops podman
from treating `localhost/...` as a registry to dial.

The result is also saved as an OCI archive (archive_path()), the form containerd
imports (`ctr -n k8s.io images import`) for the local node.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from ic_sandbox.cluster import background
from ic_sandbox.cluster.binaries import _locked, cache_root, repo_root

BASE_TAG = "localhost/python:3.11-slim-bookworm-debian"
IMAGE_REPOSITORY = "localhost/sagemaker-ic-operator"
BASE_LABEL = "io.sagemaker-ic-operator.base-inputs"
# The Dockerfile labels its builder stage so: the stage's untagged image is pruned.
BUILDER_LABEL = "io.sagemaker-ic-operator.stage=builder"
# The digest of the build context and base an image was made from: an image whose
# label matches the checkout is reused instead of rebuilt (make image, then the tests).
CONTEXT_LABEL = "io.sagemaker-ic-operator.context"
# What the Dockerfile can see (.dockerignore admits these): the context digest covers them.
CONTEXT_FILES = ("Dockerfile", ".dockerignore", "pyproject.toml", "constraints.txt", "README.md")
CONTEXT_TREES = ("operator",)

# What the base is made of; every value here is part of the cache key.
SUITE = "bookworm"
MIRRORS = (
    "deb http://deb.debian.org/debian bookworm main",
    "deb http://deb.debian.org/debian bookworm-updates main",
    "deb http://deb.debian.org/debian-security bookworm-security main",
)
# python3-venv: Debian's python3.11 is PEP 668 externally managed, so pip works in
# a venv (on PATH, like python:3.11-slim's /usr/local) and not in /usr.
BASE_PACKAGES = ("python3", "python3-venv", "ca-certificates")
MMDEBSTRAP_OPTIONS = (
    "--variant=essential",
    "--format=tar",
    # Merged /usr without the usrmerge package, which would pull in all of perl (~50 MB).
    "--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr",
    "--dpkgopt=path-exclude=/usr/share/doc/*",
    "--dpkgopt=path-include=/usr/share/doc/*/copyright",
    "--dpkgopt=path-exclude=/usr/share/man/*",
    "--dpkgopt=path-exclude=/usr/share/info/*",
    "--dpkgopt=path-exclude=/usr/share/locale/*",
    '--customize-hook=chroot "$1" python3 -m venv /opt/python',
)
BASE_CHANGES = (
    "ENV PATH=/opt/python/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "ENV LANG=C.UTF-8",
    'CMD ["python3"]',
)

CONTAINERS_CONF = """\
# Written by ic_sandbox.image (make image); see that module's docstring for why.
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "runc"
"""

# command -> Debian package that provides it
HOST_TOOLS = {
    "podman": "podman",
    "mmdebstrap": "mmdebstrap",
    "runc": "runc",
    "newuidmap": "uidmap",
    "fuse-overlayfs": "fuse-overlayfs",
}

CA_BUNDLE_DIR = Path("/etc/ssl/certs")


class ImageError(RuntimeError):
    """The image (or its base, or the tools to build it) could not be made."""


@dataclass(frozen=True)
class Built:
    """What `build()` made: the tag in podman's store and the OCI archive of it."""

    reference: str
    archive: Path


def images_dir() -> Path:
    return cache_root() / "images"


def version() -> str:
    """The product's version: the image tag, as the chart's appVersion is."""
    return str(tomllib.loads((repo_root() / "pyproject.toml").read_text())["project"]["version"])


def reference() -> str:
    return f"{IMAGE_REPOSITORY}:{version()}"


def archive_path() -> Path:
    """Where build() saves the OCI archive: per checkout, since it is that checkout's code."""
    return repo_root() / "build" / "image" / f"sagemaker-ic-operator-{version()}.oci.tar"


def base_key() -> str:
    """A hash of every input of the base: a changed package list makes a new base."""
    inputs = {
        "suite": SUITE,
        "mirrors": MIRRORS,
        "packages": BASE_PACKAGES,
        "options": MMDEBSTRAP_OPTIONS,
        "changes": BASE_CHANGES,
    }
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:16]


def base_tarball() -> Path:
    return images_dir() / f"base-{base_key()}.tar"


def _say(message: str) -> None:
    print(f"ic-sandbox image: {message}", file=sys.stderr, flush=True)


def _run(cmd: list[str], *, env: dict[str, str] | None = None, log: Path | None = None) -> str:
    """Run a command; on failure raise with its output's tail (or the log's)."""
    if log is None:
        result = subprocess.run(
            cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False
        )
        output = result.stdout + result.stderr
    else:
        with log.open("w") as out:
            result = subprocess.run(
                cmd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
                check=False,
            )
        output = log.read_text(errors="replace")
    if result.returncode != 0:
        tail = "\n".join(output.splitlines()[-30:])
        where = f" (log: {log})" if log else ""
        raise ImageError(f"{' '.join(cmd)} exited {result.returncode}{where}:\n{tail}")
    return result.stdout if log is None else ""


def ensure_host_tools() -> None:
    """Install podman, mmdebstrap, runc and friends from Debian when any is missing.

    CI starts from a fresh machine with root and no stdin; a developer without root
    gets the one apt-get command to run instead.
    """
    missing = sorted({pkg for cmd, pkg in HOST_TOOLS.items() if shutil.which(cmd) is None})
    if not missing:
        return
    install = ["apt-get", "install", "-y", "-q", "-o", "DPkg::Lock::Timeout=600", *missing]
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise ImageError(f"missing {', '.join(missing)}: run `sudo {' '.join(install)}`")
    _say(f"installing {', '.join(missing)} with apt-get")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    _run(["apt-get", "update", "-q", "-o", "DPkg::Lock::Timeout=600"], env=env)
    _run(install, env=env)


def podman_env() -> dict[str, str]:
    """The environment every podman call runs in: our containers.conf, not /etc's edits."""
    conf = images_dir() / "containers.conf"
    if not conf.is_file() or conf.read_text() != CONTAINERS_CONF:
        conf.parent.mkdir(parents=True, exist_ok=True)
        partial = conf.with_name(f".{conf.name}.{os.getpid()}")
        partial.write_text(CONTAINERS_CONF)
        partial.replace(conf)
    return {**os.environ, "CONTAINERS_CONF": str(conf)}


def podman(*args: str, log: Path | None = None) -> str:
    return _run(["podman", *args], env=podman_env(), log=log)


def _base_tarball() -> Path:
    """The mmdebstrap tarball, made once per base_key() (under the images lock)."""
    tarball = base_tarball()
    if tarball.is_file():
        return tarball
    partial = tarball.with_name(f".partial-{os.getpid()}-{tarball.name}")
    log = images_dir() / f"base-{base_key()}.log"
    _say(f"making the base from Debian {SUITE} packages with mmdebstrap (first time; log: {log})")
    try:
        _run(
            [
                "mmdebstrap",
                *MMDEBSTRAP_OPTIONS,
                f"--include={','.join(BASE_PACKAGES)}",
                SUITE,
                str(partial),
                *MIRRORS,
            ],
            log=log,
        )
        partial.replace(tarball)
    finally:
        partial.unlink(missing_ok=True)
    return tarball


def ensure_base(*, rebuild: bool = False) -> str:
    """BASE_TAG in podman's store, imported from the cached tarball unless already current.

    `rebuild` remakes the tarball, the way to pick up Debian's security updates.
    """
    key = base_key()
    if rebuild:
        base_tarball().unlink(missing_ok=True)
    try:
        current = podman(
            "image", "inspect", "--format", f'{{{{index .Labels "{BASE_LABEL}"}}}}', BASE_TAG
        ).strip()
    except ImageError:
        current = ""
    if current == key and not rebuild:
        return BASE_TAG
    tarball = _base_tarball()
    changes = [f"--change={change}" for change in (*BASE_CHANGES, f"LABEL {BASE_LABEL}={key}")]
    podman("import", *changes, str(tarball), BASE_TAG)
    return BASE_TAG


def context_digest(root: Path, base_id: str) -> str:
    """A hash of every file the build can read, and of the base image it builds on."""
    digest = hashlib.sha256(base_id.encode())
    paths = [root / name for name in CONTEXT_FILES]
    for tree in CONTEXT_TREES:
        paths.extend(
            path
            for path in sorted((root / tree).rglob("*"))
            if path.is_file()
            and "__pycache__" not in path.parts
            and path.suffix != ".pyc"
            and not any(part.endswith(".egg-info") for part in path.parts)
        )
    for path in paths:
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(path.read_bytes() if path.is_file() else b"<absent>")
        digest.update(b"\0")
    return digest.hexdigest()[:32]


def _label(ref: str, label: str) -> str | None:
    try:
        value = podman("image", "inspect", f'--format={{{{index .Labels "{label}"}}}}', ref)
    except ImageError:
        return None
    return value.strip() or None


def _image_id(ref: str) -> str | None:
    try:
        return podman("image", "inspect", "--format={{.Id}}", ref).strip()
    except ImageError:
        return None


def build(*, rebuild_base: bool = False) -> Built:
    """Build the image from the checkout's Dockerfile and save its OCI archive.

    Without podman's layer cache (`--layers=false`): podman 4.3 (bookworm) cannot
    bind-mount a builder stage that came from its cache (containers/podman#16281)
    and reuses a cached RUN whose mounted stage changed (containers/podman#17119),
    which would ship stale code. So every build runs the builder stage's `pip wheel`
    again (about a minute's downloads here). The image the tag pointed to before and
    the builder stage's image are removed, so repeated builds do not pile up. An image
    labelled with this checkout's context digest (and its saved archive) is reused
    instead: `make test` builds once for `make image` and the image tests.
    Serialised machine-wide by a file lock: the tag is shared by every checkout on the
    machine, so one build and its save must not interleave with another's.
    """
    if failure := background.wait_for("image"):  # `make test` built it, and failed
        raise ImageError(failure)
    ensure_host_tools()
    root = repo_root()
    archive = archive_path()
    archive.parent.mkdir(parents=True, exist_ok=True)
    ref = reference()
    with _locked(images_dir()):
        base = ensure_base(rebuild=rebuild_base)
        context = context_digest(root, _image_id(base) or base)
        stamp = archive.with_name(f"{archive.name}.context")
        if (
            _label(ref, CONTEXT_LABEL) == context
            and archive.is_file()
            and stamp.is_file()
            and stamp.read_text().strip() == context
        ):
            _say(f"{ref} is up to date with this checkout ({context[:12]}); not rebuilt")
            return Built(reference=ref, archive=archive)
        previous = _image_id(ref)
        build_args = [
            "build", "--pull=never", f"--volume={CA_BUNDLE_DIR}:{CA_BUNDLE_DIR}:ro",
            "--layers=false", f"--label={CONTEXT_LABEL}={context}",
            f"--build-arg=PYTHON_IMAGE={base}", f"--tag={ref}",
            f"--file={root / 'Dockerfile'}", str(root),
        ]  # fmt: skip
        _say(f"podman build -t {ref} (base {base})")
        podman(*build_args, log=archive.parent / "build.log")
        if previous is not None and previous != _image_id(ref):
            with contextlib.suppress(ImageError):  # still used by a container: keep it
                podman("rmi", previous)
        podman("image", "prune", "--force", f"--filter=label={BUILDER_LABEL}")
        partial = archive.with_name(f".{archive.name}.partial-{os.getpid()}")
        partial.unlink(missing_ok=True)
        try:
            podman("save", "--format=oci-archive", f"--output={partial}", ref)
            partial.replace(archive)
            stamp.write_text(context + "\n")
        finally:
            partial.unlink(missing_ok=True)
    _say(f"{ref} saved to {archive}")
    return Built(reference=ref, archive=archive)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--print-archive",
        action="store_true",
        help="print where the OCI archive is (or will be) saved, and build nothing",
    )
    parser.add_argument(
        "--rebuild-base",
        action="store_true",
        help="remake the Debian base (picks up new security updates), then build",
    )


def run(args: argparse.Namespace) -> int:
    if args.print_archive:
        print(archive_path())
        return 0
    try:
        built = build(rebuild_base=args.rebuild_base)
    except ImageError as exc:
        print(f"ic-sandbox image: {exc}", file=sys.stderr)
        return 1
    print(built.archive)
    return 0
