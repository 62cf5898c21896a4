"""Who is acting: the ``Principal`` every service function is handed.

Authentication (``issuer.web.deps``) makes one from an API key; services read it to
scope work to an office, check a role and name the actor in the audit chain.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ROLES", "Principal"]

ROLES = ("clerk", "supervisor", "admin")


@dataclass(frozen=True)
class Principal:
    """Who is acting. ``actor`` is what audit records name."""

    actor: str
    office_id: str | None
    role: str | None = None
    officer_id: int | None = None
    client_kind: str | None = None  # "verifier" | "mis" for service clients

    @property
    def is_officer(self) -> bool:
        """Return whether a personal officer account (not a service client) is acting."""
        return self.role is not None
