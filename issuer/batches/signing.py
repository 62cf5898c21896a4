"""Signing a batch's certificates, in this process or in a pool of worker processes.

Signing is CPU-bound: with ``workers`` > 1 the tokens are signed in a process pool while
the parent writes. The workers get the key once, at start: a forked worker inherits the
signer object; a spawned one (when the caller has other threads, e.g. the HTTP server)
re-opens it from a :class:`SignerRef` (the key store named by the environment, or an
encrypted PEM) and checks that it is the parent's key. Keys never travel over a network.

The wire format is plain values both ways, cheap to pickle: a job goes out as the tuple
of :meth:`Job.wire`; a worker answers a part with one text (``_SEP``-joined fields, see
``_sign_wire``) and the parent puts each certificate's columns (``COLUMNS``) together
from its own jobs (``_unpack``). The workers also make each certificate's audit detail
(canonical JSON), so the parent only numbers, chains and writes.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import datetime as dt
import hashlib
import hmac
import json
import math
import multiprocessing
import os
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing.context import BaseContext
from pathlib import Path
from typing import Any, NamedTuple

from credential import (
    DualSigner,
    IdType,
    KeySigner,
    QualificationType,
    Sex,
    Signer,
    StatusReference,
    mask_id,
    person_reference,
    sign_certificate,
)
from issuer import issuance
from issuer.batches.reading import ApplicantRow
from issuer.batches.workers import follow_parent
from issuer.issuance import seal_credential
from issuer.settings import IssuerSettings
from keys import KeyStore, passphrase_from_env, signer_from_pem

__all__ = ["COLUMNS", "Job", "Pending", "Signed", "SignerRef", "Signing"]

_SPAWN_MIN_ROWS = 2000  # fewer rows sign faster here than spawned workers start
# Parts a chunk is cut into per worker (the parent inserts one while the next is signed);
# with the next chunk signed ahead, fewer and larger parts keep the pipeline fuller.
_PARTS_PER_WORKER = 2
# Workers yield to the parent, whose writing is the pipeline's critical path.
_WORKER_NICE = 5


@dataclass(frozen=True)
class SignerRef:
    """A picklable way for a spawned worker to open the parent's signing key itself.

    ``home``/``owner``: the key store at ``home`` (passphrase from the worker's inherited
    ``JIAOZI_KEY_PASSPHRASE``), ``owner``'s active key. Or ``pem``/``password``: an
    encrypted PKCS#8 PEM (tests, benchmarks). Either way the worker checks that the key it
    opened is ``kid`` with public JWK ``public_jwk``. ``sm2_kid``: the office's SM2 key
    beside it (a ``DualSigner``, issue 16), re-opened from the key store too.
    """

    kid: str
    public_jwk: tuple[tuple[str, Any], ...]
    home: str | None = None
    owner: str | None = None
    pem: bytes | None = None
    password: bytes | None = None
    sm2_kid: str | None = None

    @classmethod
    def for_key_store(cls, signer: KeySigner | DualSigner, *, home: Path, owner: str) -> SignerRef:
        return cls(
            signer.kid,
            tuple(sorted(signer.public_key().to_jwk().items())),
            home=str(home),
            owner=owner,
            sm2_kid=signer.sm2.kid if isinstance(signer, DualSigner) else None,
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
        sm2 = signer.sm2.kid if isinstance(signer, DualSigner) else None
        if sm2 != self.sm2_kid:  # a worker must never sign with fewer keys than the parent
            raise RuntimeError(f"the signer reference's SM2 key is not {sm2} of this process")

    def open(self, *, now: int) -> KeySigner | DualSigner:
        """Return the signer; raises RuntimeError unless it is the parent's key(s)."""
        sm2: KeySigner | None = None
        if self.pem is not None:
            if self.sm2_kid is not None:
                raise RuntimeError("an SM2 key is re-opened from a key store only")
            signer = signer_from_pem(self.pem, password=self.password, kid=self.kid)
        else:
            assert self.home is not None and self.owner is not None
            store = KeyStore(Path(self.home), passphrase_from_env())
            signer = store.active_signer(self.owner, now=now)
            if self.sm2_kid is not None:
                sm2 = store.sm2_signer(self.owner, now=now)
                if sm2 is None or sm2.kid != self.sm2_kid:
                    found = None if sm2 is None else sm2.kid
                    raise RuntimeError(f"the worker opened SM2 key {found}, not {self.sm2_kid}")
        if signer.kid != self.kid or tuple(sorted(signer.public_key().to_jwk().items())) != (
            self.public_jwk
        ):
            raise RuntimeError(f"the worker opened key {signer.kid}, not {self.kid}")
        return DualSigner(signer, sm2) if sm2 is not None else signer


class Job(NamedTuple):  # (a tuple: made ten thousand times a batch, cheaply)
    """A row to sign, numbered (``serial``) and given its status entry."""

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
            r.photo_digest,
        )


