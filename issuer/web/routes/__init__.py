"""The issuer's HTTP routes, one router per area; ``issuer.web.app`` includes them all."""

from __future__ import annotations

from fastapi import APIRouter

from issuer.web.routes import (
    accounts,
    audit,
    batch_artefacts,
    batches,
    certificates,
    claim_codes,
    events,
    holder,
    lifecycle,
    office,
    office_audit,
    office_batches,
    office_certificates,
    office_certificates_actions,
    office_inbox,
    office_restrictions,
    public,
    replacement,
    restriction_list,
    restrictions,
    search,
)

__all__ = ["ROUTERS"]

ROUTERS: tuple[APIRouter, ...] = (
    public.router,
    certificates.router,
    accounts.router,
    lifecycle.router,
    replacement.router,
    restriction_list.router,
    restrictions.router,
    events.router,
    batches.router,
    batch_artefacts.router,
    audit.router,
    claim_codes.router,
    holder.router,
    search.router,
    office.router,
    office_batches.router,
    office_audit.router,
    office_inbox.router,
    office_restrictions.router,
    office_certificates.router,
    office_certificates_actions.router,
)
