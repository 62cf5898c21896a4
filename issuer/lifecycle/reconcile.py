"""After a restore: take the status the world has seen since the backup (issue 14 point 3;
docs/operations.md, "Backup and restore").

A restored database holds every certificate's status as it was at the backup. A
revocation, suspension or reinstatement made after it was published (signed status lists
that verifiers hold) and is lost with the database; the next publication would sign the
old entries with a newer ``iat``, and a revoked certificate would read valid again.
:func:`reconcile_status` reads the lists published after the backup (the directory
``jiaozi issuer export-public`` writes, or the public URL), checks each signature against
the office's keys in the restored trust list, and for every entry that differs from the
restored list:

- a certificate of the restored database holds it: the certificate takes the published
  value through the normal transition (``transitions.change_status``: status columns,
  list entry and revision, ``certificate.<change>`` audit record, feed event), and a
  ``status.reconciled`` audit record names it with the published list's ``iat`` (no
  personal data). Revoked stays revoked: INVALID is final (contract section 5), so a
  published VALID or SUSPENDED never undoes a revocation the database holds (kept, and
  counted);
- no certificate holds it (a certificate issued after the backup, whose record is lost):
  the published value is set in the list's entries as it stands (the "retained" bits; a
  ``status.retained`` audit record per list counts them). The list row's entries are what
  every publication signs, and no index of a list open at the backup is drawn again after
  a restore (``issuer.issuance.fence``), so the bits stay set in every later publication.

Lists the restored database does not hold (made after the backup) are reported, not
made: their certificates are lost to the office (issue them again, docs). Lists whose
``iat`` is before the backup's second hold nothing newer than the database and are
skipped.

The restore set the reconcile gate (``issuer.db.allowance``: nothing signs a status list
while it is set); :func:`reconcile_status` clears it in its write transaction, with a
``status.reconcile_done`` audit record, so the lists it changed are signed next. An office
that never published a list clears it with :func:`none_published` (``--none-published``),
recorded as ``status.reconcile_none_published``.

Every change spends a feed number (the event of the transition), so this runs after the
fresh backup that a restore requires (``BackupNeeded`` otherwise), and before the
restored service publishes anything.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from credential import (
    CredentialError,
    StatusList,
    StatusSnapshot,
    StatusValue,
    TrustList,
    as_utc,
    load_status_list,
)
from issuer.audit import chain
from issuer.db import tables, write
from issuer.db.allowance import clear_reconcile_gate
from issuer.db.models import Certificate, StatusListRow
from issuer.errors import Conflict
from issuer.lifecycle.transitions import change_status, lock_status_lists
from issuer.settings import IssuerSettings

__all__ = [
    "NONE_PUBLISHED",
    "RECONCILED",
    "RECONCILE_DONE",
    "RECONCILE_REASON",
    "RETAINED",
    "Reconciled",
    "Reconciliation",
    "differing_entries",
    "held_list_uris",
    "none_published",
    "reconcile_status",
    "restored_backup_at",
    "restored_backup_at_in",
]

RECONCILED = "status.reconciled"
RETAINED = "status.retained"
RECONCILE_REASON = "reconciled_after_restore"
RECONCILE_DONE = "status.reconcile_done"
NONE_PUBLISHED = "status.reconcile_none_published"

_CERT = tables.CERTIFICATE
_VERSION = tables.CERTIFICATE_VERSION
_LIST = tables.STATUS_LIST
_AUDIT = tables.AUDIT_RECORD

# the published value -> the status it stands for
_STATUS_OF = {
    int(StatusValue.VALID): "valid",
    int(StatusValue.INVALID): "revoked",
    int(StatusValue.SUSPENDED): "suspended",
}
# (held status, published status) -> the transition that takes it there
_CHANGE = {
    ("valid", "revoked"): "revoke",
    ("suspended", "revoked"): "revoke",
    ("valid", "suspended"): "suspend",
    ("suspended", "valid"): "reinstate",
}


@dataclass(frozen=True)
class Reconciled:
    """One certificate that took the published status."""

    certificate_number: str
    before: str
    after: str
    published_iat: int


@dataclass
class Reconciliation:
    """What :func:`reconcile_status` found and did; ``list_ids`` are the lists to publish."""

    backup_at: int
    taken: dict[str, int] = field(default_factory=dict)  # list URI -> the published iat
    older: list[str] = field(default_factory=list)  # published before the backup
    unknown: list[str] = field(default_factory=list)  # not held by the restored database
    changed: list[Reconciled] = field(default_factory=list)
    kept_revoked: list[str] = field(default_factory=list)  # final here, published otherwise
    retained: dict[str, int] = field(default_factory=dict)  # list URI -> entries set
    list_ids: set[int] = field(default_factory=set)
    gate_cleared: bool = False  # the restore's gate was set and this run cleared it


def restored_backup_at(session: Session) -> int | None:
    """Return the backup time (POSIX seconds) of the newest ``backup.restored`` audit
    record, None if the database was never restored (or the record names no time). Ends
    the session's transaction."""
    at = restored_backup_at_in(session)
    session.rollback()
    return at


