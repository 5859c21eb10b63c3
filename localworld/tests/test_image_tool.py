"""ic_sandbox.image's pure parts: the podman configuration it writes, the base's cache key,
the host-tool check. The build itself runs for real in tests/image."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from ic_sandbox import image


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("IC_OPERATOR_CACHE", str(tmp_path))
    return tmp_path


def test_podman_runs_with_its_own_containers_conf(cache: Path) -> None:
    """The host facts: no systemd, no CAP_SYS_RESOURCE, cgroup v1 (runc, not crun)."""
    env = image.podman_env()
    conf = Path(env["CONTAINERS_CONF"])
    assert conf.parent == cache / "images"
    parsed = tomllib.loads(conf.read_text())
    assert parsed["engine"] == {
        "cgroup_manager": "cgroupfs",
        "events_logger": "file",
        "runtime": "runc",
    }
    limits = dict(u.split("=") for u in parsed["containers"]["default_ulimits"])
    assert set(limits) == {"nofile", "nproc"}
    for value in limits.values():
        soft, hard = (int(v) for v in value.split(":"))
        assert soft == hard <= 4096  # under any hard limit a CI machine's root has


def test_the_base_cache_key_follows_its_inputs(monkeypatch: pytest.MonkeyPatch) -> None:
    key = image.base_key()
    assert image.base_tarball().name == f"base-{key}.tar"
    monkeypatch.setattr(image, "BASE_PACKAGES", (*image.BASE_PACKAGES, "curl"))
    assert image.base_key() != key


def test_missing_tools_without_root_name_the_apt_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(image.shutil, "which", lambda cmd: None if cmd == "mmdebstrap" else cmd)
    monkeypatch.setattr(image.os, "geteuid", lambda: 1000)
    with pytest.raises(image.ImageError, match=r"run `sudo apt-get install .* mmdebstrap`$"):
        image.ensure_host_tools()


def test_the_archive_is_per_checkout_and_named_by_version() -> None:
    archive = image.archive_path()
    assert archive.parent == image.repo_root() / "build" / "image"
    assert archive.name == f"sagemaker-ic-operator-{image.version()}.oci.tar"
    assert image.reference() == f"localhost/sagemaker-ic-operator:{image.version()}"
