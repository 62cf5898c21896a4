"""Jiaozi's signing keys and the national trust list: generation, encrypted storage,
rotation, compromise, JWKS, and signing the trust list (contract sections 6 and 11).

Everything public is re-exported here; the underscored modules are implementation and
``keys.cli`` holds the ``jiaozi trust`` and ``jiaozi keys`` commands (the only user of
click here). May import ``credential`` only. Private keys live under ``$JIAOZI_HOME/keys/``
(default ``var/keys/``) as PKCS#8 PEM encrypted under ``$JIAOZI_KEY_PASSPHRASE``; the
trust state under ``$JIAOZI_HOME/trust/``. Two kinds of home never mix: the ROOT home of
the offline key ceremony (``jiaozi trust ...``; the only place a root private key is
read) and each OFFICE's home (its own keys, and what ``keys.install_answer`` installed:
``_ceremony`` onboards an office with no secret shared; docs/key-ceremony.md).

Typical use by a service::

    store = KeyStore.from_env()
    signer = store.active_signer("urn:jiaozi:office:11001", now=int(time.time()))
"""

from ._archive import (
    ArchiveError,
    ArchiveTamperedError,
    ArchiveWrongPassphraseError,
    decrypt_archive,
    encrypt_archive,
)
from ._ceremony import (
    ANSWER_FORMAT,
    REQUEST_FORMAT,
    init_office,
    install_answer,
    onboard,
    read_exchange_file,
    revoke_document_certificate,
    revoked_serials,
)
from ._cms import PadesSigner, pades_signer
from ._datacipher import (
    DATA_KEY_BYTES,
    DEV_DATA_KEY,
    DataCipher,
    generate_data_key,
    parse_data_key,
)
from ._errors import (
    DocumentCertificateError,
    InvalidJwksError,
    InvalidOfficeError,
    KeyIdError,
    KeyNotFoundError,
    KeysError,
    KeyStateError,
    KeyStoreError,
    NoActiveKeyError,
    OnboardingError,
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
    DOCSIGN_CRL_FILE,
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
    root_signing_key,
)

__all__ = [
    "ANSWER_FORMAT",
    "DATA_KEY_BYTES",
    "DEV_DATA_KEY",
    "DOCSIGN_CRL_FILE",
    "DOCUMENT_SIGNING_EKU",
    "HOME_ENV",
    "PASSPHRASE_ENV",
    "REQUEST_FORMAT",
    "ROOT_JWKS_FILE",
    "ROOT_OWNER",
    "TRUST_DIR",
    "TRUST_LIST_FILE",
    "ArchiveError",
    "ArchiveTamperedError",
    "ArchiveWrongPassphraseError",
    "DataCipher",
    "DocumentCertificateError",
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
    "OnboardingError",
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
    "decrypt_archive",
    "document_signing_certificate",
    "encrypt_archive",
    "export_trust",
    "generate_data_key",
    "generate_private_key",
    "init_office",
    "init_trust",
    "install_answer",
    "is_initialised",
    "jiaozi_home",
    "mark_compromised",
    "office_document_key",
    "onboard",
    "owner_dir",
    "pades_signer",
    "parse_data_key",
    "passphrase_from_env",
    "read_exchange_file",
    "revoke_document_certificate",
    "revoked_serials",
    "root_certificate",
    "root_keys",
    "root_signing_key",
    "rotate_office",
    "rotate_root",
    "signer_from_pem",
    "sync_office_keys",
]
