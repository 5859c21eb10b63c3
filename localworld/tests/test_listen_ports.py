"""The sandbox's port picks stay out of the range outgoing connections draw from."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from ic_sandbox import listen_ports


def test_candidates_skip_the_ephemeral_range_widest_first() -> None:
    assert listen_ports.candidates((32768, 60999)) == [range(20000, 32768), range(61000, 65536)]
    assert listen_ports.candidates((10000, 65535)) == []
    assert listen_ports.candidates((40000, 65535)) == [range(20000, 40000)]


def test_range_file_is_read_and_a_missing_one_means_the_linux_default(tmp_path: Path) -> None:
    file = tmp_path / "ip_local_port_range"
    file.write_text("49152\t65535\n")
    assert listen_ports.ephemeral_range(file) == (49152, 65535)
    assert listen_ports.ephemeral_range(tmp_path / "absent") == (32768, 60999)


def test_picks_are_outside_this_machines_ephemeral_range_and_never_repeat() -> None:
    low, high = listen_ports.ephemeral_range()
    picks = [listen_ports.free_port() for _ in range(50)]
    assert len(set(picks)) == len(picks)
    assert all(not low <= p <= high for p in picks), (low, high, picks)


def test_a_port_with_a_listener_is_passed_over(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        taken = held.getsockname()[1]
        spare = listen_ports.free_port()  # a port known to be bindable, as the second choice
        listen_ports._given.discard(spare)
        choices = iter([taken, spare])
        monkeypatch.setattr(listen_ports.random, "choice", lambda pool: next(choices))
        assert listen_ports.free_port() == spare


def test_no_room_outside_the_range_falls_back_to_a_kernel_pick(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    low, high = listen_ports.ephemeral_range()  # the kernel's real range, where its picks land
    file = tmp_path / "ip_local_port_range"
    file.write_text("1024 65535\n")
    monkeypatch.setattr(listen_ports, "_RANGE_FILE", file)
    assert listen_ports.ephemeral_range() == (1024, 65535)
    assert low <= listen_ports.free_port() <= high


def test_xdist_workers_draw_from_disjoint_shares_that_cover_the_pool() -> None:
    """Two workers of one `make test` pick at the same moments without seeing each other's
    picks: their shares must not meet, and together leave no port out."""
    pool = list(range(20000, 20100))
    shares = [
        listen_ports.worker_share(
            pool, {"PYTEST_XDIST_WORKER": f"gw{n}", "PYTEST_XDIST_WORKER_COUNT": "2"}
        )
        for n in range(2)
    ]
    assert not set(shares[0]) & set(shares[1])
    assert sorted(shares[0] + shares[1]) == pool
    assert len(shares[0]) == len(shares[1]) == 50
    assert listen_ports.worker_share(pool, {}) == pool  # no xdist: the whole pool
