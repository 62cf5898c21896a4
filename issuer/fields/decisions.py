"""The grounds of a status change (suspend, reinstate, revoke), judged by the shared rules:
a reason code from the office's list, a decision date (a date, not in the future), the
legal basis (a multi-line text of at most 500 characters).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from issuer.fields import codes, dates, texts
from issuer.fields.errors import Collector

__all__ = [
    "LEGAL_BASIS_MAX",
    "REASON_CODES",
    "REASON_CODES_EN",
    "Decision",
    "decision_date",
    "legal_basis",
    "rejection_reason",
    "validate_decision",
]

# The reason codes (documented in the OpenAPI description of every decision body): what
# the decision was about, without its details, which stay in ``legal_basis`` on the
# issuer's side and never reach events or feeds.
REASON_CODES: dict[str, str] = {
    "misconduct": "违反职业道德",
    "fraud_in_application": "申请材料弄虚作假",
    "criminal_conviction": "受到刑事处罚",
    "administrative_error": "认定工作失误",
    "other": "其他",
}
# The same reasons as an English page words them (a code never reaches a page).
REASON_CODES_EN: dict[str, str] = {
    "misconduct": "Breach of professional ethics",
    "fraud_in_application": "False application materials",
    "criminal_conviction": "Criminal conviction",
    "administrative_error": "Error in the certification",
    "other": "Other",
}
LEGAL_BASIS_MAX = 500


@dataclass(frozen=True, slots=True)
class Decision:
    """The grounds of a status change: reason code, decision date, legal basis."""

    reason_code: str
    decision_date: dt.date
    legal_basis: str

    def as_json(self) -> dict[str, str]:
        return {
            "reason_code": self.reason_code,
            "decision_date": self.decision_date.isoformat(),
            "legal_basis": self.legal_basis,
        }


def decision_date(value: object, *, today: dt.date) -> dt.date:
    """Return the date of a decision (YYYY-MM-DD, 1900-01-01 to ``today``)."""
    return dates.date_in_range("decision_date", dates.iso_date("decision_date", value), today=today)


def legal_basis(value: object) -> str:
    """Return the legal basis of a decision (required; line feeds and tabs allowed)."""
    return texts.text("legal_basis", value, max_len=LEGAL_BASIS_MAX, multiline=True)


def rejection_reason(value: object) -> str:
    """Return why a supervisor rejects a request (the requester reads it; line feeds
    allowed, at most ``LEGAL_BASIS_MAX`` characters); raises ValidationFailed naming
    ``reason``."""
    c = Collector()
    out = c.take(
        lambda: texts.text(
            "reason", value, max_len=LEGAL_BASIS_MAX, multiline=True, label_zh="驳回理由"
        )
    )
    c.done()
    assert out is not None
    return out


def validate_decision(body: Mapping[str, object], *, today: dt.date) -> Decision:
    """Return the Decision in ``body``; raises ValidationFailed listing every bad field."""
    c = Collector()
    reason = c.take(lambda: codes.choice("reason_code", body.get("reason_code"), REASON_CODES))
    day = c.take(lambda: decision_date(body.get("decision_date"), today=today))
    basis = c.take(lambda: legal_basis(body.get("legal_basis")))
    c.done()
    assert reason is not None and day is not None and basis is not None
    return Decision(reason, day, basis)
