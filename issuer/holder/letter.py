"""One teacher's claim letter for a code a clerk has just made (the console's
certificate page; a batch's letters are ``batch_codes``'s).

The code is not kept in clear anywhere: the page that showed it sends it back, and the
letter is made only if it is still the live code of the holder of that certificate
(checked against its keyed hash), so no letter can be printed for a code the office did
not make or that has been replaced, used or has expired.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from credential import as_utc, beijing_date
from issuer.db import tables
from issuer.holder.codes import code_hash, format_code, normalise_code
from issuer.issuance import certificate_row
from issuer.pdf import ClaimLetter, render_claim_letters
from issuer.settings import IssuerSettings

__all__ = ["claim_letter_pdf"]

_CODE = tables.HOLDER_CLAIM_CODE


def claim_letter_pdf(
    session: Session,
    *,
    number: str,
    office_id: str | None,
    code: str,
    settings: IssuerSettings,
    now: dt.datetime,
) -> bytes | None:
    """Return the one-page claim letter (PDF) naming certificate ``number`` (of
    ``office_id``) and ``code``, or None if ``code`` is not its holder's live claim code.
    Raises NotFound (also for another office's certificate), issuer.pdf.PdfError. Ends
    the session's transaction."""
    row = certificate_row(session, number=number, office_id=office_id)
    normal = normalise_code(code)
    got = None
    if normal is not None:
        got = session.execute(
            sa.select(_CODE.c.expires_at, _CODE.c.used_at).where(
                _CODE.c.id_number_hash == row.id_number_hash,
                _CODE.c.code_hash == code_hash(settings, normal),
            )
        ).first()
    session.rollback()
    if normal is None or got is None or got.used_at is not None:
        return None
    expires = as_utc(got.expires_at)
    if expires <= now:
        return None
    letter = ClaimLetter(
        name=row.name,
        certificate_numbers=(number,),
        claim_code=format_code(normal),
        expires_on=beijing_date(expires),
        office_name=settings.office_name,
    )
    return render_claim_letters(
        [letter],
        holder_url=settings.holder_page_url,
        max_failures=settings.holder_max_failures,
        lockout_minutes=settings.holder_lockout_minutes,
    )
