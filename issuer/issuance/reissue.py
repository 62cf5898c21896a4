"""Re-signing every certificate of a compromised key (换发).

After ``jiaozi keys compromise KID --at TIME`` what the key signed from TIME on no longer
verifies, and the office rotates to a new key. :func:`reissue_by_key` then gives each
certificate that key signed a new version signed by the active key: the same number, the
same facts, the SAME status index (its status history carries over: a suspended or revoked
certificate stays so), version + 1 with the e-licence identifier of that version. The
superseded tokens move to ``certificate_version`` (reason ``key_compromised``).

Work goes in chunks, one transaction per chunk (certificate rows locked), and each
reissue writes its audit record and its ``reissued`` event in that transaction. A re-run
after a crash continues: a reissued row carries the new key's id and is not selected
again. Rows stored before ``kid`` was recorded (the column is NULL) are read from their
token's header; the kid found is written back so the next run skips them cheaply.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from credential import Certificate as CertificateFacts
from credential import (
    CredentialError,
    DualSigner,
    Signer,
    StatusReference,
    as_utc,
    certificate_from_claims,
    elicence_id,
    mask_id,
    parse_jws,
    parse_jws_json,
    sign_certificate,
)
from issuer.audit import chain as audit
from issuer.audit import events
from issuer.db import tables, write
from issuer.db.models import Certificate, CertificateVersion
from issuer.issuance.sealing import (
    is_sealed,
    open_credential,
    open_stored_credential,
    seal_credential,
)
from issuer.settings import IssuerSettings

__all__ = ["REISSUE_REASON", "ReissueError", "reissue_by_key"]

REISSUE_REASON = "key_compromised"
DEFAULT_CHUNK = 200

_CERT = tables.CERTIFICATE
_LIST = tables.STATUS_LIST


class ReissueError(Exception):
    """A reissue that must not go ahead (the active key is the one being replaced, or a
    stored credential disagrees with its row)."""


def _facts(
    row: Certificate, payload: Mapping[str, Any], *, version: int, eid: str
) -> CertificateFacts:
    """Return the certified facts of ``payload`` (the old credential) as the new version."""
    subject = payload["credentialSubject"]
    doc = subject["identityDocument"]
    facts = dataclasses.replace(certificate_from_claims(payload), elicence_id=eid, version=version)
    # The row and the signed credential must tell the same story before it is re-signed.
    same = (
        facts.certificate_number == row.certificate_number
        and facts.name == row.name
        and facts.id_number_masked == row.id_number_masked == mask_id(doc["number"])
        and int(facts.qualification_type) == row.qualification_type
        and subject.get("version") == row.version
    )
    if not same:
        raise ReissueError(
            f"certificate {row.certificate_number}: the stored credential disagrees with its "
            "row; not re-signed (check the audit trail)"
        )
    return facts


def _reissue_one(
    session: Session,
    row: Certificate,
    *,
    old_jws: str,
    old_kid: str,
    status_uri: str,
    signer: Signer,
    settings: IssuerSettings,
    actor: str,
    now: dt.datetime,
) -> None:
    parsed = parse_jws(old_jws)
    payload = parsed.payload
    ref = StatusReference.from_claim(payload.get("status"))
    if ref != StatusReference(row.status_idx, status_uri):
        raise ReissueError(
            f"certificate {row.certificate_number}: the credential's status entry is not the "
            "row's; not re-signed"
        )
    old_version, new_version = row.version, row.version + 1
    eid = elicence_id(
        type_code=settings.elicence_type_code,
        issuer_uscc=settings.issuer_uscc,
        serial=row.certificate_number,
        version=new_version,
    )
    facts = _facts(row, payload, version=new_version, eid=eid)
    exp = payload.get("exp")
    tokens = sign_certificate(
        facts,
        signer=signer,
        issuer=settings.office_id,
        issued_at=int(now.timestamp()),
        status=ref,
        valid_until=exp if isinstance(exp, int) else None,
    )
    number = row.certificate_number
    assert row.id is not None
    stored_old = (
        row.credential_jws
        if is_sealed(row.credential_jws)
        else seal_credential(settings, old_jws, certificate_number=number)
    )
    session.add(
        CertificateVersion(
            certificate_id=row.id,
            version=old_version,
            kid=old_kid,
            credential_jws=stored_old,
            qr_token=row.qr_token,
            superseded_at=now,
            reason=REISSUE_REASON,
        )
    )
    row.version = new_version
    row.elicence_id = eid
    row.credential_jws = seal_credential(settings, tokens.stored, certificate_number=number)
    row.qr_token = tokens.qr_token
    row.kid = signer.kid
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="certificate.reissued",
        subject=number,
        detail={
            "certificate_number": number,
            "version": new_version,
            "previous_version": old_version,
            "reason": REISSUE_REASON,
            "elicence_id": eid,
            "status_list": ref.uri,
            "status_idx": ref.idx,
            "kid": signer.kid,
            "previous_kid": old_kid,
            "credential_sha256": hashlib.sha256(tokens.credential.encode("ascii")).hexdigest(),
            "qr_sha256": hashlib.sha256(tokens.qr_token.encode("ascii")).hexdigest(),
        },
        at=now,
    )
    events.append_event(  # after the audit record: lock order audit_head, then event_head
        session,
        type="reissued",
        office_id=settings.office_id,
        certificate_number=number,
        version=new_version,
        data={"reason": REISSUE_REASON, "previous_version": old_version},
        now=now,
    )


def reissue_by_key(
    session: Session,
    *,
    kid: str,
    signer: Signer,
    settings: IssuerSettings,
    actor: str,
    now: dt.datetime,
    chunk_size: int = DEFAULT_CHUNK,
    progress: Callable[[int], None] | None = None,
    sm2: bool = False,
) -> int:
    """Re-sign every certificate of this office signed by key ``kid``; return how many.

    With ``sm2``, ``kid`` is an SM2 key: the certificates whose dual-signed form carries its
    signature (found by opening every certificate of the office: the row records only the
    first key) are re-signed, dual again when ``signer`` is a DualSigner (issue 16).
    ``signer`` is the office's active key (never ``kid`` itself: ReissueError). Commits
    once per chunk of ``chunk_size`` certificates; ``progress`` is called after each
    chunk with the number reissued so far. Idempotent: a second run finds nothing left.
    Ends any transaction the session had open (each chunk must begin as a writer).
    """
    if signer.kid == kid or (isinstance(signer, DualSigner) and signer.sm2.kid == kid):
        raise ReissueError(
            f"the active signing key is {kid} itself: rotate to a new key first "
            "(jiaozi keys rotate --office ...)"
        )
    now = as_utc(now).replace(microsecond=0)
    c = _CERT.c
    done, last_id = 0, 0
    while True:
        with write(session):
            rows = (
                session.execute(
                    sa.select(Certificate)
                    .where(
                        c.office_id == settings.office_id,
                        sa.true() if sm2 else sa.or_(c.kid == kid, c.kid.is_(None)),
                        c.id > last_id,
                    )
                    .order_by(c.id)
                    .limit(chunk_size)
                    .with_for_update()
                )
                .scalars()
                .all()
            )
            if rows:
                done += _reissue_chunk(
                    session,
                    rows,
                    kid=kid,
                    signer=signer,
                    settings=settings,
                    actor=actor,
                    now=now,
                    sm2=sm2,
                )
                last_id = rows[-1].id or last_id
        if not rows:
            return done
        if progress is not None:
            progress(done)


def _reissue_chunk(
    session: Session,
    rows: Sequence[Certificate],
    *,
    kid: str,
    signer: Signer,
    settings: IssuerSettings,
    actor: str,
    now: dt.datetime,
    sm2: bool = False,
) -> int:
    """Reissue those of ``rows`` (locked) that key ``kid`` signed (with ``sm2``: whose
    SM2 signature it made); return how many."""
    uris = dict(
        session.execute(
            sa.select(_LIST.c.id, _LIST.c.uri).where(
                _LIST.c.id.in_({r.status_list_id for r in rows})
            )
        ).all()
    )
    done = 0
    for row in rows:
        number = row.certificate_number
        old_jws = open_credential(settings, row.credential_jws, certificate_number=number)
        try:
            header_kid = parse_jws(old_jws).kid
        except CredentialError as exc:
            raise ReissueError(f"certificate {number}: stored credential: {exc}") from exc
        if row.kid is None:
            row.kid = header_kid  # recorded now; the next run skips it by column
        if sm2:
            stored = open_stored_credential(settings, row.credential_jws, certificate_number=number)
            try:
                others = parse_jws_json(stored).others if stored.startswith("{") else ()
            except CredentialError as exc:
                raise ReissueError(f"certificate {number}: stored credential: {exc}") from exc
            if kid not in {o.kid for o in others}:
                continue
        elif header_kid != kid:
            continue
        _reissue_one(
            session,
            row,
            old_jws=old_jws,
            old_kid=header_kid,
            status_uri=uris[row.status_list_id],
            signer=signer,
            settings=settings,
            actor=actor,
            now=now,
        )
        done += 1
    return done
