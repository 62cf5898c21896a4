"""Claim codes for a whole batch in one step, and the claim letters that hand them out.

``make_batch_codes`` gives every teacher of a batch's valid certificates a claim code
(``issuer.holder.codes``: bound to the person, stored only as a keyed hash, a new code
replacing the person's older one), audited per certificate as the one-at-a-time endpoint
does. A batch's code is not drawn at random but **derived** from the holder key, the
batch and the person (HMAC-SHA256 under the key, read as 16 characters of the code
alphabet), so that the office can print the batch's letters and manifest again (a jammed
printer, a second copy for the file) without making new codes. This shows nobody anything
the holder key does not already open: whoever holds that key can forge a holder session
outright (``issuer.holder.signin``). The database alone (the hashes) reveals no code.

Which teachers get one, so that a re-run makes none twice and undoes no later decision:

- a person with no code, or whose code was made *before* the batch was uploaded (a code
  from an earlier round): the batch's code is made (it replaces the old one);
- a person whose code was made after the upload (by this step before, or one at a time
  by a clerk, e.g. a new code after a lost letter): kept, nothing made.

Every row's state for the manifest and the letters (``batch_holders``): ``live`` (the
batch's code is the person's code and has not expired: the code is given), ``expired``,
``replaced`` (the person has another code made after the upload: handed out
separately), ``none`` (no code made by this batch yet), or ``not_valid`` (the
certificate is suspended or revoked: no code is made for it). Showing codes (a
manifest or the letters) is audited too (``holder.batch_codes_shown``), with who and how
many, never the codes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from credential import as_utc, beijing_date, rfc3339
from issuer.audit import chain as audit
from issuer.db import tables, write
from issuer.errors import NotFound
from issuer.holder.codes import CODE_ALPHABET, CODE_LENGTH, code_hash, format_code, holder_mac
from issuer.pdf import ClaimLetter, render_claim_letters
from issuer.settings import IssuerSettings

__all__ = [
    "BatchCodesMade",
    "BatchHolder",
    "CodeState",
    "batch_holders",
    "batch_letters_pdf",
    "make_batch_codes",
    "record_codes_shown",
]

CodeState = Literal["live", "expired", "replaced", "none", "not_valid"]

_CODE = tables.HOLDER_CLAIM_CODE
_CERT = tables.CERTIFICATE
_ITEM = tables.BATCH_ITEM
_BATCH = tables.BATCH
_IN_CHUNK = 500  # persons per IN (...) list


@dataclass(frozen=True, slots=True)
class BatchHolder:
    """One issued row of a batch with its teacher's claim code as it stands now."""

    row_number: int
    certificate_number: str
    name: str
    status: str  # the certificate's: valid, suspended, revoked, ...
    person: str  # the identity-number hash (rows of one person share a letter)
    state: CodeState
    claim_code: str | None  # formatted; only when ``state`` is live
    expires_at: dt.datetime | None  # of the batch's code (live or expired)


@dataclass(frozen=True, slots=True)
class BatchCodesMade:
    """What one call of :func:`make_batch_codes` did (persons, not rows)."""

    made: int  # codes made now
    kept: int  # persons whose code was made after the upload: left as they are
    not_valid: int  # rows whose certificate is not valid: no code


@dataclass(frozen=True, slots=True)
class _Row:
    row_number: int
    number: str
    name: str
    status: str
    person: str


def _derived_code(settings: IssuerSettings, batch_id: int, file_sha256: str, person: str) -> str:
    """Return the batch's code for ``person`` (unformatted): 16 characters of the alphabet
    read off an HMAC-SHA256 under the holder key (256 bits for 79: no visible bias)."""
    n = int(holder_mac(settings, "batch-claim-code", f"{batch_id}.{file_sha256}.{person}"), 16)
    chars = []
    for _ in range(CODE_LENGTH):
        n, r = divmod(n, len(CODE_ALPHABET))
        chars.append(CODE_ALPHABET[r])
    return "".join(chars)


