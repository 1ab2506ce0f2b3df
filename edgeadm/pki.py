"""Certificates and keys: pure functions over bytes and paths passed in (RSA 2048, SHA-256)."""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgeadm.errors import ConfigError

KEY_BITS = 2048  # what kubeadm uses for every leaf and CA key
LEAF_DAYS = 365 * 10  # edge serving certs live as long as the original tool's (10 years); rotation is a later feature


@dataclass(frozen=True)
class KeyPair:
    cert_pem: bytes
    key_pem: bytes


def _x509() -> Any:
    from cryptography import x509

    return x509


def new_key(kind: str = "rsa") -> Any:
    """A new private key: RSA 2048 (CAs, kubeadm compatibility) or ECDSA P-256 (generated leaf certificates)."""
    if kind == "ecdsa":
        from cryptography.hazmat.primitives.asymmetric import ec

        return ec.generate_private_key(ec.SECP256R1())
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)


def key_to_pem(key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
    )


def public_key_pem(key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def cert_to_pem(cert: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return bytes(cert.public_bytes(serialization.Encoding.PEM))


def _name(cn: str | None, orgs: Iterable[str] = ()) -> Any:
    x509 = _x509()
    from cryptography.x509.oid import NameOID

    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs]
    if cn:
        attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return x509.Name(attrs)


def new_ca(cn: str, *, days: int = 3650) -> tuple[Any, Any]:
    """A self-signed CA certificate and its key."""
    x509 = _x509()
    from cryptography.hazmat.primitives import hashes

    key = new_key()
    now = dt.datetime.now(dt.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, True, False, False, True, False, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    return builder.sign(key, hashes.SHA256()), key


def sign(
    ca_cert: Any,
    ca_key: Any,
    *,
    cn: str,
    orgs: Iterable[str] = (),
    dns: Iterable[str] = (),
    ips: Iterable[str] = (),
    server: bool = False,
    client: bool = False,
    days: int = LEAF_DAYS,
    key: Any = None,
) -> tuple[Any, Any]:
    """A leaf certificate signed by the CA with exactly the usages asked for."""
    x509 = _x509()
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import ExtendedKeyUsageOID

    key = key or new_key("ecdsa")
    now = dt.datetime.now(dt.timezone.utc)
    usages = []
    if server:
        usages.append(ExtendedKeyUsageOID.SERVER_AUTH)
    if client:
        usages.append(ExtendedKeyUsageOID.CLIENT_AUTH)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn, orgs))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(min(now + dt.timedelta(days=days), ca_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, _is_rsa(key), False, False, False, False, False, False),
                       critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()), critical=False
        )
    )
    if usages:
        builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
    sans: list[Any] = [x509.DNSName(d) for d in dict.fromkeys(dns) if d]
    sans += [x509.IPAddress(ipaddress.ip_address(i)) for i in dict.fromkeys(ips) if i]
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(ca_key, hashes.SHA256()), key


def _is_rsa(key: Any) -> bool:
    from cryptography.hazmat.primitives.asymmetric import rsa

    return isinstance(key, rsa.RSAPrivateKey)


def sign_pair(ca_cert: Any, ca_key: Any, **kwargs: Any) -> KeyPair:
    cert, key = sign(ca_cert, ca_key, **kwargs)
    return KeyPair(cert_to_pem(cert), key_to_pem(key))


def load_cert(path: Path) -> Any:
    """Load a PEM certificate or raise a ConfigError naming the file."""
    x509 = _x509()
    data = _read(path, "CA certificate")
    try:
        return x509.load_pem_x509_certificate(data)
    except ValueError as exc:
        raise ConfigError(f"`{path}` is not a PEM certificate ({exc})",
                          hint="pass the cluster CA with --ca.cert") from exc


def load_cert_bytes(data: bytes, what: str) -> Any:
    x509 = _x509()
    try:
        return x509.load_pem_x509_certificate(data)
    except ValueError as exc:
        raise ConfigError(f"{what} is not a PEM certificate ({exc})") from exc


def load_cert_der(data: bytes) -> Any:
    return _x509().load_der_x509_certificate(data)


def reusable(cert_pem: str | None, key_pem: str | None, ca: Any, dns: list[str], ips: list[str]) -> bool:
    """An existing certificate is kept when the same CA signed it, it is valid for a year more, and SANs match."""
    if not cert_pem or not key_pem:
        return False
    try:
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        cert = load_cert_bytes(cert_pem.encode(), "existing certificate")
        cert.verify_directly_issued_by(ca)
        if not matches(cert, load_pem_private_key(key_pem.encode(), None)):
            return False
        if cert.not_valid_after_utc < dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=365):
            return False
        have_dns, have_ips = san_strings(cert)
        return set(have_dns) == set(dns) and set(have_ips) == set(ips)
    except Exception:  # noqa: BLE001 - anything odd about an old certificate means "make a new one"
        return False


def load_key(path: Path) -> Any:
    """Load an unencrypted PEM private key or raise a ConfigError naming the file."""
    from cryptography.hazmat.primitives import serialization

    data = _read(path, "CA key")
    try:
        return serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            f"`{path}` is not an unencrypted PEM private key ({exc})", hint="pass the cluster CA key with --ca.key"
        ) from exc


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise ConfigError(f"{what} `{path}` does not exist", hint="pass the right path (see --help)") from exc
    except OSError as exc:
        raise ConfigError(f"{what} `{path}` is not readable: {exc.strerror}", hint="run as root on a master") from exc


def matches(cert: Any, key: Any) -> bool:
    """True when the private key belongs to the certificate."""
    from cryptography.hazmat.primitives import serialization

    fmt = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return bool(cert.public_key().public_bytes(*fmt) == key.public_key().public_bytes(*fmt))


def bundle_pins(pem: bytes, what: str = "CA bundle") -> list[str]:
    """The SPKI pins of every certificate in a PEM bundle, in order, without duplicates."""
    end = b"-----END CERTIFICATE-----"
    pins: list[str] = []
    for block in pem.split(end):
        if b"BEGIN CERTIFICATE" in block:
            pin = spki_sha256(load_cert_bytes(block + end + b"\n", what))
            if pin not in pins:
                pins.append(pin)
    return pins


def spki_sha256(cert: Any) -> str:
    """kubeadm's CA pin: sha256 of the DER SubjectPublicKeyInfo, as `sha256:<hex>`."""
    from cryptography.hazmat.primitives import serialization

    der = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "sha256:" + hashlib.sha256(der).hexdigest()


def san_strings(cert: Any) -> tuple[list[str], list[str]]:
    """(dns names, ip addresses) of a certificate's SAN extension."""
    x509 = _x509()
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return [], []
    return list(ext.get_values_for_type(x509.DNSName)), [str(i) for i in ext.get_values_for_type(x509.IPAddress)]


def write_private(path: Path, data: bytes) -> None:
    """Write secret material with mode 0600 from the first byte (no window with wider permissions)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(path, 0o600)


def random_string(n: int, alphabet: str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") -> str:
    """A random string from the OS CSPRNG (the original used unseeded math/rand)."""
    return "".join(secrets.choice(alphabet) for _ in range(n))
