"""Errors raised by keys/ (key store and trust administration).

One root, a few branches; callers catch the branch they can act on::

    KeysError
    ├── PassphraseError          JIAOZI_KEY_PASSPHRASE missing, empty or unusable
    ├── WrongPassphraseError     a private key file does not decrypt with the passphrase
    ├── KeyNotFoundError         no such key id or key owner in the store
    ├── KeyIdError               a key id that is malformed or already used in the store
    ├── KeyStateError            an operation the key's state forbids (e.g. un-compromising)
    ├── NoActiveKeyError         no key of that owner may sign now (retired or compromised)
    ├── KeyStoreError            a keyring or key file that cannot be read, written or parsed,
    │                            or that disagrees with its keyring
    ├── DocumentCertificateError the office's PDF-signing key or certificate missing, not
    │                            matching, not from the installed root, or expired
    ├── ArchiveError             a backup archive that cannot be read (keys._archive)
    │   ├── ArchiveWrongPassphraseError   not the archive's passphrase
    │   └── ArchiveTamperedError          changed, cut short or reordered
    └── TrustAdminError          the trust state cannot be changed or read as asked
        ├── TrustNotInitialisedError   no trust list yet (run ``jiaozi trust init``)
        ├── InvalidOfficeError         office fields or scope refused
        ├── InvalidJwksError           an imported office JWKS refused (bad or weak key)
        └── OnboardingError            an onboarding request or answer refused (names the field)

Third-party exceptions (cryptography, json, OS errors on key files) and the credential
core's ``CredentialError`` never escape keys/: they are caught at the boundary and
re-raised as one of these, chained. Messages never contain private key material or the
passphrase.
"""

from __future__ import annotations

__all__ = [
    "DocumentCertificateError",
    "InvalidJwksError",
    "InvalidOfficeError",
    "KeyIdError",
    "KeyNotFoundError",
    "KeyStateError",
    "KeyStoreError",
    "KeysError",
    "NoActiveKeyError",
    "OnboardingError",
    "PassphraseError",
    "TrustAdminError",
    "TrustNotInitialisedError",
    "WrongPassphraseError",
]


class KeysError(Exception):
    """Root of every error keys/ raises.

    The message is English (logs, the API's callers). A common error also carries a
    ``code`` and the ``fields`` its message was made from, so that the command line can say
    it in Chinese too (``keys.cli`` looks up ``keys.error.<code>`` in ``CLI_TEXT``); an
    error without a code is shown with its English message."""

    def __init__(self, message: str = "", /, *, code: str | None = None, **fields: object):
        super().__init__(message)
        self.code = code
        self.fields = fields


class PassphraseError(KeysError):
    """The key passphrase is missing, empty or too long; names the environment variable."""


class WrongPassphraseError(KeysError):
    """A private key file does not decrypt with the given passphrase."""


class KeyNotFoundError(KeysError):
    """No key with that id, or no keyring for that owner."""


class KeyIdError(KeysError):
    """A key id not of the form ``[A-Za-z0-9][A-Za-z0-9._-]{0,63}``, or already used
    (key ids are unique across the whole store)."""


class KeyStateError(KeysError):
    """An operation the key's current state forbids: rotating with a clock behind the
    newest key, or moving a compromise time later."""


class NoActiveKeyError(KeysError):
    """No key of the owner is inside its window and uncompromised at the given time."""


class KeyStoreError(KeysError):
    """A keyring or private key file that cannot be read, written or parsed, or a private
    key that does not match the public key its keyring records."""


class TrustAdminError(KeysError):
    """The trust state cannot be read or changed as asked."""


class TrustNotInitialisedError(TrustAdminError):
    """No signed trust list in this home yet."""


class InvalidOfficeError(TrustAdminError):
    """Office fields (id, province, office code, scope) refused."""


class InvalidJwksError(TrustAdminError):
    """An office JWKS given for import is malformed or holds an unacceptable key."""


class OnboardingError(TrustAdminError):
    """An onboarding request or the ceremony's answer refused; names the field at fault."""


class DocumentCertificateError(KeysError):
    """An office's document-signing key or certificate is missing, mismatched, not issued
    by the installed root certificate, or expired; names the command that fixes it."""