def _batch(session: Session, batch_id: int, office_id: str | None) -> tuple[str, dt.datetime]:
    """Return (file SHA-256, upload time) of the office's batch; raises NotFound."""
    found = session.execute(
        sa.select(_BATCH.c.file_sha256, _BATCH.c.created_at, _BATCH.c.office_id).where(
            _BATCH.c.id == batch_id
        )
    ).first()
    if found is None or found.office_id != office_id:
        raise NotFound(
            "No such batch", "批次不存在", f"No batch {batch_id}.", f"没有批次{batch_id}。"
        )
    return found.file_sha256, as_utc(found.created_at)


def _rows(session: Session, batch_id: int) -> list[_Row]:
    got = session.execute(
        sa.select(
            _ITEM.c.row_number,
            _CERT.c.certificate_number,
            _CERT.c.name,
            _CERT.c.status,
            _CERT.c.id_number_hash,
        )
        .join(_CERT, _CERT.c.id == _ITEM.c.certificate_id)
        .where(_ITEM.c.batch_id == batch_id)
        .order_by(_ITEM.c.row_number)
    ).all()
    return [_Row(*r) for r in got]


def _codes_of(session: Session, persons: Sequence[str]) -> dict[str, sa.Row[tuple[object, ...]]]:
    out: dict[str, sa.Row[tuple[object, ...]]] = {}
    unique = sorted(set(persons))
    for i in range(0, len(unique), _IN_CHUNK):
        for r in session.execute(
            sa.select(_CODE).where(_CODE.c.id_number_hash.in_(unique[i : i + _IN_CHUNK]))
        ):
            out[r.id_number_hash] = r
    return out


def make_batch_codes(
    session: Session,
    *,
    batch_id: int,
    office_id: str | None,
    settings: IssuerSettings,
    actor: str,
    now: dt.datetime,
) -> BatchCodesMade:
    """Make the claim codes of batch ``batch_id``'s teachers who need one (see the
    module's docstring), in one write transaction, each audited
    (``holder.claim_code_issued`` with the batch) and the step as a whole too
    (``holder.batch_codes_made``). Returns what was made and kept; calling it again makes
    nothing new. Raises NotFound for an unknown batch or another office's."""
    made = kept = not_valid = 0
    with write(session):
        digest, uploaded = _batch(session, batch_id, office_id)
        rows = _rows(session, batch_id)
        valid = [r for r in rows if r.status == "valid"]
        not_valid = len(rows) - len(valid)
        existing = _codes_of(session, [r.person for r in valid])
        expires = now + dt.timedelta(days=settings.holder_code_days)
        values: list[dict[str, object]] = []
        audited: list[tuple[str, object]] = []
        seen: set[str] = set()
        for r in valid:
            if r.person in seen:  # a second row of one person: one code, one letter
                continue
            seen.add(r.person)
            old = existing.get(r.person)
            if old is not None and as_utc(old.created_at) >= uploaded:
                kept += 1
                continue
            code = _derived_code(settings, batch_id, digest, r.person)
            values.append(
                {
                    "id_number_hash": r.person,
                    "code_hash": code_hash(settings, code),
                    "certificate_number": r.number,
                    "created_by": actor,
                    "created_at": now,
                    "expires_at": expires,
                    "used_at": None,
                }
            )
            detail = {"expires_at": rfc3339(expires), "replaced": old is not None}
            audited.append((r.number, {**detail, "batch": batch_id}))
        made = len(values)
        if values:
            dialect = session.get_bind().dialect.name
            insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(_CODE)
            # one statement for all of them; a person's earlier code is replaced as
            # issue_claim_code replaces it
            update = {c: insert.excluded[c] for c in values[0] if c != "id_number_hash"}
            session.execute(
                insert.on_conflict_do_update(index_elements=["id_number_hash"], set_=update),
                values,
            )
            audit.append_many(
                session,
                actor=actor,
                action="holder.claim_code_issued",
                records=audited,
                at=now,
            )
        audit.append(
            session,
            actor=actor,
            action="holder.batch_codes_made",
            subject=f"batch:{batch_id}",
            detail={"made": made, "kept": kept, "not_valid": not_valid},
            at=now,
        )
    return BatchCodesMade(made, kept, not_valid)


