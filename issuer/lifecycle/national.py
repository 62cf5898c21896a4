"""The national restricted list at this office (issue 12 point 3, docs/registry.md).

Two ways, one round (:func:`sync_national`), run by the app every
``JIAOZI_NATIONAL_SYNC_INTERVAL`` seconds and by ``jiaozi issuer sync-national``:

- **push**: this office's entries and removals wait in ``national_outbox`` (queued in the
  transaction that recorded them, ``issuer.lifecycle.restrictions``) and are sent in order,
  each signed by this office's key, to the registry's ``POST /api/v1/restrictions``. A row
  is marked sent only on the registry's 200/201 (the registry is idempotent on the entry,
  so a resend after a lost answer is harmless). When the registry cannot be reached or
  answers 5xx, 408 or 429, the round stops there and the row is tried again next round. A
  refusal of that one entry (any other 4xx: a malformed or unauthorised entry) is recorded
  on its row and in the report and the round goes on with the entries of *other*
  restrictions, so one bad entry never holds the whole office's list back; later rows of the
  refused restriction wait behind it (a removal must not overtake its entry).
- **pull**: the consolidated list, signed by the registry (checked against the trust list),
  read from a gapless cursor (first a snapshot, then pages of changes) into
  ``national_restriction``; each page is applied in one write transaction that re-checks
  the cursor under its row lock, so two pullers never apply a page twice. A cursor the
  registry refuses (409: restored from a backup, registry/restore.py) is followed by a
  snapshot in the same round; every snapshot is compared with the outbox, and the rows
  whose effect it lacks are queued again and sent (:func:`_resend_missing`), the feed
  probed for what it lost (``feed_push.resend_last``), and the list read again.

On a new entry of another office, this office revokes its own valid or suspended
certificates of that person (found by ``certificate.person_ref``): status ``revoked``,
reason ``restricted``, audited with the national entry's reference; the status lists are
re-signed after the commit. This office's own entries come back too, and revoke nothing
here (the recording transaction already did). A removal lifts the bar
(``issuer.issuance.barred_refs`` reads both lists) and reinstates nothing.

Certificates issued before revision 0007 have no ``person_ref``: each round fills them
from their sealed credentials (:func:`fill_person_refs`) and holds them to the list.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass, field
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.orm import Session

from credential import (
    NATIONAL_ENTRY_TYP,
    REGISTRY_AUTH_TYP,
    CredentialError,
    NationalEntry,
    NationalList,
    Signer,
    TrustList,
    as_utc,
    certificate_from_claims,
    load_national_list,
    national_entry_claim,
    national_ref,
    parse_jws,
    sign_national,
)
from issuer import issuance
from issuer.db import tables, write
from issuer.db.models import Certificate, NationalRestriction, NationalSync
from issuer.lifecycle.feed_push import push_feed, resend_last
from issuer.lifecycle.transitions import change_status, lock_status_lists, publish
from issuer.settings import IssuerSettings

__all__ = [
    "ACTOR",
    "RegistryClient",
    "SyncReport",
    "fill_person_refs",
    "pull_national",
    "push_outbox",
    "refused_by_registry",
    "sync_national",
]

log = logging.getLogger("jiaozi.issuer")

ACTOR = "system:national-list"
_SYNC_ROW = "registry"
_OUT = tables.NATIONAL_OUTBOX
_RESTR = tables.RESTRICTION
_NAT = tables.NATIONAL_RESTRICTION
_CERT = tables.CERTIFICATE
_MAX_PAGES = 1000  # per round: a registry that never stops paging cannot hold us


class RegistryClient:
    """The registry's two endpoints over HTTP (``http``: a client of the caller's, e.g. a
    test's, used as given with its own base URL)."""

    def __init__(
        self, base_url: str, *, timeout: float = 10.0, http: httpx.Client | None = None
    ) -> None:
        self._http = http or httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def post_entry(self, token: str) -> tuple[int, str]:
        """Return (status, body) of sending one signed entry or removal."""
        answer = self._http.post(
            "/api/v1/restrictions", content=token, headers={"content-type": "application/jose"}
        )
        return answer.status_code, answer.text

    def post_feed_batch(self, token: str) -> tuple[int, str]:
        """Return (status, body) of sending one signed feed batch; (0, why) unreachable."""
        try:
            answer = self._http.post(
                "/api/v1/feed/events", content=token, headers={"content-type": "application/jose"}
            )
        except httpx.HTTPError as exc:
            return 0, f"registry unreachable: {type(exc).__name__}"
        return answer.status_code, answer.text

    def get_list(self, auth: str, after: int | None) -> tuple[int, str]:
        """Return (status, body) of reading the list (a snapshot when ``after`` is None)."""
        params = {} if after is None else {"after": str(after)}
        answer = self._http.get(
            "/api/v1/restricted-list", params=params, headers={"authorization": f"Bearer {auth}"}
        )
        return answer.status_code, answer.text


