"""The national list's documents (credential/_national.py): what a reader refuses."""

from __future__ import annotations

import datetime as dt

import pytest

from credential import (
    NATIONAL_LIST_TYP,
    REGISTRY_ID,
    NationalEntry,
    RestrictionListError,
    load_national_entry,
    load_national_list,
    national_list_claims,
    sign_national,
)
from tests.factory.registry import NationalWorld, person


def _entry(i: int) -> NationalEntry:
    return NationalEntry(
        f"urn:jiaozi:office:31001#{i}",
        "urn:jiaozi:office:31001",
        person(i),
        "revoked",
        dt.date(2026, 11, 1),
        dt.date(2031, 11, 1),
    )


def _page(world: NationalWorld, changes, *, after: int = 0, cursor: int | None = None, by="R"):
    claims = national_list_claims(
        iss=world.office_id(by), iat=world.issued_at + 10, cursor=0, after=after, changes=changes
    )
    claims["cursor"] = cursor if cursor is not None else (changes[-1][0] if changes else after)
    return sign_national(NATIONAL_LIST_TYP, claims, world.signers[by])


def test_a_page_reads_back_in_order() -> None:
    world = NationalWorld()
    doc = load_national_list(
        _page(world, [(1, "add", _entry(1)), (2, "remove", _entry(1))]),
        world.trust,
        registry_id=REGISTRY_ID,
    )
    assert (doc.after, doc.cursor) == (0, 2)
    assert [(s, op, e.ref) for s, op, e in doc.changes] == [
        (1, "add", _entry(1).ref),
        (2, "remove", _entry(1).ref),
    ]


@pytest.mark.parametrize(
    "case",
    ["gap", "short of cursor", "signed by an office"],
)
def test_a_page_that_is_not_the_registrys_whole_sequence_is_refused(case: str) -> None:
    world = NationalWorld()
    token = {
        "gap": lambda: _page(world, [(1, "add", _entry(1)), (3, "add", _entry(3))]),
        "short of cursor": lambda: _page(world, [(1, "add", _entry(1))], cursor=2),
        "signed by an office": lambda: _page(world, [(1, "add", _entry(1))], by="B"),
    }[case]()
    with pytest.raises(RestrictionListError):
        load_national_list(token, world.trust, registry_id=REGISTRY_ID)


def test_an_entry_names_its_signer_and_a_revoked_one_has_a_bar() -> None:
    world = NationalWorld()
    sub = load_national_entry(world.entry("B", 12, who=4), world.trust, registry_id=REGISTRY_ID)
    assert (sub.office, sub.op, sub.ref) == (world.office_id("B"), "add", f"{sub.office}#12")
    assert sub.entry is not None and sub.entry.person_ref == person(4)
    removal = load_national_entry(
        world.entry("B", 12, op="remove"), world.trust, registry_id=REGISTRY_ID
    )
    assert removal.entry is None and removal.ref == sub.ref