def batch_holders(
    session: Session,
    *,
    batch_id: int,
    office_id: str | None,
    settings: IssuerSettings,
    now: dt.datetime,
) -> list[BatchHolder]:
    """Return batch ``batch_id``'s issued rows in row order, each with its teacher's claim
    code state (and the code when it is live). Reads only; raises NotFound for an
    unknown batch or another office's."""
    digest, uploaded = _batch(session, batch_id, office_id)
    rows = _rows(session, batch_id)
    existing = _codes_of(session, [r.person for r in rows])
    session.rollback()  # a read only: no transaction stays open
    out: list[BatchHolder] = []
    derived: dict[str, str] = {}
    for r in rows:
        stored = existing.get(r.person)
        state: CodeState = "none"
        code: str | None = None
        expires: dt.datetime | None = None
        if r.status != "valid":
            state = "not_valid"
        elif stored is not None:
            mine = derived.get(r.person)
            if mine is None:
                mine = derived[r.person] = _derived_code(settings, batch_id, digest, r.person)
            if stored.code_hash == code_hash(settings, mine):
                expires = as_utc(stored.expires_at)
                if expires > now:
                    state, code = "live", format_code(mine)
                else:
                    state = "expired"
            else:
                # the same rule as make_batch_codes: newer than the upload is kept
                newer = as_utc(stored.created_at) >= uploaded
                state = "replaced" if newer else "none"
        out.append(
            BatchHolder(r.row_number, r.number, r.name, r.status, r.person, state, code, expires)
        )
    return out


def record_codes_shown(
    session: Session,
    *,
    batch_id: int,
    artefact: str,
    holders: Sequence[BatchHolder],
    actor: str,
    now: dt.datetime,
) -> None:
    """Audit that ``artefact`` (a manifest, the letters) showed the live codes among
    ``holders`` to ``actor`` (how many, never which); nothing when it showed none."""
    shown = sum(1 for h in holders if h.state == "live")
    if not shown:
        return
    with write(session):
        audit.append(
            session,
            actor=actor,
            action="holder.batch_codes_shown",
            subject=f"batch:{batch_id}",
            detail={"artefact": artefact, "codes": shown},
            at=now,
        )


def batch_letters_pdf(holders: Sequence[BatchHolder], *, settings: IssuerSettings) -> bytes | None:
    """Return the claim letters of ``holders`` with a live code as one PDF, one A4 page
    per teacher (a teacher with two certificates in the batch gets one page naming
    both), in row order, from this office (``settings.office_name``) with the holder
    pages' address (``settings.holder_page_url``); None when no code is live. Raises
    issuer.pdf.PdfError."""
    letters: dict[str, ClaimLetter] = {}
    for h in holders:
        if h.state != "live" or h.claim_code is None or h.expires_at is None:
            continue
        have = letters.get(h.person)
        if have is not None:
            numbers = (*have.certificate_numbers, h.certificate_number)
            letters[h.person] = ClaimLetter(
                have.name, numbers, have.claim_code, have.expires_on, have.office_name
            )
            continue
        letters[h.person] = ClaimLetter(
            name=h.name,
            certificate_numbers=(h.certificate_number,),
            claim_code=h.claim_code,
            expires_on=beijing_date(h.expires_at),
            office_name=settings.office_name,
        )
    if not letters:
        return None
    return render_claim_letters(
        list(letters.values()),
        holder_url=settings.holder_page_url,
        max_failures=settings.holder_max_failures,
        lockout_minutes=settings.holder_lockout_minutes,
    )
