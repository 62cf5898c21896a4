"""Service clients: machines that read from the issuer, a verifier (the restricted list)
or the teacher MIS (the event feed), each with its own API keys.

Creating one is one write transaction with its first key and its audit record.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import issuer.accounts.rules as rules
from issuer.accounts.apikeys import NewApiKey, add_key, key_public, keys_of
from issuer.accounts.schemas import ClientCreated, ClientPublic
from issuer.audit import chain as audit
from issuer.db import tables, write
from issuer.db.models import ApiKey, ServiceClient
from issuer.errors import Conflict

__all__ = ["CLIENT_KINDS", "client_created", "client_public", "create_client", "list_clients"]

CLIENT_KINDS = ("verifier", "mis")

_KEY = tables.API_KEY
_CLIENT = tables.SERVICE_CLIENT


def _name_taken(name: str) -> Conflict:
    return rules.taken("name", name, "a service client", "服务客户端")


def create_client(
    session: Session, *, name: str, kind: str, actor: str, now: dt.datetime
) -> tuple[ServiceClient, NewApiKey]:
    """Create a service client (``verifier`` reads the restricted list, ``mis`` the event
    feed) with a first API key. Raises ValidationFailed, or Conflict if ``name`` is taken."""
    fields = rules.fields(
        name=lambda: rules.login_name("name", name, "名称"),
        kind=lambda: rules.choice("kind", kind, CLIENT_KINDS, "类型"),
    )
    try:
        with write(session):
            taken = session.execute(
                sa.select(_CLIENT.c.id).where(_CLIENT.c.name == fields["name"])
            ).first()
            if taken is not None:
                raise _name_taken(fields["name"])
            svc = ServiceClient(name=fields["name"], kind=fields["kind"], created_at=now)
            session.add(svc)
            session.flush()
            assert svc.id is not None
            _, new = add_key(session, client_id=svc.id, now=now)
            audit.append(
                session,
                actor=actor,
                action="client.created",
                subject=f"client:{svc.name}",
                detail={
                    "client_id": svc.id,
                    "name": svc.name,
                    "kind": svc.kind,
                    "api_key_prefix": new.prefix,
                },
                at=now,
            )
    except IntegrityError:
        # a concurrent request took the name between check and insert
        raise _name_taken(fields["name"]) from None
    return svc, new


def client_public(svc: ServiceClient, keys: Iterable[ApiKey] = ()) -> ClientPublic:
    """Return what may be shown of ``svc`` and its ``keys``."""
    assert svc.id is not None
    return ClientPublic(
        id=svc.id,
        name=svc.name,
        kind=svc.kind,
        created_at=svc.created_at,
        api_keys=[key_public(k) for k in keys],
    )


def client_created(session: Session, svc: ServiceClient, new: NewApiKey) -> ClientCreated:
    """Return the answer to creating ``svc``: the client and its key's text (once)."""
    cid = svc.id or 0
    public = client_public(svc, keys_of(session, _KEY.c.client_id, [cid])[cid])
    return ClientCreated(**public.model_dump(), api_key=new.text)


def list_clients(session: Session) -> list[ClientPublic]:
    """Return the service clients (oldest first) with their keys' prefixes."""
    clients = list(session.execute(sa.select(ServiceClient).order_by(_CLIENT.c.id)).scalars())
    keys = keys_of(session, _KEY.c.client_id, (c.id for c in clients if c.id is not None))
    return [client_public(c, keys[c.id]) for c in clients if c.id is not None]
