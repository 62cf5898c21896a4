"""Batch issuance: a certification round's file, validated in full, then issued in chunks.

``open_batch``/``start_batch`` read the file (``issuer.batches.reading.read_batch``), store the
row errors (masked previews only) and create the batch row; the same file again for the
same office (``UNIQUE (office_id, file_sha256)``) finds that row instead of making a new
one. ``run_batch`` issues the valid rows:

- Each chunk is ONE write transaction: the chunk's serials (one ``UPDATE ... RETURNING``
  of ``last_serial + n`` per certification year), its random status indices, both signed
  tokens per row, the certificate rows, a ``batch_item`` per row (``UNIQUE (batch_id,
  row_number)``), one audit record and one ``issued`` event per certificate, and the
  batch's ``issued_rows``. A crash anywhere rolls back the open chunk: nothing lost,
  nothing doubled, no number reused, and the signed tokens of a rolled-back chunk never
  left the process (nothing is printed or sent before the commit).
- On a re-run, rows that already have a ``batch_item`` are skipped; a concurrent second
  runner of the same batch loses on the unique constraint and retries the chunk, which
  then skips what the first runner committed.
- Signing is CPU-bound. With ``workers`` > 1 the tokens are signed in a process pool
  while the parent writes: the parent inserts part k of a chunk while the workers sign
  part k+1, and while chunk N is written the workers already sign chunk N+1, numbered
  and indexed as if nobody else issued meanwhile; N+1's transaction checks that guess
  (same rows, the serials its UPDATE returns, indices still free) and re-signs if it was
  wrong. The workers get the key once, at start: a forked worker inherits the signer
  object; a spawned one (when the caller has other threads, e.g. the HTTP server)
  re-opens it from a :class:`SignerRef` (the key store named by the environment, or an
  encrypted PEM) and checks that it is the parent's key. Keys never travel over a
  network. The workers also make each certificate's audit detail (canonical JSON); the
  parent only numbers, chains the audit records (``audit.chain_hashes``) and writes.
- ``issue_file`` (what ``jiaozi batch issue`` runs) starts the pool while the file is
  still being validated: once ``chunk`` + 1 rows are valid, the first chunk is numbered,
  indexed and signed as a look-ahead, checked the same way by the first transaction, so
  the workers do not idle through validation. Nothing is issued before the whole file is
  validated (the office's first status list, if it has none, is created then).
- On SQLite the WAL is checkpointed by a thread while the batch writes (see
  :class:`_WalCheckpoints`), not inside the batch's commits.

Measured (``python -m bench.batch``, 10,000 rows, SQLite, two shared cores, November
2026, the machine otherwise idle): ~12,000-12,700 certificates/s with two workers
(0.118-0.128 of the raw two-core Ed25519 sign rate, which measured 98,700-102,000/s;
the same runs gave 0.111-0.121 before the credential templates and the tuple rows),
~8,700/s in one process; per certificate ~58-64 us of the parent's CPU (~9 of them
validating the file, on one core, before the workers start; ~8 a thread's WAL
checkpoints) and ~75-77 us of the workers' (~42 of them the two signatures). On another
machine of the same kind (AMD EPYC, raw two-core rate 49,500-60,500/s, Ed25519 slower
against Python), with the head start of ``issue_file``: 0.135-0.158 of that rate; parent
~88-99 us, workers ~127-146 us per certificate (~66 of them the two signatures).

``errors_json`` holds ``{"rows": [{row, column, field, code, message_zh, message_en,
value}], "failure": null | {message, message_zh}}`` (values masked by ``read_batch``).
States: ``validating`` -> ``issuing`` -> ``done``, or ``failed`` with the reason kept in
``errors_json`` (the same file again resumes a failed batch).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import hashlib
import hmac
import json
import math
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing.context import BaseContext
from pathlib import Path
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.pool import SingletonThreadPool, StaticPool

from credential import (
    IdType,
    IndexAllocator,
    KeySigner,
    QualificationType,
    Sex,
    Signer,
    StatusReference,
    beijing_date,
    mask_id,
    sign_certificate,
)
from issuer import issuance as services
from issuer.audit import chain as audit
from issuer.audit import events
from issuer.batches.reading import (
    DEFAULT_MAX_ROWS,
    ApplicantRow,
    BatchFileError,
    FirstRows,
    RowError,
    read_batch,
)
from issuer.db.engine import begin_write
from issuer.db.models import (
    AuditRecord,
    Batch,
    BatchItem,
    Certificate,
    Event,
    EventHead,
    Restriction,
    SerialCounter,
    StatusListRow,
)
from issuer.errors import NotFound
from issuer.fields.application import ValidationFailed
from issuer.issuance import seal_credential
from issuer.settings import IssuerSettings

__all__ = [
    "DEFAULT_CHUNK",
    "DEFAULT_WORKERS",
    "STATES",
    "BatchFailure",
    "OpenedBatch",
    "SignerRef",
    "batch_errors",
    "batch_failure",
    "file_sha256",
    "get_batch",
    "issue_file",
    "open_batch",
    "run_batch",
    "start_batch",
]

# Rows per transaction. Each commit rewrites the pages its rows share (index pages, the
# head rows), so larger chunks cost the parent less per row: 10,000 rows on two cores
# measured ~8,700-9,050/s at 500, ~9,200-9,700/s at 1,000, no better at 2,000.
DEFAULT_CHUNK = 1000
DEFAULT_WORKERS = 2
VALIDATING, ISSUING, DONE, FAILED = "validating", "issuing", "done", "failed"
STATES = (VALIDATING, ISSUING, DONE, FAILED)
_CHUNK_RETRIES = 5  # a chunk lost to a concurrent writer (status index, batch item) re-runs
_SPAWN_MIN_ROWS = 2000  # fewer rows sign faster here than spawned workers start
# Parts a chunk is cut into per worker (the parent inserts one while the next is signed);
# with the next chunk signed ahead, fewer and larger parts measured faster (2: ~4,650/s,
# 4: ~4,450/s, 8: ~4,000/s for 10,000 rows on two cores).
_PARTS_PER_WORKER = 2
# Workers yield to the parent, whose writing is the pipeline's critical path (+4 %).
_WORKER_NICE = 5
# issue_file: a first chunk signed while the file validated is used only if it was signed
# at most this long before issuing starts (a 10,000-row CSV validates in ~0.15 s).
_HEAD_MAX_AGE = dt.timedelta(seconds=5)

_BATCH: sa.Table = Batch.__table__  # type: ignore[attr-defined]
_ITEM: sa.Table = BatchItem.__table__  # type: ignore[attr-defined]
_CERT: sa.Table = Certificate.__table__  # type: ignore[attr-defined]
_AUDIT: sa.Table = AuditRecord.__table__  # type: ignore[attr-defined]
_AUDIT_HEAD: sa.Table = audit.AuditHead.__table__  # type: ignore[attr-defined]
_EVENT: sa.Table = Event.__table__  # type: ignore[attr-defined]
_EVENT_HEAD: sa.Table = EventHead.__table__  # type: ignore[attr-defined]


def file_sha256(data: bytes) -> str:
    """Return the hex SHA-256 naming a batch file (the same bytes resume the same batch)."""
    return hashlib.sha256(data).hexdigest()


# --- errors as stored ----------------------------------------------------------------------


def _error_json(e: RowError) -> dict[str, Any]:
    return {
        "row": e.row_number,
        "column": e.column,
        "field": e.field,
        "code": e.code,
        "message_zh": e.message_zh,
        "message_en": e.message_en,
        "value": e.value_preview,  # masked by read_batch: never a whole identity number
    }


@dataclass(frozen=True, slots=True)
class BatchFailure:
    """Why a batch stopped (kept until a re-run succeeds)."""

    message: str
    message_zh: str


def _stored(batch: Batch) -> dict[str, Any]:
    try:
        value = json.loads(batch.errors_json or "[]")
    except ValueError:
        return {"rows": [], "failure": None}
    if isinstance(value, list):  # the column's default
        return {"rows": value, "failure": None}
    return value if isinstance(value, dict) else {"rows": [], "failure": None}


def batch_errors(batch: Batch) -> list[RowError]:
    """Return the row errors stored with ``batch`` (for ``write_error_report``)."""
    out: list[RowError] = []
    for e in _stored(batch).get("rows") or []:
        out.append(
            RowError(
                row_number=int(e["row"]),
                column=str(e["column"]),
                field=str(e["field"]),
                code=str(e["code"]),
                message_zh=str(e["message_zh"]),
                message_en=str(e["message_en"]),
                value_preview=str(e["value"]),
            )
        )
    return out


def batch_failure(batch: Batch) -> BatchFailure | None:
    """Return why ``batch`` failed, or None."""
    f = _stored(batch).get("failure")
    if not isinstance(f, dict):
        return None
    return BatchFailure(str(f.get("message", "")), str(f.get("message_zh", "")))


def _errors_json(rows: Sequence[RowError], failure: BatchFailure | None = None) -> str:
    body: dict[str, Any] = {"rows": [_error_json(e) for e in rows], "failure": None}
    if failure is not None:
        body["failure"] = {"message": failure.message, "message_zh": failure.message_zh}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


# --- opening a batch -------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenedBatch:
    """A batch row and the valid rows of its file (empty when the batch is done)."""

    batch: Batch
    rows: tuple[ApplicantRow, ...]
    resumed: bool


def _find(session: Session, office_id: str, digest: str) -> Batch | None:
    return session.execute(
        sa.select(Batch).where(_BATCH.c.office_id == office_id, _BATCH.c.file_sha256 == digest)
    ).scalar_one_or_none()


def get_batch(session: Session, *, batch_id: int, settings: IssuerSettings) -> Batch:
    """Return batch ``batch_id`` of this office, as now stored and detached from
    ``session`` (its values stay readable after the session ends); raises NotFound."""
    batch = session.execute(
        sa.select(Batch).where(_BATCH.c.id == batch_id).execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if batch is not None:
        session.expunge(batch)
    if batch is None or batch.office_id != settings.office_id:
        raise NotFound(
            "No such batch", "批次不存在", f"No batch {batch_id}.", f"没有批次{batch_id}。"
        )
    return batch


def _scope_errors(
    rows: Sequence[ApplicantRow], settings: IssuerSettings, column: str
) -> tuple[list[ApplicantRow], list[RowError]]:
    """Split off rows of qualification types outside the office's scope (as row errors)."""
    scope = settings.qualification_scope
    keep: list[ApplicantRow] = []
    errors: list[RowError] = []
    for row in rows:
        if row.qualification_type in scope:
            keep.append(row)
            continue
        try:
            services.check_scope(row, settings=settings)  # type: ignore[arg-type]
            keep.append(row)  # pragma: no cover - the scope said otherwise
        except ValidationFailed as exc:
            fe = exc.errors[0]
            errors.append(
                RowError(
                    row.row_number,
                    column,
                    "qualification_type",
                    fe.code,
                    fe.message_zh,
                    fe.message,
                    row.qualification_type.slug,
                )
            )
    return keep, errors


