"""Generate the PKI a loopback control plane needs, fresh for every start.

One CA signs everything: the etcd and kube-apiserver serving certificates, the
client certificate kube-apiserver presents to etcd, and the admin client
certificate in the kubeconfig (group system:masters, so RBAC lets it do anything).
A separate key pair signs service-account tokens. ECDSA P-256 keeps generation in
the milliseconds, so start-up time is dominated by the servers, not by crypto.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ADMIN_USER = "ic-operator-admin"
ADMIN_GROUP = "system:masters"
LOOPBACK_NAMES = ["localhost"]
LOOPBACK_IPS = ["127.0.0.1"]
# Names in-cluster clients would use for the apiserver; harmless on loopback, and they
# keep the serving certificate like a real cluster's.
APISERVER_NAMES = ["kubernetes", "kubernetes.default", "kubernetes.default.svc"]
VALIDITY = datetime.timedelta(days=7)


@dataclass(frozen=True)
class KeyPair:
    cert: Path
    key: Path


@dataclass(frozen=True)
class Pki:
    ca: KeyPair
    etcd_server: KeyPair
    apiserver_etcd_client: KeyPair
    apiserver_server: KeyPair
    admin: KeyPair
    service_account_key: Path
    service_account_pub: Path


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _name(common_name: str, organization: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    return x509.Name(attrs)


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


def _write_cert(path: Path, cert: x509.Certificate) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


class _Ca:
    @classmethod
    def load(cls, pair: KeyPair) -> _Ca:
        """The CA a generate() call wrote, to issue more certificates later."""
        key = serialization.load_pem_private_key(pair.key.read_bytes(), password=None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        ca = cls.__new__(cls)
        ca.key = key
        ca.cert = x509.load_pem_x509_certificate(pair.cert.read_bytes())
        return ca

    def __init__(self) -> None:
        self.key = _key()
        now = datetime.datetime.now(datetime.UTC)
        name = _name("ic-operator-sandbox-ca")
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), critical=False
            )
            .sign(self.key, hashes.SHA256())
        )

    def issue(
        self,
        subject: x509.Name,
        *,
        server: bool,
        client: bool,
        dns: list[str] | None = None,
        ips: list[str] | None = None,
    ) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        key = _key()
        now = datetime.datetime.now(datetime.UTC)
        usages = []
        if server:
            usages.append(ExtendedKeyUsageOID.SERVER_AUTH)
        if client:
            usages.append(ExtendedKeyUsageOID.CLIENT_AUTH)
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + VALIDITY)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
        )
        if dns or ips:
            alt: list[x509.GeneralName] = [x509.DNSName(d) for d in dns or []]
            alt += [x509.IPAddress(ipaddress.ip_address(i)) for i in ips or []]
            builder = builder.add_extension(x509.SubjectAlternativeName(alt), critical=False)
        return builder.sign(self.key, hashes.SHA256()), key


def _save(
    directory: Path, stem: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey
) -> KeyPair:
    pair = KeyPair(cert=directory / f"{stem}.crt", key=directory / f"{stem}.key")
    _write_cert(pair.cert, cert)
    _write_key(pair.key, key)
    return pair


def generate(directory: Path, apiserver_ips: tuple[str, ...] = ()) -> Pki:
    """Write a complete, fresh PKI into directory (created 0700) and return the paths.

    apiserver_ips: more addresses the serving certificate is valid for (a local node's
    pods dial the API server at its gateway address and at the `kubernetes` ClusterIP).
    """
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    ca = _Ca()
    ca_pair = _save(directory, "ca", ca.cert, ca.key)

    etcd_server = _save(
        directory,
        "etcd-server",
        *ca.issue(_name("etcd"), server=True, client=False, dns=LOOPBACK_NAMES, ips=LOOPBACK_IPS),
    )
    etcd_client = _save(
        directory,
        "apiserver-etcd-client",
        *ca.issue(_name("kube-apiserver-etcd-client"), server=False, client=True),
    )
    apiserver = _save(
        directory,
        "apiserver",
        *ca.issue(
            _name("kube-apiserver"),
            server=True,
            client=False,
            dns=LOOPBACK_NAMES + APISERVER_NAMES,
            ips=LOOPBACK_IPS + list(apiserver_ips),
        ),
    )
    admin = _save(
        directory, "admin", *ca.issue(_name(ADMIN_USER, ADMIN_GROUP), server=False, client=True)
    )

    sa_key = _key()
    sa_key_path = directory / "service-account.key"
    sa_pub_path = directory / "service-account.pub"
    _write_key(sa_key_path, sa_key)
    sa_pub_path.write_bytes(
        sa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return Pki(
        ca=ca_pair,
        etcd_server=etcd_server,
        apiserver_etcd_client=etcd_client,
        apiserver_server=apiserver,
        admin=admin,
        service_account_key=sa_key_path,
        service_account_pub=sa_pub_path,
    )


def issue_client(pki: Pki, stem: str, common_name: str, organization: str | None = None) -> KeyPair:
    """One more client certificate from the PKI's CA, next to its other files.

    The local node's components sign in as the identities Kubernetes' bootstrap RBAC
    and the Node authorizer know (system:node:<name>, system:kube-scheduler, ...).
    """
    cert, key = _Ca.load(pki.ca).issue(_name(common_name, organization), server=False, client=True)
    return _save(pki.ca.cert.parent, stem, cert, key)
