"""A restricted-list entry and its removal (contract section 7), judged by the shared rules:
the person's name (optional, as a certificate's name), identity document type and number,
the category (``lost`` or ``revoked``), the decision date and legal basis (as a status
change's), the deciding office (optional); a removal's reason and decision date.

The entry's person reference and keyed hash are made from the valid number by
``issuer.lifecycle.restrictions``: no key is needed to judge a field.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from credential import IdType
from issuer.fields import codes, texts
from issuer.fields.decisions import decision_date, legal_basis
from issuer.fields.errors import Collector
from issuer.fields.identity import identity_number

__all__ = [
    "CATEGORIES",
    "OFFICE_MAX",
    "REASON_MAX",
    "RestrictionEntry",
    "validate_entry",
    "validate_person",
    "validate_removal",
]

CATEGORIES = ("lost", "revoked")
OFFICE_MAX = 200
REASON_MAX = 500


@dataclass(frozen=True, slots=True)
class RestrictionEntry:
    """A restricted-list entry whose every field passed, in normalised form."""

    name: str | None
    id_type: IdType
    id_number: str
    category: str
    decision_date: dt.date
    legal_basis: str
    deciding_office: str | None


def validate_entry(body: Mapping[str, object], *, today: dt.date) -> RestrictionEntry:
    """Return the entry in ``body``; raises ValidationFailed listing every bad field."""
    c = Collector()
    name = c.take(lambda: texts.name(body.get("name"), required=False))
    kind = c.take(lambda: codes.id_type(body.get("id_type")))
    number = c.take(lambda: identity_number(body.get("id_number"), kind, today=today))
    category = c.take(lambda: codes.choice("category", body.get("category"), CATEGORIES))
    day = c.take(lambda: decision_date(body.get("decision_date"), today=today))
    basis = c.take(lambda: legal_basis(body.get("legal_basis")))
    office = c.take(
        lambda: texts.text(
            "deciding_office", body.get("deciding_office"), max_len=OFFICE_MAX, required=False
        )
    )
    c.done()
    assert kind is not None and number is not None and category is not None
    assert day is not None and basis is not None
    return RestrictionEntry(
        name=name or None,
        id_type=kind,
        id_number=number,
        category=category,
        decision_date=day,
        legal_basis=basis,
        deciding_office=office or None,
    )


def validate_person(body: Mapping[str, object], *, today: dt.date) -> tuple[IdType, str]:
    """Return (document type, number) of the person looked up in ``body``
    (``id_type``, ``id_number``: the same rules as an entry's); raises ValidationFailed
    naming each bad field."""
    c = Collector()
    kind = c.take(lambda: codes.id_type(body.get("id_type")))
    number = c.take(lambda: identity_number(body.get("id_number"), kind, today=today))
    c.done()
    assert kind is not None and number is not None
    return kind, number


def validate_removal(body: Mapping[str, object], *, today: dt.date) -> dict[str, Any]:
    """Return the pending payload of a removal; raises ValidationFailed (every field)."""
    c = Collector()
    reason = c.take(
        lambda: texts.text("reason", body.get("reason"), max_len=REASON_MAX, multiline=True)
    )
    day = c.take(lambda: decision_date(body.get("decision_date"), today=today))
    c.done()
    assert reason is not None and day is not None
    return {"reason": reason, "decision_date": day.isoformat()}
