"""Loading trust and status data from files, for offline verification."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from credential import (
    CredentialError,
    PublicKey,
    StatusSnapshot,
    TrustList,
    load_status_list,
    verify_trust_list,
)

__all__ = ["OfflineDataError", "load_root_keys", "load_status_files", "load_trust"]


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
