"""What a page prints: the item to print and the text of every field a layout may name."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from credential import Certificate

from ._errors import PdfError

__all__ = ["PrintItem", "field_values", "zh_date"]


@dataclass(frozen=True, slots=True)
class PrintItem:
    """One page of a print file: a certificate, its QR text and how to print it."""

    cert: Certificate
    qr_text: str
    purpose: str | None = None
    purpose_expires: dt.date | None = None
    seal_png: bytes | None = None
    layout: str | None = None
    seal_text: str | None = None  # the seal's purpose text (a vector seal), else the layout's
    photo: bytes | None = None  # the holder's photo, a JPEG (printed where the layout has a box)


def zh_date(d: dt.date) -> str:
    """Return ``d`` as printed: ``2025年6月18日``."""
    return f"{d.year}年{d.month}月{d.day}日"


def _is_purpose_copy(item: PrintItem) -> bool:
    if (item.purpose is None) != (item.purpose_expires is None):
        raise PdfError("a purpose-bound copy needs both purpose and purpose_expires")
    if item.purpose is not None and not item.purpose.strip():
        raise PdfError("the purpose of a purpose-bound copy is empty")
    return item.purpose is not None


def field_values(item: PrintItem) -> dict[str, str]:
    """Return the printed text of every field key a layout may name."""
    c = item.cert
    purpose_copy = _is_purpose_copy(item)
    values = {
        "name": c.name,
        "sex": c.sex.name_zh,
        "birth_date": zh_date(c.birth_date),
        "id_type": c.id_type.name_zh,
        # the paper certificate shows the full number; a copy handed to a third party does not
        "id_number": c.id_number_masked if purpose_copy else c.id_number,
        "qualification": c.qualification_type.name_zh,
        "subject": c.subject,
        "office": c.office_name,
        "office_code": c.office_code,
        "certified_on": zh_date(c.certified_on),
        "certificate_number": c.certificate_number,
        "elicence_id": c.elicence_id,
        "version": f"第{c.version}版",
    }
    if c.ethnicity:
        values["ethnicity"] = c.ethnicity
    if purpose_copy:
        assert item.purpose is not None and item.purpose_expires is not None
        values["purpose"] = item.purpose.strip()
        values["expires"] = zh_date(item.purpose_expires)
    return values
