"""The restricted list's signed documents (contract section 7): the bytes an office signs,
what a verifier reads back, and every document the reader must refuse.

The office-signed check (typ, trusted office key, ``iss``, ``iat`` inside the key's window)
is shared with the status list; both formats are run through it here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credential import (
    RESTRICTIONS_TYP,
    STATUS_LIST_TYP,
    CredentialError,
    RestrictionListError,
    RestrictionRecord,
    StatusListError,
    b64url_decode,
    canonical_json,
    encode_jws,
    load_restrictions,
    load_status_list,
    restriction_entry_claim,
    restrictions_changes_claims,
    restrictions_snapshot_claims,
    sign_restrictions,
    status_list_claims,
)
from tests.factory import T0, World, signer

OFFICE = "urn:jiaozi:office:11001"
WORLD = World()
REF = "0123456789abcdef" * 4
NUMBER = "20261100140000001"


def entry(entry_id: int | str = 7, **over: Any) -> dict[str, Any]:
    fields: dict[str, Any] = dict(
        entry_id=entry_id,
        category="revoked",
        decision_date=dt.date(2026, 11, 28),
        bar_until=dt.date(2031, 11, 28),
        deciding_office="北京市教育委员会",
        affected=[NUMBER],
    )
    fields.update(over)
    return restriction_entry_claim(**fields)


def signed(world: World, claims: dict[str, Any], *, by: Any = None, typ: str = "") -> str:
    """``claims`` signed as the office would, or as ``by`` and with ``typ`` when given."""
    return encode_jws({"typ": typ or RESTRICTIONS_TYP}, claims, by or world.office_signer)


# --- the bytes an office signs ---------------------------------------------------------------


def test_snapshot_claims_known_answer() -> None:
    claims = restrictions_snapshot_claims(iss=OFFICE, iat=T0, cursor=3, entries=[entry()])
    assert (
        canonical_json(claims)
        == (
            '{"cursor":3,"entries":[{"affected":["20261100140000001"],"bar_until":"2031-11-28",'
            '"category":"revoked","deciding_office":"北京市教育委员会","decision_date":"2026-11-28",'
            f'"id":7}}],"iat":{T0},"iss":"urn:jiaozi:office:11001"}}'
        ).encode()
    )


def test_changes_claims_known_answer_and_the_cursor_of_a_page() -> None:
    removed = entry(5, category="lost", bar_until=None, affected=[])
    claims = restrictions_changes_claims(
        iss=OFFICE, iat=T0, after=4, changes=[(5, "add", removed), (6, "remove", removed)]
    )
    lost = (
        '{"affected":[],"bar_until":null,"category":"lost","deciding_office":"北京市教育委员会",'
        '"decision_date":"2026-11-28","id":5}'
    )
    assert (
        canonical_json(claims)
        == (
            f'{{"after":4,"changes":[{{"entry":{lost},"op":"add","seq":5}},'
            f'{{"entry":{lost},"op":"remove","seq":6}}],"cursor":6,"iat":{T0},'
            '"iss":"urn:jiaozi:office:11001"}'
        ).encode()
    )
    empty = restrictions_changes_claims(iss=OFFICE, iat=T0, after=6, changes=[])
    assert (empty["after"], empty["cursor"], empty["changes"]) == (6, 6, [])


def test_signed_document_header_names_the_format_and_the_office_key() -> None:
    world = World(office_signer=signer(seed=1))
    claims = restrictions_snapshot_claims(iss=OFFICE, iat=T0, cursor=0, entries=[])
    token = sign_restrictions(claims, world.office_signer)
    header = b64url_decode(token.split(".")[0], "header")
    assert header == b'{"alg":"EdDSA","kid":"11001-1","typ":"jiaozi-restrictions+jwt"}'
    # Ed25519 is deterministic: the same claims and key give the same token.
    assert token == sign_restrictions(dict(reversed(claims.items())), world.office_signer)


# --- what a verifier reads back ---------------------------------------------------------------


def test_snapshot_round_trips() -> None:
    world = World()
    claims = restrictions_snapshot_claims(
        iss=world.office_id,
        iat=T0,
        cursor=9,
        entries=[entry(7), entry("r-8", category="lost", bar_until=None, affected=[])],
    )
    doc = load_restrictions(sign_restrictions(claims, world.office_signer), world.trust)
    assert (doc.office.id, doc.iat, doc.cursor, doc.after, doc.changes) == (
        world.office_id,
        T0,
        9,
        None,
        (),
    )
    assert doc.entries == (
        RestrictionRecord("7", "revoked", dt.date(2026, 11, 28), dt.date(2031, 11, 28), (NUMBER,)),
        RestrictionRecord("r-8", "lost", dt.date(2026, 11, 28), None, ()),
    )


def test_changes_round_trip_and_a_removal_is_read_as_its_id() -> None:
    world = World()
    claims = restrictions_changes_claims(
        iss=world.office_id,
        iat=T0,
        after=2,
        changes=[(3, "add", entry(7)), (4, "remove", {"id": 7})],
    )
    doc = load_restrictions(sign_restrictions(claims, world.office_signer), world.trust)
    assert (doc.after, doc.cursor, doc.entries) == (2, 4, ())
    (seq_a, op_a, added), (seq_r, op_r, removed) = doc.changes
    assert (seq_a, op_a, seq_r, op_r, removed) == (3, "add", 4, "remove", "7")
    assert isinstance(added, RestrictionRecord) and added.affected == (NUMBER,)


_ids = st.one_of(
    st.integers(min_value=0, max_value=10**9),
    st.from_regex(r"[A-Za-z0-9._:-]{1,20}", fullmatch=True),
)
_dates = st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2099, 12, 31))


@given(
    ids=st.lists(_ids, max_size=6, unique_by=str),
    category=st.sampled_from(["lost", "revoked"]),
    decided=_dates,
    bar=st.one_of(st.none(), _dates),
    affected=st.lists(st.from_regex(r"[0-9]{17}", fullmatch=True), max_size=3),
    cursor=st.integers(min_value=0, max_value=2**40),
)
def test_any_snapshot_an_office_makes_reads_back_as_made(
    ids: list[int | str],
    category: str,
    decided: dt.date,
    bar: dt.date | None,
    affected: list[str],
    cursor: int,
) -> None:
    world = WORLD
    entries = [
        entry(i, category=category, decision_date=decided, bar_until=bar, affected=affected)
        for i in ids
    ]
    claims = restrictions_snapshot_claims(
        iss=world.office_id, iat=T0, cursor=cursor, entries=entries
    )
    doc = load_restrictions(sign_restrictions(claims, world.office_signer), world.trust)
    assert doc.cursor == cursor
    assert [(e.entry_id, e.category, e.decision_date, e.bar_until) for e in doc.entries] == [
        (str(i), category, decided, bar) for i in ids
    ]
    assert all(e.affected == tuple(dict.fromkeys(affected)) for e in doc.entries)


# --- what the reader refuses -------------------------------------------------------------------


def snapshot(world: World, **over: Any) -> dict[str, Any]:
    claims = restrictions_snapshot_claims(iss=world.office_id, iat=T0, cursor=1, entries=[entry()])
    claims.update(over)
    return claims


def page(world: World, changes: Any, **over: Any) -> dict[str, Any]:
    claims = {"iss": world.office_id, "iat": T0, "after": 0, "cursor": 9, "changes": changes}
    claims.update(over)
    return claims


REFUSED_CLAIMS: dict[str, Callable[[World], dict[str, Any]]] = {
    "cursor-missing": lambda w: {k: v for k, v in snapshot(w).items() if k != "cursor"},
    "cursor-negative": lambda w: snapshot(w, cursor=-1),
    "cursor-bool": lambda w: snapshot(w, cursor=True),
    "entries-not-a-list": lambda w: snapshot(w, entries={"7": entry()}),
    "entry-not-an-object": lambda w: snapshot(w, entries=["7"]),
    "entry-id-missing": lambda w: snapshot(w, entries=[{**entry(), "id": None}]),
    "entry-id-with-space": lambda w: snapshot(w, entries=[entry("a b")]),
    "entry-id-too-long": lambda w: snapshot(w, entries=[entry("x" * 101)]),
    "entry-id-twice": lambda w: snapshot(w, entries=[entry(7), entry("7")]),
    # a verifier keeps the documents as received: one naming a person is refused whole
    "person-ref": lambda w: snapshot(w, entries=[{**entry(), "person_ref": REF}]),
    "person-ref-null": lambda w: snapshot(w, entries=[{**entry(), "person_ref": None}]),
    "person-ref-an-id-number": lambda w: snapshot(
        w, entries=[{**entry(), "person_ref": "110105197609062469"}]
    ),
    "category-unknown": lambda w: snapshot(w, entries=[{**entry(), "category": "suspended"}]),
    "decision-date-not-a-date": lambda w: snapshot(
        w, entries=[{**entry(), "decision_date": "2026-02-30"}]
    ),
    "bar-until-a-number": lambda w: snapshot(w, entries=[{**entry(), "bar_until": 20311128}]),
    "affected-not-numbers": lambda w: snapshot(w, entries=[{**entry(), "affected": ["12"]}]),
    "affected-not-a-list": lambda w: snapshot(w, entries=[{**entry(), "affected": NUMBER}]),
    "page-after-missing": lambda w: {k: v for k, v in page(w, []).items() if k != "after"},
    "page-cursor-before-after": lambda w: page(w, [], after=5, cursor=4),
    "page-changes-not-a-list": lambda w: page(w, {"seq": 1}),
    "change-not-an-object": lambda w: page(w, [[1, "add", entry()]]),
    "change-seq-at-after": lambda w: page(w, [{"seq": 0, "op": "add", "entry": entry()}]),
    "change-seq-past-cursor": lambda w: page(w, [{"seq": 10, "op": "add", "entry": entry()}]),
    "change-seq-repeated": lambda w: page(
        w,
        [
            {"seq": 2, "op": "add", "entry": entry()},
            {"seq": 2, "op": "remove", "entry": entry()},
        ],
    ),
    "change-op-unknown": lambda w: page(w, [{"seq": 1, "op": "update", "entry": entry()}]),
    "removal-without-id": lambda w: page(w, [{"seq": 1, "op": "remove", "entry": {}}]),
    "addition-malformed": lambda w: page(
        w, [{"seq": 1, "op": "add", "entry": {**entry(), "category": "x"}}]
    ),
}


@pytest.mark.parametrize("name", sorted(REFUSED_CLAIMS))
def test_malformed_document_is_refused(name: str) -> None:
    world = WORLD
    token = signed(world, REFUSED_CLAIMS[name](world))
    with pytest.raises(RestrictionListError):
        load_restrictions(token, world.trust)


def test_a_control_document_of_the_same_shape_is_accepted() -> None:
    # the refusals above are for their defect, not for the documents' common shape
    world = WORLD
    assert load_restrictions(signed(world, snapshot(world)), world.trust).cursor == 1
    ok = page(world, [{"seq": 1, "op": "add", "entry": entry()}])
    assert load_restrictions(signed(world, ok), world.trust).changes[0][0] == 1


def test_iss_must_be_the_office_that_signed_it() -> None:
    world = WORLD
    for iss in ("urn:jiaozi:office:11002", None, 11001):
        token = signed(world, snapshot(world, iss=iss))
        with pytest.raises(RestrictionListError, match="iss"):
            load_restrictions(token, world.trust)


# --- the office-signed check, shared by the status list and the restricted list ----------------


def restricted_list(world: World, *, iat: int = T0 - 60, by: Any = None, typ: str = "") -> str:
    return signed(world, snapshot(world, iat=iat), by=by, typ=typ or RESTRICTIONS_TYP)


def status_list(world: World, *, iat: int = T0 - 60, by: Any = None, typ: str = "") -> str:
    claims = status_list_claims(world.status, uri=world.status_uri, iat=iat, exp=T0 + 86400, ttl=60)
    return encode_jws({"typ": typ or STATUS_LIST_TYP}, claims, by or world.office_signer)


FORMATS = {
    "restricted-list": (restricted_list, load_restrictions, RestrictionListError),
    "status-list": (status_list, load_status_list, StatusListError),
}


@pytest.fixture(params=sorted(FORMATS))
def fmt(request: pytest.FixtureRequest) -> tuple[Any, Any, type[CredentialError]]:
    return FORMATS[request.param]


def test_the_genuine_document_is_accepted() -> None:
    world = World()
    assert load_restrictions(restricted_list(world), world.trust).office.id == world.office_id
    assert load_status_list(status_list(world), world.trust).office_id == world.office_id


@pytest.mark.parametrize(
    "who", ["attacker-new-kid", "attacker-office-kid", "root-key", "other-office"]
)
def test_not_signed_by_a_trusted_office_key(fmt: tuple[Any, Any, Any], who: str) -> None:
    make, load, error = fmt
    world = World()
    key = {
        "attacker-new-kid": signer(kid="attacker-1"),
        "attacker-office-kid": signer(kid=world.office_signer.kid),
        "root-key": world.root,
        "other-office": signer(kid="11002-1"),
    }[who]
    with pytest.raises(error, match="trusted office key"):
        load(make(world, by=key), world.trust)


@pytest.mark.parametrize("typ", ["jiaozi-qr+jwt", "vc+jwt", "JIAOZI-RESTRICTIONS+JWT", "x"])
def test_another_typ_is_refused(fmt: tuple[Any, Any, Any], typ: str) -> None:
    make, load, error = fmt
    world = World()
    with pytest.raises(error, match="typ"):
        load(make(world, typ=typ), world.trust)


@pytest.mark.parametrize(
    ("window", "iat"),
    [
        ({"nbf": T0 - 30}, T0 - 60),
        ({"exp": T0 - 60}, T0 - 60),
        ({"compromised_at": T0 - 120}, T0 - 60),
    ],
    ids=["before-nbf", "at-exp", "after-compromise"],
)
def test_signed_outside_the_key_window(
    fmt: tuple[Any, Any, Any], window: dict[str, int | None], iat: int
) -> None:
    make, load, error = fmt
    world = World(key_window=window)
    with pytest.raises(error, match="window"):
        load(make(world, iat=iat), world.trust)


def test_iat_must_be_a_non_negative_integer(fmt: tuple[Any, Any, Any]) -> None:
    make, load, error = fmt
    world = World()
    with pytest.raises(error, match="iat"):
        load(make(world, iat=-1), world.trust)


def test_not_a_jws_is_refused_with_the_format_error(fmt: tuple[Any, Any, Any]) -> None:
    _make, load, error = fmt
    for text in ("", "a.b", "e30.e30.", "x" * 100):
        with pytest.raises(error, match="not a valid JWS"):
            load(text, World().trust)