def _barred_errors(
    session: Session, rows: Sequence[ApplicantRow], settings: IssuerSettings, column: str
) -> tuple[list[ApplicantRow], list[RowError]]:
    """Split off rows whose person the restricted list bars (as row errors)."""
    r = Restriction.__table__.c  # type: ignore[attr-defined]
    if session.execute(sa.select(r.id).where(r.removed_at.is_(None)).limit(1)).first() is None:
        # Nobody is on the list: no person reference (an HMAC over the identity number
        # validated once more, ~6 us a row) needs computing to know that none is barred.
        session.rollback()
        return list(rows), []
    refs = {
        row.row_number: services.person_ref(settings, row.id_type, row.id_number) for row in rows
    }
    barred = services.barred_refs(
        session, refs.values(), on=min((r.certified_on for r in rows), default=dt.date.max)
    )
    session.rollback()  # a read only: no transaction stays open
    keep: list[ApplicantRow] = []
    errors: list[RowError] = []
    for row in rows:
        entry = barred.get(refs[row.row_number])
        # a revoked bar runs to its date counted from the certification date of the row
        if entry is None or (
            entry.category != "lost" and entry.bar_until and entry.bar_until <= row.certified_on
        ):
            keep.append(row)
            continue
        fe = services.barred_error(entry)
        errors.append(
            RowError(
                row.row_number,
                column,
                "id_number",
                fe.code,
                fe.message_zh,
                fe.message,
                mask_id(row.id_number),
            )
        )
    return keep, errors


