"""The verifier service behind the HTTP API: the held data, the syncer, the rate limiter
and the verification policy, built once per app, and what a request asks of them (a
judgement, the age of the held data; admission checks are the registry's).

It speaks in the API's terms (a ``Problem`` when nothing can be judged) but knows no
request or route: ``routes`` and ``fastpath`` read requests and call it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from credential import (
    Check,
    PublicKey,
    StatusSnapshot,
    VerifyPolicy,
    beijing_date,
    photo_check,
    rfc3339,
    verify,
)

from .. import db
from .._offline import RevokedDocumentCertificates
from ..filecheck import FILE_CHECK, file_check, file_signature
from ..problems import Problem
from ..ratelimit import LimiterUnavailable, make_limiter
from ..settings import VerifierSettings
from ..store import DatedRestrictions, Held, Store
from ..sync import Syncer

__all__ = ["FILE_CHECK", "Clock", "NeedsIO", "Verifier", "file_check", "rate_limited"]


def rate_limited(retry: int) -> Problem:
    return Problem(
        429,
        "rate_limited",
        ("Too many requests", "请求过于频繁"),
        (f"Try again in {retry} seconds.", f"请在{retry}秒后重试。"),
        headers={"Retry-After": str(retry)},
    )


class NeedsIO(Exception):
    """Judging now would wait on the database or the network (see ``Verifier.judge``)."""


log = logging.getLogger("jiaozi.verifier")
Clock = Callable[[], dt.datetime]


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Verifier:
    """Everything a request needs, built once per app."""

    def __init__(
        self,
        settings: VerifierSettings,
        http: httpx.Client | None,
        clock: Clock | None,
        roots: list[PublicKey],
    ) -> None:
        self.settings = settings
        self.clock: Clock = clock or _utcnow
        self.own_http = http is None
        self.http = http or httpx.Client(timeout=settings.sync_timeout)
        self.engine = db.make_engine(settings.database_url, migrate=settings.auto_migrate)
        self.store = Store(self.engine, roots, settings.reload_interval)
        # the pinned root keys also certify the offices' PDF-signing keys (keys._x509)
        self.roots = tuple(roots)
        # ... and revoke them in the ceremony's CRL, delivered beside the pinned root JWKS
        self.revoked_docsign = RevokedDocumentCertificates.beside(settings.root_jwks, roots)
        self.syncer = Syncer(settings, self.engine, self.http, self.store, roots, self.clock)
        self.limiter = make_limiter(self.engine, settings.redis_url, settings.redis_prefix)
        self.policy = VerifyPolicy(
            verifier_origin=settings.public_url,
            max_token_length=settings.token_limit,
            status_grace=settings.status_grace,
            require_sm2=settings.require_sm2,
        )
        self.restriction_sources = [s.base_url for s in settings.issuers if s.api_key]
        # Called with each judgement's verdict and reason (the metrics, verifier.app.observe).
        self.on_verdict: Callable[[str, str | None], None] | None = None
        self._restrictions_known: tuple[Held | None, bool] = (None, False)

    def close(self) -> None:
        if self.own_http:
            self.http.close()
        close = getattr(self.limiter, "close", None)
        if callable(close):
            close()
        self.engine.dispose()

    # -- verification --

    @staticmethod
    def client_address(scope: Mapping[str, Any]) -> str:
        """Return the address a verification is counted against: the request's client
        (an ASGI scope's), which the proxy-header middleware ``create_app`` installs has
        already taken from X-Forwarded-For when, and only when, the connection came from a
        configured trusted proxy; nothing here reads the header again."""
        client = scope.get("client")
        return str(client[0])[:64] if client else "unknown"

    def limit_verify(self, client: str) -> None:
        """Count one verification by ``client``; raise a 429 Problem over the limit, a 503
        when the shared counter store cannot be reached (never unlimited)."""
        limit = self.settings.verify_rate_limit
        if limit <= 0:
            return
        try:
            retry = self.limiter.hit(
                "verify:" + client,
                limit=limit,
                window=self.settings.verify_rate_window,
                now=self.clock(),
            )
        except LimiterUnavailable:
            log.error("rate-limit store unreachable")
            raise Problem(
                503,
                "rate_limiter_unavailable",
                ("Service temporarily unavailable", "服务暂时不可用"),
                headers={"Retry-After": "30"},
            ) from None
        if retry is not None:
            raise rate_limited(retry)

    def file_signature(self, kind: str, data: bytes) -> Check:
        """The check of an uploaded file's own signature: a PDF's against the pinned
        roots; a PNG or JPEG is never signed (``verifier.filecheck``, which ``jiaozi
        verify FILE`` uses too); a revoked signer certificate is not trusted."""
        return file_signature(kind, data, self.roots, self.revoked_docsign.serials())

    def judge(
        self,
        qr: str | None,
        credential: str | None,
        lang: str,
        *,
        io: bool = True,
        file: Check | None = None,
        photo: bytes | None = None,
        in_pdf: bool = False,
    ) -> bytes:
        """Return the contract's result JSON (UTF-8) for what was presented.

        ``file`` is the check of an uploaded file's own signature (``file_signature``):
        appended to the result, and a failed one makes it ``not_valid``. With it comes the
        photo check (``credential.photo_check``): ``photo`` is the ``photo.jpg`` of an
        uploaded PDF (``in_pdf``); a swapped, removed or added photo makes the result
        ``not_valid``, a matching one is returned inline (``"photo"``, a data: URL).
        Without a file (JSON) the photo check is added, not run (``ok`` null), only when
        the e-licence binds a photo: it says the photo is compared on the PDF only.

        With ``io=False`` it uses only what is held in memory and raises NeedsIO when the
        answer would need the database (a due reload) or the network (an on-demand status
        fetch): the server then judges again in a worker thread, where waiting is harmless.
        """
        if not io and self.store.refresh_due():
            raise NeedsIO
        held = self.store.current() if io else self.store.held
        if held.trust is None:
            raise Problem(
                503,
                "no_trust_list",
                ("No trust list yet", "尚未获取信任列表"),
                (
                    "This verifier has not synced the national trust list yet.",
                    "本核验服务尚未同步国家信任列表，暂时无法核验。",
                ),
                headers={"Retry-After": "60"},
            )
        now = self.clock()
        t = now.timestamp()

        def status(uri: str) -> StatusSnapshot | None:
            snap = held.status.get(uri)
            if snap is None or t > snap.stale_after(0):
                if not io:
                    # only when a fetch would really be tried: during an outage the
                    # retry window answers at once, and judging twice costs a signature
                    if self.syncer.would_fetch(uri):
                        raise NeedsIO
                    return snap
                fresh = self.syncer.on_demand_status(uri)
                if fresh is not None:
                    return fresh
            return snap

        restrictions = None
        if self._restrictions_held(held):
            restrictions = DatedRestrictions(held.restrictions, beijing_date(now))
        result = verify(
            qr,
            credential=credential,
            trust=held.trust,
            status=status,
            restrictions=restrictions,
            now=now,
            policy=self.policy,
        )
        if file is not None:
            result = result.with_check(file)
            result = result.with_photo(photo_check(result, photo, in_pdf=in_pdf), photo)
        elif result.certificate is not None and result.certificate.photo_digest is not None:
            # JSON (a scanned QR's text, a pasted e-licence) of a certificate with a photo:
            # a neutral line that the photo is compared on the PDF only (never a failure)
            result = result.with_check(photo_check(result, None, in_pdf=False))
        if self.on_verdict is not None:
            self.on_verdict(result.verdict.value, result.reason.value if result.reason else None)
        return result.json_bytes(lang)

    def _restrictions_held(self, held: Held) -> bool:
        """Return True if ``held`` has restricted-list data from every source (computed
        once per ``Held``: it is immutable)."""
        known = self._restrictions_known
        if known[0] is not held:
            answer = bool(self.restriction_sources) and (
                held.restrictions_as_of(self.restriction_sources) is not None
            )
            known = self._restrictions_known = (held, answer)
        return known[1]

    def sync_status_view(self) -> dict[str, Any]:
        held = self.store.current()
        return {
            "trust_list": (
                {
                    "seq": held.trust.sequence,
                    "fetched_at": rfc3339(held.trust_age.fetched_at),
                    "checked_at": rfc3339(held.trust_age.checked_at),
                }
                if held.trust is not None and held.trust_age is not None
                else None
            ),
            "status_lists": [
                {
                    "uri": uri,
                    "as_of": rfc3339(snap.as_of),
                    "stale_after": rfc3339(
                        dt.datetime.fromtimestamp(
                            snap.stale_after(self.settings.status_grace), dt.UTC
                        )
                    ),
                    "checked_at": rfc3339(held.status_age[uri].checked_at),
                }
                for uri, snap in sorted(held.status.items())
            ],
            "restrictions_as_of": (
                rfc3339(a) if (a := held.restrictions_as_of(self.restriction_sources)) else None
            ),
        }
