"""Sync: the trust list, status lists and the restricted list, from configured sources.

Every document is kept exactly as fetched (a compact JWS), after checking it:

- trust list: signed by a pinned root key; a lower ``seq`` than the held one, or another
  list with the same ``seq``, is a rollback: refused, logged, the held copy kept;
- status list: fetched only for ``<configured issuer>/statuslists/<n>`` (never a URI a
  token names elsewhere), signed by an office key of the held trust list, ``sub`` equal to
  the URI fetched; an ``iat`` older than the held copy's is refused;
- restricted list (``jiaozi-restrictions+jwt``, signed by an office key, ``iss`` that
  office): a snapshot, then changes after the held cursor; a cursor or ``iat`` going
  backwards is refused.

Requests are conditional (``If-None-Match`` / ``If-Modified-Since``) and a 304 only
records that the source confirmed the held copy. When a source is down the held copies
keep serving; verdicts carry their age (``status_as_of``), and the pipeline turns a list
past its ``ttl`` plus the configured grace into ``cannot_determine`` / ``status_stale``.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import sqlalchemy as sa

from credential import (
    CredentialError,
    PublicKey,
    RestrictionDocument,
    RollbackError,
    StatusList,
    StatusSnapshot,
    load_restrictions,
    load_status_list,
    verify_trust_list,
)

from . import db
from .documents import (
    apply_restrictions_document,
    load_document,
    load_state,
    save_document,
    save_state,
)
from .settings import IssuerSource, VerifierSettings
from .store import Store

__all__ = ["SyncError", "SyncReport", "Syncer", "cleared_invalid"]

log = logging.getLogger("jiaozi.verifier.sync")
MAX_TRUST_LIST = 4 * 1024 * 1024
MAX_STATUS_LIST = 1024 * 1024
MAX_RESTRICTIONS = 64 * 1024 * 1024
MAX_CHANGE_PAGES = 50
MAX_DOCS_PER_SOURCE = 200  # past this, take a fresh snapshot (keeps exports small)


class SyncError(Exception):
    """A document that could not be fetched or does not check out."""


@dataclass(frozen=True, slots=True)
class SyncOutcome:
    what: str
    outcome: str  # updated | not_modified | unchanged | refused | failed | skipped
    detail: str = ""


@dataclass
class SyncReport:
    outcomes: list[SyncOutcome] = field(default_factory=list)

    def add(self, what: str, outcome: str, detail: str = "") -> SyncOutcome:
        o = SyncOutcome(what, outcome, detail)
        self.outcomes.append(o)
        return o

    @property
    def ok(self) -> bool:
        return not any(o.outcome in ("refused", "failed") for o in self.outcomes)

    def by_what(self) -> dict[str, SyncOutcome]:
        return {o.what: o for o in self.outcomes}


# --- the restricted list: order against what is held -------------------------------


def check_restrictions_order(
    held_cursor: int | None, held_iat: int | None, doc: RestrictionDocument
) -> None:
    """Raise RollbackError if ``doc`` would take the held restricted list backwards."""
    if held_iat is not None and doc.iat < held_iat:
        raise RollbackError(f"restricted list iat {doc.iat} is older than the held {held_iat}")
    if doc.after is None:
        if held_cursor is not None and doc.cursor < held_cursor:
            raise RollbackError(
                f"restricted list snapshot cursor {doc.cursor} is behind the held {held_cursor}"
            )
    elif doc.after != held_cursor:
        raise SyncError(f"changes are after {doc.after}, the held cursor is {held_cursor}")


# --- status lists: INVALID is final ------------------------------------------------------


def cleared_invalid(held: StatusList, new: StatusList) -> int:
    """Return how many entries are INVALID (1) in ``held`` and not in ``new`` (an entry
    past the end of ``new`` counts as cleared); 0 if none.

    Why a newer list is refused rather than taken with those entries kept INVALID: what a
    verifier holds is the issuer's signed token, exactly as fetched (it is re-verified on
    every load and exported in bundles); a list patched here would be a list nobody
    signed, held apart from the token and lost with a re-sync. Refusing keeps every
    revocation the verifier has seen, says loudly that the issuer is wrong (a warning
    naming the URI and the count, the error in ``vf_sync_state`` so ``/readyz`` shows the
    source as failing), and if the issuer does not mend its list the held copy ages past
    its ``ttl`` into ``cannot_determine``: never "valid" for a revoked certificate. The
    cost, changes in the refused list not seen until the issuer republishes, is the
    issuer's to end (``jiaozi issuer reconcile-status``, docs/operations.md).
    """
    if held.bits != new.bits:
        return sum(
            1 for i in range(held.size) if held.get(i) == 1 and (i >= new.size or new.get(i) != 1)
        )
    old, fresh = held.to_bytes(), new.to_bytes()
    if old == fresh:
        return 0
    per_byte = 8 // held.bits
    count = 0
    for offset, byte in enumerate(old):
        other = fresh[offset] if offset < len(fresh) else 0
        if byte == other or byte == 0:
            continue
        for k in range(per_byte):
            i = offset * per_byte + k
            if i >= held.size:
                break
            if held.get(i) == 1 and (i >= new.size or new.get(i) != 1):
                count += 1
    return count


# --- the syncer -------------------------------------------------------------------------


class Syncer:
    """Fetches and checks documents; one instance per process, shared by its threads."""

    def __init__(
        self,
        settings: VerifierSettings,
        engine: sa.Engine,
        http: httpx.Client,
        store: Store,
        roots: Sequence[PublicKey],
        clock: Callable[[], dt.datetime],
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.http = http
        self.store = store
        self.roots = list(roots)
        self.clock = clock
        self._tried: dict[str, float] = {}
        self._tried_lock = threading.Lock()
        self._on_demand = threading.BoundedSemaphore(4)

    # -- HTTP --

    def _get(
        self,
        url: str,
        *,
        limit: int,
        timeout: float | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
        bearer: str | None = None,
    ) -> tuple[int, httpx.Headers, str | None]:
        headers = {"Accept": "application/jwt, application/statuslist+jwt, */*;q=0.1"}
        if etag:
            headers["If-None-Match"] = etag
        elif last_modified:
            headers["If-Modified-Since"] = last_modified
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        try:
            with self.http.stream(
                "GET",
                url,
                headers=headers,
                timeout=timeout or self.settings.sync_timeout,
                follow_redirects=False,
            ) as r:
                if r.status_code != 200:
                    return r.status_code, r.headers, None
                buf = bytearray()
                for chunk in r.iter_bytes():
                    buf += chunk
                    if len(buf) > limit:
                        raise SyncError(f"response larger than {limit} bytes")
                try:
                    return 200, r.headers, buf.decode("ascii").strip()
                except UnicodeDecodeError as exc:
                    raise SyncError("response is not a compact JWS") from exc
        except httpx.HTTPError as exc:
            raise SyncError(f"{type(exc).__name__}: {exc}") from exc

    def _fail(self, report: SyncReport, what: str, source: str, outcome: str, msg: str) -> None:
        now = self.clock()
        if outcome == "refused":
            log.warning("sync %s refused: %s", what, msg)
        else:
            log.warning("sync %s failed: %s", what, msg)
        with db.writing(self.engine) as conn:
            save_state(conn, source, last_attempt=now, last_error=msg[:500])
        report.add(what, outcome, msg)

    # -- trust list --

    def sync_trust(self, report: SyncReport | None = None) -> SyncReport:
        report = report if report is not None else SyncReport()
        url = self.settings.trust_list_url
        if url is None:
            report.add("trust", "skipped", "no trust list URL configured")
            return report
        with self.engine.connect() as conn:
            held_row = load_document(conn, "trust", "")
        held = self.store.current().trust if held_row is not None else None
        try:
            code, headers, body = self._get(
                url,
                limit=MAX_TRUST_LIST,
                etag=held_row.etag if held_row is not None and held is not None else None,
                last_modified=(
                    held_row.last_modified if held_row is not None and held is not None else None
                ),
            )
        except SyncError as exc:
            self._fail(report, "trust", "trust", "failed", str(exc))
            return report
        now = self.clock()
        if code == 304 and held_row is not None:
            self._touch("trust", "", "trust", now)
            report.add("trust", "not_modified")
            return report
        if code != 200 or body is None:
            self._fail(report, "trust", "trust", "failed", f"HTTP {code}")
            return report
        try:
            new = verify_trust_list(body, self.roots, previous=held)
        except RollbackError as exc:
            self._fail(report, "trust", "trust", "refused", f"rollback: {exc}")
            return report
        except CredentialError as exc:
            self._fail(report, "trust", "trust", "refused", str(exc))
            return report
        if held is not None and new == held and held_row.token == body:
            self._touch("trust", "", "trust", now, headers)
            report.add("trust", "unchanged")
            return report
        with db.writing(self.engine) as conn:
            current = load_document(conn, "trust", "")  # another replica may have moved on
            if current is not None and current.version > new.sequence:
                report.add("trust", "unchanged", "a newer list arrived meanwhile")
                return report
            save_document(
                conn,
                "trust",
                "",
                body,
                new.sequence,
                now,
                etag=headers.get("etag"),
                last_modified=headers.get("last-modified"),
            )
            save_state(conn, "trust", last_attempt=now, last_success=now, last_error=None)
            db.bump_generation(conn)
        self.store.refresh(force=True)
        report.add("trust", "updated", f"seq {new.sequence}")
        return report

    def _touch(
        self,
        kind: str,
        key: str,
        source: str,
        now: dt.datetime,
        headers: httpx.Headers | None = None,
    ) -> None:
        d = db.documents
        values: dict[str, Any] = {"checked_at": now}
        if headers is not None and headers.get("etag"):
            values["etag"] = headers.get("etag")
        if headers is not None and headers.get("last-modified"):
            values["last_modified"] = headers.get("last-modified")
        with db.writing(self.engine) as conn:
            conn.execute(d.update().where(d.c.kind == kind, d.c.key == key).values(**values))
            save_state(conn, source, last_attempt=now, last_success=now, last_error=None)

    # -- status lists --

    def sync_status(
        self,
        uri: str,
        report: SyncReport | None = None,
        *,
        timeout: float | None = None,
        refresh: bool = True,
    ) -> SyncReport:
        """Fetch the status list at ``uri`` if a configured issuer serves it; return the
        report with its outcome added. With ``refresh`` False the held view is neither
        re-read before nor after: the caller has just read it and re-reads it once after
        many lists (``run_once``)."""
        report = report if report is not None else SyncReport()
        what = "status " + uri
        if self.settings.issuer_for(uri) is None:
            # Never fetch a URI a token names outside the configured issuers (SSRF).
            log.warning("status URI outside the configured issuers not fetched")
            report.add(what, "refused", "not under a configured issuer")
            return report
        # (without refresh: the caller's view, read this round; re-reading it here would
        # verify every list again as the generation moves with each one saved)
        held = self.store.current() if refresh else self.store.held
        if held.trust is None:
            report.add(what, "skipped", "no trust list held")
            return report
        with self.engine.connect() as conn:
            row = load_document(conn, "status", uri)
        snap = held.status.get(uri)
        try:
            code, headers, body = self._get(
                uri,
                limit=MAX_STATUS_LIST,
                timeout=timeout,
                etag=row.etag if row is not None and snap is not None else None,
                last_modified=row.last_modified if row is not None and snap is not None else None,
            )
        except SyncError as exc:
            self._fail(report, what, "status:" + uri, "failed", str(exc))
            return report
        now = self.clock()
        if code == 304 and row is not None and snap is not None:
            self._touch("status", uri, "status:" + uri, now)
            report.add(what, "not_modified")
            return report
        if code != 200 or body is None:
            self._fail(report, what, "status:" + uri, "failed", f"HTTP {code}")
            return report
        try:
            new = load_status_list(body, held.trust, expected_uri=uri)
        except CredentialError as exc:
            self._fail(report, what, "status:" + uri, "refused", str(exc))
            return report
        if snap is not None and new.issued_at < snap.issued_at:
            self._fail(
                report,
                what,
                "status:" + uri,
                "refused",
                f"rollback: iat {new.issued_at} is older than the held {snap.issued_at}",
            )
            return report
        if snap is not None:
            cleared = cleared_invalid(snap.status_list, new.status_list)
            if cleared:
                # A restored issuer un-revokes: keep the held list (see cleared_invalid).
                self._fail(
                    report,
                    what,
                    "status:" + uri,
                    "refused",
                    f"un-revokes: {cleared} entr{'y' if cleared == 1 else 'ies'} INVALID in "
                    f"the held list (iat {snap.issued_at}) not INVALID in the list of iat "
                    f"{new.issued_at}; INVALID is final",
                )
                return report
        if snap is not None and row is not None and row.token == body:
            self._touch("status", uri, "status:" + uri, now, headers)
            report.add(what, "unchanged")
            return report
        with db.writing(self.engine) as conn:
            current = load_document(conn, "status", uri)  # another replica may have moved on
            if current is not None and current.version > new.issued_at:
                report.add(what, "unchanged", "a newer copy arrived meanwhile")
                return report
            save_document(
                conn,
                "status",
                uri,
                body,
                new.issued_at,
                now,
                etag=headers.get("etag"),
                last_modified=headers.get("last-modified"),
            )
            save_state(conn, "status:" + uri, last_attempt=now, last_success=now, last_error=None)
            db.bump_generation(conn)
        if refresh:
            self.store.refresh(force=True)
        report.add(what, "updated", f"iat {new.issued_at}")
        return report

    def would_fetch(self, uri: str) -> bool:
        """Return True if ``on_demand_status(uri)`` would try the network now (a
        configured issuer's URI not tried within ``on_demand_retry``)."""
        if self.settings.issuer_for(uri) is None:
            return False
        with self._tried_lock:
            last = self._tried.get(uri)
        return last is None or time.monotonic() - last >= self.settings.on_demand_retry

    def on_demand_status(self, uri: str) -> StatusSnapshot | None:
        """Fetch one status list now, for a verification that needs it: only for a
        configured issuer's URI, at most once per ``on_demand_retry`` seconds per URI, a
        few at a time, with a short timeout. Returns the held snapshot afterwards."""
        if self.settings.issuer_for(uri) is None:
            return None
        now = time.monotonic()
        with self._tried_lock:
            last = self._tried.get(uri)
            if last is not None and now - last < self.settings.on_demand_retry:
                return None
            if len(self._tried) > 10_000:
                self._tried.clear()
            self._tried[uri] = now
        if not self._on_demand.acquire(blocking=False):
            return None
        try:
            self.sync_status(uri, timeout=self.settings.on_demand_timeout)
        finally:
            self._on_demand.release()
        return self.store.current().status.get(uri)

    # -- restricted list --

    def sync_restrictions(
        self, source: IssuerSource, report: SyncReport | None = None
    ) -> SyncReport:
        report = report if report is not None else SyncReport()
        what = "restrictions " + source.base_url
        state_key = "restrictions:" + source.base_url
        if source.api_key is None:
            report.add(what, "skipped", "no API key for the restricted list")
            return report
        trust = self.store.current().trust
        if trust is None:
            report.add(what, "skipped", "no trust list held")
            return report
        key = source.api_key.get_secret_value()
        changed = False
        for _page in range(MAX_CHANGE_PAGES):
            with self.engine.connect() as conn:
                st = load_state(conn, state_key)
                ndocs = conn.execute(
                    sa.select(sa.func.count())
                    .select_from(db.documents)
                    .where(
                        db.documents.c.kind == "restrictions",
                        db.documents.c.key.startswith(source.base_url + "#"),
                    )
                ).scalar_one()
            cursor = st.cursor if st is not None else None
            held_iat = st.data_iat if st is not None else None
            snapshot = cursor is None or ndocs > MAX_DOCS_PER_SOURCE
            url = source.restrictions_url + (
                "/api/v1/restrictions/snapshot"
                if snapshot
                else f"/api/v1/restrictions/changes?after={cursor}"
            )
            try:
                code, _headers, body = self._get(url, limit=MAX_RESTRICTIONS, bearer=key)
            except SyncError as exc:
                self._fail(report, what, state_key, "failed", str(exc))
                return report
            if code in (404, 410) and not snapshot:
                # The cursor is no longer served: start again from a snapshot.
                with db.writing(self.engine) as conn:
                    save_state(conn, state_key, cursor=None)
                continue
            if code != 200 or body is None:
                self._fail(report, what, state_key, "failed", f"HTTP {code}")
                return report
            try:
                doc = load_restrictions(body, trust)
                if snapshot != (doc.after is None):
                    raise SyncError("a snapshot was asked for and changes came, or the reverse")
                check_restrictions_order(cursor, held_iat, doc)
            except RollbackError as exc:
                self._fail(report, what, state_key, "refused", f"rollback: {exc}")
                return report
            except (SyncError, CredentialError) as exc:
                self._fail(report, what, state_key, "refused", str(exc))
                return report
            now = self.clock()
            with db.writing(self.engine) as conn:
                st = load_state(conn, state_key)  # another replica may have applied it
                if (st.cursor if st is not None else None) != cursor:
                    changed = True
                    break
                apply_restrictions_document(conn, source.base_url, doc, now)
            changed = changed or snapshot or bool(doc.changes)
            if not snapshot and not doc.changes:
                break
        self.store.refresh(force=True)
        report.add(what, "updated" if changed else "unchanged")
        return report

    # -- one round --

    def run_once(self, extra_status: Sequence[str] = ()) -> SyncReport:
        """Sync everything once: trust list, held (and ``extra_status``) status lists of
        configured issuers, and each issuer's restricted list."""
        report = SyncReport()
        self.sync_trust(report)
        held = self.store.current()
        uris = list(dict.fromkeys([*held.status, *extra_status]))
        # One re-read of the held view after all the lists, not one per list: each re-read
        # verifies every held list again (50 offices' lists cost 50 x 50 checks otherwise).
        first = len(report.outcomes)
        for uri in uris:
            if self.settings.issuer_for(uri) is not None:
                self.sync_status(uri, report, refresh=False)
        if any(o.outcome == "updated" for o in report.outcomes[first:]):
            self.store.refresh(force=True)
        for source in self.settings.issuers:
            self.sync_restrictions(source, report)
        return report


class BackgroundSync:
    """Runs ``Syncer.run_once`` every ``interval`` seconds in a daemon thread."""

    def __init__(self, syncer: Syncer, interval: float) -> None:
        self.syncer = syncer
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="jiaozi-sync", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.syncer.run_once()
            except Exception:  # a sync round must never kill the thread
                log.exception("sync round failed")
            self._stop.wait(self.interval)