@contextlib.contextmanager
def _gc_frozen() -> Iterator[None]:
    """Keep the cyclic garbage collector off every object that exists now, until the end.

    A batch holds its file's rows (tens of thousands of objects) for minutes, and each
    full collection walked them and the rest of the process again: ~40 ms a time, 1-3
    times in a 10,000-row batch, in the middle of reading or of a chunk. ``gc.freeze``
    only sets them aside (nothing is freed or lost; ``gc.unfreeze`` gives them back, and
    garbage among them is collected later as usual).
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def open_batch(
    session: Session,
    *,
    data: bytes,
    filename: str,
    settings: IssuerSettings,
    actor: str,
    now: dt.datetime,
    max_rows: int = DEFAULT_MAX_ROWS,
    first_rows: FirstRows | None = None,
) -> OpenedBatch:
    """Validate the file and return its batch (created, or found for the same file).

    Every row is validated before anything is issued; row errors are stored (masked).
    ``first_rows`` goes to ``read_batch`` as ``on_first_rows`` when this call creates the
    batch (a resumed one has issued rows already). Raises BatchFileError (nothing stored)
    when the file as a whole is unusable.
    """
    digest = file_sha256(data)
    office = settings.office_id
    batch = _find(session, office, digest)
    created = False
    session.rollback()  # end the read: a write transaction must begin with BEGIN IMMEDIATE
    if batch is None:
        begin_write(session)
        batch = Batch(
            office_id=office,
            filename=(filename or "batch")[:300],
            file_sha256=digest,
            state=VALIDATING,
            created_by=actor,
            created_at=now,
        )
        session.add(batch)
        try:
            session.commit()
            created = True
        except IntegrityError:  # the same file, posted concurrently: that batch it is
            session.rollback()
            batch = _find(session, office, digest)
            assert batch is not None
    batch_id, state = batch.id, batch.state
    assert batch_id is not None
    session.rollback()  # no transaction stays open while the file is read
    if state == DONE:
        return OpenedBatch(get_batch(session, batch_id=batch_id, settings=settings), (), True)
    try:
        with _gc_frozen():
            parsed = read_batch(
                data,
                filename=filename,
                max_rows=max_rows,
                today=beijing_date(now),
                on_first_rows=first_rows if created else None,
            )
    except BatchFileError:
        if created:  # the file is refused as a whole: leave no trace of it
            begin_write(session)
            session.execute(
                sa.delete(_BATCH).where(_BATCH.c.id == batch_id, _BATCH.c.state == VALIDATING)
            )
            session.commit()
        raise
    column = "资格种类" if parsed.header_language == "zh" else "qualification_type"
    rows, scope_errors = _scope_errors(parsed.rows, settings, column)
    id_column = "证件号码" if parsed.header_language == "zh" else "id_number"
    rows, barred_errors = _barred_errors(session, rows, settings, id_column)
    errors = sorted([*parsed.errors, *scope_errors, *barred_errors], key=lambda e: e.row_number)
    if state == VALIDATING:
        begin_write(session)
        session.execute(
            sa.update(_BATCH)
            .where(_BATCH.c.id == batch_id, _BATCH.c.state == VALIDATING)
            .values(
                total_rows=parsed.total_rows,
                valid_rows=len(rows),
                error_rows=len({e.row_number for e in errors}),
                errors_json=_errors_json(errors),
                state=ISSUING if rows else DONE,
                finished_at=None if rows else now,
            )
        )
        session.commit()
    elif state == FAILED and rows:  # the same file again: that is how a failed run resumes
        begin_write(session)
        session.execute(
            sa.update(_BATCH)
            .where(_BATCH.c.id == batch_id, _BATCH.c.state == FAILED)
            .values(state=ISSUING, finished_at=None, errors_json=_errors_json(errors))
        )
        session.commit()
    batch = get_batch(session, batch_id=batch_id, settings=settings)
    return OpenedBatch(batch, tuple(rows), resumed=not created)


def start_batch(
    session: Session,
    *,
    data: bytes,
    filename: str,
    settings: IssuerSettings,
    actor: str,
    now: dt.datetime,
    max_rows: int = DEFAULT_MAX_ROWS,
) -> Batch:
    """Return the batch of ``data`` (see :func:`open_batch`; the rows are not kept)."""
    return open_batch(
        session,
        data=data,
        filename=filename,
        settings=settings,
        actor=actor,
        now=now,
        max_rows=max_rows,
    ).batch


# --- signing, in this process or in a pool -------------------------------------------------


@dataclass(frozen=True)
class SignerRef:
    """A picklable way for a spawned worker to open the parent's signing key itself.

    ``home``/``owner``: the key store at ``home`` (passphrase from the worker's inherited
    ``JIAOZI_KEY_PASSPHRASE``), ``owner``'s active key. Or ``pem``/``password``: an
    encrypted PKCS#8 PEM (tests, benchmarks). Either way the worker checks that the key it
    opened is ``kid`` with public JWK ``public_jwk``.
    """

    kid: str
    public_jwk: tuple[tuple[str, Any], ...]
    home: str | None = None
    owner: str | None = None
    pem: bytes | None = None
    password: bytes | None = None

    @classmethod
    def for_key_store(cls, signer: KeySigner, *, home: Path, owner: str) -> SignerRef:
        return cls(
            signer.kid,
            tuple(sorted(signer.public_key().to_jwk().items())),
            home=str(home),
            owner=owner,
        )

    @classmethod
    def for_pem(cls, signer: KeySigner, *, pem: bytes, password: bytes | None) -> SignerRef:
        return cls(
            signer.kid,
            tuple(sorted(signer.public_key().to_jwk().items())),
            pem=pem,
            password=password,
        )

    def check_matches(self, signer: Signer) -> None:
        """Raise RuntimeError unless this reference names ``signer``'s own key."""
        public = getattr(signer, "public_key", None)
        jwk = tuple(sorted(public().to_jwk().items())) if callable(public) else None
        if signer.kid != self.kid or jwk != self.public_jwk:
            raise RuntimeError(f"the signer reference is not key {signer.kid} of this process")

    def open(self, *, now: int) -> KeySigner:
        """Return the signer; raises RuntimeError unless it is the parent's key."""
        if self.pem is not None:
            from keys import signer_from_pem

            signer = signer_from_pem(self.pem, password=self.password, kid=self.kid)
        else:
            from keys import KeyStore, passphrase_from_env

            assert self.home is not None and self.owner is not None
            store = KeyStore(Path(self.home), passphrase_from_env())
            signer = store.active_signer(self.owner, now=now)
        if signer.kid != self.kid or tuple(sorted(signer.public_key().to_jwk().items())) != (
            self.public_jwk
        ):
            raise RuntimeError(f"the worker opened key {signer.kid}, not {self.kid}")
        return signer


class _Job(NamedTuple):  # (a tuple: made ten thousand times a batch, cheaply)
    row: ApplicantRow
    serial: int
    list_id: int
    list_uri: str
    idx: int

    def wire(self) -> tuple[Any, ...]:
        """Return the job as plain values: cheap to pickle for a worker."""
        r = self.row
        return (
            r.row_number,
            r.request_id,
            r.name,
            _SEX_VALUE[r.sex],
            r.birth_date,
            _ID_TYPE_VALUE[r.id_type],
            r.id_number,
            _QUALIFICATION_CODE[r.qualification_type],
            r.subject,
            r.certified_on,
            r.ethnicity,
            self.serial,
            self.list_id,
            self.list_uri,
            self.idx,
        )


# The certificate columns a signed row fills, in the order _unpack puts them.
_COLUMNS = (
    "certificate_number",
    "version",
    "office_id",
    "year",
    "serial",
    "qualification_type",
    "name",
    "sex",
    "birth_date",
    "ethnicity",
    "id_type",
    "id_number_hash",
    "id_number_masked",
    "subject",
    "certified_on",
    "elicence_id",
    "status_list_id",
    "status_idx",
    "credential_jws",
    "qr_token",
    "status",
    "created_at",
    "kid",
    "layout_version",
)
# What a signed row becomes: its column values, the canonical JSON of its audit record's
# detail (with the SHA-256 of both tokens) and its row number.
_Signed = tuple[tuple[Any, ...], str, int]
# A worker answers a part with one text: per job, in order, the _SIGNED_FIELDS values only
# it works out, joined by NUL (pickling one string costs a tenth of a tuple of 24 values
# per row); the parent puts the columns together from its own jobs (``_unpack``). No
# field holds a NUL (digits, hex, base64url, masked numbers, canonical JSON, which
# escapes control characters), and ``_unpack`` refuses an answer of the wrong length.
_SEP = "\x00"
_SIGNED_FIELDS = 7  # number, id hash, masked id, e-licence id, sealed JWS, QR, detail

# A worker's key and settings, set once by the pool's initializer.
_worker: dict[str, Any] = {}


def _exit_with_parent(parent: int) -> None:
    """End this worker when its parent is gone (killed parents do not shut pools down)."""
    while os.getppid() == parent:
        time.sleep(0.2)
    os._exit(1)


def _init_worker(signer: Signer | None, ref: SignerRef | None, settings: IssuerSettings) -> None:
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    with contextlib.suppress(OSError, AttributeError):  # not everywhere, not always allowed
        os.nice(_WORKER_NICE)
    if signer is None:
        assert ref is not None
        signer = ref.open(now=int(dt.datetime.now(dt.UTC).timestamp()))
    _worker["signer"], _worker["settings"] = signer, settings


def _sign_in_worker(jobs: list[tuple[Any, ...]], now: dt.datetime) -> str:
    return _sign_wire(jobs, signer=_worker["signer"], settings=_worker["settings"], now=now)


class _WorkerRow(NamedTuple):
    """A job's application as ``services.certificate_facts`` reads it (an Applicant):
    the row's values, validated by ``read_batch`` (a tuple: cheaper than an ApplicantRow)."""

    name: str
    sex: Sex
    birth_date: dt.date
    id_type: IdType
    id_number: str
    qualification_type: QualificationType
    subject: str
    certified_on: dt.date
    ethnicity: str | None


# The enum members of the values ``_Job.wire`` sends (a lookup costs a tenth of a call).
_SEXES = {m.value: m for m in Sex}
_ID_TYPES = {m.value: m for m in IdType}
_QUALIFICATIONS = {int(m): m for m in QualificationType}


