"""X.509 certificates for signed PDFs (PAdES), chained to the national trust root.

PDF signatures are checked by PDF readers and pyHanko through X.509 paths, not JWKs, so
the root key that signs the trust list also certifies each office's document-signing key:

    <home>/trust/root.crt                   self-signed CA certificate of the active root key
    <home>/keys/<owner>/docsign.pem         the office's P-256 document-signing key,
                                            PKCS#8 encrypted under $JIAOZI_KEY_PASSPHRASE
    <home>/keys/<owner>/docsign.crt         its certificate, issued by root.crt

The document-signing key is a P-256 key of its own, never the office's token key: ECDSA
P-256 with SHA-256 is what PAdES readers validate everywhere (Ed25519 in CMS, RFC 8419,
works in pyHanko but needs SHA-512 and is not supported by common PDF readers), and a
key that signs PDFs should not also sign JWS tokens. The root certificate is signed with
whatever the root key is (Ed25519 by default); pyhanko-certvalidator validates that path.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import NameOID, ObjectIdentifier

from ._errors import KeysError, KeyStoreError, WrongPassphraseError
from ._files import check_passphrase, make_private_dir, write_atomic
from ._store import ROOT_OWNER, KeyStore, PrivateKey, owner_dir
from ._trustadmin import TRUST_DIR, current_trust_list

__all__ = [
    "DOCUMENT_SIGNING_EKU",
    "DocumentSigningKey",
    "document_signing_certificate",
    "office_document_key",
    "root_certificate",
]

#: Microsoft's "Document Signing" extended key usage, the one PDF readers look for.
DOCUMENT_SIGNING_EKU = "1.3.6.1.4.1.311.10.3.12"
ROOT_CERT_FILE = "root.crt"
DOCSIGN_KEY_FILE = "docsign.pem"
DOCSIGN_CERT_FILE = "docsign.crt"
_ROOT_YEARS = 30
_DOCSIGN_DAYS = 2 * 365
_RENEW_BEFORE = dt.timedelta(days=30)
_ENCRYPTED_PEM_HEADER = b"-----BEGIN ENCRYPTED PRIVATE KEY-----"


def _hash_for(key: PrivateKey) -> hashes.SHA256 | None:
    # Ed25519 signs the message itself (no separate digest); ECDSA uses SHA-256.
    return None if isinstance(key, Ed25519PrivateKey) else hashes.SHA256()


def _utc(when: dt.datetime) -> dt.datetime:
    if when.tzinfo is None:
        raise KeysError("certificate validity times must be timezone-aware")
    return when.astimezone(dt.UTC)


def _key_usage(*, sign: bool, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=sign,
        content_commitment=sign,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def root_certificate(
    root_private_key: PrivateKey,
    *,
    name: str,
    not_before: dt.datetime,
    not_after: dt.datetime,
) -> bytes:
    """Return the DER of a self-signed CA certificate for the national root key.

    basicConstraints CA=True (critical), keyUsage keyCertSign + cRLSign (critical), subject
    and issuer ``CN=<name>``. Ed25519 or P-256.
    """
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    public = root_private_key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(_utc(not_before))
        .not_valid_after(_utc(not_after))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_key_usage(sign=False, ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(root_private_key, _hash_for(root_private_key))
    )
    return cert.public_bytes(serialization.Encoding.DER)


def document_signing_certificate(
    issuer_key: PrivateKey,
    issuer_cert_der: bytes,
    subject_public_key: ec.EllipticCurvePublicKey,
    *,
    office_name: str,
    office_id: str,
    not_before: dt.datetime,
    not_after: dt.datetime,
) -> bytes:
    """Return the DER of an office's document-signing certificate issued by the root.

    Subject ``CN=<office name>, O=<office id>``; keyUsage digitalSignature +
    nonRepudiation (critical), extendedKeyUsage Document Signing, CA=False. Raises
    KeysError when ``issuer_key`` does not match ``issuer_cert_der``.
    """
    issuer = x509.load_der_x509_certificate(issuer_cert_der)
    issuer_public = issuer_key.public_key()
    if issuer.public_key() != issuer_public:
        raise KeysError("the issuer key does not match the issuer certificate")
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, office_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, office_id),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.subject)
        .public_key(subject_public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(_utc(not_before))
        .not_valid_after(min(_utc(not_after), issuer.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(sign=True, ca=False), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ObjectIdentifier(DOCUMENT_SIGNING_EKU)]), critical=False
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(subject_public_key), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_public), critical=False
        )
        .sign(issuer_key, _hash_for(issuer_key))
    )
    return cert.public_bytes(serialization.Encoding.DER)


@dataclass(frozen=True, slots=True)
class DocumentSigningKey:
    """An office's document-signing key as a PDF signer needs it.

    ``key_pem`` is the encrypted PKCS#8 PEM as stored, ``password`` opens it; ``chain_der``
    is the issuing chain up to and including the root certificate.
    """

    key_pem: bytes = field(repr=False)
    password: bytes | None = field(repr=False)
    cert_der: bytes
    chain_der: tuple[bytes, ...]


def _load_private(data: bytes, passphrase: bytes, what: str) -> PrivateKey:
    if not data.startswith(_ENCRYPTED_PEM_HEADER):
        raise KeyStoreError(f"{what} is not an encrypted PKCS#8 PEM; refusing an unencrypted key")
    try:
        key = serialization.load_pem_private_key(data, passphrase)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise WrongPassphraseError(
            f"cannot decrypt {what}: wrong passphrase or damaged key file"
        ) from exc
    if not isinstance(key, Ed25519PrivateKey | ec.EllipticCurvePrivateKey):
        raise KeyStoreError(f"{what} holds a key type Jiaozi does not use")
    return key


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise KeyStoreError(f"cannot read {path}: {exc}") from exc


def _write(path: Path, data: bytes, mode: int) -> None:
    try:
        write_atomic(path, data, mode=mode)
    except OSError as exc:
        raise KeyStoreError(f"cannot write {path}: {exc}") from exc


def _current(cert_der: bytes | None, public: object, now: dt.datetime) -> bool:
    """True when the certificate exists, certifies ``public`` and is valid well past now."""
    if cert_der is None:
        return False
    try:
        cert = x509.load_der_x509_certificate(cert_der)
    except ValueError:
        return False
    return (
        cert.public_key() == public
        and cert.not_valid_before_utc <= now
        and now + _RENEW_BEFORE < cert.not_valid_after_utc
    )


def _office_name(store: KeyStore, office_id: str) -> str:
    for office in current_trust_list(store.home).offices:
        if office.id == office_id:
            return office.name
    raise KeysError(f"{office_id!r} is not in the trust list: add the office first")


def office_document_key(
    store: KeyStore, office_id: str, *, now: int, office_name: str | None = None
) -> DocumentSigningKey:
    """Return the office's document-signing key and certificate chain, creating them (and
    the root certificate ``<home>/trust/root.crt``) on first use.

    The root certificate is re-made when the active root key changed (rotation) or it is
    about to expire; the office certificate is re-issued when it no longer chains to the
    current root certificate or is about to expire (30 days before). The office key is a
    P-256 key kept encrypted under the store's passphrase. ``office_name`` (the
    certificate's CN) defaults to the office's name in the trust list. Raises
    PassphraseError, WrongPassphraseError, KeyStoreError, NoActiveKeyError or KeysError.
    """
    when = dt.datetime.fromtimestamp(now, dt.UTC)
    owner = owner_dir(office_id)
    if office_id == ROOT_OWNER:
        raise KeysError("the root does not sign documents; give an office id")
    passphrase = check_passphrase(store._passphrase)
    trust_dir = store.home / TRUST_DIR
    root_path = trust_dir / ROOT_CERT_FILE
    office_dir = store.keys_dir / owner
    key_path = office_dir / DOCSIGN_KEY_FILE
    cert_path = office_dir / DOCSIGN_CERT_FILE
    with store.locked():
        root_pub = store.active_key(ROOT_OWNER, now=now)
        root_pem = _read(store.keys_dir / ROOT_OWNER / f"{root_pub.kid}.pem")
        if root_pem is None:
            raise KeyStoreError(f"the private key of root key {root_pub.kid} is missing")
        root_key = _load_private(root_pem, passphrase, f"root key {root_pub.kid}")
        root_der = _read(root_path)
        if not _current(root_der, root_key.public_key(), when):
            not_after = when.replace(year=when.year + _ROOT_YEARS)
            if root_pub.exp is not None:
                not_after = min(not_after, dt.datetime.fromtimestamp(root_pub.exp, dt.UTC))
            root_der = root_certificate(
                root_key,
                name="Jiaozi national trust root",
                not_before=when - dt.timedelta(minutes=5),
                not_after=not_after,
            )
            make_private_dir(trust_dir)
            _write(root_path, root_der, 0o644)
        assert root_der is not None
        key_pem = _read(key_path)
        if key_pem is None:
            private: PrivateKey = ec.generate_private_key(ec.SECP256R1())
            key_pem = private.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.BestAvailableEncryption(passphrase),
            )
            make_private_dir(office_dir)
            _write(key_path, key_pem, 0o600)
        else:
            private = _load_private(key_pem, passphrase, str(key_path))
        if not isinstance(private, ec.EllipticCurvePrivateKey):
            raise KeyStoreError(f"{key_path} is not a P-256 key")
        cert_der = _read(cert_path)
        root = x509.load_der_x509_certificate(root_der)
        chained = cert_der is not None and _issued_by(cert_der, root)
        if not chained or not _current(cert_der, private.public_key(), when):
            cert_der = document_signing_certificate(
                root_key,
                root_der,
                private.public_key(),
                office_name=office_name or _office_name(store, office_id),
                office_id=office_id,
                not_before=when - dt.timedelta(minutes=5),
                not_after=when + dt.timedelta(days=_DOCSIGN_DAYS),
            )
            _write(cert_path, cert_der, 0o644)
        assert cert_der is not None
    return DocumentSigningKey(
        key_pem=key_pem, password=passphrase, cert_der=cert_der, chain_der=(root_der,)
    )


def _issued_by(cert_der: bytes, issuer: x509.Certificate) -> bool:
    try:
        x509.load_der_x509_certificate(cert_der).verify_directly_issued_by(issuer)
    except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
        return False
    return True
