"""Issuing a batch: its valid rows, in chunks, each chunk one write transaction.

``run_batch`` issues the valid rows of a stored batch (``issuer.batches.store``):

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
- With ``workers`` > 1 the tokens are signed in a process pool (``issuer.batches.signing``)
  while the parent writes (``issuer.batches.bulk``): the parent inserts part k of a chunk
  while the workers sign part k+1, and while chunk N is written the workers already sign
  chunk N+1, numbered and indexed as if nobody else issued meanwhile; N+1's transaction
  checks that guess (same rows, the serials its UPDATE returns, indices still free) and
  re-signs if it was wrong.
- ``issue_file`` (what ``jiaozi batch issue`` runs) starts the pool while the file is
  still being validated: once ``chunk`` + 1 rows are valid, the first chunk is numbered,
  indexed and signed as a look-ahead, checked the same way by the first transaction, so
  the workers do not idle through validation. Nothing is issued before the whole file is
  validated (the office's first status list, if it has none, is created then).
- On SQLite the WAL is checkpointed by a thread while the batch writes
  (``issuer.batches.wal``), not inside the batch's commits.

``python -m bench.batch`` measures the rate against the raw two-core Ed25519 sign rate
and where the time goes; bench/results.json keeps the figures.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from credential import Signer, as_utc
from issuer import issuance
from issuer.batches.bulk import AuditChains, StatusIndices, ids_of, insert_rows
from issuer.batches.photos import PhotoZip
from issuer.batches.reading import DEFAULT_MAX_ROWS, ApplicantRow
from issuer.batches.signing import COLUMNS, Job, Pending, SignerRef, Signing
from issuer.batches.store import (
    DONE,
    FAILED,
    ISSUING,
    OpenedBatch,
    failure_reason,
    gc_frozen,
    get_batch,
    open_batch,
    refuse_held_rows,
    set_state,
)
from issuer.batches.wal import WalCheckpoints
from issuer.db import tables, write
from issuer.db.models import Batch
from issuer.errors import NotFound
from issuer.settings import IssuerSettings

__all__ = [
    "DEFAULT_CHUNK",
    "DEFAULT_WORKERS",
    "Progress",
    "Timing",
    "issue_file",
    "run_batch",
]

# Rows per transaction. Each commit rewrites the pages its rows share (index pages, the
# head rows), so larger chunks cost the parent less per row, up to about this size.
DEFAULT_CHUNK = 1000
DEFAULT_WORKERS = 2
_CHUNK_RETRIES = 5  # a chunk lost to a concurrent writer (status index, batch item) re-runs
# issue_file: a first chunk signed while the file validated is used only if it was signed
# at most this long before issuing starts (its signing time is the one stored with it).
_HEAD_MAX_AGE = dt.timedelta(seconds=5)

_BATCH = tables.BATCH
_ITEM = tables.BATCH_ITEM

Progress = Callable[[int, int], None]


@dataclass
class Timing:
    """Where a run's wall time went (the benchmark reports the split)."""

    sign_wait: float = 0.0  # the parent waiting for signatures (all of it without a pool)
    database: float = 0.0  # allocating, inserting, committing
    chunks: int = 0
    ahead_used: int = 0  # chunks whose look-ahead signatures were used
    ahead_missed: int = 0  # look-aheads discarded (another writer moved first)


@dataclass
class _Ahead:
    """The next chunk, numbered and indexed on the assumption that nobody else issues
    meanwhile, already being signed while this chunk is written. Its transaction checks
    the assumption (same rows, the serials it allocates, indices still free) and re-signs
    if it failed; discarded signatures never left this process."""

    row_numbers: tuple[int, ...]
    first_serial: dict[int, int]
    pending: Pending


# --- writing a chunk -----------------------------------------------------------------------


