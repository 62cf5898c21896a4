"""Signed audit checkpoints and the full audit check.

A checkpoint is the office's signature over the chain's head at a moment: a compact JWS
(``typ`` ``jiaozi-audit-checkpoint+jwt``) with claims ``{iss, seq, hash, at}``, stored in
``audit_checkpoint`` (and worth copying off the machine: a checkpoint kept elsewhere
proves how long the chain was even if every row here is deleted).

:func:`verify_audit` recomputes the chain from record 1 and reports the first record
whose bytes were changed (any column), a record deleted from the middle (a gap), a
deleted tail (the chain is shorter than the latest valid checkpoint, or the head row
disagrees), a rewritten stretch (the chain holds together but differs from a checkpoint),
and forged checkpoints (the signature does not verify under the office's keys).

How a change is located. Each record's hash covers its own columns and its predecessor's
hash. A record whose stored hash does not match its columns was changed. A record that
matches its columns but names a predecessor hash the chain does not have means one of
two things: the predecessor was rewritten with a recomputed hash (then this record and
its successor still agree with each other), or this record was rewritten with a new
``prev_hash`` and a recomputed hash (then its successor, or the head row, no longer
agrees with it). A checkpoint at the predecessor settles it directly.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from credential import CredentialError, PublicKey, Signer, as_utc, encode_jws, parse_jws, rfc3339
from issuer.audit.chain import GENESIS_HASH, record_hash
from issuer.db import tables, write
from issuer.db.models import AuditCheckpoint

__all__ = [
    "CHECKPOINT_TYP",
    "AuditProblem",
    "AuditReport",
    "ChainBroken",
    "verify_audit",
    "write_checkpoint",
]

CHECKPOINT_TYP = "jiaozi-audit-checkpoint+jwt"
_CHUNK = 1000
_MAX_PROBLEMS = 20

_REC = tables.AUDIT_RECORD
_HEAD = tables.AUDIT_HEAD
_CP = tables.AUDIT_CHECKPOINT


class ChainBroken(Exception):
    """The chain does not hold since the last checkpoint: no new checkpoint is signed."""

    def __init__(self, report: AuditReport) -> None:
        super().__init__(report.message_en)
        self.report = report


# --- the report ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuditProblem:
    """One thing found wrong. ``seq`` is the first record concerned (None: a checkpoint)."""

    code: str
    seq: int | None
    message_en: str
    message_zh: str
    checkpoint_id: int | None = None


@dataclass(frozen=True, slots=True)
class AuditReport:
    """The outcome of :func:`verify_audit`.

    ``ok`` is True only when the chain, the head row and every checkpoint hold.
    ``first_bad_seq`` is the first record found changed or missing; ``reason`` the code
    of the first problem (``record_changed``, ``record_missing``, ``chain_rewritten``,
    ``tail_deleted``, ``head_mismatch``, ``checkpoint_forged``), ``message_en``/``_zh``
    the same in plain words; ``problems`` lists what was found (the first few).
    """

    ok: bool
    records_checked: int
    first_bad_seq: int | None
    reason: str | None
    message_en: str
    message_zh: str
    latest_checkpoint_seq: int | None
    checkpoints_checked: int
    head_seq: int | None
    problems: tuple[AuditProblem, ...] = field(default=())

    def message(self, lang: str = "zh") -> str:
        """Return the verdict in plain words, in Chinese (default) or English."""
        return self.message_en if lang == "en" else self.message_zh

    def to_json(self) -> dict[str, Any]:
        """Return the report as a JSON-ready dict."""
        out = asdict(self)
        out["problems"] = [asdict(p) for p in self.problems]
        return out


# --- checkpoints ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Checkpoint:
    id: int
    seq: int
    hash: str


def _check_checkpoint(
    row: Any, keys: dict[str, PublicKey], office_id: str | None
) -> AuditProblem | None:
    """Return why checkpoint ``row`` cannot be trusted, or None when it is genuine."""

    def forged(en: str, zh: str) -> AuditProblem:
        return AuditProblem(
            "checkpoint_forged",
            None,
            f"checkpoint {row.id} (record {row.audit_seq}) is not genuine: {en}",
            f"检查点 {row.id}（记录 {row.audit_seq}）不可信：{zh}",
            checkpoint_id=row.id,
        )

    try:
        parsed = parse_jws(row.signed_jws)
    except CredentialError as exc:
        return forged(f"not a well-formed JWS ({exc})", "签名格式错误")
    if parsed.typ != CHECKPOINT_TYP:
        return forged(f"typ {parsed.typ!r}", "类型不是审计检查点")
    key = keys.get(parsed.kid)
    if key is None:
        return forged(f"key {parsed.kid} is not one of the office's keys", "签名密钥不属于本机构")
    if not parsed.verify(key):
        return forged("the signature does not verify", "签名验证失败")
    claims = parsed.payload
    seq, digest, at, iss = (
        claims.get("seq"),
        claims.get("hash"),
        claims.get("at"),
        claims.get("iss"),
    )
    if (
        set(claims) != {"iss", "seq", "hash", "at"}
        or not isinstance(seq, int)
        or not isinstance(at, str)
    ):
        return forged("claims are not {iss, seq, hash, at}", "签名内容格式错误")
    if seq != row.audit_seq or digest != row.audit_hash:
        return forged(
            "the stored sequence number or hash differs from what was signed",
            "存储的序号或哈希与签名内容不一致",
        )
    if office_id is not None and iss != office_id:
        return forged(f"signed for {iss!r}", "签发机构不符")
    try:
        signed_at = int(dt.datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return forged("'at' is not a time", "时间格式错误")
    why = key.covers(signed_at)
    if why is not None:
        return forged(f"key {key.kid} was {why} at {at}", f"签名时密钥 {key.kid} 不可用（{why}）")
    return None


def _checkpoints(
    session: Session, public_keys: Iterable[PublicKey], office_id: str | None
) -> tuple[list[_Checkpoint], list[AuditProblem], int]:
    keys = {k.kid: k for k in public_keys}
    good: list[_Checkpoint] = []
    bad: list[AuditProblem] = []
    rows = session.execute(sa.select(_CP).order_by(_CP.c.id)).all()
    for row in rows:
        problem = _check_checkpoint(row, keys, office_id)
        if problem is None:
            good.append(_Checkpoint(row.id, row.audit_seq, row.audit_hash))
        else:
            bad.append(problem)
    return good, bad, len(rows)


def _self_consistent(rec: Any) -> bool:
    try:
        detail = json.loads(rec.detail_json)
    except ValueError:
        return False
    return bool(
        rec.hash
        == record_hash(
            seq=rec.id,
            at=rec.at,
            actor=rec.actor,
            action=rec.action,
            subject=rec.subject,
            detail=detail,
            prev_hash=rec.prev_hash,
        )
    )


def _records(session: Session, after: int = 0) -> Iterator[Any]:
    """Yield audit records with ``id > after`` in order, a chunk at a time."""
    last = after
    while True:
        rows = session.execute(
            sa.select(_REC).where(_REC.c.id > last).order_by(_REC.c.id).limit(_CHUNK)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].id


# --- verification ---------------------------------------------------------------------------


def _changed(seq: int, column_hint: str = "") -> AuditProblem:
    return AuditProblem(
        "record_changed",
        seq,
        f"audit record {seq} was changed after it was written{column_hint}",
        f"审计记录 {seq} 在写入后被修改",
    )


def _scan(
    session: Session, checkpoints: dict[int, str], head: Any
) -> tuple[int, AuditProblem | None, str]:
    """Walk the chain from record 1; return (records that hold, first problem, last hash)."""
    prev_hash, expected, last_cp = GENESIS_HASH, 1, 0
    records = _records(session)
    for rec in records:
        if rec.id != expected:
            return (
                expected - 1,
                AuditProblem(
                    "record_missing",
                    expected,
                    f"audit record {expected} is missing (deleted): the chain jumps from "
                    f"{expected - 1} to {rec.id}",
                    f"审计记录 {expected} 缺失（已被删除）：记录从 {expected - 1} 跳到 {rec.id}",
                ),
                prev_hash,
            )
        if not _self_consistent(rec):
            return expected - 1, _changed(rec.id), prev_hash
        if rec.prev_hash != prev_hash:
            # Either the predecessor was rewritten with a recomputed hash, or this record
            # was rewritten with another prev_hash; whoever the rest of the chain disagrees
            # with was changed.
            after = next(records, None)
            if expected - 1 in checkpoints:
                blame_prev = checkpoints[expected - 1] != prev_hash
            elif after is not None:
                blame_prev = after.prev_hash == rec.hash
            else:
                blame_prev = head is not None and head.hash == rec.hash
            if blame_prev and expected > 1:
                return expected - 2, _changed(expected - 1, " (its hash was recomputed)"), ""
            return expected - 1, _changed(rec.id), prev_hash
        cp_hash = checkpoints.get(rec.id)
        if cp_hash is not None:
            if cp_hash != rec.hash:
                after = next(records, None)
                if after is not None and after.prev_hash == cp_hash:
                    # its successor still names the signed hash: this record was rewritten
                    return expected - 1, _changed(rec.id, " (its hash was recomputed)"), ""
                first = last_cp + 1
                return (
                    last_cp,
                    AuditProblem(
                        "chain_rewritten",
                        first,
                        f"audit records {first} to {rec.id} were rewritten: the chain holds "
                        f"together but record {rec.id} differs from the signed checkpoint",
                        f"审计记录 {first} 至 {rec.id} 被改写：链本身自洽，但记录 {rec.id} "
                        "与已签名的检查点不一致",
                    ),
                    prev_hash,
                )
            last_cp = rec.id
        prev_hash, expected = rec.hash, expected + 1
    return expected - 1, None, prev_hash


def verify_audit(
    session: Session, *, public_keys: Iterable[PublicKey], office_id: str | None = None
) -> AuditReport:
    """Check the whole audit trail and return what holds and the first thing that does not.

    ``public_keys`` are the office's keys (all of them, retired and compromised too: each
    checkpoint must verify under the key named by its ``kid``, inside that key's window).
    ``office_id``, when given, must be the checkpoints' ``iss``. Read-only.
    """
    good, forged, n_checkpoints = _checkpoints(session, public_keys, office_id)
    by_seq: dict[int, str] = {}
    conflicting: list[AuditProblem] = []
    for cp in good:
        if by_seq.setdefault(cp.seq, cp.hash) != cp.hash:
            conflicting.append(
                AuditProblem(
                    "checkpoint_forged",
                    None,
                    f"checkpoint {cp.id} signs another hash for record {cp.seq} than an "
                    "earlier checkpoint (was the signing key stolen?)",
                    f"检查点 {cp.id} 对记录 {cp.seq} 签署了与先前检查点不同的哈希",
                    checkpoint_id=cp.id,
                )
            )
    head = session.execute(sa.select(_HEAD).where(_HEAD.c.id == 1)).first()
    checked, problem, last_hash = _scan(session, by_seq, head)
    problems: list[AuditProblem] = []
    if problem is not None:
        problems.append(problem)
    else:
        last = checked
        latest = max(by_seq, default=0)
        if latest > last:
            problems.append(
                AuditProblem(
                    "tail_deleted",
                    last + 1,
                    f"audit records from {last + 1} on were deleted: a signed checkpoint "
                    f"vouches for {latest} records, the chain has {last}",
                    f"从第 {last + 1} 条起的审计记录已被删除：已签名的检查点证明有 {latest} "
                    f"条记录，现在只有 {last} 条",
                )
            )
        elif head is None:
            problems.append(
                AuditProblem(
                    "head_mismatch",
                    last + 1,
                    "the audit head row is missing",
                    "审计链头记录缺失",
                )
            )
        elif head.seq > last:
            problems.append(
                AuditProblem(
                    "tail_deleted",
                    last + 1,
                    f"audit records from {last + 1} on were deleted: the chain's head says "
                    f"{head.seq} records were written, {last} are left",
                    f"从第 {last + 1} 条起的审计记录已被删除：链头记录显示已写入 {head.seq} "
                    f"条，现在只有 {last} 条",
                )
            )
        elif head.seq < last:
            problems.append(
                AuditProblem(
                    "head_mismatch",
                    head.seq + 1,
                    f"audit records from {head.seq + 1} on were added outside the service "
                    "(the chain's head does not know them)",
                    f"第 {head.seq + 1} 条起的审计记录不是由本系统写入的（链头记录不知道它们）",
                )
            )
        elif head.hash != last_hash:
            problems.append(_changed(last, " (its hash was recomputed)"))
    problems.extend(forged)
    problems.extend(conflicting)
    first = problems[0] if problems else None
    if first is None:
        en = f"the audit trail holds: {checked} records"
        zh = f"审计记录完好：共 {checked} 条"
        if good:
            en += f", {len(good)} signed checkpoints, the latest at record {max(by_seq)}"
            zh += f"，{len(good)} 个已签名检查点，最新检查点在第 {max(by_seq)} 条"
        else:
            en += " (no signed checkpoint yet: a deleted tail could go unnoticed)"
            zh += "（尚无已签名检查点：末尾记录被删除可能无法发现）"
    else:
        en = "AUDIT TRAIL TAMPERED: " + first.message_en
        zh = "审计记录被篡改：" + first.message_zh
        if len(problems) > 1:
            en += f" (and {len(problems) - 1} more problem(s))"
            zh += f"（另有 {len(problems) - 1} 个问题）"
    bad_seqs = [p.seq for p in problems if p.seq is not None]
    return AuditReport(
        ok=first is None,
        records_checked=checked,
        first_bad_seq=min(bad_seqs) if bad_seqs else None,
        reason=first.code if first else None,
        message_en=en,
        message_zh=zh,
        latest_checkpoint_seq=max(by_seq) if by_seq else None,
        checkpoints_checked=n_checkpoints,
        head_seq=head.seq if head is not None else None,
        problems=tuple(problems[:_MAX_PROBLEMS]),
    )


# --- writing a checkpoint ---------------------------------------------------------------------


def _verify_since_last_checkpoint(session: Session, head: Any) -> AuditReport | None:
    """Return a failed report when the records after the newest stored checkpoint do not
    chain from it to the head (the part a new checkpoint would vouch for), else None."""
    newest = session.execute(
        sa.select(_CP.c.audit_seq, _CP.c.audit_hash).order_by(_CP.c.id.desc()).limit(1)
    ).first()
    start_seq, prev_hash = (0, GENESIS_HASH) if newest is None else newest
    expected = start_seq + 1
    bad: AuditProblem | None = None
    if start_seq > 0:
        rec = session.execute(sa.select(_REC).where(_REC.c.id == start_seq)).first()
        if rec is None or rec.hash != prev_hash or not _self_consistent(rec):
            bad = _changed(start_seq)
    if bad is None:
        for rec in _records(session, after=start_seq):
            if rec.id != expected:
                bad = AuditProblem(
                    "record_missing", expected, f"audit record {expected} is missing", ""
                )
                break
            if rec.prev_hash != prev_hash or not _self_consistent(rec):
                bad = _changed(rec.id)
                break
            prev_hash, expected = rec.hash, expected + 1
    if bad is None and (head.seq != expected - 1 or head.hash != prev_hash):
        bad = AuditProblem("head_mismatch", expected, "the chain's head row disagrees", "")
    if bad is None:
        return None
    return AuditReport(
        ok=False,
        records_checked=max(expected - 1 - start_seq, 0),
        first_bad_seq=bad.seq,
        reason=bad.code,
        message_en="refusing to sign a checkpoint: " + bad.message_en,
        message_zh="拒绝签署检查点：审计链自上一个检查点以来不完整（运行 jiaozi audit verify）",
        latest_checkpoint_seq=start_seq or None,
        checkpoints_checked=0,
        head_seq=head.seq,
        problems=(bad,),
    )


def write_checkpoint(
    session: Session, *, signer: Signer, office_id: str, now: dt.datetime
) -> AuditCheckpoint:
    """Sign the audit chain's current head and store the checkpoint; commits.

    The records since the previous checkpoint are re-checked first (that previous one was
    checked when it was made), so a checkpoint never vouches for a broken chain: raises
    ChainBroken instead. On SQLite the write lock is taken first; on PostgreSQL the head
    row is locked, so no record is appended between reading the head and signing it.
    Ends any transaction the session had open (the check must begin as a writer).
    """
    with write(session):
        head = session.execute(
            sa.select(_HEAD.c.seq, _HEAD.c.hash).where(_HEAD.c.id == 1).with_for_update()
        ).first()
        if head is None:
            raise RuntimeError("audit_head row is missing (database not migrated?)")
        failed = _verify_since_last_checkpoint(session, head)
        if failed is not None:
            raise ChainBroken(failed)
        at = as_utc(now).replace(microsecond=0)
        claims = {"iss": office_id, "seq": head.seq, "hash": head.hash, "at": rfc3339(at)}
        token = encode_jws({"typ": CHECKPOINT_TYP}, claims, signer)
        checkpoint = AuditCheckpoint(
            audit_seq=head.seq, audit_hash=head.hash, signed_jws=token, at=at
        )
        session.add(checkpoint)
    return checkpoint
