"""Opening a signing key from PEM bytes outside the key store (worker processes, tests)."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from credential import KeySigner

from ._errors import KeyStoreError, WrongPassphraseError

__all__ = ["signer_from_pem"]


def signer_from_pem(pem: bytes, *, password: bytes | None, kid: str) -> KeySigner:
    """Return a signer over the (optionally encrypted) PKCS#8 PEM private key ``pem``.

    Raises WrongPassphraseError when ``password`` does not open it, KeyStoreError when it
    is not an Ed25519 or P-256 private key.
    """
    try:
        key = load_pem_private_key(pem, password)
    except (TypeError, ValueError) as exc:
        if password is not None or b"ENCRYPTED" in pem:
            raise WrongPassphraseError("the passphrase does not open this key") from exc
        raise KeyStoreError(f"not a PEM private key: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey | ec.EllipticCurvePrivateKey):
        raise KeyStoreError("only Ed25519 and P-256 keys sign Jiaozi tokens")
    return KeySigner(key, kid)
