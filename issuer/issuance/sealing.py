"""Stored credentials sealed under the office's data key (contract section 2).

The full credential JWS carries the holder's identity number in its payload, and base64url
is not encryption: the database keeps it sealed with ``keys.DataCipher`` (AES-256-GCM,
key ``JIAOZI_DATA_KEY``). The stored text is ``"v1:" + base64url(sealed bytes)``; the
associated data is the certificate number, so a sealed value copied onto another
certificate's row does not open. Text without the ``v1:`` prefix is a credential stored
before sealing existed: it is returned only if it is a JWS naming this certificate's
number (so clear text cannot stand in for another row's sealed value); re-sealing old
rows is an operations step.

``seal_text``/``open_text`` do the same for other stored texts that contain a credential
(the idempotency record's saved answer), each under its own context string.
"""

from __future__ import annotations

import functools

from credential import CredentialError, b64url_decode, b64url_encode, compact_of, parse_jws
from issuer.settings import IssuerSettings
from keys import DataCipher, KeysError, parse_data_key

__all__ = [
    "PREFIX",
    "SealedDataError",
    "is_sealed",
    "open_credential",
    "open_stored_credential",
    "open_text",
    "seal_credential",
    "seal_text",
]

PREFIX = "v1:"


class SealedDataError(Exception):
    """A stored value that does not open: changed, moved to another row, or another key."""


@functools.lru_cache(maxsize=8)
def _cipher(key_text: str) -> DataCipher:
    return DataCipher(parse_data_key(key_text))


def _for(settings: IssuerSettings) -> DataCipher:
    # The published development key is refused in production by IssuerSettings itself.
    return _cipher(settings.data_key.get_secret_value())


def is_sealed(stored: str) -> bool:
    """Return True when ``stored`` is a sealed value (rather than legacy clear text)."""
    return stored.startswith(PREFIX)


def seal_text(settings: IssuerSettings, text: str, *, context: str) -> str:
    """Return ``text`` sealed for storage, bound to ``context``."""
    sealed = _for(settings).seal(text.encode("utf-8"), aad=context.encode("utf-8"))
    return PREFIX + b64url_encode(sealed)


def open_text(settings: IssuerSettings, stored: str, *, context: str) -> str:
    """Return the text sealed in ``stored`` under ``context`` (legacy clear text as is).

    Raises SealedDataError when it does not open.
    """
    if not is_sealed(stored):
        return stored
    try:
        raw = b64url_decode(stored[len(PREFIX) :], "sealed value")
        return _for(settings).open(raw, aad=context.encode("utf-8")).decode("utf-8")
    except (CredentialError, KeysError, UnicodeDecodeError) as exc:
        raise SealedDataError(f"stored value for {context} does not open: {exc}") from None


def _credential_context(certificate_number: str) -> str:
    return f"credential:{certificate_number}"


def seal_credential(settings: IssuerSettings, jws: str, *, certificate_number: str) -> str:
    """Return the credential JWS of certificate ``certificate_number`` sealed for storage."""
    return seal_text(settings, jws, context=_credential_context(certificate_number))


def open_credential(settings: IssuerSettings, stored: str, *, certificate_number: str) -> str:
    """Return the credential stored for certificate ``certificate_number`` as a compact
    JWS: the first signature of a dual-signed credential (the ``.vc.jwt`` download, the
    form the QR's digest binds).

    Raises SealedDataError when the stored value was changed, belongs to another
    certificate, or was sealed under another data key.
    """
    text = open_stored_credential(settings, stored, certificate_number=certificate_number)
    try:
        return compact_of(text)
    except CredentialError as exc:
        raise SealedDataError(f"stored credential for {certificate_number}: {exc}") from None


def open_stored_credential(
    settings: IssuerSettings, stored: str, *, certificate_number: str
) -> str:
    """Return the credential stored for certificate ``certificate_number`` as it was
    signed: a compact JWS, or for a dual-signed (SM2) one its JWS JSON serialization.

    Raises SealedDataError as ``open_credential``.
    """
    if not is_sealed(stored):
        try:
            subject = parse_jws(compact_of(stored)).payload.get("credentialSubject")
            named = subject.get("certificateNumber") if isinstance(subject, dict) else None
        except CredentialError:
            named = None
        if named != certificate_number:
            raise SealedDataError(
                f"stored credential for {certificate_number} is neither sealed nor its own"
            )
        return stored
    return open_text(settings, stored, context=_credential_context(certificate_number))