def _sign_wire(
    jobs: Sequence[tuple[Any, ...]], *, signer: Signer, settings: IssuerSettings, now: dt.datetime
) -> str:
    """Return each job (``_Job.wire``) numbered, signed (both tokens) and sealed, as the
    text ``_unpack`` reads (see ``_SEP``)."""
    issued_at = int(now.timestamp())
    office, kid = settings.office_id, signer.kid
    id_key = settings.id_hmac_key.get_secret_value().encode("utf-8")
    out: list[str] = []
    for (
        row_number,
        _request_id,
        name,
        sex,
        birth_date,
        id_type,
        id_number,
        qt,
        subject,
        certified_on,
        ethnicity,
        serial,
        _list_id,
        list_uri,
        idx,
    ) in jobs:
        app = _WorkerRow(
            name,
            _SEXES[sex],
            birth_date,
            _ID_TYPES[id_type],
            id_number,
            _QUALIFICATIONS[qt],
            subject,
            certified_on,
            ethnicity,
        )
        facts = services.certificate_facts(app, settings=settings, serial=serial)
        number = facts.certificate_number
        tokens = sign_certificate(
            facts,
            signer=signer,
            issuer=office,
            issued_at=issued_at,
            status=StatusReference(idx, list_uri),
        )
        out += (
            number,
            # A valid row's number is normalised already (normalise_id would return it
            # as it is): services.id_hash without validating it a second time.
            hmac.digest(id_key, f"{id_type}:{id_number}".encode(), "sha256").hex(),
            mask_id(id_number),
            facts.elicence_id,
            seal_credential(settings, tokens.credential, certificate_number=number),
            tokens.qr_token,
            _detail_json(
                number=number,
                elicence_id=facts.elicence_id,
                status_list=list_uri,
                status_idx=idx,
                kid=kid,
                credential_sha256=tokens.credential_sha256.hex(),
                qr_sha256=hashlib.sha256(tokens.qr_token.encode("ascii")).hexdigest(),
                batch_row=row_number,
            ),
        )
    return _SEP.join(out)


# The column values of the enum members a row holds (Enum.value is a slow property).
_SEX_VALUE = {m: m.value for m in Sex}
_ID_TYPE_VALUE = {m: m.value for m in IdType}
_QUALIFICATION_CODE = {m: int(m) for m in QualificationType}


def _unpack(
    text: str, jobs: Sequence[_Job], *, now: dt.datetime, kid: str, office: str
) -> list[_Signed]:
    """Return the signed rows of ``jobs`` from a worker's answer (``_sign_wire``): the
    certificate columns (``_COLUMNS``), the audit detail and the row number."""
    fields = text.split(_SEP)
    if len(fields) != _SIGNED_FIELDS * len(jobs):
        raise RuntimeError("a signing worker's answer does not match its jobs")
    out: list[_Signed] = []
    for k, j in enumerate(jobs):
        number, id_hash, masked, eid, sealed, qr, detail = fields[7 * k : 7 * k + 7]
        r = j.row
        values = (
            number,
            1,
            office,
            r.certified_on.year,
            j.serial,
            _QUALIFICATION_CODE[r.qualification_type],
            r.name,
            _SEX_VALUE[r.sex],
            r.birth_date,
            r.ethnicity,
            _ID_TYPE_VALUE[r.id_type],
            id_hash,
            masked,
            r.subject,
            r.certified_on,
            eid,
            j.list_id,
            j.idx,
            sealed,
            qr,
            "valid",
            now,
            kid,
            "v1",
        )
        out.append((values, detail, r.row_number))
    return out


_json_str = json.encoder.encode_basestring


def _detail_json(
    *,
    number: str,
    elicence_id: str,
    status_list: str,
    status_idx: int,
    kid: str,
    credential_sha256: str,
    qr_sha256: str,
    batch_row: int,
) -> str:
    """Return ``canonical_json`` of an issued certificate's audit detail as text: the same
    keys in their sorted order, strings quoted as canonical_json quotes them (the test
    holds the two equal), without walking a dict."""
    if type(status_idx) is not int or type(batch_row) is not int:
        raise TypeError("status_idx and batch_row must be int")
    return (
        f'{{"batch_row":{batch_row},"certificate_number":{_json_str(number)},'
        f'"credential_sha256":{_json_str(credential_sha256)},'
        f'"elicence_id":{_json_str(elicence_id)},"kid":{_json_str(kid)},'
        f'"qr_sha256":{_json_str(qr_sha256)},"status_idx":{status_idx},'
        f'"status_list":{_json_str(status_list)},"version":1}}'
    )


class _Signing:
    """Signs chunks' jobs in this process (``workers`` <= 1) or in a process pool."""

    def __init__(
        self,
        *,
        signer: Signer,
        settings: IssuerSettings,
        workers: int,
        ref: SignerRef | None,
        start_method: str | None = None,
        rows: int = 0,
    ) -> None:
        self.signer, self.settings, self.workers = signer, settings, max(1, workers)
        self.pool: ProcessPoolExecutor | None = None
        if self.workers > 1:
            # fork shares the loaded key without pickling it; only a single-threaded
            # parent may fork safely, others spawn and re-open the key from ``ref``.
            ctx: BaseContext
            if start_method is None:
                single = threading.active_count() == 1
                fork = single and "fork" in multiprocessing.get_all_start_methods()
                start_method = "fork" if fork else "spawn"
                if not fork and rows < _SPAWN_MIN_ROWS:
                    self.workers = 1  # starting interpreters costs more than it saves
                    return
            if start_method == "fork":
                ctx = multiprocessing.get_context("fork")
                args: tuple[Any, ...] = (signer, None, settings)
            elif ref is not None:
                ref.check_matches(signer)
                ctx = multiprocessing.get_context(start_method)
                args = (None, ref, settings)
            else:
                self.workers = 1
                return
            self.pool = ProcessPoolExecutor(
                max_workers=self.workers, mp_context=ctx, initializer=_init_worker, initargs=args
            )

    def submit(self, jobs: Sequence[_Job], now: dt.datetime) -> _Pending:
        """Start signing ``jobs`` (in the pool: right now; here: as results are read)."""
        if self.pool is None:
            size = max(1, math.ceil(len(jobs) / _PARTS_PER_WORKER))
            return _Pending(self, jobs, now, size, [])
        size = max(1, math.ceil(len(jobs) / (self.workers * _PARTS_PER_WORKER)))
        futures = [
            self.pool.submit(_sign_in_worker, [j.wire() for j in jobs[i : i + size]], now)
            for i in range(0, len(jobs), size)
        ]
        return _Pending(self, jobs, now, size, futures)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None


@dataclass
class _Pending:
    """Jobs being signed; ``results`` yields their signed parts in order."""

    signing: _Signing
    jobs: Sequence[_Job]
    now: dt.datetime
    size: int
    futures: list[Future[str]]

    def results(self) -> Iterator[list[_Signed]]:
        s = self.signing
        kid, office = s.signer.kid, s.settings.office_id
        for k, i in enumerate(range(0, len(self.jobs), self.size)):
            jobs = self.jobs[i : i + self.size]
            if self.futures:
                text = self.futures[k].result()
            else:
                wire = [j.wire() for j in jobs]
                text = _sign_wire(wire, signer=s.signer, settings=s.settings, now=self.now)
            yield _unpack(text, jobs, now=self.now, kid=kid, office=office)

    def cancel(self) -> None:
        for f in self.futures:
            f.cancel()


@dataclass
class _Ahead:
    """The next chunk, numbered and indexed on the assumption that nobody else issues
    meanwhile, already being signed while this chunk is written. Its transaction checks
    the assumption (same rows, the serials it allocates, indices still free) and re-signs
    if it failed; discarded signatures never left this process."""

    row_numbers: tuple[int, ...]
    first_serial: dict[int, int]
    pending: _Pending


# --- writing a chunk -----------------------------------------------------------------------