# The certificate columns a signed row fills, in the order _unpack puts them.
COLUMNS = (
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
    "person_ref",
)
# What a signed row becomes: its column values, the canonical JSON of its audit record's
# detail (with the SHA-256 of both tokens) and its row number.
Signed = tuple[tuple[Any, ...], str, int]
# A worker answers a part with one text: per job, in order, the _SIGNED_FIELDS values only
# it works out, joined by NUL (pickling one string costs far less than a tuple of 24
# values per row); the parent puts the columns together from its own jobs (``_unpack``).
# No field holds a NUL (digits, hex, base64url, masked numbers, canonical JSON, which
# escapes control characters), and ``_unpack`` refuses an answer of the wrong length.
_SEP = "\x00"
# number, id hash, masked id, e-licence id, sealed JWS, QR, detail, person reference
_SIGNED_FIELDS = 8

# A worker's key and settings, set once by the pool's initializer.
_worker: dict[str, Any] = {}


def _init_worker(signer: Signer | None, ref: SignerRef | None, settings: IssuerSettings) -> None:
    follow_parent()
    with contextlib.suppress(OSError, AttributeError):  # not everywhere, not always allowed
        os.nice(_WORKER_NICE)
    if signer is None:
        assert ref is not None
        signer = ref.open(now=int(dt.datetime.now(dt.UTC).timestamp()))
    _worker["signer"], _worker["settings"] = signer, settings


def _sign_in_worker(jobs: list[tuple[Any, ...]], now: dt.datetime) -> str:
    return _sign_wire(jobs, signer=_worker["signer"], settings=_worker["settings"], now=now)


class _WorkerRow(NamedTuple):
    """A job's application as ``issuance.certificate_facts`` reads it (an Applicant):
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


# The enum members of the values ``Job.wire`` sends (a lookup costs a tenth of a call).
_SEXES = {m.value: m for m in Sex}
_ID_TYPES = {m.value: m for m in IdType}
_QUALIFICATIONS = {int(m): m for m in QualificationType}


def _sign_wire(
    jobs: Sequence[tuple[Any, ...]], *, signer: Signer, settings: IssuerSettings, now: dt.datetime
) -> str:
    """Return each job (``Job.wire``) numbered, signed (both tokens) and sealed, as the
    text ``_unpack`` reads (see ``_SEP``)."""
    issued_at = int(now.timestamp())
    office, kid = settings.office_id, signer.kid
    id_key = settings.id_hmac_key.get_secret_value().encode("utf-8")
    ref_key = settings.restriction_hmac_key.get_secret_value().encode("utf-8")
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
        photo,
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
        facts = issuance.certificate_facts(app, settings=settings, serial=serial)
        if photo is not None:
            facts = dataclasses.replace(facts, photo_digest=photo)
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
            # as it is): issuance.id_hash without validating it a second time.
            hmac.digest(id_key, f"{id_type}:{id_number}".encode(), "sha256").hex(),
            mask_id(id_number),
            facts.elicence_id,
            seal_credential(settings, tokens.stored, certificate_number=number),
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
                photo_sha256=None if photo is None else base64.b64decode(photo[7:]).hex(),
            ),
            # the national list finds this certificate by it (issuer.lifecycle.national);
            # made here, in the worker, not in the parent that writes every row
            person_reference(ref_key, _ID_TYPES[id_type], id_number),
        )
    return _SEP.join(out)


# The column values of the enum members a row holds (Enum.value is a slow property).
_SEX_VALUE = {m: m.value for m in Sex}
_ID_TYPE_VALUE = {m: m.value for m in IdType}
_QUALIFICATION_CODE = {m: int(m) for m in QualificationType}


def _unpack(
    text: str, jobs: Sequence[Job], *, now: dt.datetime, kid: str, office: str
) -> list[Signed]:
    """Return the signed rows of ``jobs`` from a worker's answer (``_sign_wire``): the
    certificate columns (``COLUMNS``), the audit detail and the row number."""
    fields = text.split(_SEP)
    if len(fields) != _SIGNED_FIELDS * len(jobs):
        raise RuntimeError("a signing worker's answer does not match its jobs")
    out: list[Signed] = []
    for k, j in enumerate(jobs):
        n = _SIGNED_FIELDS * k
        number, id_hash, masked, eid, sealed, qr, detail, ref = fields[n : n + _SIGNED_FIELDS]
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
            "v3",  # the newest certificate layout (issuer.db.models)
            ref,
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
    photo_sha256: str | None = None,
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
        + ("" if photo_sha256 is None else f'"photo_sha256":{_json_str(photo_sha256)},')
        + f'"qr_sha256":{_json_str(qr_sha256)},"status_idx":{status_idx},'
        f'"status_list":{_json_str(status_list)},"version":1}}'
    )


class Signing:
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

    def submit(self, jobs: Sequence[Job], now: dt.datetime) -> Pending:
        """Start signing ``jobs`` (in the pool: right now; here: as results are read)."""
        if self.pool is None:
            size = max(1, math.ceil(len(jobs) / _PARTS_PER_WORKER))
            return Pending(self, jobs, now, size, [])
        size = max(1, math.ceil(len(jobs) / (self.workers * _PARTS_PER_WORKER)))
        futures = [
            self.pool.submit(_sign_in_worker, [j.wire() for j in jobs[i : i + size]], now)
            for i in range(0, len(jobs), size)
        ]
        return Pending(self, jobs, now, size, futures)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None


@dataclass
class Pending:
    """Jobs being signed; ``results`` yields their signed parts in order."""

    signing: Signing
    jobs: Sequence[Job]
    now: dt.datetime
    size: int
    futures: list[Future[str]]

    def results(self) -> Iterator[list[Signed]]:
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
