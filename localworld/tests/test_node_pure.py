"""Pure parts of the local node: the cluster DNS's answers and the OCI archive writer."""

from __future__ import annotations

import hashlib
import json
import struct
import tarfile
from pathlib import Path
from typing import Any

import pytest

from ic_sandbox.node import dns
from ic_sandbox.node.containerd import write_oci_archive


class FakeLookup(dns.ServiceLookup):
    def __init__(self, services: dict[tuple[str, str], str]) -> None:
        self.services = services
        self.asked: list[tuple[str, str]] = []

    def cluster_ip(self, namespace: str, name: str) -> str | None:
        self.asked.append((namespace, name))
        return self.services.get((namespace, name))


def query(name: str, qtype: int = 1, query_id: int = 0x1234) -> bytes:
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.split("."))
    return (
        struct.pack("!HHHHHH", query_id, 0x0100, 1, 0, 0, 0)
        + labels
        + b"\0"
        + struct.pack("!HH", qtype, 1)
    )


def parse(response: bytes) -> tuple[int, int, int, bytes]:
    query_id, flags, _, answers, _, _ = struct.unpack("!HHHHHH", response[:12])
    return query_id, flags & 0xF, answers, response[-4:]


LOOKUP = {("default", "kubernetes"): "10.96.0.1"}


def test_a_record_for_a_service() -> None:
    query_id, rcode, answers, rdata = parse(
        dns.answer(query("kubernetes.default.svc.cluster.local"), FakeLookup(LOOKUP))
    )
    assert (query_id, rcode, answers) == (0x1234, 0, 1)
    assert rdata == bytes([10, 96, 0, 1])


def test_other_record_types_of_a_service_have_no_answer_but_exist() -> None:
    _, rcode, answers, _ = parse(
        dns.answer(query("kubernetes.default.svc.cluster.local", qtype=28), FakeLookup(LOOKUP))
    )
    assert (rcode, answers) == (0, 0)


@pytest.mark.parametrize(
    "name",
    [
        "missing.default.svc.cluster.local",  # no such Service
        "kubernetes.default.svc.default.svc.cluster.local",  # a search-list expansion
        "example.com",  # not the cluster's domain: never asked of the API
    ],
)
def test_nxdomain_so_the_resolver_moves_on(name: str) -> None:
    lookup = FakeLookup(LOOKUP)
    _, rcode, answers, _ = parse(dns.answer(query(name), lookup))
    assert (rcode, answers) == (3, 0)
    if not name.endswith(".svc.cluster.local"):
        assert lookup.asked == []


def test_service_name() -> None:
    assert dns.service_name("kubernetes.default.svc.cluster.local.") == ("default", "kubernetes")
    assert dns.service_name("kubernetes.default.svc") is None


def test_oci_archive_is_a_consistent_image_layout(tmp_path: Path) -> None:
    archive = tmp_path / "image.tar"
    write_oci_archive(archive, "localhost/x/y:1", {"bin/tool": (b"#!x", 0o755)}, "/bin/tool")
    with tarfile.open(archive) as tar:
        members: dict[str, Any] = {
            m.name: tar.extractfile(m).read()
            for m in tar.getmembers()
            if m.isfile()  # type: ignore[union-attr]
        }
    blobs = {
        k.removeprefix("blobs/sha256/"): v for k, v in members.items() if k.startswith("blobs/")
    }
    for digest, data in blobs.items():
        assert hashlib.sha256(data).hexdigest() == digest
    index = json.loads(members["index.json"])
    (entry,) = index["manifests"]
    assert entry["annotations"]["io.containerd.image.name"] == "localhost/x/y:1"
    manifest = json.loads(blobs[entry["digest"].removeprefix("sha256:")])
    config = json.loads(blobs[manifest["config"]["digest"].removeprefix("sha256:")])
    assert config["config"]["Entrypoint"] == ["/bin/tool"]
    assert manifest["layers"][0]["digest"].removeprefix("sha256:") in blobs