class _Indices:
    """Random unused status indices, per list, kept across chunks.

    The used indices of a list are read once; later chunks read only certificates added
    since (by id) and rebuild the allocator only if another writer took some. One that
    slips past this (PostgreSQL, or a redrawn index) makes the insert fail on the (list,
    index) unique constraint, and the chunk re-runs after ``reset``.
    """

    def __init__(self, settings: IssuerSettings) -> None:
        self.settings = settings
        self.reset()

    def reset(self) -> None:
        self.list_id: int | None = None
        self.list_uri = ""
        self.alloc: IndexAllocator | None = None
        self.used: set[int] = set()
        self.seen_id = 0

    def _load(self, session: Session, lst: StatusListRow) -> IndexAllocator:
        if self.list_id != lst.id:
            self.reset()
            self.list_id, self.list_uri = lst.id, lst.uri
        c = _CERT.c
        rows = session.execute(
            sa.select(c.id, c.status_idx).where(c.status_list_id == lst.id, c.id > self.seen_id)
        ).all()
        if rows:
            self.seen_id = max(r.id for r in rows)
            new = {r.status_idx for r in rows} - self.used
            if new:
                self.used |= new
                self.alloc = None
        if self.alloc is None:
            self.alloc = IndexAllocator(lst.size, self.used)
        return self.alloc

    def draw_ahead(self, n: int) -> list[tuple[int, str, int]] | None:
        """Return ``n`` (list id, uri, index) of the current list without asking the
        database (checked in the next transaction), or None if it has not room."""
        if self.alloc is None or self.list_id is None or self.alloc.remaining < n:
            return None
        picks = self.alloc.allocate_many(n)
        self.used.update(picks)
        return [(self.list_id, self.list_uri, i) for i in picks]

    def still_free(self, session: Session, jobs: Sequence[_Job]) -> bool:
        """Return True if no certificate holds any of ``jobs``' (list, index) entries."""
        by_list: dict[int, list[int]] = {}
        for j in jobs:
            by_list.setdefault(j.list_id, []).append(j.idx)
        conn = session.connection()
        dialect = conn.dialect
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        quote = dialect.identifier_preparer.quote
        for list_id, idxs in by_list.items():
            # A plain SELECT (the ORM-built IN of a chunk's indices cost ~1 ms to compile
            # and expand); only placeholders are put into the text, the values are bound.
            sql = (
                f"SELECT 1 FROM {quote(_CERT.name)} WHERE {quote('status_list_id')} = {mark}"  # noqa: S608
                f" AND {quote('status_idx')} IN ({', '.join([mark] * len(idxs))}) LIMIT 1"
            )
            result = conn.exec_driver_sql(sql, (list_id, *idxs))
            try:
                if result.cursor.fetchone() is not None:
                    return False
            finally:
                result.close()
        return True

    def draw(self, session: Session, n: int, now: dt.datetime) -> list[tuple[StatusListRow, int]]:
        """Return ``n`` (list, index) pairs, moving to a new list when one fills."""
        out: list[tuple[StatusListRow, int]] = []
        lst = services.current_status_list(session, settings=self.settings, now=now)
        while True:
            alloc = self._load(session, lst)
            picks = alloc.allocate_many(min(n - len(out), alloc.remaining))
            self.used.update(picks)
            out.extend((lst, i) for i in picks)
            if len(out) == n:
                return out
            nxt = services.new_status_list(
                session, settings=self.settings, ordinal=lst.ordinal + 1, now=now
            )
            lst = nxt or services.current_status_list(session, settings=self.settings, now=now)


_AUDIT_COLUMNS = ("id", "at", "actor", "action", "subject", "detail_json", "prev_hash", "hash")


def _ids_of(session: Session, numbers: Sequence[str]) -> dict[str, int]:
    """Return the ids of the certificates numbered ``numbers`` (one plain SELECT)."""
    conn = session.connection()
    dialect = conn.dialect
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    # Only placeholders are put into the text; the numbers are bound.
    sql = (
        f"SELECT certificate_number, id FROM {dialect.identifier_preparer.quote(_CERT.name)}"  # noqa: S608
        f" WHERE certificate_number IN ({', '.join([mark] * len(numbers))})"
    )
    result = conn.exec_driver_sql(sql, tuple(numbers))
    try:  # fetched at once from the DBAPI cursor: no Row object and fetch call per row
        return dict(result.cursor.fetchall())
    finally:
        result.close()