def _write_chunk(
    bind: Engine | sa.Connection,
    *,
    batch_id: int,
    rows: Sequence[ApplicantRow],
    signing: Signing,
    indices: StatusIndices,
    settings: IssuerSettings,
    actor: str,
    now: dt.datetime,
    timing: Timing,
    ahead: _Ahead | None = None,
    next_rows: Sequence[ApplicantRow] = (),
    now_fn: Callable[[], dt.datetime] | None = None,
    photos: bool = False,
) -> tuple[int, _Ahead | None]:
    """Issue ``rows`` (those without a batch item yet) in one transaction; return how many
    and the next chunk's look-ahead (signing ``next_rows`` while this one is written).
    ``photos``: the batch has them (``batch_photo``), moved to the certificates issued."""
    t0 = time.perf_counter()
    with Session(bind) as session, write(session):
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
            session.rollback()  # nothing to write: the read ends here
            if ahead is not None:
                ahead.pending.cancel()
            return 0, None
        # Serials: one UPDATE ... RETURNING per certification year in the chunk.
        serial_of: dict[int, int] = {}
        first_of: dict[int, int] = {}
        last_of: dict[int, int] = {}
        for year, members in _by_year(todo).items():
            first = issuance.allocate_serial(
                session, office_id=settings.office_id, year=year, count=len(members)
            )
            first_of[year], last_of[year] = first, first + len(members) - 1
            for k, r in enumerate(members):
                serial_of[r.row_number] = first + k
        pending: Pending
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
                Job(r, serial_of[r.row_number], lst.id, lst.uri, idx)  # type: ignore[arg-type]
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
        chains = AuditChains(len(jobs), actor=actor, at=now, office_id=settings.office_id)
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
            insert_rows(session, tables.CERTIFICATE, COLUMNS, [v for v, _, _ in part])
            id_of = ids_of(session, cert_numbers)
            insert_rows(
                session,
                _ITEM,
                ("batch_id", "row_number", "certificate_id"),
                [(batch_id, row, id_of[v[0]]) for v, _, row in part],
            )
            chains.append(session, [(v[0], detail_json) for v, detail_json, _ in part])
            if photos:
                _move_photos(session, batch_id, [row for _, _, row in part], now)
            done += len(part)
            timing.database += time.perf_counter() - t2
        t3 = time.perf_counter()
        chains.close(session)
        session.execute(
            sa.update(_BATCH)
            .where(_BATCH.c.id == batch_id)
            .values(issued_rows=_BATCH.c.issued_rows + done)
        )
    # (committed as the ``write`` block ended)
    timing.database += time.perf_counter() - t3
    timing.chunks += 1
    return done, new_ahead


def _move_photos(
    session: Session, batch_id: int, row_numbers: Sequence[int], now: dt.datetime
) -> None:
    """Make the stored photos of ``row_numbers`` their certificates' (in the database, no
    bytes through this process) and drop them from the batch's."""
    p, item = tables.BATCH_PHOTO.c, _ITEM.c
    picked = sa.and_(p.batch_id == batch_id, p.row_number.in_(row_numbers))
    source = (
        sa.select(item.certificate_id, p.sha256, p.jpeg, sa.literal(now, sa.DateTime(True)))
        .join(
            tables.BATCH_PHOTO,
            sa.and_(item.batch_id == p.batch_id, item.row_number == p.row_number),
        )
        .where(picked)
    )
    session.execute(
        sa.insert(tables.CERTIFICATE_PHOTO).from_select(
            ["certificate_id", "sha256", "jpeg", "created_at"], source
        )
    )
    session.execute(sa.delete(tables.BATCH_PHOTO).where(picked))


