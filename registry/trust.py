"""The trust list the key ceremony exported, as the registry uses and serves it (issue 12
point 1: the registry serves what the ceremony signed; docs/trust.md).

The registry holds no root key and signs nothing with it: it reads the exported files,
``JIAOZI_TRUST_LIST_FILE`` and ``JIAOZI_ROOT_JWKS`` (default: ``$JIAOZI_HOME/trust/``
``trust-list.jwt`` and ``root.jwks.json``, where ``jiaozi trust`` and ``jiaozi keys
install`` write them), checks the list against the pinned root keys, and serves the
exact bytes it checked at ``GET /trust-list.jwt`` (and the root keys it checked it against at
``GET /root.jwks.json``).

The files are read again when they change (their size, time or inode differ) and at
least every ``every`` seconds; a list that does not verify or is older than the held one
(a rollback: ``verify_trust_list`` with the held list) is refused and logged, and the
held list stays in use and served, as a verifier keeps its held copy. Only the first read
raises: a registry does not start without a trust list.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from credential import CredentialError, PublicKey, TrustList, strict_json_loads, verify_trust_list

from .settings import RegistrySettings
from .store import RegistryError

__all__ = [
    "ROOT_JWKS_MEDIA_TYPE",
    "TRUST_LIST_MEDIA_TYPE",
    "TrustDocuments",
    "TrustFileError",
    "TrustSource",
]

log = logging.getLogger("jiaozi.registry")

TRUST_LIST_MEDIA_TYPE = "application/jiaozi-trustlist+jwt"
ROOT_JWKS_MEDIA_TYPE = "application/json"


class TrustFileError(RegistryError):
    """The exported trust list or root keys cannot be read or do not verify."""


@dataclass(frozen=True, slots=True)
class TrustDocuments:
    """What the registry serves: the trust list's compact JWS as exported, the root keys'
    JWKS as read (the keys it was checked against), and an entity tag of each."""

    trust_list: str
    trust_etag: str
    root_jwks: bytes
    root_etag: str


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _stat(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


class TrustSource:
    """The ceremony's exported trust list and root keys, checked and re-read on change."""

    def __init__(
        self,
        settings: RegistrySettings,
        *,
        every: float = 30.0,
        home: Path | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Read the files once; raises TrustFileError if they cannot be read or the list
        does not verify against the root keys. ``home`` is the Jiaozi home for the default
        paths (default: ``keys.jiaozi_home()``)."""
        from keys import ROOT_JWKS_FILE, TRUST_DIR, TRUST_LIST_FILE, jiaozi_home

        base = (home if home is not None else jiaozi_home()) / TRUST_DIR
        self.list_path = settings.trust_list_file or base / TRUST_LIST_FILE
        self.roots_path = settings.root_jwks or base / ROOT_JWKS_FILE
        self.every = every
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: tuple[object, ...] = ()
        self._read_at = 0.0
        self._trust, self._docs = self._load(previous=None)
        self._seen = self._stamp()
        self._read_at = clock()

    def _stamp(self) -> tuple[object, ...]:
        return (_stat(self.list_path), _stat(self.roots_path))

    def _load(self, previous: TrustList | None) -> tuple[TrustList, TrustDocuments]:
        try:
            roots_body = self.roots_path.read_bytes()
            jwks = strict_json_loads(roots_body, "root_jwks")
            keys = jwks.get("keys") if isinstance(jwks, dict) else None
            if not isinstance(keys, list) or not keys:
                raise TrustFileError(f"{self.roots_path} holds no root keys")
            roots = [PublicKey.from_jwk(k) for k in keys]
            token = self.list_path.read_bytes().decode("ascii").strip()
            trust = verify_trust_list(token, roots, previous=previous)
        except TrustFileError:
            raise
        except (OSError, UnicodeDecodeError, CredentialError, ValueError, TypeError) as exc:
            raise TrustFileError(f"{type(exc).__name__}: {exc}") from exc
        docs = TrustDocuments(token, _etag(token.encode("ascii")), roots_body, _etag(roots_body))
        return trust, docs

    def _refresh(self) -> None:
        now = self._clock()
        stamp = self._stamp()
        if stamp == self._seen and now - self._read_at < self.every:
            return
        self._seen, self._read_at = stamp, now
        try:
            trust, docs = self._load(previous=self._trust)
        except TrustFileError as exc:
            log.warning(
                "exported trust list refused, the held seq %s kept: %s", self._trust.sequence, exc
            )
            return
        if docs.trust_list != self._docs.trust_list or docs.root_jwks != self._docs.root_jwks:
            log.info("trust list seq %s taken from %s", trust.sequence, self.list_path)
        self._trust, self._docs = trust, docs

    def current(self) -> TrustList:
        """Return the held trust list, re-read first if the files changed (never raises)."""
        with self._lock:
            self._refresh()
            return self._trust

    def documents(self) -> TrustDocuments:
        """Return what ``GET /trust-list.jwt`` and ``GET /root.jwks.json`` serve: the bytes
        of the held list (re-read first like :meth:`current`)."""
        with self._lock:
            self._refresh()
            return self._docs
