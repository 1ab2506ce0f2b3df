from __future__ import annotations

import hashlib
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from edgeadm import pki
from edgeadm.errors import ConfigError


def test_spki_hash_matches_openssl_recipe() -> None:
    ca, _ = pki.new_ca("t")
    der = ca.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert pki.spki_sha256(ca) == "sha256:" + hashlib.sha256(der).hexdigest()


def test_server_only_cert_has_no_client_usage() -> None:
    ca, key = pki.new_ca("t")
    cert, _ = pki.sign(ca, key, cn="lite", server=True, ips=["127.0.0.1"], dns=["x"])
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert pki.san_strings(cert) == (["x"], ["127.0.0.1"])
    assert cert.not_valid_after_utc <= ca.not_valid_after_utc


def test_match_and_mismatch() -> None:
    ca, key = pki.new_ca("a")
    _, other = pki.new_ca("b")
    assert pki.matches(ca, key)
    assert not pki.matches(ca, other)


def test_private_files_are_0600(tmp_path: Path) -> None:
    p = tmp_path / "k" / "x.key"
    pki.write_private(p, b"secret")
    assert stat.S_IMODE(p.stat().st_mode) == 0o600


def test_load_errors_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        pki.load_cert(tmp_path / "missing.crt")
    (tmp_path / "junk").write_text("junk")
    with pytest.raises(ConfigError, match="not a PEM certificate"):
        pki.load_cert(tmp_path / "junk")
    with pytest.raises(ConfigError, match="not an unencrypted PEM private key"):
        pki.load_key(tmp_path / "junk")