def _chunk_bounds(n: int, chunk: int, *, tapered: bool) -> list[tuple[int, int]]:
    """Return the (start, end) of each chunk of ``n`` rows: ``chunk`` rows each, and with
    ``tapered`` (a signing pool) the last ``chunk`` or fewer halved down to ``chunk // 8``.

    With a pool the workers sign the next chunk while this one is written, so when the
    last chunk is written they have nothing left to do: halving the last chunks (500,
    250, 125, 125 of 1,000) shortens the time one core idles at the end.
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
    indices: StatusIndices,
    signing: Signing,
    settings: IssuerSettings,
    now_fn: Callable[[], dt.datetime],
) -> _Ahead | None:
    """Return the next chunk numbered after this one and already submitted for signing,
    or None when its status entries would not fit the current list."""
    groups = _by_year(rows)
    first_of: dict[int, int] = {}
    counter = tables.SERIAL_COUNTER
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
        Job(r, serial[r.row_number], list_id, uri, idx)
        for r, (list_id, uri, idx) in zip(ordered, drawn, strict=True)
    ]
    jobs.sort(key=lambda j: j.row.row_number)
    now = as_utc(now_fn()).replace(microsecond=0)
    return _Ahead(tuple(j.row.row_number for j in jobs), first_of, signing.submit(jobs, now))


# --- the run -------------------------------------------------------------------------------


@dataclass
class _Head:
    """A batch's signing pool started while its file was still being validated, with the
    first chunk already being signed (see :func:`issue_file`)."""

    signing: Signing
    indices: StatusIndices
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
    signing = Signing(
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
        indices = StatusIndices(settings)
        now = now_fn()
        with Session(engine) as session:
            with write(session):
                lst = issuance.current_status_list(session, settings=settings, now=now)
            indices.load(session, lst)
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
    timing: Timing | None = None,
    photos: PhotoZip | None = None,
) -> Batch:
    """Validate ``data`` and issue its valid rows (:func:`open_batch`, then
    :func:`run_batch`); return the batch row. ``photos``: the zip of the holders' photos
    (see :func:`open_batch`; with photos the first chunk is not signed ahead, since the
    photos are judged after the whole file).

    With a pool (``workers`` > 1, a forking process) its workers do not wait for the
    whole file: once ``chunk`` + 1 rows are valid, the first ``chunk`` are numbered and
    indexed as a look-ahead is and signed while the rest of the file is validated (on
    one core, while the other one would idle). Nothing is issued before the whole file
    is: the first chunk's transaction checks that guess as it checks every look-ahead
    (same rows, so a row refused after reading, e.g. a restricted person, voids it; same
    serials; indices still free) and re-signs if it was wrong; the discarded signatures
    never left this process. ``opened`` is called with the opened batch before issuing
    starts (the CLI prints its summary and writes the error report there). A first chunk
    signed more than ``_HEAD_MAX_AGE`` before issuing starts is signed again. Raises
    BatchFileError (nothing issued) for an unusable file, and what :func:`run_batch`
    raises.
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
                first_rows=(chunk + 1, first_rows) if workers > 1 and photos is None else None,
                photos=photos,
                workers=workers,
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
    timing: Timing | None = None,
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
    timing = timing if timing is not None else Timing()
    signing: Signing | None = head.signing if head is not None else None
    try:
        with Session(engine) as session:
            batch = session.get(Batch, batch_id)
            if batch is None:
                raise NotFound("No such batch", "批次不存在")
            if batch.state == DONE:
                return batch
            valid, photos = batch.valid_rows, batch.with_photos
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
    checkpoints = WalCheckpoints(engine)
    frozen = gc_frozen()
    frozen.__enter__()
    try:
        set_state(engine, batch_id, ISSUING, run_started=(as_utc(now_fn()), issued))
        if pending and signing is None:
            signing = Signing(
                signer=signer,
                settings=settings,
                workers=workers,
                ref=signer_ref,
                start_method=start_method,
                rows=len(pending),
            )
        indices = head.indices if head is not None else StatusIndices(settings)
        if progress is not None:
            progress(issued, valid)
        ahead: _Ahead | None = head.ahead if head is not None else None
        writer = checkpoints.open()
        tapered = signing is not None and signing.pool is not None
        bounds = _chunk_bounds(len(pending), chunk, tapered=tapered)
        for k, (start, end) in enumerate(bounds):
            part = pending[start:end]
            following = pending[slice(*bounds[k + 1])] if k + 1 < len(bounds) else []
            lost = 0  # tries lost to a concurrent writer
            while True:
                now = as_utc(now_fn()).replace(microsecond=0)
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
                        photos=photos,
                    )
                    issued += done
                    break
                except IntegrityError as exc:
                    # A concurrent writer took a status index, or another runner of this
                    # batch committed these rows: re-read and re-run the chunk.
                    if ahead is not None:
                        ahead.pending.cancel()
                    ahead = None
                    indices.reset()
                    if issuance.is_person_conflict(exc):
                        # Another batch or request certified one of these persons since the
                        # file was read: those rows become row errors (naming the
                        # certificate), as they would have been had it come first.
                        # Each such round refuses a row at least: it is not a lost try.
                        refused = refuse_held_rows(engine, batch_id, part, settings=settings)
                        part = [r for r in part if r.row_number not in refused]
                        valid -= len(refused)
                        if not part:
                            break
                        if refused:
                            continue
                    lost += 1
                    if lost == _CHUNK_RETRIES:
                        raise
            checkpoints.start()  # after the first chunk: the pool's workers are forked
            # A list the chunk began (the office's first or next) is public at once.
            with Session(engine) as session:
                issuance.publish_changed_lists(
                    session, signer=signer, settings=settings, now=now_fn()
                )
            if progress is not None:
                progress(issued, valid)
        checkpoints.close()
        if issued >= valid:  # (a caller that passed only some rows leaves it issuing)
            set_state(engine, batch_id, DONE, now=now_fn())
    except BaseException as exc:
        # Clean up and re-raise: the open chunk has rolled back as its session ended;
        # the batch says why it stopped (an interruption too) until a re-run resumes it.
        checkpoints.close()
        try:
            set_state(engine, batch_id, FAILED, now=now_fn(), failure=failure_reason(exc))
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