@dataclass
class SyncReport:
    """What one round did."""

    sent: int = 0
    fed: int = 0  # events sent to the national feed (issuer.lifecycle.feed_push)
    pending: int = 0
    applied: int = 0
    revoked: list[str] = field(default_factory=list)
    cursor: int | None = None
    errors: list[str] = field(default_factory=list)
    # the registry refused this office's cursor (it was restored from a backup, or is
    # another one): the pull read a snapshot instead
    registry_reset: bool = False
    resent: int = 0  # outbox rows queued again: a snapshot lacked what they had sent


# --- push --------------------------------------------------------------------------------


_ANSWERED = re.compile(r"registry answered (\d{3})")


def _unavailable(status: int) -> bool:
    # the registry could not take it now (try again next round), as opposed to a refusal
    return status >= 500 or status in (408, 429)


def refused_by_registry(last_error: str | None) -> bool:
    """Return True if an outbox row's ``last_error`` (as :func:`push_outbox` writes it) is
    the registry refusing that entry, not the registry being unreachable or busy."""
    found = _ANSWERED.match(last_error or "")
    return found is not None and not _unavailable(int(found[1]))


def push_outbox(
    session: Session,
    client: RegistryClient,
    *,
    signer: Signer,
    settings: IssuerSettings,
    now: dt.datetime,
    report: SyncReport,
) -> None:
    """Send the outbox in order until it is empty or the registry is unavailable.

    Every failure is recorded on its row (``attempts``, ``last_error``) and in
    ``report.errors``. A refusal of one entry (a 4xx other than 408 and 429) holds back only
    the later rows of the same restriction; unavailability (no answer, 5xx, 408, 429) ends
    the round. ``report.pending`` counts the rows left unsent."""
    sent = 0
    rows = session.execute(
        sa.select(
            _OUT.c.id.label("outbox_id"),
            _OUT.c.op,
            _RESTR.c.id.label("restriction_id"),
            _RESTR.c.person_ref,
            _RESTR.c.category,
            _RESTR.c.decision_date,
            _RESTR.c.bar_until,
        )
        .join(_RESTR, _RESTR.c.id == _OUT.c.restriction_id)
        .where(_OUT.c.sent_at.is_(None))
        .order_by(_OUT.c.id)
    ).all()
    session.rollback()
    held: set[int] = set()  # restrictions with a refused row: their later rows wait
    for row in rows:
        if row.restriction_id in held:
            continue
        entry = national_entry_claim(
            local_id=row.restriction_id,
            person_ref=row.person_ref,
            category=row.category,
            decision_date=row.decision_date,
            bar_until=row.bar_until,
        )
        claims = {
            "iss": settings.office_id,
            "iat": int(now.timestamp()),
            "aud": settings.registry_id,
            "op": row.op,
            "entry": entry if row.op == "add" else {"id": entry["id"]},
        }
        token = sign_national(NATIONAL_ENTRY_TYP, claims, signer)
        unavailable = False
        try:
            status, body = client.post_entry(token)
            error = None if status in (200, 201) else f"registry answered {status}: {body[:200]}"
            unavailable = _unavailable(status)
        except httpx.HTTPError as exc:
            error = f"registry unreachable: {type(exc).__name__}"
            unavailable = True
        with write(session):
            values: dict[str, object] = {"attempts": _OUT.c.attempts + 1, "last_error": error}
            if error is None:
                values["sent_at"] = now
            session.execute(sa.update(_OUT).where(_OUT.c.id == row.outbox_id).values(**values))
        if error is None:
            sent += 1
            continue
        report.errors.append(f"restriction {row.restriction_id}: {error}")
        if unavailable:
            break
        held.add(row.restriction_id)
    report.sent += sent
    report.pending = len(rows) - sent


# --- pull --------------------------------------------------------------------------------


