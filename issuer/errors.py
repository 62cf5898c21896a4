"""Errors the services raise for the HTTP layer to turn into problem JSON (one place:
``issuer.web.problems``). Each carries its HTTP status, a stable code and both languages."""

from __future__ import annotations

__all__ = [
    "BackupNeeded",
    "Conflict",
    "Forbidden",
    "IdempotencyMismatch",
    "IdempotencyPending",
    "IssuerError",
    "NoClaimCodes",
    "NotFound",
    "NothingToPrint",
    "PrintingUnavailable",
    "ReconcileNeeded",
    "TooManyRequests",
    "Unauthorized",
]


class IssuerError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, title: str, title_zh: str, detail: str = "", detail_zh: str = "") -> None:
        super().__init__(detail or title)
        self.title, self.title_zh = title, title_zh
        self.detail, self.detail_zh = detail, detail_zh


class NotFound(IssuerError):
    status = 404
    code = "not_found"


class IdempotencyMismatch(IssuerError):
    status = 422
    code = "idempotency_key_reused"


class IdempotencyPending(IssuerError):
    status = 409
    code = "idempotency_key_in_progress"


class Unauthorized(IssuerError):
    status = 401
    code = "unauthorized"
    headers = {"WWW-Authenticate": 'Bearer realm="jiaozi-issuer"'}  # noqa: RUF012


class Forbidden(IssuerError):
    status = 403
    code = "forbidden"


class Conflict(IssuerError):
    """The request is valid but the resource's state does not allow it now."""

    status = 409
    code = "conflict"


class NoClaimCodes(Conflict):
    """A batch's letters or codes were asked for before its claim codes were made."""

    code = "no_claim_codes"


class NothingToPrint(Conflict):
    """A batch has no valid certificate to print."""

    code = "nothing_to_print"


class BackupNeeded(IssuerError):
    """The serials or status lists the last backup allowed are used up, or the database
    was restored and no backup was taken since: ``jiaozi backup issuer`` lets issuance go
    on (docs/operations.md, "Backup and restore")."""

    status = 503
    code = "backup_needed"


class ReconcileNeeded(IssuerError):
    """The database was restored and the status published since the backup was not taken
    back yet: nothing signs a status list until ``jiaozi issuer reconcile-status
    --published DIR_OR_URL`` (or ``--none-published``) has run (docs/operations.md,
    "Backup and restore")."""

    status = 503
    code = "reconcile_needed"


class PrintingUnavailable(IssuerError):
    """PDFs cannot be made here: no document-signing key is configured, or a tool the
    print file needs (``pdfunite``) is missing."""

    status = 503
    code = "printing_unavailable"


class TooManyRequests(IssuerError):
    """A limit on how often something may be done was reached; ``Retry-After`` says when
    it may be done again."""

    status = 429
    code = "too_many_requests"

    def __init__(
        self,
        title: str,
        title_zh: str,
        detail: str = "",
        detail_zh: str = "",
        *,
        retry_after: int,
    ) -> None:
        super().__init__(title, title_zh, detail, detail_zh)
        self.headers = {"Retry-After": str(max(1, retry_after))}
