"""The local node's cluster DNS: A records for Services, read from the API server.

Why not CoreDNS: it is another large Go build for one thing the node needs, that
`kubernetes.default.svc` (what kopf's in-cluster login dials) and other Service names
resolve in pods. This answers `<service>.<namespace>.svc.cluster.local` with the
Service's ClusterIP, NXDOMAIN for every other name (so the resolver's search list
moves on), and NOERROR without answers for other record types of a Service name.
UDP only: every answer fits in one datagram.

Run as `python -m ic_sandbox.node.dns --listen IP:PORT --kubeconfig PATH`; the kubelet's
`clusterDNS` points pods at it.
"""

from __future__ import annotations

import argparse
import base64
import ipaddress
import json
import socket
import ssl
import struct
import sys
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path

import yaml

CLUSTER_DOMAIN = "cluster.local"
TTL = 5
_A, _IN = 1, 1
_NXDOMAIN, _SERVFAIL = 3, 2


class ServiceLookup:
    """GET a Service from the API server with the kubeconfig's client certificate."""

    def __init__(self, kubeconfig: Path) -> None:
        config = yaml.safe_load(kubeconfig.read_text())
        cluster = config["clusters"][0]["cluster"]
        user = config["users"][0]["user"]
        self.server = cluster["server"]
        self.context = ssl.create_default_context(
            cadata=base64.b64decode(cluster["certificate-authority-data"]).decode()
        )
        with tempfile.TemporaryDirectory() as tmp:
            cert, key = Path(tmp) / "cert.pem", Path(tmp) / "key.pem"
            cert.write_bytes(base64.b64decode(user["client-certificate-data"]))
            key.write_bytes(base64.b64decode(user["client-key-data"]))
            self.context.load_cert_chain(str(cert), str(key))

    def cluster_ip(self, namespace: str, name: str) -> str | None:
        # A list with a field selector, not a get: kube-proxy's identity, which this
        # uses, may list and watch Services but not get one.
        url = (
            f"{self.server}/api/v1/namespaces/{urllib.parse.quote(namespace)}/services"
            f"?fieldSelector={urllib.parse.quote(f'metadata.name={name}')}"
        )
        with urllib.request.urlopen(url, context=self.context, timeout=5) as response:
            items = json.loads(response.read())["items"]
        ip = items[0].get("spec", {}).get("clusterIP") if items else None
        return ip if ip and ip != "None" else None


def _question(packet: bytes) -> tuple[str, int, int, int]:
    """(name, qtype, qclass, end offset) of the first question."""
    labels, offset = [], 12
    while (length := packet[offset]) != 0:
        if length & 0xC0:
            raise ValueError("compressed name in a question")
        labels.append(packet[offset + 1 : offset + 1 + length].decode("ascii").lower())
        offset += 1 + length
    qtype, qclass = struct.unpack("!HH", packet[offset + 1 : offset + 5])
    return ".".join(labels), qtype, qclass, offset + 5


def service_name(name: str) -> tuple[str, str] | None:
    """(namespace, service) for `<service>.<namespace>.svc.cluster.local`, else None."""
    parts = name.rstrip(".").split(".")
    if len(parts) == 5 and ".".join(parts[2:]) == f"svc.{CLUSTER_DOMAIN}":
        return parts[1], parts[0]
    return None


def answer(packet: bytes, lookup: ServiceLookup) -> bytes:
    (query_id, flags) = struct.unpack("!HH", packet[:4])
    name, qtype, qclass, end = _question(packet)
    question = packet[12:end]
    rcode, records = _NXDOMAIN, b""
    if (target := service_name(name)) is not None:
        try:
            ip = lookup.cluster_ip(*target)
        except (OSError, ValueError) as exc:
            print(f"ic-sandbox dns: looking up {name}: {exc}", flush=True)
            ip, rcode = None, _SERVFAIL
        else:
            if ip is not None:
                rcode = 0
                if qtype == _A and qclass == _IN:
                    records = struct.pack("!HHHIH", 0xC00C, _A, _IN, TTL, 4) + (
                        ipaddress.IPv4Address(ip).packed
                    )
    # QR, AA, the client's RD bit, RA; one question, 0 or 1 answers.
    response_flags = 0x8400 | (flags & 0x0100) | 0x0080 | rcode
    header = struct.pack("!HHHHHH", query_id, response_flags, 1, 1 if records else 0, 0, 0)
    return header + question + records


def serve(listen: str, lookup: ServiceLookup) -> None:
    host, _, port = listen.rpartition(":")
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((host, int(port)))
    print(f"ic-sandbox dns: serving {CLUSTER_DOMAIN} on {listen}", flush=True)
    while True:
        packet, client = sock.recvfrom(4096)
        try:
            sock.sendto(answer(packet, lookup), client)
        except (ValueError, IndexError, struct.error) as exc:  # a malformed query: drop it
            print(f"ic-sandbox dns: dropped a query from {client[0]}: {exc}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ic_sandbox.node.dns", description=__doc__)
    parser.add_argument("--listen", required=True, help="IP:PORT")
    parser.add_argument("--kubeconfig", required=True, type=Path)
    args = parser.parse_args(argv)
    serve(args.listen, ServiceLookup(args.kubeconfig))
    return 0


if __name__ == "__main__":
    sys.exit(main())