def restored_backup_at_in(session: Session) -> int | None:
    """Return what :func:`restored_backup_at` returns, reading in the caller's
    transaction (left open)."""
    detail = session.execute(
        sa.select(_AUDIT.c.detail_json)
        .where(_AUDIT.c.action == "backup.restored")
        .order_by(_AUDIT.c.id.desc())
        .limit(1)
    ).scalar()
    if detail is None:
        return None
    try:
        at = dt.datetime.fromisoformat(str(json.loads(detail)["backup_at"]))
    except (KeyError, TypeError, ValueError):
        return None
    return int(as_utc(at).timestamp())  # whole seconds, down: as a list's iat


def held_list_uris(session: Session, office_id: str) -> list[str]:
    """Return the URIs of the office's status lists in the database, in id order."""
    uris = session.execute(
        sa.select(_LIST.c.uri).where(_LIST.c.office_id == office_id).order_by(_LIST.c.id)
    ).scalars()
    out = [str(u) for u in uris]
    session.rollback()
    return out


def differing_entries(a: StatusList, b: StatusList) -> list[int]:
    """Return the indices whose values differ between two lists of the same bits and size
    (compared byte by byte first: a list of 131,072 entries differs in a few)."""
    if a.bits != b.bits or a.size != b.size:
        raise ValueError("lists of different shapes")
    left, right = a.to_bytes(), b.to_bytes()
    per_byte = 8 // a.bits
    out: list[int] = []
    for offset, (x, y) in enumerate(zip(left, right, strict=True)):
        if x != y:
            for i in range(offset * per_byte, min(a.size, (offset + 1) * per_byte)):
                if a.get(i) != b.get(i):
                    out.append(i)
    return out


def _newest(tokens: Iterable[str], trust: TrustList, office_id: str) -> dict[str, StatusSnapshot]:
    """Return the newest verified list per URI among ``tokens``; raise Conflict naming the
    first one that does not verify (nothing is changed: a bad copy is not a partial
    truth) or is another office's."""
    newest: dict[str, StatusSnapshot] = {}
    for n, token in enumerate(tokens, 1):
        try:
            snap = load_status_list(token.strip(), trust)
        except CredentialError as exc:
            raise Conflict(
                "A published status list does not verify",
                "已发布的状态列表验证失败",
                f"list {n}: {exc}",
                f"第{n}个列表：{exc}",
            ) from exc
        if snap.office_id != office_id:
            raise Conflict(
                "A published status list is another office's",
                "已发布的状态列表属于其他机构",
                f"list {n} ({snap.uri}) is signed by office {snap.office_id}",
                f"第{n}个列表（{snap.uri}）由机构{snap.office_id}签名",
            )
        held = newest.get(snap.uri)
        if held is None or snap.issued_at > held.issued_at:
            newest[snap.uri] = snap
    return newest


def reconcile_status(
    session: Session,
    *,
    tokens: Iterable[str],
    trust: TrustList,
    settings: IssuerSettings,
    actor: str,
    now: dt.datetime,
    backup_at: int | None = None,
) -> Reconciliation:
    """Take the published status of every list in ``tokens`` (signed status list JWTs)
    newer than the backup into the restored database (see the module's docstring), in one
    write transaction; return what was done. Publish ``list_ids`` afterwards.

    ``backup_at`` defaults to the time in the newest ``backup.restored`` audit record.
    Raises Conflict (nothing changed) if no backup time is known, a list does not verify
    against ``trust`` or is another office's, or differs in shape from the held list;
    BackupNeeded if no fresh backup was taken since the restore.
    """
    now = as_utc(now)
    since = backup_at if backup_at is not None else restored_backup_at(session)
    if since is None:
        raise Conflict(
            "No restore to reconcile",
            "没有需要核对的恢复",
            "the database records no restore from a backup; give the backup time",
            "数据库中没有从备份恢复的记录；请给出备份时间",
        )
    lists = _newest(tokens, trust, settings.office_id)
    done = Reconciliation(backup_at=since)
    session.rollback()
    with write(session):
        rows = {
            r.uri: r
            for r in session.execute(
                sa.select(StatusListRow).where(
                    _LIST.c.office_id == settings.office_id, _LIST.c.uri.in_(list(lists))
                )
            ).scalars()
        }
        lock_status_lists(session, [r.id for r in rows.values() if r.id is not None])
        for uri in sorted(lists):
            snap = lists[uri]
            row = rows.get(uri)
            # iat is in whole seconds: a list of the backup's own second may hold a change
            # the dump missed, so it is taken too.
            if snap.issued_at < since:
                done.older.append(uri)
                continue
            if row is None or row.id is None:
                done.unknown.append(uri)
                continue
            done.taken[uri] = snap.issued_at
            _take(session, done, row, snap, actor=actor, now=now)
        # Done with every list: publication may sign again (what changed first).
        done.gate_cleared = clear_reconcile_gate(session)
        if done.gate_cleared:
            chain.append(
                session,
                actor=actor,
                action=RECONCILE_DONE,
                subject=settings.office_id,
                detail={
                    "backup_at": since,
                    "lists_read": len(lists),
                    "lists_taken": len(done.taken),
                    "certificates": len(done.changed),
                    "retained": sum(done.retained.values()),
                },
                at=now,
            )
    return done


