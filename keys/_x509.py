"""X.509 certificates for signed PDFs (PAdES), chained to the national trust root.

PDF signatures are checked by PDF readers, pyHanko and poppler/NSS through X.509 paths,
not JWKs, so the root key that signs the trust list also certifies each office's
document-signing key. Two homes hold the pieces (docs/key-ceremony.md):

    root home (offline, key ceremony)
      trust/root.crt                    self-signed CA certificate of the active root key,
                                        made by ``root_signing_key``
    office home (JIAOZI_HOME of the office's issuer)
      trust/root.crt                    a copy, installed with the ceremony's answer
      keys/<owner>/docsign.pem          the office's P-256 document-signing key, made on the
                                        office's machine, PKCS#8 encrypted
      keys/<owner>/docsign.crt          its certificate, issued by the ceremony from a CSR

The document-signing key is a P-256 key of its own, never the office's token key: ECDSA
P-256 with SHA-256 is what PAdES readers validate everywhere, and a key that signs PDFs
should not also sign JWS tokens. New roots are P-256 (ES256) too, so that NSS (pdfsig,
Firefox) and pyHanko both validate the whole path; an older Ed25519 root still certifies
(pyHanko validates that, NSS does not): rotate it with ``jiaozi keys rotate --root --alg
ES256``. ``office_document_key`` only reads: an office never needs a root private key.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from ._errors import DocumentCertificateError, KeysError, KeyStoreError, WrongPassphraseError
from ._files import check_passphrase, make_private_dir, write_atomic
from ._store import ROOT_OWNER, KeyStore, PrivateKey, owner_dir
from ._trustadmin import TRUST_DIR

log = logging.getLogger(__name__)

__all__ = [
    "DOCUMENT_SIGNING_EKU",
    "DocumentSigningKey",
    "document_signing_certificate",
    "office_document_key",
    "root_certificate",
    "root_signing_key",
]

#: Microsoft's "Document Signing" extended key usage, the one PDF readers look for.
DOCUMENT_SIGNING_EKU = "1.3.6.1.4.1.311.10.3.12"
ROOT_CERT_FILE = "root.crt"
DOCSIGN_KEY_FILE = "docsign.pem"
DOCSIGN_CERT_FILE = "docsign.crt"
DOCSIGN_NEXT_KEY_FILE = "docsign-next.pem"  # a new key waiting for its certificate
ROOT_NAME = "Jiaozi national trust root"
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
    nonRepudiation (critical), extendedKeyUsage Document Signing and emailProtection (what
    NSS asks of a PDF signer), CA=False. Raises
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
            # NSS (pdfsig, Firefox) validates a PDF signer as an e-mail signer: without
            # emailProtection it refuses the certificate ("Unknown issue with Certificate")
            x509.ExtendedKeyUsage(
                [ObjectIdentifier(DOCUMENT_SIGNING_EKU), ExtendedKeyUsageOID.EMAIL_PROTECTION]
            ),
            critical=False,
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
            f"cannot decrypt {what}: wrong passphrase or damaged key file",
            code="wrong_passphrase",
            path=what,
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


def root_signing_key(store: KeyStore, *, now: int) -> tuple[PrivateKey, bytes]:
    """Return the root's active private key and its CA certificate (DER), in the ROOT home.

    Only the key ceremony calls this (``jiaozi trust ...``): it decrypts the root private
    key. ``<home>/trust/root.crt`` is (re)made when it is missing, certifies another key
    (after a root rotation) or is about to expire. Raises PassphraseError,
    WrongPassphraseError, KeyStoreError, KeyNotFoundError or NoActiveKeyError.
    """
    when = dt.datetime.fromtimestamp(now, dt.UTC)
    passphrase = check_passphrase(store._passphrase)
    trust_dir = store.home / TRUST_DIR
    root_path = trust_dir / ROOT_CERT_FILE
    with store.locked():
        root_pub = store.active_key(ROOT_OWNER, now=now)
        root_pem = _read(store.keys_dir / ROOT_OWNER / f"{root_pub.kid}.pem")
        if root_pem is None:
            raise KeyStoreError(
                f"the private key of root key {root_pub.kid} is missing: the key ceremony "
                "runs in the root home, not in an office's"
            )
        root_key = _load_private(root_pem, passphrase, f"root key {root_pub.kid}")
        root_der = _read(root_path)
        if root_der is None or not _current(root_der, root_key.public_key(), when):
            not_after = when.replace(year=when.year + _ROOT_YEARS)
            if root_pub.exp is not None:
                not_after = min(not_after, dt.datetime.fromtimestamp(root_pub.exp, dt.UTC))
            root_der = root_certificate(
                root_key,
                name=ROOT_NAME,
                not_before=when - dt.timedelta(minutes=5),
                not_after=not_after,
            )
            make_private_dir(trust_dir)
            _write(root_path, root_der, 0o644)
    return root_key, root_der


def office_document_key(store: KeyStore, office_id: str, *, now: int) -> DocumentSigningKey:
    """Return the office's document-signing key and certificate chain, as installed in
    its OWN home by ``jiaozi keys install`` (never made here: no root key is read).

    Reads ``keys/<owner>/docsign.pem`` (P-256, encrypted), ``keys/<owner>/docsign.crt``
    and ``trust/root.crt``; the certificate must certify that key, be issued by that root
    certificate and be valid at ``now``. Within 30 days of its end a warning is logged
    (renew: ``jiaozi keys init-office --renew``, then the ceremony). Raises
    DocumentCertificateError (naming the command to run), PassphraseError,
    WrongPassphraseError or KeyStoreError.
    """
    if office_id == ROOT_OWNER:
        raise KeysError("the root does not sign documents; give an office id")
    when = dt.datetime.fromtimestamp(now, dt.UTC)
    passphrase = check_passphrase(store._passphrase)
    office_dir = store.keys_dir / owner_dir(office_id)
    paths = {
        "key": office_dir / DOCSIGN_KEY_FILE,
        "certificate": office_dir / DOCSIGN_CERT_FILE,
        "root certificate": store.home / TRUST_DIR / ROOT_CERT_FILE,
    }
    found = {what: _read(path) for what, path in paths.items()}
    missing = [f"{what} ({paths[what]})" for what, data in found.items() if data is None]
    if missing:
        raise DocumentCertificateError(
            f"{office_id} has no document-signing {', '.join(missing)}: run `jiaozi keys "
            "init-office`, take the request to the key ceremony (`jiaozi trust onboard`) "
            "and install its answer with `jiaozi keys install ANSWER`"
        )
    key_pem, cert_der, root_der = found["key"], found["certificate"], found["root certificate"]
    assert key_pem is not None and cert_der is not None and root_der is not None
    private = _load_private(key_pem, passphrase, str(paths["key"]))
    try:
        cert = x509.load_der_x509_certificate(cert_der)
        root = x509.load_der_x509_certificate(root_der)
    except ValueError as exc:
        raise DocumentCertificateError(f"a damaged certificate in {store.home}: {exc}") from exc
    if cert.public_key() != private.public_key():
        raise DocumentCertificateError(
            f"{paths['certificate']} does not certify {paths['key']}: install the ceremony's "
            "answer to this office's latest request (`jiaozi keys install ANSWER`)"
        )
    if not _issued_by(cert_der, root):
        raise DocumentCertificateError(
            f"{paths['certificate']} is not issued by {paths['root certificate']}"
        )
    if not cert.not_valid_before_utc <= when < cert.not_valid_after_utc:
        raise DocumentCertificateError(
            f"the document-signing certificate of {office_id} is valid "
            f"{cert.not_valid_before_utc:%Y-%m-%d} to {cert.not_valid_after_utc:%Y-%m-%d}, "
            "not now: renew it (`jiaozi keys init-office --renew`, then the ceremony)"
        )
    if when + _RENEW_BEFORE >= cert.not_valid_after_utc:
        log.warning(
            "the document-signing certificate of %s ends %s: renew it now "
            "(`jiaozi keys init-office --renew`, then `jiaozi trust onboard`)",
            office_id,
            cert.not_valid_after_utc.isoformat(),
        )
    return DocumentSigningKey(
        key_pem=key_pem, password=passphrase, cert_der=cert_der, chain_der=(root_der,)
    )


def _issued_by(cert_der: bytes, issuer: x509.Certificate) -> bool:
    try:
        x509.load_der_x509_certificate(cert_der).verify_directly_issued_by(issuer)
    except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
        return False
    return True