def _insert_rows(
    session: Session, table: sa.Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """INSERT ``rows`` (tuples in ``columns`` order) with one DBAPI ``executemany``.

    The columns' own bind processors convert the values (dates and times on SQLite), as
    ``session.execute(insert(table), dicts)`` would, without building a dict and a
    parameter set per row: that costs more than the insert itself at batch sizes.
    """
    conn = session.connection()
    dialect = conn.dialect
    procs: list[tuple[int, Callable[[Any], Any]]] = [
        (i, bp) for i, c in enumerate(columns) if (bp := table.c[c].type.bind_processor(dialect))
    ]
    procs.extend(_dbapi_adapters(dialect, table, columns, {i for i, _ in procs}))
    if procs:
        fixed = []
        for row in rows:
            values = list(row)
            for i, p in procs:
                if values[i] is not None:
                    values[i] = p(values[i])
            fixed.append(tuple(values))
        rows = fixed
    quote = dialect.identifier_preparer.quote
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    names, marks = ", ".join(quote(c) for c in columns), ", ".join([mark] * len(columns))
    # Table and column names come from our own metadata; every value is bound.
    sql = f"INSERT INTO {quote(table.name)} ({names}) VALUES ({marks})"  # noqa: S608
    conn.exec_driver_sql(sql, list(rows))


def _dbapi_adapters(
    dialect: sa.Dialect, table: sa.Table, columns: Sequence[str], skip: set[int]
) -> list[tuple[int, Callable[[Any], Any]]]:
    """Return (position, convert) for the date and time columns the DBAPI itself converts
    (sqlite3 turns a date or datetime into text with its registered adapter): the same
    adapter, called once per distinct value (a chunk's rows share their times and many
    of their dates) rather than once per row."""
    dbapi = getattr(dialect, "dbapi", None)
    adapters = getattr(dbapi, "adapters", None)
    protocol = getattr(dbapi, "PrepareProtocol", None)
    if dialect.name != "sqlite" or not isinstance(adapters, dict) or protocol is None:
        return []
    out: list[tuple[int, Callable[[Any], Any]]] = []
    for i, c in enumerate(columns):
        if i not in skip and isinstance(table.c[c].type, sa.Date | sa.DateTime):
            out.append((i, _memo_adapter(adapters, protocol)))
    return out


def _memo_adapter(adapters: dict[Any, Any], protocol: Any) -> Callable[[Any], Any]:
    # Keyed by the object itself (its id): one _insert_rows call's rows hold every value
    # converted, so no id is reused meanwhile, and a chunk's rows share the same time
    # object and the date objects read_batch's parsers cached. (Not by equality: aware
    # datetimes at one instant are equal whatever their offset, their text is not.)
    memo: dict[int, Any] = {}

    def convert(value: Any) -> Any:
        got = memo.get(id(value))
        if got is None:
            adapt = adapters.get((type(value), protocol))
            got = memo[id(value)] = value if adapt is None else adapt(value)
        return got

    return convert


class _Chains:
    """The audit chain and the event sequence of one chunk's transaction.

    The chunk's ``n`` records and events are numbered from each head row advanced once, at
    the first part (after its certificate rows: the lock order of ``audit.append`` and
    ``events.append_event``, audit head first), and the audit head's hash is set once, at
    the end; between parts the chain runs on here. Together as ``audit.append`` and
    ``events.append_event`` would write them one by one."""

    def __init__(self, n: int, *, actor: str, at: dt.datetime, office_id: str) -> None:
        self.n, self.actor, self.office_id = n, actor, office_id
        self.at = at.astimezone(dt.UTC)
        self.audit_seq = 0  # the next record's number (0: the head not advanced yet)
        self.prev = ""
        self.event_seq = 0
        self.count = 0

    def append(self, session: Session, records: Sequence[tuple[str, str]]) -> None:
        """Append a ``certificate.issued`` record and an ``issued`` event per (certificate
        number, canonical detail JSON), the chain hashed with ``audit.chain_hashes`` (the
        function behind ``audit.record_hash``)."""
        if not records:
            return
        self.count += len(records)
        if self.count > self.n:
            raise RuntimeError(f"more than the {self.n} certificates reserved for")
        if not self.audit_seq:
            last, self.prev = session.execute(
                sa.update(_AUDIT_HEAD)
                .where(_AUDIT_HEAD.c.id == 1)
                .values(seq=_AUDIT_HEAD.c.seq + self.n)
                .returning(_AUDIT_HEAD.c.seq, _AUDIT_HEAD.c.hash)
            ).one()
            self.audit_seq = last - self.n + 1
        action = "certificate.issued"
        chained = audit.chain_hashes(
            first_seq=self.audit_seq,
            at=self.at,
            actor=self.actor,
            action=action,
            records=records,
            prev_hash=self.prev,
        )
        self.audit_seq, self.prev = chained[-1][0] + 1, chained[-1][2]
        _insert_rows(
            session,
            _AUDIT,
            _AUDIT_COLUMNS,
            [
                (seq, self.at, self.actor, action, subject, detail_json, prev_hash, digest)
                for (subject, detail_json), (seq, prev_hash, digest) in zip(
                    records, chained, strict=True
                )
            ],
        )
        if not self.event_seq:
            last = session.execute(
                sa.update(_EVENT_HEAD)
                .where(_EVENT_HEAD.c.name == events.EVENT_HEAD)
                .values(seq=_EVENT_HEAD.c.seq + self.n)
                .returning(_EVENT_HEAD.c.seq)
            ).scalar_one_or_none()
            if last is None:
                raise RuntimeError(f"event_head row {events.EVENT_HEAD!r} is missing")
            self.event_seq = last - self.n + 1
        first, self.event_seq = self.event_seq, self.event_seq + len(records)
        _insert_rows(
            session,
            _EVENT,
            ("seq", "at", "type", "office_id", "certificate_number", "version", "data_json"),
            [
                (seq, self.at, "issued", self.office_id, number, 1, "{}")
                for seq, (number, _) in enumerate(records, start=first)
            ],
        )

    def close(self, session: Session) -> None:
        """Set the audit head's hash to the chain's last (all ``n`` must be appended)."""
        if self.count != self.n:  # a gap in either sequence would break its readers
            raise RuntimeError(f"{self.count} certificates written, {self.n} reserved")
        if self.audit_seq:
            session.execute(
                sa.update(_AUDIT_HEAD).where(_AUDIT_HEAD.c.id == 1).values(hash=self.prev)
            )


@dataclass
class _Timing:
    """Where a run's wall time went (the benchmark reports the split)."""

    sign_wait: float = 0.0  # the parent waiting for signatures (all of it without a pool)
    database: float = 0.0  # allocating, inserting, committing
    chunks: int = 0
    ahead_used: int = 0  # chunks whose look-ahead signatures were used
    ahead_missed: int = 0  # look-aheads discarded (another writer moved first)


def _write_chunk(
    bind: Engine | sa.Connection,
    *,
    batch_id: int,
    rows: Sequence[ApplicantRow],
    signing: _Signing,
    indices: _Indices,
    settings: IssuerSettings,
    actor: str,
    now: dt.datetime,
    timing: _Timing,
    ahead: _Ahead | None = None,
    next_rows: Sequence[ApplicantRow] = (),
    now_fn: Callable[[], dt.datetime] | None = None,
) -> tuple[int, _Ahead | None]:
    """Issue ``rows`` (those without a batch item yet) in one transaction; return how many
    and the next chunk's look-ahead (signing ``next_rows`` while this one is written)."""
    t0 = time.perf_counter()
    with Session(bind) as session:
        begin_write(session)
        numbers = [r.row_number for r in rows]
        have = set(
            session.execute(
                sa.select(_ITEM.c.row_number).where(
                    _ITEM.c.batch_id == batch_id,
                    _ITEM.c.row_number.between(min(numbers), max(numbers)),
                )
            ).scalars()
        )
        todo = [r for r in rows if r.row_number not in have]
        if not todo:
            session.rollback()
            if ahead is not None:
                ahead.pending.cancel()
            return 0, None
        # Serials: one UPDATE ... RETURNING per certification year in the chunk.
        serial_of: dict[int, int] = {}
        first_of: dict[int, int] = {}
        last_of: dict[int, int] = {}
        for year, members in _by_year(todo).items():
            first = services.allocate_serial(
                session, office_id=settings.office_id, year=year, count=len(members)
            )
            first_of[year], last_of[year] = first, first + len(members) - 1
            for k, r in enumerate(members):
                serial_of[r.row_number] = first + k
        pending: _Pending
        if (
            ahead is not None
            and ahead.row_numbers == tuple(r.row_number for r in todo)
            and ahead.first_serial == first_of
            and indices.still_free(session, ahead.pending.jobs)
        ):
            pending, now = ahead.pending, ahead.pending.now
            jobs = list(pending.jobs)
            timing.ahead_used += 1
        else:
            if ahead is not None:
                ahead.pending.cancel()
                timing.ahead_missed += 1
            drawn = indices.draw(session, len(todo), now)
            jobs = [
                _Job(r, serial_of[r.row_number], lst.id, lst.uri, idx)  # type: ignore[arg-type]
                for r, (lst, idx) in zip(todo, drawn, strict=True)
            ]
            pending = signing.submit(jobs, now)
        # Look ahead: number and index the next chunk as if nobody else issued meanwhile
        # and start signing it, so the workers never wait for this commit.
        new_ahead: _Ahead | None = None
        if next_rows and signing.pool is not None and now_fn is not None:
            new_ahead = _look_ahead(session, next_rows, last_of, indices, signing, settings, now_fn)
        timing.database += time.perf_counter() - t0
        done = 0
        chains = _Chains(len(jobs), actor=actor, at=now, office_id=settings.office_id)
        parts = pending.results()
        while True:
            t1 = time.perf_counter()
            part = next(parts, None)
            t2 = time.perf_counter()
            timing.sign_wait += t2 - t1
            if part is None:
                break
            cert_numbers = [v[0] for v, _, _ in part]
            # A plain executemany (RETURNING would go row by row on SQLite), then the ids.
            _insert_rows(session, _CERT, _COLUMNS, [v for v, _, _ in part])
            id_of = _ids_of(session, cert_numbers)
            _insert_rows(
                session,
                _ITEM,
                ("batch_id", "row_number", "certificate_id"),
                [(batch_id, row, id_of[v[0]]) for v, _, row in part],
            )
            chains.append(session, [(v[0], detail_json) for v, detail_json, _ in part])
            done += len(part)
            timing.database += time.perf_counter() - t2
        t3 = time.perf_counter()
        chains.close(session)
        session.execute(
            sa.update(_BATCH)
            .where(_BATCH.c.id == batch_id)
            .values(issued_rows=_BATCH.c.issued_rows + done)
        )
        session.commit()
        timing.database += time.perf_counter() - t3
        timing.chunks += 1
        return done, new_ahead


def _chunk_bounds(n: int, chunk: int, *, tapered: bool) -> list[tuple[int, int]]:
    """Return the (start, end) of each chunk of ``n`` rows: ``chunk`` rows each, and with
    ``tapered`` (a signing pool) the last ``chunk`` or fewer halved down to ``chunk // 8``.

    With a pool the workers sign the next chunk while this one is written, so when the
    last chunk is written they have nothing left to do: a last chunk of 1,000 rows kept
    one core idle for ~50 ms of a 10,000-row batch; 500, 250, 125, 125 keep it ~6 ms.
    """
    smallest = max(1, chunk // 8)
    out: list[tuple[int, int]] = []
    start = 0
    while start < n:
        left = n - start
        if left > chunk:
            size = chunk
        elif not tapered or left < 2 * smallest:
            size = left
        else:
            size = left // 2
        out.append((start, start + size))
        start += size
    return out


def _by_year(rows: Sequence[ApplicantRow]) -> dict[int, list[ApplicantRow]]:
    """Return ``rows`` grouped by certification year, each group in row order."""
    out: dict[int, list[ApplicantRow]] = {}
    for r in sorted(rows, key=lambda r: r.row_number):
        out.setdefault(r.certified_on.year, []).append(r)
    return dict(sorted(out.items()))


def _look_ahead(
    session: Session,
    rows: Sequence[ApplicantRow],
    last_of: dict[int, int],
    indices: _Indices,
    signing: _Signing,
    settings: IssuerSettings,
    now_fn: Callable[[], dt.datetime],
) -> _Ahead | None:
    """Return the next chunk numbered after this one and already submitted for signing,
    or None when its status entries would not fit the current list."""
    groups = _by_year(rows)
    first_of: dict[int, int] = {}
    counter = SerialCounter.__table__  # type: ignore[attr-defined]
    for year in groups:
        if year in last_of:
            first_of[year] = last_of[year] + 1
        else:
            got = session.execute(
                sa.select(counter.c.last_serial).where(
                    counter.c.office_id == settings.office_id, counter.c.year == year
                )
            ).scalar_one_or_none()
            first_of[year] = (got or 0) + 1
    drawn = indices.draw_ahead(len(rows))
    if drawn is None:
        return None
    ordered = [r for members in groups.values() for r in members]
    serial = {r.row_number: first_of[y] + k for y, m in groups.items() for k, r in enumerate(m)}
    jobs = [
        _Job(r, serial[r.row_number], list_id, uri, idx)
        for r, (list_id, uri, idx) in zip(ordered, drawn, strict=True)
    ]
    jobs.sort(key=lambda j: j.row.row_number)
    now = now_fn().astimezone(dt.UTC).replace(microsecond=0)
    return _Ahead(tuple(j.row.row_number for j in jobs), first_of, signing.submit(jobs, now))


# The batch's own connection checkpoints the WAL itself only past this many pages (64 MB
# with 4 KB pages: the bound on how far the WAL grows while a thread checkpoints it).
_WAL_SELF_CHECKPOINT = 16384
_CHECKPOINT_EVERY = 0.02  # seconds between the thread's passive checkpoints
# The batch's connection keeps up to 64 MB of pages (SQLite's default is 2 MB): the
# indexes on random keys (identity hash, status index) touch pages all over, which the
# default cache gave back and read again (parent CPU per certificate ~60 -> ~58 us).
_WRITER_CACHE = -65536


class _WalCheckpoints:
    """SQLite: the WAL checkpoints a batch's commits would run, run by a thread instead.

    SQLite copies the WAL back into the database file inside the commit that takes the
    WAL past ``wal_autocheckpoint`` pages: at batch sizes that was about 40 % of the
    commit's time (copying the pages, and two fsyncs the writer sat through). Here the
    batch writes on one connection held for the whole run (with a larger page cache,
    ``_WRITER_CACHE``), whose own automatic checkpoint comes only at
    ``_WAL_SELF_CHECKPOINT`` pages, while a thread with its own
    connection runs ``PRAGMA wal_checkpoint(PASSIVE)`` (never blocking the writer; SQLite
    releases the GIL meanwhile). A checkpoint copies committed pages only, so a crash or
    ``kill -9`` at any point still loses and doubles nothing. Other databases: nothing.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        url = engine.url
        self.active = (
            engine.dialect.name == "sqlite"
            and url.database not in (None, "", ":memory:")
            # one connection shared by every thread: no second one for the checkpoints
            and not isinstance(engine.pool, StaticPool | SingletonThreadPool)
        )
        self.conn: sa.Connection | None = None
        self._old: int | None = None
        self._old_cache: int | None = None
        self._raw: Any = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def open(self) -> Engine | sa.Connection:
        """Return what the chunks' sessions bind to."""
        if not self.active:
            return self.engine
        self.conn = self.engine.connect()
        raw = self.conn.connection.dbapi_connection
        assert raw is not None
        (old,) = raw.execute("PRAGMA wal_autocheckpoint").fetchone()
        (old_cache,) = raw.execute("PRAGMA cache_size").fetchone()
        raw.execute(f"PRAGMA wal_autocheckpoint={_WAL_SELF_CHECKPOINT:d}")
        raw.execute(f"PRAGMA cache_size={_WRITER_CACHE:d}")
        self._raw, self._old, self._old_cache = raw, int(old), int(old_cache)
        return self.conn

    def start(self) -> None:
        """Start the thread (after the signing pool has forked its workers)."""
        if self.active and self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="jiaozi-wal-checkpoint", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        raw = self.engine.raw_connection()
        try:
            while not self._stop.wait(_CHECKPOINT_EVERY):
                raw.cursor().execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except Exception:  # noqa: S110 - the next commits checkpoint as SQLite always does
            pass
        finally:
            raw.close()

    def close(self) -> None:
        """Stop the thread and give the connection back (its setting restored)."""
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
        if self.conn is not None:
            with contextlib.suppress(Exception):
                self._raw.execute(f"PRAGMA wal_autocheckpoint={self._old:d}")
                self._raw.execute(f"PRAGMA cache_size={self._old_cache:d}")
            self.conn.close()
            self.conn = None


def _set_state(
    engine: Engine,
    batch_id: int,
    state: str,
    *,
    now: dt.datetime | None = None,
    failure: BatchFailure | None = None,
) -> None:
    with Session(engine) as session:
        begin_write(session)
        batch = session.get(Batch, batch_id)
        assert batch is not None
        values: dict[str, Any] = {"state": state, "finished_at": now}
        if state == DONE or failure is not None or batch_failure(batch) is not None:
            values["errors_json"] = _errors_json(batch_errors(batch), failure)
        session.execute(sa.update(_BATCH).where(_BATCH.c.id == batch_id).values(**values))
        session.commit()


def _reason(exc: BaseException) -> BatchFailure:
    if isinstance(exc, KeyboardInterrupt):
        return BatchFailure(
            "interrupted; run the same file again to resume", "已中断；再次提交同一文件即可继续"
        )
    text = f"{type(exc).__name__}: {exc}"[:500]
    return BatchFailure(
        f"{text}; run the same file again to resume",
        f"签发中断（{text}）；再次提交同一文件即可继续",
    )


Progress = Callable[[int, int], None]


@dataclass
class _Head:
    """A batch's signing pool started while its file was still being validated, with the
    first chunk already being signed (see :func:`issue_file`)."""

    signing: _Signing
    indices: _Indices
    ahead: _Ahead | None


def _head_start(
    engine: Engine,
    rows: Sequence[ApplicantRow],
    *,
    signer: Signer,
    settings: IssuerSettings,
    workers: int,
    start_method: str | None,
    now_fn: Callable[[], dt.datetime],
) -> _Head | None:
    """Return the pool signing ``rows`` (the first chunk) as a look-ahead, or None when
    there is no pool to start (one worker, or no fork and no key reference) or the
    current status list has no room for them. Writes nothing but the office's first
    status list, when it has none yet (the first issuance would make it)."""
    signing = _Signing(
        signer=signer,
        settings=settings,
        workers=workers,
        ref=None,
        start_method=start_method,
        rows=len(rows),
    )
    if signing.pool is None:
        return None
    try:
        indices = _Indices(settings)
        now = now_fn()
        with Session(engine) as session:
            begin_write(session)
            lst = services.current_status_list(session, settings=settings, now=now)
            session.commit()
            indices._load(session, lst)
            ahead = _look_ahead(session, rows, {}, indices, signing, settings, now_fn)
            session.rollback()
    except BaseException:
        signing.close()
        raise
    if ahead is None:
        signing.close()
        return None
    return _Head(signing, indices, ahead)


def issue_file(
    engine: Engine,
    *,
    data: bytes,
    filename: str,
    signer: Signer,
    settings: IssuerSettings,
    actor: str,
    now_fn: Callable[[], dt.datetime],
    chunk: int = DEFAULT_CHUNK,
    workers: int = DEFAULT_WORKERS,
    max_rows: int = DEFAULT_MAX_ROWS,
    opened: Callable[[OpenedBatch], None] | None = None,
    progress: Progress | None = None,
    start_method: str | None = None,
    timing: _Timing | None = None,
) -> Batch:
    """Validate ``data`` and issue its valid rows (:func:`open_batch`, then
    :func:`run_batch`); return the batch row.

    With a pool (``workers`` > 1, a forking process) its workers do not wait for the
    whole file: once ``chunk`` + 1 rows are valid, the first ``chunk`` are numbered and
    indexed as a look-ahead is and signed while the rest of the file is validated (a
    10,000-row file validates on one core for ~0.15-0.25 s while the other one idled). Nothing
    is issued before the whole file is: the first chunk's transaction checks that guess
    as it checks every look-ahead (same rows, so a row refused after reading, e.g. a
    restricted person, voids it; same serials; indices still free) and re-signs if it
    was wrong; the discarded signatures never left this process. ``opened`` is called
    with the opened batch before issuing starts (the CLI prints its summary and writes
    the error report there). A first chunk signed more than ``_HEAD_MAX_AGE`` before
    issuing starts is signed again. Raises BatchFileError (nothing issued) for an
    unusable file, and what :func:`run_batch` raises.
    """
    if chunk < 1:
        raise ValueError("chunk must be at least 1")
    head: _Head | None = None

    def first_rows(rows: tuple[ApplicantRow, ...]) -> None:
        nonlocal head
        head = _head_start(
            engine,
            rows[:chunk],
            signer=signer,
            settings=settings,
            workers=workers,
            start_method=start_method,
            now_fn=now_fn,
        )

    try:
        with Session(engine) as session:
            ob = open_batch(
                session,
                data=data,
                filename=filename,
                settings=settings,
                actor=actor,
                now=now_fn(),
                max_rows=max_rows,
                first_rows=(chunk + 1, first_rows) if workers > 1 else None,
            )
        if opened is not None:
            opened(ob)
    except BaseException:
        if head is not None:
            head.signing.close()
        raise
    if head is not None and head.ahead is not None:
        if now_fn() - head.ahead.pending.now > _HEAD_MAX_AGE:
            # A long file: the first chunk would carry a signing time well before its
            # issuance (the time stored and audited with it), so it is signed again.
            head.ahead.pending.cancel()
            head.ahead = None
            if timing is not None:
                timing.ahead_missed += 1
    return run_batch(
        engine,
        batch_id=ob.batch.id,  # type: ignore[arg-type]
        rows=ob.rows,
        signer=signer,
        settings=settings,
        actor=actor,
        now_fn=now_fn,
        chunk=chunk,
        workers=workers,
        progress=progress,
        signer_ref=None,
        start_method=start_method,
        timing=timing,
        _head=head,
    )


def run_batch(
    engine: Engine,
    *,
    batch_id: int,
    rows: Sequence[ApplicantRow],
    signer: Signer,
    settings: IssuerSettings,
    actor: str,
    now_fn: Callable[[], dt.datetime],
    chunk: int = DEFAULT_CHUNK,
    workers: int = DEFAULT_WORKERS,
    progress: Progress | None = None,
    signer_ref: SignerRef | None = None,
    start_method: str | None = None,
    timing: _Timing | None = None,
    _head: _Head | None = None,
) -> Batch:
    """Issue every valid row of batch ``batch_id`` exactly once; return the batch row.

    ``rows`` are the file's valid rows (from :func:`open_batch`); those that already have
    a batch item are skipped. ``progress(issued, valid)`` is called after each commit.
    ``workers`` > 1 signs in that many processes: forked when this process has no other
    thread (they inherit ``signer``), else spawned (``start_method`` overrides), which
    needs ``signer_ref``; without one the signing stays in this process.
    On any error the batch is marked ``failed`` with the reason and the error re-raised;
    what was committed stays, and a re-run continues from there. (``_head`` is
    :func:`issue_file`'s pool started early; this call closes it.)
    """
    if chunk < 1:
        raise ValueError("chunk must be at least 1")
    head = _head
    timing = timing if timing is not None else _Timing()
    signing: _Signing | None = head.signing if head is not None else None
    try:
        with Session(engine) as session:
            batch = session.get(Batch, batch_id)
            if batch is None:
                raise NotFound("No such batch", "批次不存在")
            if batch.state == DONE:
                return batch
            valid = batch.valid_rows
            have = set(
                session.execute(
                    sa.select(_ITEM.c.row_number).where(_ITEM.c.batch_id == batch_id)
                ).scalars()
            )
    except BaseException:
        if signing is not None:
            signing.close()
        raise
    pending = sorted((r for r in rows if r.row_number not in have), key=lambda r: r.row_number)
    issued = len(have)
    checkpoints = _WalCheckpoints(engine)
    frozen = _gc_frozen()
    frozen.__enter__()
    try:
        _set_state(engine, batch_id, ISSUING)
        if pending and signing is None:
            signing = _Signing(
                signer=signer,
                settings=settings,
                workers=workers,
                ref=signer_ref,
                start_method=start_method,
                rows=len(pending),
            )
        indices = head.indices if head is not None else _Indices(settings)
        if progress is not None:
            progress(issued, valid)
        ahead: _Ahead | None = head.ahead if head is not None else None
        writer = checkpoints.open()
        tapered = signing is not None and signing.pool is not None
        bounds = _chunk_bounds(len(pending), chunk, tapered=tapered)
        for k, (start, end) in enumerate(bounds):
            part = pending[start:end]
            following = pending[slice(*bounds[k + 1])] if k + 1 < len(bounds) else []
            for attempt in range(_CHUNK_RETRIES):
                now = now_fn().astimezone(dt.UTC).replace(microsecond=0)
                try:
                    assert signing is not None
                    done, ahead = _write_chunk(
                        writer,
                        batch_id=batch_id,
                        rows=part,
                        signing=signing,
                        indices=indices,
                        settings=settings,
                        actor=actor,
                        now=now,
                        timing=timing,
                        ahead=ahead,
                        next_rows=following,
                        now_fn=now_fn,
                    )
                    issued += done
                    break
                except IntegrityError:
                    # A concurrent writer took a status index, or another runner of this
                    # batch committed these rows: re-read and re-run the chunk.
                    if ahead is not None:
                        ahead.pending.cancel()
                    ahead = None
                    indices.reset()
                    if attempt == _CHUNK_RETRIES - 1:
                        raise
            checkpoints.start()  # after the first chunk: the pool's workers are forked
            if progress is not None:
                progress(issued, valid)
        checkpoints.close()
        if issued >= valid:  # (a caller that passed only some rows leaves it issuing)
            _set_state(engine, batch_id, DONE, now=now_fn())
    except BaseException as exc:
        checkpoints.close()  # (the open chunk has rolled back as its session ended)
        try:
            _set_state(engine, batch_id, FAILED, now=now_fn(), failure=_reason(exc))
        except Exception:  # noqa: S110 - the original error is what matters
            pass
        raise
    finally:
        checkpoints.close()
        if signing is not None:
            signing.close()
        frozen.__exit__(None, None, None)
    with Session(engine) as session:
        return get_batch(session, batch_id=batch_id, settings=settings)
