"""ic_sandbox.peers.ack without Go: what a run says when the controller is not cached or its
sources are not where it looks, and what the build stamps into the binary."""

from __future__ import annotations

from pathlib import Path

import pytest

from ic_sandbox.cluster.binaries import CACHE_ENV, BinariesMissing
from ic_sandbox.peers import ack


@pytest.fixture
def empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path


def test_not_cached_without_build_says_how_to_build(empty_cache: Path) -> None:
    with pytest.raises(BinariesMissing, match=r"run `make ack`"):
        ack.ensure_ack(build=False)


def test_missing_sources_name_the_directory_and_the_variable(
    empty_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ack.SOURCES_ENV, str(empty_cache / "nowhere"))
    with pytest.raises(BinariesMissing) as missing:
        ack.ensure_ack(build=True)
    message = str(missing.value)
    assert str(empty_cache / "nowhere" / ack.CONTROLLER_ARCHIVE) in message
    assert f"${ack.SOURCES_ENV}" in message
    # Nothing half-made is left to be trusted: no binary, no extracted sources.
    directory = ack.cache_dir()
    assert not (directory / ack.BINARY).exists()
    assert [p.name for p in directory.iterdir() if p.name.startswith(".src-")] == []


def test_the_build_stamps_the_release_not_unknown() -> None:
    flags = ack._version_ldflags()
    assert f"-X {ack.MODULE}/pkg/version.GitVersion=v1.9.1" in flags
    assert any(flag.endswith(f"GitCommit={ack.COMMIT}") for flag in flags)


def test_cache_is_keyed_by_both_commits(empty_cache: Path) -> None:
    assert ack.cache_dir().name == "v1.9.1-dc49707-runtime-95428e7"
    assert ack.cache_dir().parent == empty_cache / "cache" / "ack"
