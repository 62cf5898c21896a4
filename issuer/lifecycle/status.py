"""Decisions that change a certificate's status at once: suspend, reinstate, and revoke
where the office has switched maker-checker off.

A decision's grounds are a :class:`Decision` (reason code, decision date, legal basis);
the state machine itself is ``issuer.lifecycle.transitions``. A revocation that a second
supervisor must approve goes through ``issuer.lifecycle.approvals``, which calls
:func:`revoke` only when maker-checker is off.

Each decision is ONE write transaction (certificate, status list entry, audit record,
event), after which the status list is re-signed, so the change is public within the same
request.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from credential import Signer, as_utc
from issuer.accounts import Principal
from issuer.db import write
from issuer.db.allowance import require_reconciled
from issuer.fields.decisions import Decision
from issuer.lifecycle.transitions import (
    certificate_state,
    change_status,
    lock_certificate,
    publish,
)
from issuer.settings import IssuerSettings

__all__ = ["reinstate", "revoke", "suspend"]

# --- decisions taking effect at once -------------------------------------------------------


def _decide(
    session: Session,
    *,
    change: str,
    number: str,
    decision: Decision,
    who: Principal,
    signer: Signer,
    settings: IssuerSettings,
    now: dt.datetime,
    detail: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    now = as_utc(now)
    with write(session):
        if change != "revoke":
            # A restored office takes back the status published after its backup first: a
            # suspension or reinstatement made before that would be overwritten by the
            # reconcile (a revocation is final and the reconcile never undoes one).
            require_reconciled(session)
        cert = lock_certificate(session, number, who.office_id)
        list_id = change_status(
            session,
            cert,
            change=change,
            reason_code=decision.reason_code,
            actor=who.actor,
            detail={**decision.as_json(), **(detail or {})},
            now=now,
        )
    publish(session, [list_id], signer=signer, settings=settings, now=now)
    state = certificate_state(session, number)
    session.rollback()
    return state


def suspend(
    session: Session,
    *,
    number: str,
    decision: Decision,
    who: Principal,
    signer: Signer,
    settings: IssuerSettings,
    now: dt.datetime,
) -> dict[str, Any]:
    """Suspend a valid certificate (under investigation); raises NotFound, Conflict."""
    return _decide(
        session,
        change="suspend",
        number=number,
        decision=decision,
        who=who,
        signer=signer,
        settings=settings,
        now=now,
    )


def reinstate(
    session: Session,
    *,
    number: str,
    decision: Decision,
    who: Principal,
    signer: Signer,
    settings: IssuerSettings,
    now: dt.datetime,
) -> dict[str, Any]:
    """Make a suspended certificate valid again; raises NotFound, Conflict."""
    return _decide(
        session,
        change="reinstate",
        number=number,
        decision=decision,
        who=who,
        signer=signer,
        settings=settings,
        now=now,
    )


def revoke(
    session: Session,
    *,
    number: str,
    decision: Decision,
    who: Principal,
    signer: Signer,
    settings: IssuerSettings,
    now: dt.datetime,
    detail: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Revoke a valid or suspended certificate at once, ``detail`` added to its audit
    record; raises NotFound, Conflict.

    Only for an office with maker-checker off: a revocation is requested through
    ``issuer.lifecycle.approvals.request_revocation``, which decides.
    """
    return _decide(
        session,
        change="revoke",
        number=number,
        decision=decision,
        who=who,
        signer=signer,
        settings=settings,
        now=now,
        detail=detail,
    )
