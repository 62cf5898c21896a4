"""Loading trust and status data from files, for offline verification."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

from credential import (
    CredentialError,
    PublicKey,
    StatusSnapshot,
    TrustList,
    load_status_list,
    verify_trust_list,
)
from keys import DOCSIGN_CRL_FILE, KeysError, revoked_serials

__all__ = [
    "OfflineDataError",
    "RevokedDocumentCertificates",
    "load_root_keys",
    "load_status_files",
    "load_trust",
]

log = logging.getLogger(__name__)


class OfflineDataError(Exception):
    """A trust, root or status file that cannot be read or does not verify."""


def load_root_keys(path: Path) -> list[PublicKey]:
    """Return the pinned root keys in a JWKS file; raises OfflineDataError."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        keys = doc["keys"] if isinstance(doc, dict) else doc
        return [PublicKey.from_jwk(k) for k in keys]
    except (OSError, ValueError, KeyError, TypeError, CredentialError) as exc:
        raise OfflineDataError(f"{path}: not a root JWKS ({exc})") from exc


def load_trust(trust_path: Path, roots: Iterable[PublicKey]) -> TrustList:
    """Return the trust list in ``trust_path`` verified against ``roots``."""
    try:
        return verify_trust_list(trust_path.read_text(encoding="ascii").strip(), list(roots))
    except (OSError, UnicodeDecodeError) as exc:
        raise OfflineDataError(f"{trust_path}: cannot read ({exc})") from exc
    except CredentialError as exc:
        raise OfflineDataError(f"{trust_path}: {exc}") from exc


def load_status_files(paths: Iterable[Path], trust: TrustList) -> dict[str, StatusSnapshot]:
    """Return status snapshots keyed by URI from signed status-list JWT files."""
    out: dict[str, StatusSnapshot] = {}
    for path in paths:
        try:
            snap = load_status_list(path.read_text(encoding="ascii").strip(), trust)
        except (OSError, UnicodeDecodeError) as exc:
            raise OfflineDataError(f"{path}: cannot read ({exc})") from exc
        except CredentialError as exc:
            raise OfflineDataError(f"{path}: {exc}") from exc
        out[snap.uri] = snap
    return out


class RevokedDocumentCertificates:
    """The serial numbers of revoked document-signing certificates, from the key
    ceremony's ``docsign.crl`` delivered beside the pinned root JWKS (``jiaozi trust
    export`` writes both). Re-read when the file changes; a CRL that does not verify
    against the pinned roots is refused with an error in the log, and the last good one
    kept (a stale list beats none, and a forged file cannot lift a revocation).
    """

    def __init__(self, path: Path, roots: Sequence[PublicKey]) -> None:
        self.path = path
        self._roots = list(roots)
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._serials: frozenset[int] = frozenset()

    @classmethod
    def beside(cls, root_jwks: Path, roots: Sequence[PublicKey]) -> RevokedDocumentCertificates:
        """Return the revocations read from ``docsign.crl`` in ``root_jwks``'s directory."""
        return cls(root_jwks.parent / DOCSIGN_CRL_FILE, roots)

    def serials(self) -> frozenset[int]:
        """Return the revoked serial numbers (empty while there is no CRL file)."""
        with self._lock:
            try:
                st = self.path.stat()
            except OSError:
                return self._serials
            stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
            if stamp != self._stamp:
                try:
                    self._serials = revoked_serials(self.path.read_bytes(), self._roots)
                except (OSError, KeysError) as exc:
                    log.error("%s refused, keeping the last good list: %s", self.path, exc)
                self._stamp = stamp
            return self._serials
