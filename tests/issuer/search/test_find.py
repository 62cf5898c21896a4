"""The search's repository functions on SQLite and PostgreSQL: keyset pages that never
skip or repeat a certificate, office scoping, the identity number matched through the
keyed hash, and every refused input naming its field.

Certificates are inserted directly (rows with realistic columns and chosen times, ties
included): what is judged is the search, not issuing.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from credential import IdType, mask_id
from issuer.db import tables
from issuer.db.engine import make_engine, upgrade
from issuer.errors import NotFound
from issuer.fields import ValidationFailed
from issuer.issuance import id_hash
from issuer.search import SEARCH_ACTION, certificate_record, find_certificates
from issuer.settings import IssuerSettings

OFFICE_A = "urn:jiaozi:office:11001"
OFFICE_B = "urn:jiaozi:office:31001"
T0 = dt.datetime(2026, 6, 1, 8, 0, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 12, 5, 9, 0, tzinfo=dt.UTC)


def resident_id(i: int) -> str:
    """A well-formed resident identity number (GB 11643 check digit) for person ``i``."""
    body = f"110105{1970 + i % 30:04d}0{1 + i % 9}{10 + i % 18:02d}{i % 1000:03d}"
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    check = "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]
    return body + check


def birth(i: int) -> dt.date:
    return dt.date(1970 + i % 30, 1 + i % 9, 10 + i % 18)


class World:
    """A database with certificates of two offices, and the settings searches use."""

    def __init__(self, engine: sa.Engine, settings: IssuerSettings) -> None:
        self.engine, self.settings = engine, settings
        self.numbers: dict[str, list[str]] = {OFFICE_A: [], OFFICE_B: []}
        self._serial = 0
        with engine.begin() as conn:
            self.list_id = conn.execute(
                sa.insert(tables.STATUS_LIST)
                .values(
                    office_id=OFFICE_A,
                    ordinal=1,
                    uri="http://testserver/status/1",
                    bits=2,
                    size=1024,
                    data=b"\0" * 256,
                    created_at=T0,
                )
                .returning(tables.STATUS_LIST.c.id)
            ).scalar_one()

    def add(
        self,
        office: str,
        *,
        person: int,
        at: dt.datetime,
        status: str = "valid",
        name: str | None = None,
        year: int = 2026,
        batch: int | None = None,
    ) -> str:
        """Insert one certificate of ``office`` for person ``person``; return its number."""
        self._serial += 1
        code = "001" if office == OFFICE_A else "002"
        number = f"{year}11{code}41{self._serial:06d}"
        values = {
            "certificate_number": number,
            "version": 1,
            "office_id": office,
            "year": year,
            "serial": self._serial,
            "qualification_type": 4,
            "name": name or f"测试{person}",
            "sex": "女",
            "birth_date": birth(person),
            "ethnicity": None,
            "id_type": "resident_id",
            "id_number_hash": id_hash(self.settings, IdType.RESIDENT_ID, resident_id(person)),
            "id_number_masked": mask_id(resident_id(person)),
            "subject": f"学科{self._serial}",  # one person may hold several certificates
            "certified_on": dt.date(2026, 6, 1),
            "elicence_id": f"eid-{number}",
            "status_list_id": self.list_id,
            "status_idx": self._serial,
            "credential_jws": "x",
            "qr_token": "y",
            "status": status,
            "created_at": at,
            "layout_version": "v1",
        }
        with self.engine.begin() as conn:
            cert_id = conn.execute(
                sa.insert(tables.CERTIFICATE).values(**values).returning(tables.CERTIFICATE.c.id)
            ).scalar_one()
            if batch is not None:
                conn.execute(
                    sa.insert(tables.BATCH_ITEM).values(
                        batch_id=batch, row_number=self._serial, certificate_id=cert_id
                    )
                )
        self.numbers[office].append(number)
        return number

    def batch(self, office: str) -> int:
        with self.engine.begin() as conn:
            return int(
                conn.execute(
                    sa.insert(tables.BATCH)
                    .values(
                        office_id=office,
                        filename="round.csv",
                        file_sha256=f"{len(office):02d}{self._serial:062d}",
                        state="done",
                        errors_json="[]",
                        created_by="officer:clerk",
                        created_at=T0,
                    )
                    .returning(tables.BATCH.c.id)
                ).scalar_one()
            )

    def find(self, office: str = OFFICE_A, actor: str | None = None, **criteria):
        with Session(self.engine) as session:
            return find_certificates(
                session,
                office_id=office,
                settings=self.settings,
                actor=actor,
                now=NOW,
                **criteria,
            )

    def all_pages(self, office: str = OFFICE_A, **criteria) -> list[str]:
        seen: list[str] = []
        cursor = None
        for _ in range(1000):
            page = self.find(office, cursor=cursor, **criteria)
            seen += [c.certificate_number for c in page.items]
            cursor = page.next_cursor
            if cursor is None:
                return seen
        raise AssertionError("pages never end")


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    engine = make_engine(database_url)
    upgrade(engine)
    settings = IssuerSettings(
        database_url=database_url, id_hmac_key="test-id-hmac-key-0123456789-abcdef"
    )
    try:
        yield World(engine, settings)
    finally:
        engine.dispose()


def field_codes(info: pytest.ExceptionInfo[ValidationFailed]) -> dict[str, str]:
    return {e.field: e.code for e in info.value.errors}


# --- pagination ----------------------------------------------------------------------------


def test_keyset_pages_never_skip_or_repeat_with_ties_in_issue_time(world: World) -> None:
    # a batch chunk's certificates share one time: 3 at each of 9 instants
    for i in range(27):
        world.add(OFFICE_A, person=i, at=T0 + dt.timedelta(seconds=i // 3))
    got = world.all_pages(limit=4)
    assert len(got) == 27 and set(got) == set(world.numbers[OFFICE_A])
    # newest first; the later insert of equal time first (the row id breaks ties)
    assert got == list(reversed(world.numbers[OFFICE_A]))


def test_certificate_issued_while_paging_is_neither_skipped_nor_repeated(world: World) -> None:
    for i in range(10):
        world.add(OFFICE_A, person=i, at=T0 + dt.timedelta(minutes=i))
    first = world.find(limit=4)
    new = world.add(OFFICE_A, person=99, at=T0 + dt.timedelta(days=1))
    seen = [c.certificate_number for c in first.items]
    cursor = first.next_cursor
    while cursor is not None:
        page = world.find(cursor=cursor, limit=4)
        seen += [c.certificate_number for c in page.items]
        cursor = page.next_cursor
    assert len(seen) == 10 == len(set(seen)) and new not in seen
    assert world.find(limit=1).items[0].certificate_number == new  # it leads a new search


def test_number_prefix_pages_in_number_order_and_exact_number_finds_one(world: World) -> None:
    for i in range(7):
        world.add(OFFICE_A, person=i, at=T0, year=2025 if i < 3 else 2026)
    old = [n for n in world.numbers[OFFICE_A] if n.startswith("2025")]
    assert world.all_pages(number="2025", limit=2) == sorted(old, reverse=True)
    one = world.numbers[OFFICE_A][4]
    assert [c.certificate_number for c in world.find(number=one).items] == [one]
    assert world.find(number="2024").items == []


def test_status_and_batch_filters_page_through_their_own_rows_only(world: World) -> None:
    b = world.batch(OFFICE_A)
    in_batch = []
    for i in range(12):
        number = world.add(
            OFFICE_A,
            person=i,
            at=T0 + dt.timedelta(seconds=i),
            status="suspended" if i % 3 == 0 else "valid",
            batch=b if i % 2 == 0 else None,
        )
        if i % 2 == 0:
            in_batch.append(number)
    suspended = world.all_pages(status="suspended", limit=2)
    assert sorted(suspended) == sorted(world.numbers[OFFICE_A][0::3])
    assert world.all_pages(batch_id=b, limit=5) == in_batch  # in the file's row order
    both = world.all_pages(batch_id=b, status="suspended")
    assert sorted(both) == sorted(world.numbers[OFFICE_A][0::6])


# --- office scoping ------------------------------------------------------------------------


def test_an_office_never_sees_another_offices_certificates(world: World) -> None:
    mine = world.add(OFFICE_A, person=1, at=T0)
    theirs = world.add(OFFICE_B, person=1, at=T0, name="同名人")
    world.add(OFFICE_B, person=2, at=T0, status="revoked")
    b = world.batch(OFFICE_B)
    world.add(OFFICE_B, person=3, at=T0, batch=b)
    assert world.all_pages() == [mine]
    assert world.find(number=theirs).items == []
    assert world.find(number=theirs[:9]).items == []
    assert world.find(id_number=resident_id(1)).items[0].certificate_number == mine
    assert world.find(name="同名人", birth_date=birth(1).isoformat()).items == []
    assert world.find(status="revoked").items == []
    assert world.find(batch_id=b).items == []
    assert world.all_pages(OFFICE_B, batch_id=b) == [world.numbers[OFFICE_B][-1]]


# --- people --------------------------------------------------------------------------------


def test_identity_number_is_matched_through_the_keyed_hash_exactly(world: World) -> None:
    a = world.add(OFFICE_A, person=5, at=T0)
    b = world.add(OFFICE_A, person=5, at=T0 + dt.timedelta(hours=1))  # a second qualification
    world.add(OFFICE_A, person=6, at=T0)
    number = resident_id(5)
    got = [c.certificate_number for c in world.find(id_number=number).items]
    assert got == [b, a]
    # the same number typed as people type it (lower-case x, spaces) is the same person
    assert len(world.find(id_number=f" {number.lower()} ", id_type="resident_id").items) == 2
    # exact only: a beginning of the number finds no one (and is refused as malformed)
    with pytest.raises(ValidationFailed) as info:
        world.find(id_number=number[:10], id_type="resident_id")
    assert field_codes(info) == {"id_number": "length"}
    # the keyed hash under another key matches nothing: the clear number is never compared
    other = IssuerSettings(database_url="sqlite://", id_hmac_key="another-key-0123456789-abcdefgh")
    with Session(world.engine) as session:
        page = find_certificates(
            session, office_id=OFFICE_A, settings=other, actor=None, now=NOW, id_number=number
        )
    assert page.items == []


def test_identity_search_is_audited_with_the_masked_number_only(world: World) -> None:
    found = world.add(OFFICE_A, person=7, at=T0)
    number = resident_id(7)
    world.find(id_number=number, actor="officer:clerk-a")
    world.find(name="测试7", birth_date=birth(7).isoformat(), actor="officer:clerk-a")
    world.find(status="valid", actor="officer:clerk-a")  # identifies no one: not recorded
    with world.engine.connect() as conn:
        recs = conn.execute(sa.select(tables.AUDIT_RECORD).order_by(tables.AUDIT_RECORD.c.id)).all()
    assert [(r.action, r.actor) for r in recs] == [(SEARCH_ACTION, "officer:clerk-a")] * 2
    assert recs[0].subject == f"person:{mask_id(number)}"
    assert found in recs[0].detail_json and '"by":"id_number"' in recs[0].detail_json
    assert found in recs[1].detail_json and '"by":"name"' in recs[1].detail_json
    hashed = id_hash(world.settings, IdType.RESIDENT_ID, number)
    for r in recs:
        assert number not in r.detail_json + r.subject and hashed not in r.detail_json
        assert "测试7" not in r.detail_json  # no name either


def test_name_is_found_only_with_its_birth_date(world: World) -> None:
    mine = world.add(OFFICE_A, person=8, at=T0, name="王芳")
    world.add(OFFICE_A, person=9, at=T0, name="王芳")  # same name, another person
    got = world.find(name=" 王芳 ", birth_date=birth(8).isoformat())
    assert [c.certificate_number for c in got.items] == [mine]
    with pytest.raises(ValidationFailed) as info:
        world.find(name="王芳")
    assert field_codes(info) == {"birth_date": "required"}
    with pytest.raises(ValidationFailed) as info:
        world.find(birth_date=birth(8).isoformat())
    assert field_codes(info) == {"name": "required"}


# --- refused input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("criteria", "expected"),
    [
        ({"birth_date": "1990-02-30", "name": "王芳"}, {"birth_date": "date_format"}),
        ({"limit": 101}, {"limit": "out_of_range"}),
        ({"limit": 0}, {"limit": "out_of_range"}),
        ({"number": "2026-11"}, {"number": "format"}),
        ({"number": "1" * 18}, {"number": "too_long"}),
        ({"status": "lost"}, {"status": "unknown_status"}),
        ({"id_type": "resident_id"}, {"id_number": "required"}),
        ({"id_type": "library_card", "id_number": "A1"}, {"id_type": "unknown_id_type"}),
        ({"batch_id": 0}, {"batch": "out_of_range"}),
        ({"batch_id": 2**31}, {"batch": "out_of_range"}),
        ({"cursor": "not-a-cursor"}, {"cursor": "invalid_cursor"}),
        (
            {"name": "王芳", "limit": 500, "status": "x"},
            {"birth_date": "required", "limit": "out_of_range", "status": "unknown_status"},
        ),
    ],
)
def test_bad_input_is_refused_naming_the_field(world: World, criteria, expected) -> None:
    with pytest.raises(ValidationFailed) as info:
        world.find(**criteria)
    assert field_codes(info) == expected


def test_a_cursor_of_one_order_is_refused_in_the_other(world: World) -> None:
    for i in range(3):
        world.add(OFFICE_A, person=i, at=T0)
    by_time = world.find(limit=1).next_cursor
    by_number = world.find(number="2026", limit=1).next_cursor
    assert by_time and by_number
    with pytest.raises(ValidationFailed) as info:
        world.find(number="2026", cursor=by_time)
    assert field_codes(info) == {"cursor": "invalid_cursor"}
    with pytest.raises(ValidationFailed):
        world.find(cursor=by_number)


def test_another_offices_certificate_has_no_record(world: World) -> None:
    theirs = world.add(OFFICE_B, person=1, at=T0)
    mine = world.add(OFFICE_A, person=2, at=T0)
    with Session(world.engine) as session:
        with pytest.raises(NotFound):
            certificate_record(session, office_id=OFFICE_A, number=theirs)
        rec = certificate_record(session, office_id=OFFICE_A, number=mine)
    assert rec.certificate_number == mine and rec.status_history == []


def test_a_batch_pages_in_its_row_order_whatever_the_issue_times(world: World) -> None:
    b = world.batch(OFFICE_A)
    # rows issued out of time order (a resumed run): the file's order still holds
    rows = [
        world.add(OFFICE_A, person=i, at=T0 - dt.timedelta(minutes=i), batch=b) for i in range(7)
    ]
    world.add(OFFICE_A, person=50, at=T0)  # not in the batch
    assert world.all_pages(batch_id=b, limit=3) == rows
    cursor = world.find(batch_id=b, limit=3).next_cursor
    assert cursor is not None
    with pytest.raises(ValidationFailed) as info:
        world.find(cursor=cursor)
    assert field_codes(info) == {"cursor": "invalid_cursor"}


@pytest.mark.parametrize(
    ("criteria", "key"),
    [
        ({}, ["i", 2**62, 1]),  # past the year 9999
        ({}, ["i", 1, 2**40]),  # past a 32-bit id
        ({}, ["i", -1, 1]),
        ({}, ["i", 1.5, 1]),
        ({"batch_id": 1}, ["r", 2**40]),
        ({"number": "2026"}, ["n", "2026' OR 1=1"]),
        ({}, {"i": 1}),
    ],
)
def test_a_forged_cursor_is_refused_not_an_error(world: World, criteria, key) -> None:
    forged = base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")
    with pytest.raises(ValidationFailed) as info:
        world.find(cursor=forged, **criteria)
    assert field_codes(info) == {"cursor": "invalid_cursor"}
