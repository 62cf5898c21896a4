"""A search's input judged field by field: what a certificate may be searched by.

One rule per field, the same whichever way the search comes in (query string, JSON body,
console form); every refused field is one ``issuer.fields.FieldError`` in one
``ValidationFailed`` (HTTP 422 naming the field, ``issuer.web.problems``):

- ``number``: 1-17 digits; 17 is one certificate, fewer a prefix (``format``).
- ``name`` and ``birth_date`` together or not at all (``required`` on the missing one).
  A name alone would let anyone with the console list every holder of a name with their
  birth dates, masked identity numbers and qualifications: finding a neighbour, a
  colleague or someone in the news by name. With the birth date too, the officer must
  already know who they are looking for (the teacher at the counter shows it), and a
  match is one person; a birth date alone is refused for the same reason.
- ``id_number``: exact only, matched through the keyed hash issuing stores
  (``issuer.issuance.id_hash``): the clear number is never compared, stored or kept.
  ``id_type`` narrows it to one document type; without it every type under which the
  number is well formed is tried. A number well formed under none is refused with the
  resident identity number's reason (the usual document).
- ``batch``: a batch id (a positive integer, ``out_of_range``).
- ``status``: valid, suspended or revoked (``unknown_status``).
- ``limit``: 1 to ``MAX_LIMIT`` (``out_of_range``); ``cursor``: as a previous page gave
  it (``invalid_cursor``).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from dataclasses import dataclass

from credential import IdType, InvalidFieldError, mask_id
from issuer.fields import Collector, FieldError
from issuer.fields.codes import choice
from issuer.fields.codes import id_type as id_type_rule
from issuer.fields.dates import iso_date
from issuer.fields.texts import NAME_MAX, text
from issuer.issuance import id_hash
from issuer.settings import IssuerSettings

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "ORDERS",
    "STATUSES",
    "Criteria",
    "Cursor",
    "decode_cursor",
    "encode_cursor",
    "judge",
    "order_of",
]

MAX_LIMIT = 100
DEFAULT_LIMIT = 20
STATUSES = ("valid", "suspended", "revoked")
NUMBER_LENGTH = 17
_NUMBER = re.compile(r"[0-9]{1,17}")

# A cursor is the sort key of the last row a page showed: ("i", issued-at in microseconds
# since the epoch, row id) in issued order, ("n", number) in number order, ("r", row
# number) in a batch's row order.
Cursor = tuple[str, int, int] | tuple[str, str] | tuple[str, int]

#: The orders of a page: a number search in number order, a batch's certificates in the
#: batch file's row order, everything else in issued order.
ORDERS = ("number", "batch", "issued")


@dataclass(frozen=True, slots=True)
class Criteria:
    """A judged search: every field in normal form; the identity number only as the keyed
    hashes it may be stored under, and masked (for the audit record)."""

    number: str | None = None
    name: str | None = None
    birth_date: dt.date | None = None
    id_hashes: tuple[str, ...] = ()
    id_types: tuple[str, ...] = ()
    id_number_masked: str | None = None
    batch_id: int | None = None
    status: str | None = None
    limit: int = DEFAULT_LIMIT
    cursor: Cursor | None = None

    @property
    def order(self) -> str:
        """The order of the results (one of ``ORDERS``)."""
        return order_of(number=self.number, batch=self.batch_id)

    @property
    def identifies_a_person(self) -> bool:
        """Whether this search looks a person up (name and birth date, identity number):
        such searches are recorded in the audit trail."""
        return bool(self.id_hashes) or self.name is not None


def _err(field: str, code: str, en: str, zh: str) -> InvalidFieldError:
    return InvalidFieldError(field, code, en, zh)


def _required(field: str, en: str, zh: str) -> FieldError:
    return FieldError(field, "required", en, zh)


def encode_cursor(key: Cursor) -> str:
    """Return the opaque text of a cursor (URL-safe base64 of its JSON)."""
    raw = json.dumps(list(key), separators=(",", ":")).encode("ascii")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _bad_cursor() -> InvalidFieldError:
    return _err(
        "cursor",
        "invalid_cursor",
        "must be a next_cursor this search returned",
        "cursor应为本次搜索返回的next_cursor",
    )


def order_of(*, number: object, batch: object) -> str:
    """Return the order of a search given a number and a batch (or not)."""
    if number:
        return "number"
    return "batch" if batch is not None else "issued"


# Bounds of what a cursor or a batch id may hold: the columns are 32-bit integers, and an
# issue time is before the year 10000 (beyond either, the database or the datetime
# arithmetic would fail instead of answering 422).
INT_MAX = 2**31 - 1
_MICROS_MAX = 253_402_300_799 * 1_000_000


def _small(value: object, top: int = INT_MAX) -> bool:
    return type(value) is int and 0 <= value <= top


def decode_cursor(value: str, *, order: str) -> Cursor:
    """Return the key in cursor text ``value`` for a search in ``order``.

    Raises InvalidFieldError ``invalid_cursor`` for anything a page did not give, or one
    of another order (a cursor of a number search passed to a name search)."""
    if len(value) > 200:
        raise _bad_cursor()
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        key = json.loads(raw.decode("ascii"))
    except (binascii.Error, ValueError):
        raise _bad_cursor() from None
    if not isinstance(key, list) or not key:
        raise _bad_cursor()
    if order == "number" and key[0] == "n" and len(key) == 2:
        if isinstance(key[1], str) and _NUMBER.fullmatch(key[1]):
            return ("n", key[1])
    if order == "batch" and key[0] == "r" and len(key) == 2 and _small(key[1]):
        return ("r", key[1])
    if order == "issued" and key[0] == "i" and len(key) == 3:
        if _small(key[1], _MICROS_MAX) and _small(key[2]):
            return ("i", key[1], key[2])
    raise _bad_cursor()


def _number(value: str) -> str:
    number = text("number", value, max_len=NUMBER_LENGTH)
    if _NUMBER.fullmatch(number) is None:
        raise _err(
            "number",
            "format",
            "must be 1-17 digits (a whole certificate number or its beginning)",
            "证书号码应为1至17位数字（完整号码或其开头部分）",
        )
    return number


def _identity(
    settings: IssuerSettings, number: object, kind: IdType | None
) -> tuple[tuple[str, ...], tuple[str, ...], str]:
    """Return (keyed hashes, their document types, masked number) of ``number``."""
    clear = text("id_number", number, max_len=40)
    kinds = [kind] if kind is not None else list(IdType)
    hashes: list[str] = []
    types: list[str] = []
    first: InvalidFieldError | None = None
    for k in kinds:
        try:
            hashes.append(id_hash(settings, k, clear))
        except InvalidFieldError as exc:
            first = first or exc
            continue
        types.append(k.value)
    if not hashes:
        assert first is not None
        raise first
    return tuple(hashes), tuple(types), mask_id(clear)


def _limit(value: object) -> int:
    if type(value) is not int or not 1 <= value <= MAX_LIMIT:
        raise _err(
            "limit",
            "out_of_range",
            f"must be a whole number from 1 to {MAX_LIMIT}",
            f"每页条数应为1至{MAX_LIMIT}的整数",
        )
    return value


def _batch(value: object) -> int:
    if type(value) is not int or not 1 <= value <= INT_MAX:
        raise _err("batch", "out_of_range", "must be a batch id", "批次编号应为正整数")
    return value


def judge(
    *,
    settings: IssuerSettings,
    number: str | None = None,
    name: str | None = None,
    birth_date: str | None = None,
    id_type: str | None = None,
    id_number: str | None = None,
    batch: int | None = None,
    status: str | None = None,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Criteria:
    """Return the judged criteria of a search; an empty value is an absent one.

    Raises ValidationFailed naming every refused field (codes in the module docstring).
    """
    c = Collector()
    got_number = c.take(lambda: _number(number)) if number else None
    got_name = c.take(lambda: text("name", name, max_len=NAME_MAX)) if name else None
    got_birth = c.take(lambda: iso_date("birth_date", birth_date)) if birth_date else None
    if name and not birth_date:
        c.errors.append(
            _required(
                "birth_date",
                "a name is searched only with the birth date",
                "按姓名查询须同时提供出生日期",
            )
        )
    if birth_date and not name:
        c.errors.append(
            _required(
                "name",
                "a birth date is searched only with the name",
                "按出生日期查询须同时提供姓名",
            )
        )
    kind = c.take(lambda: id_type_rule(id_type)) if id_type else None
    identity = None
    if id_number:
        if not (id_type and kind is None):  # a refused type was already named
            identity = c.take(lambda: _identity(settings, id_number, kind))
    elif id_type:
        c.errors.append(
            _required(
                "id_number",
                "a document type is searched with its number",
                "按证件类型查询须同时提供证件号码",
            )
        )
    got_batch = c.take(lambda: _batch(batch)) if batch is not None else None
    got_status = c.take(lambda: choice("status", status, STATUSES)) if status else None
    got_limit = c.take(lambda: _limit(limit))
    order = order_of(number=number, batch=batch)
    got_cursor = c.take(lambda: decode_cursor(cursor, order=order)) if cursor else None
    c.done()
    return Criteria(
        number=got_number,
        name=got_name,
        birth_date=got_birth,
        id_hashes=identity[0] if identity else (),
        id_types=identity[1] if identity else (),
        id_number_masked=identity[2] if identity else None,
        batch_id=got_batch,
        status=got_status,
        limit=got_limit or DEFAULT_LIMIT,
        cursor=got_cursor,
    )