def none_published(
    session: Session, *, settings: IssuerSettings, actor: str, now: dt.datetime
) -> bool:
    """Clear the restore's reconcile gate without reading a published list, for an office
    that never published one (``--none-published``); record it as such in the audit chain.
    Return True if the gate was set (False: nothing to clear, nothing recorded). One write
    transaction.

    Nothing checks the claim: had lists been published after the backup, the next
    publication undoes their changes for verifiers new to them (the command warns).
    """
    session.rollback()
    with write(session):
        cleared = clear_reconcile_gate(session)
        if cleared:
            chain.append(
                session,
                actor=actor,
                action=NONE_PUBLISHED,
                subject=settings.office_id,
                detail={"none_published": True, "backup_at": restored_backup_at_in(session)},
                at=now,
            )
    return cleared


def _take(
    session: Session,
    done: Reconciliation,
    row: StatusListRow,
    snap: StatusSnapshot,
    *,
    actor: str,
    now: dt.datetime,
) -> None:
    """Take one published list into ``row`` (inside the caller's write transaction)."""
    assert row.id is not None
    published = snap.status_list
    mine = StatusList.from_bytes(row.data, row.bits)
    if published.bits != mine.bits or published.size != mine.size:
        raise Conflict(
            "A published status list differs in shape",
            "已发布的状态列表格式不一致",
            f"{row.uri}: {published.size} entries of {published.bits} bits published, "
            f"{mine.size} of {mine.bits} held",
            f"{row.uri}：已发布与数据库中的条目数或位宽不同",
        )
    diff = differing_entries(mine, published)
    if not diff:
        return
    holders = {
        int(c.status_idx): c
        for c in session.execute(
            sa.select(Certificate)
            .where(_CERT.c.status_list_id == row.id, _CERT.c.status_idx.in_(diff))
            .order_by(_CERT.c.id)
            .with_for_update(key_share=True)
            .execution_options(populate_existing=True)
        ).scalars()
    }
    retired = {
        int(i)
        for i in session.execute(
            sa.select(_VERSION.c.status_idx).where(
                _VERSION.c.status_list_id == row.id, _VERSION.c.status_idx.in_(diff)
            )
        ).scalars()
    }
    retained: list[int] = []
    for idx in diff:
        value = published.get(idx)
        cert = holders.get(idx)
        if cert is None:
            # A superseded version's entry is revoked for good and stays so; an entry no
            # restored certificate holds takes what was published (a later certificate).
            if idx not in retired and value != int(StatusValue.VALID):
                retained.append(idx)
            continue
        target = _STATUS_OF.get(value)
        if cert.status == "revoked" and target != "revoked":
            done.kept_revoked.append(cert.certificate_number)
            continue
        change = None if target is None else _CHANGE.get((cert.status, target))
        if change is None or target is None:
            continue  # the entry alone differs (or a reserved value): the status stands
        before = cert.status
        change_status(
            session,
            cert,
            change=change,
            reason_code=RECONCILE_REASON,
            actor=actor,
            detail={"published_list": row.uri, "published_iat": snap.issued_at},
            now=now,
        )
        chain.append(
            session,
            actor=actor,
            action=RECONCILED,
            subject=cert.certificate_number,
            detail={
                "certificate_number": cert.certificate_number,
                "from": before,
                "to": target,
                "status_list": row.uri,
                "published_iat": snap.issued_at,
                "backup_at": done.backup_at,
            },
            at=now,
        )
        done.changed.append(Reconciled(cert.certificate_number, before, target, snap.issued_at))
        done.list_ids.add(row.id)
    if retained:
        # Read again: the transitions above changed the row's entries and revision.
        data = session.execute(sa.select(_LIST.c.data).where(_LIST.c.id == row.id)).scalar_one()
        entries = StatusList.from_bytes(data, row.bits)
        for idx in retained:
            entries.set(idx, published.get(idx))
        session.execute(
            sa.update(_LIST)
            .where(_LIST.c.id == row.id)
            .values(data=entries.to_bytes(), revision=_LIST.c.revision + 1)
        )
        chain.append(
            session,
            actor=actor,
            action=RETAINED,
            subject=row.uri[:200],
            detail={
                "status_list": row.uri,
                "entries": len(retained),
                "published_iat": snap.issued_at,
                "backup_at": done.backup_at,
            },
            at=now,
        )
        done.retained[row.uri] = len(retained)
        done.list_ids.add(row.id)