def _lock_cursor(session: Session) -> NationalSync:
    state = session.execute(
        sa.select(NationalSync)
        .where(tables.NATIONAL_SYNC.c.name == _SYNC_ROW)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if state is None:
        state = NationalSync(name=_SYNC_ROW)
        session.add(state)
        session.flush()
    return state


def _read_cursor(session: Session) -> int | None:
    cursor = session.execute(
        sa.select(tables.NATIONAL_SYNC.c.cursor).where(tables.NATIONAL_SYNC.c.name == _SYNC_ROW)
    ).scalar_one_or_none()
    session.rollback()
    return None if cursor is None else int(cursor)


def _hold(
    session: Session, entry: NationalEntry, *, now: dt.datetime, removed: bool = False
) -> bool:
    """Keep ``entry`` (removed already, for a removal of an entry never held here); return
    False if it was held before (and in force, for an add).

    An add of an entry held as removed puts it back in force (True): the registry never
    adds a reference twice, so this is an entry a restored registry had lost (a snapshot
    without it lifted it here) and its office sent again."""
    held = session.get(NationalRestriction, entry.ref)
    if held is not None:
        if removed or held.removed_at is None:
            return False  # already held (a snapshot after pages, or a replayed page)
        held.removed_at = None
        session.flush()
        return True
    session.add(
        NationalRestriction(
            ref=entry.ref,
            office=entry.office,
            person_ref=entry.person_ref,
            category=entry.category,
            decision_date=entry.decision_date,
            bar_until=entry.bar_until,
            received_at=now,
            removed_at=now if removed else None,
        )
    )
    session.flush()
    return True


def _add(
    session: Session, entry: NationalEntry, *, settings: IssuerSettings, now: dt.datetime
) -> tuple[list[int], list[str]]:
    """Hold ``entry`` and revoke this office's certificates of its person (not for this
    office's own entries). Return (status lists to publish, certificates revoked)."""
    if not _hold(session, entry, now=now):
        return [], []
    if entry.office == settings.office_id:
        return [], []  # recorded here: its revocations were made with it
    certs = list(
        session.execute(
            sa.select(Certificate)
            .where(
                _CERT.c.person_ref == entry.person_ref,
                _CERT.c.office_id == settings.office_id,
                _CERT.c.status.in_(("valid", "suspended")),
            )
            .order_by(_CERT.c.id)
            .with_for_update(key_share=True)
            .execution_options(populate_existing=True)
        ).scalars()
    )
    list_ids = _revoke(session, [(cert, entry) for cert in certs], now=now)
    return list_ids, [c.certificate_number for c in certs]


def _revoke(
    session: Session, hits: list[tuple[Certificate, Any]], *, now: dt.datetime
) -> list[int]:
    """Revoke each certificate for its national entry (``ref``, ``office``, ``category``),
    audited with the entry's reference; return the status lists to publish. The
    certificate rows are locked by the caller; their lists are locked here."""
    lock_status_lists(session, [cert.status_list_id for cert, _ in hits])
    return [
        change_status(
            session,
            cert,
            change="revoke",
            reason_code="restricted",
            actor=ACTOR,
            detail={
                "national_ref": entry.ref,
                "recording_office": entry.office,
                "category": entry.category,
            },
            now=now,
            event_data={"national_ref": entry.ref},
        )
        for cert, entry in hits
    ]


def _remove(session: Session, ref: str, *, now: dt.datetime) -> None:
    session.execute(
        sa.update(_NAT).where(_NAT.c.ref == ref, _NAT.c.removed_at.is_(None)).values(removed_at=now)
    )


def _resend_missing(session: Session, held: set[str], *, settings: IssuerSettings) -> int:
    """Queue again each outbox row whose effect the snapshot ``held`` (the references in
    force at the registry) does not show: this office's last sent ``add`` of an entry not
    held, or last sent ``remove`` of one held. Return how many.

    A registry restored from a backup lost what was sent after it, though the rows say
    sent. An entry both added and removed is not sent again: its add would revoke, at
    other offices, certificates issued since the removal; the snapshot needs neither."""
    last: dict[int, Any] = {}
    for row in session.execute(
        sa.select(_OUT.c.id, _OUT.c.restriction_id, _OUT.c.op)
        .where(_OUT.c.sent_at.is_not(None))
        .order_by(_OUT.c.id)
    ):
        last[row.restriction_id] = row
    again = [
        row.id
        for rid, row in last.items()
        if (row.op == "add") != (national_ref(settings.office_id, rid) in held)
    ]
    for start in range(0, len(again), 500):
        session.execute(
            sa.update(_OUT).where(_OUT.c.id.in_(again[start : start + 500])).values(sent_at=None)
        )
    return len(again)


def _apply(
    session: Session,
    doc: NationalList,
    *,
    expected: int | None,
    settings: IssuerSettings,
    now: dt.datetime,
) -> tuple[bool, list[int], list[str], int]:
    """Apply one document in one write transaction, if the cursor is still ``expected``.
    Return (applied, status lists to publish, certificates revoked, outbox rows queued
    again: a snapshot is compared with what this office sent)."""
    list_ids: list[int] = []
    revoked: list[str] = []
    resent = 0
    with write(session):
        state = _lock_cursor(session)
        if state.cursor != expected:
            return False, [], [], 0  # another puller moved it: read again next time
        if doc.after is None:
            held = set(
                session.execute(sa.select(_NAT.c.ref).where(_NAT.c.removed_at.is_(None))).scalars()
            )
            for entry in doc.entries:
                ids, numbers = _add(session, entry, settings=settings, now=now)
                list_ids += ids
                revoked += numbers
            in_force = {e.ref for e in doc.entries}
            for ref in held - in_force:
                _remove(session, ref, now=now)
            resent = _resend_missing(session, in_force, settings=settings)
        else:
            for _seq, op, entry in doc.changes:
                if op == "add":
                    ids, numbers = _add(session, entry, settings=settings, now=now)
                    list_ids += ids
                    revoked += numbers
                elif not _hold(session, entry, now=now, removed=True):
                    # held: lift it; never held (added and removed before our cursor):
                    # kept as removed, and it revokes nothing
                    _remove(session, entry.ref, now=now)
        state.cursor = doc.cursor
        state.last_success, state.last_error = now, None
    return True, list_ids, revoked, resent


def _record_error(session: Session, error: str, *, reset: bool = False) -> None:
    with write(session):
        state = _lock_cursor(session)
        state.last_error = error[:500]
        if reset:
            state.cursor = None


def pull_national(
    session: Session,
    client: RegistryClient,
    *,
    signer: Signer,
    settings: IssuerSettings,
    trust: TrustList,
    now: dt.datetime,
    report: SyncReport,
) -> list[int]:
    """Read the list from this office's cursor to the registry's head and apply it.
    Return the status lists to publish."""
    list_ids: list[int] = []
    auth = sign_national(
        REGISTRY_AUTH_TYP,
        {"iss": settings.office_id, "iat": int(now.timestamp()), "aud": settings.registry_id},
        signer,
    )
    for _ in range(_MAX_PAGES):
        cursor = _read_cursor(session)
        try:
            status, body = client.get_list(auth, cursor)
        except httpx.HTTPError as exc:
            report.errors.append(f"registry unreachable: {type(exc).__name__}")
            _record_error(session, report.errors[-1])
            break
        if status == 409 and cursor is not None and not report.registry_reset:
            # The registry does not know our cursor (beyond its head, or from before its
            # restore from a backup: registry.restore): start over from a snapshot now,
            # which also shows what of ours it lost (_resend_missing). Once a round.
            log.warning("national list: the registry refused cursor %s: reading a snapshot", cursor)
            report.registry_reset = True
            _record_error(session, "registry does not know this office's cursor", reset=True)
            continue
        if status != 200:
            report.errors.append(f"registry answered {status}")
            _record_error(session, report.errors[-1])
            break
        try:
            doc = load_national_list(body, trust, registry_id=settings.registry_id)
        except CredentialError as exc:
            report.errors.append(f"national list refused: {exc}")
            _record_error(session, report.errors[-1])
            break
        if doc.after is not None and doc.after != cursor:
            report.errors.append("national list page does not follow this office's cursor")
            _record_error(session, report.errors[-1])
            break
        applied, ids, revoked, resent = _apply(
            session, doc, expected=cursor, settings=settings, now=now
        )
        list_ids += ids
        report.revoked += revoked
        report.resent += resent
        if applied:
            report.applied += len(doc.changes) if doc.after is not None else len(doc.entries)
            report.cursor = doc.cursor
        if applied and doc.after is not None and doc.cursor == doc.after:
            break  # an empty page: at the head
    return list_ids


# --- certificates issued before person references (revision 0007) -------------------------


def fill_person_refs(
    session: Session, *, settings: IssuerSettings, now: dt.datetime, chunk: int = 200
) -> tuple[int, list[int], list[str], list[str]]:
    """Give this office's certificates issued before revision 0007 their ``person_ref``,
    read from each one's sealed credential, and hold them to the national list as a pull
    would have: a valid or suspended certificate that existed when another office's
    entry for its person arrived (and the entry is not removed) is revoked now, reason
    ``restricted``, audited with the entry's reference.

    One write transaction per ``chunk`` certificates; a re-run continues (only NULL rows
    are read). Returns (filled, status lists to publish, certificates revoked, numbers
    whose credential does not open: left NULL, reported, skipped).
    """
    filled = 0
    list_ids: list[int] = []
    revoked: list[str] = []
    unreadable: list[str] = []
    after = 0
    while True:
        with write(session):
            certs = list(
                session.execute(
                    sa.select(Certificate)
                    .where(
                        _CERT.c.person_ref.is_(None),
                        _CERT.c.office_id == settings.office_id,
                        _CERT.c.id > after,
                    )
                    .order_by(_CERT.c.id)
                    .limit(chunk)
                    .with_for_update(key_share=True)
                    .execution_options(populate_existing=True)
                ).scalars()
            )
            if not certs:
                return filled, list_ids, revoked, unreadable
            after = max(c.id or 0 for c in certs)
            for cert in certs:
                try:
                    jws = issuance.open_credential(
                        settings, cert.credential_jws, certificate_number=cert.certificate_number
                    )
                    facts = certificate_from_claims(parse_jws(jws).payload)
                except (issuance.SealedDataError, CredentialError):
                    unreadable.append(cert.certificate_number)
                    continue
                cert.person_ref = issuance.person_ref(settings, facts.id_type, facts.id_number)
                filled += 1
            session.flush()
            refs = {c.person_ref for c in certs if c.person_ref is not None}
            entries = {
                e.person_ref: e
                for e in session.execute(
                    sa.select(_NAT).where(
                        _NAT.c.person_ref.in_(refs),
                        _NAT.c.removed_at.is_(None),
                        _NAT.c.office != settings.office_id,
                    )
                )
            }
            hit = [
                c
                for c in certs
                if c.person_ref in entries
                and c.status in ("valid", "suspended")
                and as_utc(c.created_at) <= as_utc(entries[c.person_ref].received_at)
            ]
            list_ids += _revoke(session, [(c, entries[c.person_ref]) for c in hit], now=now)
            revoked += [c.certificate_number for c in hit]


def sync_national(
    session: Session,
    client: RegistryClient,
    *,
    signer: Signer,
    settings: IssuerSettings,
    trust: TrustList,
    now: dt.datetime,
) -> SyncReport:
    """Push the outbox and this office's events (the national feed), then pull the list;
    re-sign the status lists revocations touched.
    Returns what was done; failures are in the report (and on the rows), never raised."""
    report = SyncReport()
    push_outbox(session, client, signer=signer, settings=settings, now=now, report=report)
    report.fed, feed_error = push_feed(
        session, client.post_feed_batch, signer=signer, settings=settings, now=now
    )
    if feed_error is not None:
        report.errors.append(f"national feed: {feed_error}")
    list_ids = list(
        pull_national(
            session, client, signer=signer, settings=settings, trust=trust, now=now, report=report
        )
    )
    if report.registry_reset or report.resent:
        # The registry was restored (or its list lacked what we sent): send again what it
        # lost, at once, and read it back. Our feed too: it may hold our events only up to
        # an older one, and resending our last event makes it say which (feed_push).
        push_outbox(session, client, signer=signer, settings=settings, now=now, report=report)
        if report.registry_reset:
            resend_last(session)
        fed, feed_error = push_feed(
            session, client.post_feed_batch, signer=signer, settings=settings, now=now
        )
        report.fed += fed
        if feed_error is not None:
            report.errors.append(f"national feed: {feed_error}")
        list_ids += pull_national(
            session, client, signer=signer, settings=settings, trust=trust, now=now, report=report
        )
    # certificates issued before revision 0007: found by no entry until they have a
    # person reference (one query when none is left)
    _, more, revoked, unreadable = fill_person_refs(session, settings=settings, now=now)
    list_ids += more
    report.revoked += revoked
    report.errors += [f"certificate {n}: its credential does not open" for n in unreadable]
    publish(session, list_ids, signer=signer, settings=settings, now=now)
    for error in report.errors:
        log.warning("national list sync: %s", error)
    return report
