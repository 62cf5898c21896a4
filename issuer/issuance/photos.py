"""The holder's photo of a certificate: taken from a request (base64 in the API's JSON, a
file in a form or a batch's zip), normalised (``issuer.photos``), stored beside the
certificate (``certificate_photo``, revision 0015) in the issuing transaction, and read
back wherever a PDF or a print file is made.

The stored photo is the one the credential binds: every reader checks its SHA-256 against
the credential's ``photo.digestSRI`` before printing, so a PDF never carries a photo its
e-licence does not bind (``PhotoMismatchError``).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hmac
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from credential import Certificate as CertificateFacts
from credential import photo_digest
from issuer.db import tables
from issuer.fields import FieldError, ValidationFailed
from issuer.photos import MAX_BYTES, Photo, PhotoError, normalise_photo
from issuer.settings import IssuerSettings

__all__ = [
    "PhotoMismatchError",
    "checked_photo",
    "decode_photo_field",
    "load_photo",
    "load_photos",
    "normalise_file",
    "photo_required_error",
    "store_photo",
]

_PHOTO = tables.CERTIFICATE_PHOTO


class PhotoMismatchError(ValueError):
    """A certificate's stored photo is missing or not the one its credential binds."""


def photo_required_error() -> FieldError:
    """Return the refusal of an application without a photo where the office requires one
    (``JIAOZI_PHOTO_REQUIRED``)."""
    return FieldError(
        "photo",
        "photo_required",
        "this office issues certificates only with the holder's photo: add one",
        "本机构签发证书须附持证人照片，请添加照片",
    )


def decode_photo_field(value: str | None, *, settings: IssuerSettings) -> Photo | None:
    """Return the photo in a request's ``photo`` field (base64 of a JPEG or PNG), or None
    when there is none and the office does not require one.

    Raises ValidationFailed naming ``photo``: not base64, a rule of ``issuer.photos``
    broken, or missing where required."""
    if value is None or value == "":
        if settings.photo_required:
            raise ValidationFailed([photo_required_error()])
        return None
    if len(value) > (MAX_BYTES + 2) // 3 * 4 + 4:  # more than 2 MiB once decoded
        raise ValidationFailed(
            [
                FieldError(
                    "photo",
                    "photo_too_large",
                    "the photo file is over 2 MiB",
                    "照片文件超过2兆字节",
                )
            ]
        )
    try:
        data = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValidationFailed(
            [
                FieldError(
                    "photo",
                    "photo_not_base64",
                    "the photo is not base64 (standard alphabet, padded) of a JPEG or PNG file",
                    "照片不是JPEG或PNG文件的Base64编码（标准字母表，带填充）",
                )
            ]
        ) from None
    return normalise_file(data)


def normalise_file(data: bytes) -> Photo:
    """Return ``data`` normalised; raises ValidationFailed naming ``photo``."""
    try:
        return normalise_photo(data)
    except PhotoError as exc:
        raise ValidationFailed([FieldError.of(exc)]) from None


def store_photo(session: Session, certificate_id: int, photo: Photo, *, now: dt.datetime) -> None:
    """Store ``photo`` as certificate ``certificate_id``'s (replacing one it had), inside
    the caller's write transaction."""
    session.execute(sa.delete(_PHOTO).where(_PHOTO.c.certificate_id == certificate_id))
    session.execute(
        sa.insert(_PHOTO).values(
            certificate_id=certificate_id, sha256=photo.sha256_hex, jpeg=photo.jpeg, created_at=now
        )
    )


def load_photo(session: Session | Connection, certificate_id: int | None) -> bytes | None:
    """Return certificate ``certificate_id``'s stored photo, or None."""
    if certificate_id is None:
        return None
    return session.execute(
        sa.select(_PHOTO.c.jpeg).where(_PHOTO.c.certificate_id == certificate_id)
    ).scalar_one_or_none()


def load_photos(conn: Session | Connection, ids: Iterable[int]) -> dict[int, bytes]:
    """Return the stored photos of the certificates ``ids`` that have one (one SELECT per
    500)."""
    wanted = sorted(set(ids))
    found: dict[int, bytes] = {}
    for i in range(0, len(wanted), 500):
        stmt = sa.select(_PHOTO.c.certificate_id, _PHOTO.c.jpeg).where(
            _PHOTO.c.certificate_id.in_(wanted[i : i + 500])
        )
        found.update({cid: jpeg for cid, jpeg in conn.execute(stmt)})
    return found


def checked_photo(facts: CertificateFacts, photo: bytes | None) -> bytes | None:
    """Return the photo to print and attach for ``facts``: ``photo`` when the credential
    binds it, None when the credential binds none. Raises PhotoMismatchError when the
    credential binds a photo and ``photo`` is missing or another one."""
    bound = facts.photo_digest
    if bound is None:
        return None
    if photo is None or not hmac.compare_digest(photo_digest(photo), bound):
        raise PhotoMismatchError(
            f"certificate {facts.certificate_number}: its stored photo is missing or not the"
            " one its credential binds"
        )
    return photo
