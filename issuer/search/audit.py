"""Searches that look a person up are recorded in the audit trail.

The project records what an officer *does* (issue, suspend, approve...) and, until now,
no read. A search by identity number or by name and birth date is different from
reading a certificate whose number one holds: it finds a person, so the office must be
able to say afterwards who looked whom up, and when. The record says who searched, when,
how (``by``: ``id_number`` or ``name``), the masked identity number (never the clear one
nor its keyed hash: the audit trail is kept for good and read by auditors) and the
certificate numbers the page showed; no name and no birth date (the numbers lead to
them for whoever may see them).

Action ``certificate.searched``, subject ``person:<masked number>`` for a number search
(as a restriction request names its person) and ``search:name`` for a name search.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from credential import as_utc
from issuer.audit import chain as audit
from issuer.db import write
from issuer.search.criteria import Criteria
from issuer.search.schemas import Page

__all__ = ["SEARCH_ACTION", "record_search"]

SEARCH_ACTION = "certificate.searched"


def record_search(
    session: Session, *, actor: str, criteria: Criteria, page: Page, now: dt.datetime
) -> None:
    """Append the audit record of a person-identifying search (its own write
    transaction, committed); a search that identifies no one records nothing."""
    if criteria.id_hashes:
        by, subject = "id_number", f"person:{criteria.id_number_masked}"
        detail: dict[str, object] = {
            "by": by,
            "id_number_masked": criteria.id_number_masked,
            "id_types": list(criteria.id_types),
        }
    elif criteria.name is not None:
        by, subject = "name", "search:name"
        detail = {"by": by}
    else:
        return
    detail["found"] = [c.certificate_number for c in page.items]
    detail["page_after_cursor"] = criteria.cursor is not None
    with write(session):
        audit.append(
            session,
            actor=actor,
            action=SEARCH_ACTION,
            subject=subject,
            detail=detail,
            at=as_utc(now),
        )
