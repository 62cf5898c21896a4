"""Jiaozi's signing keys and the national trust list: generation, encrypted storage,
rotation, compromise, JWKS, and signing the trust list (contract sections 6 and 11).

Everything public is re-exported here; the underscored modules are implementation and
``keys.cli`` holds the ``jiaozi trust`` and ``jiaozi keys`` commands (the only user of
click here). May import ``credential`` only. Private keys live under ``$JIAOZI_HOME/keys/``
(default ``var/keys/``) as PKCS#8 PEM encrypted under ``$JIAOZI_KEY_PASSPHRASE``; the
trust state under ``$JIAOZI_HOME/trust/``.

Typical use by a service::

    store = KeyStore.from_env()
    signer = store.active_signer("urn:jiaozi:office:11001", now=int(time.time()))
"""

from ._cms import PadesSigner, pades_signer
from ._datacipher import (
    DATA_KEY_BYTES,
    DEV_DATA_KEY,
    DataCipher,
    generate_data_key,
    parse_data_key,
)
from ._errors import (
    InvalidJwksError,
    InvalidOfficeError,
    KeyIdError,
    KeyNotFoundError,
    KeysError,
    KeyStateError,
    KeyStoreError,
    NoActiveKeyError,
    PassphraseError,
    TrustAdminError,
    TrustNotInitialisedError,
    WrongPassphraseError,
)
from ._files import (
    HOME_ENV,
    PASSPHRASE_ENV,
    create_private_file,
    jiaozi_home,
    passphrase_from_env,
)
from ._pdfsig import PdfSignatureCheck, PdfSignatureOutcome, check_pdf_signature
from ._pem import signer_from_pem
from ._store import ROOT_OWNER, KeyStore, generate_private_key, owner_dir
from ._trustadmin import (
    ROOT_JWKS_FILE,
    TRUST_DIR,
    TRUST_LIST_FILE,
    add_office,
    current_trust_list,
    current_trust_token,
    export_trust,
    init_trust,
    is_initialised,
    mark_compromised,
    root_keys,
    rotate_office,
    rotate_root,
    sync_office_keys,
)
from ._x509 import (
    DOCUMENT_SIGNING_EKU,
    DocumentSigningKey,
    document_signing_certificate,
    office_document_key,
    root_certificate,
)

__all__ = [
    "DATA_KEY_BYTES",
    "DEV_DATA_KEY",
    "DOCUMENT_SIGNING_EKU",
    "HOME_ENV",
    "PASSPHRASE_ENV",
    "ROOT_JWKS_FILE",
    "ROOT_OWNER",
    "TRUST_DIR",
    "TRUST_LIST_FILE",
    "DataCipher",
    "DocumentSigningKey",
    "InvalidJwksError",
    "InvalidOfficeError",
    "KeyIdError",
    "KeyNotFoundError",
    "KeyStateError",
    "KeyStore",
    "KeyStoreError",
    "KeysError",
    "NoActiveKeyError",
    "PadesSigner",
    "PassphraseError",
    "PdfSignatureCheck",
    "PdfSignatureOutcome",
    "TrustAdminError",
    "TrustNotInitialisedError",
    "WrongPassphraseError",
    "add_office",
    "check_pdf_signature",
    "create_private_file",
    "current_trust_list",
    "current_trust_token",
    "document_signing_certificate",
    "export_trust",
    "generate_data_key",
    "generate_private_key",
    "init_trust",
    "is_initialised",
    "jiaozi_home",
    "mark_compromised",
    "office_document_key",
    "owner_dir",
    "pades_signer",
    "parse_data_key",
    "passphrase_from_env",
    "root_certificate",
    "root_keys",
    "rotate_office",
    "rotate_root",
    "signer_from_pem",
    "sync_office_keys",
]
