"""Office onboarding without a shared secret, and revoking document-signing certificates.

Two homes, two machines (docs/key-ceremony.md):

- the office, in its own home, makes its token key and its P-256 document-signing key and
  writes an onboarding REQUEST (``init_office``): its public JWKS, a PKCS#10 CSR for the
  document-signing key, and its id, name, province, office code and scope;
- the key ceremony, in the root home, checks the request and answers it (``onboard``): it
  adds (or updates) the office in the trust list with the office's public keys and issues
  the document-signing certificate from the CSR, the Document Signing usage and validity
  set here, never taken from the CSR;
- the office installs the ANSWER (``install_answer``): the signed trust list, the root's
  public keys and certificate, and its own certificate, each checked before it is written.

Nothing secret travels either way, and the office home never holds a root private key.
The ceremony revokes a document-signing certificate by its serial number
(``revoke_document_certificate``): ``<root home>/trust/docsign.crl``, an X.509 CRL signed
by the root key, which ``jiaozi trust export`` hands to verifiers with the trust list and
``revoked_serials`` reads back after checking its signature against the pinned roots.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.x509.oid import NameOID

from credential import Algorithm, CredentialError, PublicKey, QualificationType, verify_trust_list

from ._errors import (
    DocumentCertificateError,
    KeyStoreError,
    OnboardingError,
    TrustAdminError,
)
from ._files import check_passphrase, make_private_dir, write_atomic
from ._store import ROOT_OWNER, KeyStore, owner_dir
from ._trustadmin import (
    DOCSIGN_CRL_FILE,
    ROOT_JWKS_FILE,
    TRUST_DIR,
    TRUST_LIST_FILE,
    _check_office,
    _scope,
    add_office,
    current_trust_token,
    root_keys,
)
from ._x509 import (
    _DOCSIGN_DAYS,
    DOCSIGN_CERT_FILE,
    DOCSIGN_KEY_FILE,
    DOCSIGN_NEXT_KEY_FILE,
    ROOT_CERT_FILE,
    _issued_by,
    _load_private,
    document_signing_certificate,
    root_signing_key,
)

__all__ = [
    "ANSWER_FORMAT",
    "REQUEST_FORMAT",
    "init_office",
    "install_answer",
    "onboard",
    "read_exchange_file",
    "revoke_document_certificate",
    "revoked_serials",
]

REQUEST_FORMAT = "jiaozi-onboarding-request/1"
ANSWER_FORMAT = "jiaozi-onboarding-answer/1"
ISSUED_DIR = "docsign-issued"  # under the root home's trust/: every certificate issued
_CRL_DAYS = 366
_MAX_EXCHANGE_BYTES = 1024 * 1024
_SERIAL = re.compile(r"(?:0x)?([0-9A-Fa-f]{1,40})")


def _pem(der: bytes) -> str:
    return x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM).decode()


def _write(path: Path, data: bytes, mode: int) -> None:
    try:
        make_private_dir(path.parent)
        write_atomic(path, data, mode=mode)
    except OSError as exc:
        raise KeyStoreError(f"cannot write {path}: {exc}") from exc


def read_exchange_file(path: Path, expected_format: str) -> dict[str, Any]:
    """Return the JSON object of an onboarding request or answer file.

    Raises OnboardingError when it cannot be read, is not JSON, is too large or is not of
    ``expected_format``.
    """
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise OnboardingError(f"cannot read {path}: {exc}") from exc
    if len(raw) > _MAX_EXCHANGE_BYTES:
        raise OnboardingError(f"{path} is larger than {_MAX_EXCHANGE_BYTES} bytes")
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise OnboardingError(f"{path} is not JSON: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("format") != expected_format:
        raise OnboardingError(f'{path}: field "format" must be {expected_format!r}')
    return doc


def _new_docsign_key(path: Path, passphrase: bytes) -> ec.EllipticCurvePrivateKey:
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase),
    )
    _write(path, pem, 0o600)
    return private


def init_office(
    store: KeyStore,
    *,
    office_id: str,
    name: str,
    province: str,
    office_code: str,
    qualification_types: Iterable[QualificationType | str | int],
    now: int,
    alg: Algorithm = Algorithm.EDDSA,
    new_docsign_key: bool = False,
) -> dict[str, Any]:
    """Make the office's keys in ITS OWN home (when missing) and return its onboarding
    request: ``{"format", "office": {...}, "jwks", "csr"}``.

    Run again, it makes a fresh request with the current keys (renewal, or after a token
    key rotation); ``new_docsign_key`` makes a new document-signing key that replaces the
    current one only when its certificate is installed. Refuses (OnboardingError) in a home
    holding root keys: an office's home must never hold them.
    """
    _check_office(office_id, name, province, office_code)
    scope = _scope(qualification_types)
    passphrase = check_passphrase(store._passphrase)
    if store.has_owner(ROOT_OWNER):
        raise OnboardingError(
            f"{store.home} holds the national root's keys: make the office's keys in the "
            "office's own home (another JIAOZI_HOME, on the office's machine)"
        )
    directory = store.keys_dir / owner_dir(office_id)
    with store.locked():
        if not store.has_owner(office_id):
            store.create_key(office_id, alg=alg, now=now)
        current, pending = directory / DOCSIGN_KEY_FILE, directory / DOCSIGN_NEXT_KEY_FILE
        private: Ed25519PrivateKey | ec.EllipticCurvePrivateKey
        if not current.exists():
            private = _new_docsign_key(current, passphrase)
        elif new_docsign_key:
            private = _new_docsign_key(pending, passphrase)
        elif pending.exists():
            private = _load_private(pending.read_bytes(), passphrase, str(pending))
        else:
            private = _load_private(current.read_bytes(), passphrase, str(current))
        if not isinstance(private, ec.EllipticCurvePrivateKey):
            raise KeyStoreError(f"{current} is not a P-256 key")
        csr = (
            x509.CertificateSigningRequestBuilder()
            .subject_name(
                x509.Name(
                    [
                        x509.NameAttribute(NameOID.COMMON_NAME, name.strip()),
                        x509.NameAttribute(NameOID.ORGANIZATION_NAME, office_id),
                    ]
                )
            )
            .sign(private, hashes.SHA256())
        )
        return {
            "format": REQUEST_FORMAT,
            "office": {
                "id": office_id,
                "name": name.strip(),
                "province": province,
                "office_code": office_code,
                "qualification_types": sorted(q.slug for q in scope),
            },
            "jwks": store.jwks(office_id),
            "csr": csr.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        }


def _field(doc: Mapping[str, Any], name: str, kind: type, where: str = "") -> Any:
    value = doc.get(name)
    if not isinstance(value, kind):
        raise OnboardingError(f'request field "{where}{name}" is missing or not a {kind.__name__}')
    return value


def _check_csr(pem: str, office_id: str) -> x509.CertificateSigningRequest:
    try:
        csr = x509.load_pem_x509_csr(pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise OnboardingError('request field "csr" is not a PEM certificate request') from exc
    try:
        public = csr.public_key()
        valid = csr.is_signature_valid
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise OnboardingError(f'request field "csr": unreadable key or signature: {exc}') from exc
    if not valid:
        raise OnboardingError(
            'request field "csr": its signature does not verify with the key it names'
        )
    if not isinstance(public, ec.EllipticCurvePublicKey) or not isinstance(
        public.curve, ec.SECP256R1
    ):
        raise OnboardingError('request field "csr": the document-signing key must be P-256')
    named = [a.value for a in csr.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
    if named != [office_id]:
        raise OnboardingError(
            f'request field "csr": its subject O must be the office id {office_id!r}, got {named!r}'
        )
    return csr


def onboard(
    root_store: KeyStore, request: Mapping[str, Any], *, now: int, days: int = _DOCSIGN_DAYS
) -> dict[str, Any]:
    """The key ceremony's half, in the ROOT home: check ``request``, add or update the
    office in the trust list with its own public keys, issue its document-signing
    certificate (``days`` long, Document Signing usage, chained to ``trust/root.crt``) and
    return the answer ``{"format", "office_id", "trust_list", "root_jwks", "root_cert",
    "docsign_cert", "serial"}``.

    Raises OnboardingError naming the field at fault (nothing is changed then),
    InvalidOfficeError / InvalidJwksError for refused office fields or keys, and the key
    store's errors when the root key cannot be used.
    """
    if not isinstance(request, Mapping) or request.get("format") != REQUEST_FORMAT:
        raise OnboardingError(f'request field "format" must be {REQUEST_FORMAT!r}')
    office = _field(request, "office", dict)
    office_id = _field(office, "id", str, "office.")
    name = _field(office, "name", str, "office.")
    province = _field(office, "province", str, "office.")
    office_code = _field(office, "office_code", str, "office.")
    types = _field(office, "qualification_types", list, "office.")
    jwks = _field(request, "jwks", dict)
    csr = _check_csr(_field(request, "csr", str), office_id)
    _check_office(office_id, name, province, office_code)
    _scope(types)
    if not isinstance(days, int) or not 1 <= days <= 5 * 366:
        raise OnboardingError("a document-signing certificate lasts 1 to 1830 days")
    with root_store.locked():
        root_key, root_der = root_signing_key(root_store, now=now)  # fails before any change
        trust_list = add_office(
            root_store,
            office_id=office_id,
            name=name,
            province=province,
            office_code=office_code,
            qualification_types=types,
            now=now,
            jwks=jwks,
            generate_key=False,
        )
        when = dt.datetime.fromtimestamp(now, dt.UTC)
        public = csr.public_key()
        assert isinstance(public, ec.EllipticCurvePublicKey)
        cert_der = document_signing_certificate(
            root_key,
            root_der,
            public,
            office_name=name.strip(),
            office_id=office_id,
            not_before=when - dt.timedelta(minutes=5),
            not_after=when + dt.timedelta(days=days),
        )
        serial = x509.load_der_x509_certificate(cert_der).serial_number
        _write(root_store.home / TRUST_DIR / ISSUED_DIR / f"{serial:x}.crt", cert_der, 0o644)
        return {
            "format": ANSWER_FORMAT,
            "office_id": office_id,
            "trust_list": current_trust_token(root_store.home),
            "root_jwks": {"keys": [k.to_jwk() for k in root_keys(root_store.home)]},
            "root_cert": _pem(root_der),
            "docsign_cert": _pem(cert_der),
            "serial": f"{serial:x}",
            "trust_list_seq": trust_list.sequence,
        }


def _load_pem_cert(answer: Mapping[str, Any], name: str) -> tuple[x509.Certificate, bytes]:
    text = answer.get(name)
    if not isinstance(text, str):
        raise OnboardingError(f'answer field "{name}" is missing or not a string')
    try:
        cert = x509.load_pem_x509_certificate(text.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise OnboardingError(f'answer field "{name}" is not a PEM certificate') from exc
    return cert, cert.public_bytes(serialization.Encoding.DER)


def _key_id(key: PublicKey) -> tuple[str, ...]:
    """The kid and public key material of a key, its window left out."""
    jwk = key.to_jwk()
    return (key.kid, str(jwk.get("crv")), str(jwk.get("x")), str(jwk.get("y")))


def install_answer(store: KeyStore, answer: Mapping[str, Any], *, now: int) -> x509.Certificate:
    """The office's second half, in ITS OWN home: check the ceremony's ``answer`` and
    install it; return the installed document-signing certificate.

    The root certificate must certify one of the answer's root keys; the trust list must
    verify against them and list this office with the keys this store holds; the
    document-signing certificate must be issued by that root certificate and certify the
    office's document-signing key (a pending new key, if any, then replaces the old one).
    Writes ``trust/trust-list.jwt``, ``trust/root.jwks.json``, ``trust/root.crt`` and
    ``keys/<owner>/docsign.crt``. Raises OnboardingError naming the field at fault.
    """
    if not isinstance(answer, Mapping) or answer.get("format") != ANSWER_FORMAT:
        raise OnboardingError(f'answer field "format" must be {ANSWER_FORMAT!r}')
    office_id = answer.get("office_id")
    if not isinstance(office_id, str) or not store.has_owner(office_id):
        raise OnboardingError(
            f'answer field "office_id": {office_id!r} has no keys in {store.keys_dir}'
        )
    token, jwks = answer.get("trust_list"), answer.get("root_jwks")
    if not isinstance(token, str) or not isinstance(jwks, dict):
        raise OnboardingError('answer fields "trust_list" and "root_jwks" are required')
    try:
        roots = [PublicKey.from_jwk(k) for k in jwks.get("keys") or ()]
        trust_list = verify_trust_list(token, roots)
    except (CredentialError, AttributeError, TypeError) as exc:
        raise OnboardingError(f'answer field "trust_list" does not verify: {exc}') from exc
    installed = store.home / TRUST_DIR / TRUST_LIST_FILE
    if installed.exists():
        try:
            held_list = verify_trust_list(installed.read_text("ascii").strip(), roots)
        except (CredentialError, OSError, UnicodeDecodeError):
            held_list = None  # another root's list, or damaged: the answer replaces it
        if held_list is not None and held_list.sequence > trust_list.sequence:
            raise OnboardingError(
                f'answer field "trust_list": seq {trust_list.sequence} is older than the '
                f"installed seq {held_list.sequence} (an earlier answer?)"
            )
    listed = trust_list.office(office_id)
    held = {_key_id(k) for k in store.public_keys(office_id)}
    if listed is None or not held <= {_key_id(k) for k in listed.keys}:
        raise OnboardingError(
            f'answer field "trust_list" does not list {office_id} with the keys held here'
        )
    root, root_der = _load_pem_cert(answer, "root_cert")
    if not any(root.public_key() == r.key for r in roots):
        raise OnboardingError('answer field "root_cert" certifies none of the root keys')
    cert, cert_der = _load_pem_cert(answer, "docsign_cert")
    if not _issued_by(cert_der, root):
        raise OnboardingError('answer field "docsign_cert" is not issued by "root_cert"')
    passphrase = check_passphrase(store._passphrase)
    directory = store.keys_dir / owner_dir(office_id)
    current, pending = directory / DOCSIGN_KEY_FILE, directory / DOCSIGN_NEXT_KEY_FILE
    with store.locked():
        target = None
        for path in (pending, current):
            if path.exists():
                key = _load_private(path.read_bytes(), passphrase, str(path))
                if key.public_key() == cert.public_key():
                    target = path
                    break
        if target is None:
            raise OnboardingError(
                'answer field "docsign_cert" certifies none of the document-signing keys here'
            )
        trust = store.home / TRUST_DIR
        _write(trust / ROOT_JWKS_FILE, (json.dumps(jwks, indent=2) + "\n").encode(), 0o644)
        _write(trust / TRUST_LIST_FILE, (token.strip() + "\n").encode("ascii"), 0o644)
        _write(trust / ROOT_CERT_FILE, root_der, 0o644)
        if target == pending:
            try:
                pending.replace(current)
            except OSError as exc:
                raise KeyStoreError(f"cannot move {pending} to {current}: {exc}") from exc
        _write(directory / DOCSIGN_CERT_FILE, cert_der, 0o644)
    return cert


def _parse_serial(serial: str | int) -> int:
    if isinstance(serial, int) and not isinstance(serial, bool) and serial > 0:
        return serial
    match = _SERIAL.fullmatch(str(serial).strip())
    if not match:
        raise TrustAdminError(f"{serial!r} is not a certificate serial number (hexadecimal)")
    return int(match.group(1), 16)


def revoke_document_certificate(
    root_store: KeyStore, serial: str | int, *, now: int
) -> tuple[x509.Certificate, bytes]:
    """Revoke the document-signing certificate ``serial`` (hexadecimal, as the ceremony
    printed it) from ``now``: re-sign ``<root home>/trust/docsign.crl`` with the root key.

    Returns the revoked certificate and the new CRL (DER). Revoking again is a no-op.
    Raises TrustAdminError for a serial this ceremony never issued.
    """
    number = _parse_serial(serial)
    trust = root_store.home / TRUST_DIR
    path = trust / ISSUED_DIR / f"{number:x}.crt"
    try:
        cert = x509.load_der_x509_certificate(path.read_bytes())
    except FileNotFoundError as exc:
        raise TrustAdminError(
            f"no document-signing certificate {number:x} was issued here ({path.parent})"
        ) from exc
    except (OSError, ValueError) as exc:
        raise TrustAdminError(f"cannot read {path}: {exc}") from exc
    when = dt.datetime.fromtimestamp(now, dt.UTC)
    with root_store.locked():
        root_key, root_der = root_signing_key(root_store, now=now)
        entries: dict[int, x509.RevokedCertificate] = {}
        crl_path = trust / DOCSIGN_CRL_FILE
        if crl_path.exists():
            try:
                for item in x509.load_der_x509_crl(crl_path.read_bytes()):
                    entries[item.serial_number] = item
            except ValueError as exc:
                raise TrustAdminError(f"{crl_path} is damaged: {exc}") from exc
        if number not in entries:
            entries[number] = (
                x509.RevokedCertificateBuilder().serial_number(number).revocation_date(when).build()
            )
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(x509.load_der_x509_certificate(root_der).subject)
            .last_update(when)
            .next_update(when + dt.timedelta(days=_CRL_DAYS))
        )
        for item in entries.values():
            builder = builder.add_revoked_certificate(item)
        digest = None if isinstance(root_key, Ed25519PrivateKey) else hashes.SHA256()
        crl = builder.sign(root_key, digest).public_bytes(serialization.Encoding.DER)
        _write(crl_path, crl, 0o644)
    return cert, crl


def revoked_serials(crl_der: bytes, roots: Sequence[PublicKey]) -> frozenset[int]:
    """Return the serial numbers a document-signing CRL revokes, after checking that one
    of the pinned ``roots`` signed it. Raises DocumentCertificateError otherwise."""
    try:
        crl = x509.load_der_x509_crl(crl_der)
    except ValueError as exc:
        raise DocumentCertificateError(f"not a DER X.509 CRL: {exc}") from exc
    for root in roots:
        key = root.key
        if not isinstance(key, Ed25519PublicKey | ec.EllipticCurvePublicKey):
            continue
        try:
            if crl.is_signature_valid(key):
                return frozenset(item.serial_number for item in crl)
        except (InvalidSignature, TypeError, ValueError, UnsupportedAlgorithm):
            continue
    raise DocumentCertificateError("the CRL is not signed by a pinned root key")
