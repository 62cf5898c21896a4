"""Officers: people acting for one office as clerk, supervisor or admin.

Each change is one write transaction that also appends its audit record, so an officer
never exists without the record of who made it. Functions that touch an officer take the
acting admin's ``office_id``: an officer of another office is NotFound.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import issuer.accounts.rules as rules
from issuer.accounts.apikeys import NewApiKey, add_key, key_public, keys_of
from issuer.accounts.offices import officer_in
from issuer.accounts.principal import ROLES
from issuer.accounts.schemas import OfficerCreated, OfficerPublic
from issuer.audit import chain as audit
from issuer.db import tables, write
from issuer.db.models import ApiKey, Office, Officer
from issuer.errors import Conflict, NotFound, Unauthorized

__all__ = [
    "add_officer",
    "create_officer",
    "deactivate_officer",
    "get_officer",
    "list_officers",
    "officer_created",
    "officer_fields",
    "officer_public",
    "refuse_taken_username",
]

_KEY = tables.API_KEY
_OFFICER = tables.OFFICER


def _username_taken(username: str) -> Conflict:
    return rules.taken("username", username, "an officer", "工作人员")


def officer_fields(username: object, display_name: object, role: object) -> dict[str, str]:
    """Return a new officer's fields (``username``, ``display_name``, ``role``) as stored;
    raises ValidationFailed naming every bad field."""
    return rules.fields(
        username=lambda: rules.login_name("username", username, "登录名"),
        display_name=lambda: rules.display_name(display_name),
        role=lambda: rules.choice("role", role, ROLES, "角色"),
    )


def refuse_taken_username(session: Session, username: str) -> None:
    """Raise Conflict if an officer of any office is named ``username``."""
    taken = session.execute(sa.select(_OFFICER.c.id).where(_OFFICER.c.username == username)).first()
    if taken is not None:
        raise _username_taken(username)


def add_officer(
    session: Session,
    *,
    office_id: str,
    fields: Mapping[str, str],
    actor: str,
    created_by: int | None,
    with_key: bool,
    detail: Mapping[str, Any],
    now: dt.datetime,
) -> tuple[Officer, NewApiKey | None]:
    """Add an officer of ``office_id`` (``fields`` as :func:`officer_fields` returns them)
    to the caller's write transaction, audited; with ``with_key`` a first key too, issued
    by ``created_by``. Return the officer and the key (None without one).

    Raises NotFound if the office does not exist, Conflict if the username is taken.
    """
    if session.get(Office, office_id) is None:
        raise NotFound(
            "No such office",
            "机构不存在",
            f"No office {office_id}.",
            f"没有机构{office_id}。",
        )
    refuse_taken_username(session, fields["username"])
    officer = Officer(
        office_id=office_id,
        username=fields["username"],
        display_name=fields["display_name"],
        role=fields["role"],
        active=True,
        created_at=now,
        created_by=created_by,
    )
    session.add(officer)
    session.flush()
    assert officer.id is not None
    new = None
    if with_key:
        _, new = add_key(session, officer_id=officer.id, issued_by=created_by, now=now)
    audit.append(
        session,
        actor=actor,
        action="officer.created",
        subject=f"officer:{officer.username}",
        detail={
            "officer_id": officer.id,
            "office_id": office_id,
            "username": officer.username,
            "display_name": officer.display_name,
            "role": officer.role,
            "api_key_prefix": new.prefix if new else None,
            **detail,
        },
        at=now,
    )
    return officer, new


def active_admin_exists(session: Session, office_id: str) -> bool:
    """Return whether ``office_id`` has an active admin officer (the bootstrap key's end)."""
    found = session.execute(
        sa.select(_OFFICER.c.id)
        .where(
            _OFFICER.c.office_id == office_id,
            _OFFICER.c.role == "admin",
            _OFFICER.c.active.is_(True),
        )
        .limit(1)
    ).first()
    return found is not None


def refuse_after_first_admin(session: Session, office_id: str) -> None:
    """Inside the caller's write transaction, lock office ``office_id``'s row and raise
    Unauthorized if the office has an active admin: the bootstrap key has ended.

    The key's holder is checked once on authentication, but two requests sent together
    would both pass that check and could make two admins (one person holding both keys);
    the row lock queues them, so only the first can.
    """
    session.execute(
        sa.select(tables.OFFICE.c.id).where(tables.OFFICE.c.id == office_id).with_for_update()
    )
    if active_admin_exists(session, office_id):
        raise Unauthorized(
            "The bootstrap key no longer works: use a personal API key",
            "引导密钥已停用，请使用个人API密钥",
            "The office has an admin; the static JIAOZI_API_KEY acts only until then.",
            "本机构已有管理员；静态引导密钥仅在此之前有效。",
        )


def create_officer(
    session: Session,
    *,
    office_id: str,
    username: str,
    display_name: str,
    role: str,
    actor: str,
    now: dt.datetime,
    created_by: int | None = None,
    bootstrap: bool = False,
) -> tuple[Officer, NewApiKey]:
    """Create an officer of ``office_id`` with a first API key (its text returned once);
    ``created_by`` is the acting officer's id (None: bootstrap key, command line);
    ``bootstrap``: the bootstrap key is acting (refused once the office has an admin,
    checked again under a lock of the office row).

    Raises ValidationFailed naming bad fields, Conflict if ``username`` is taken (by an
    officer of any office: usernames are global), NotFound if the office does not exist,
    Unauthorized (``bootstrap`` after the first admin).
    """
    fields = officer_fields(username, display_name, role)
    try:
        with write(session):
            if bootstrap:
                refuse_after_first_admin(session, office_id)
            officer, new = add_officer(
                session,
                office_id=office_id,
                fields=fields,
                actor=actor,
                created_by=created_by,
                with_key=True,
                detail={},
                now=now,
            )
    except IntegrityError:
        # a concurrent request took the username between check and insert
        raise _username_taken(fields["username"]) from None
    assert new is not None
    return officer, new


def deactivate_officer(
    session: Session, *, officer_id: int, office_id: str | None, actor: str, now: dt.datetime
) -> Officer:
    """Deactivate an officer (of ``office_id``, when given): their keys stop working.

    Deactivating an inactive officer changes nothing. An officer cannot deactivate
    themself (``actor`` naming them): Conflict, so an office cannot lock out its last admin
    by accident. Raises NotFound for an officer of another office.
    """
    with write(session):
        officer = officer_in(session, officer_id, office_id)
        if actor == f"officer:{officer.username}":
            raise Conflict(
                "You cannot deactivate your own account",
                "不能停用自己的账户",
                "ask another admin of the office",
                "请由本机构的另一位管理员操作",
            )
        if officer.active:
            officer.active = False
            session.flush()
            audit.append(
                session,
                actor=actor,
                action="officer.deactivated",
                subject=f"officer:{officer.username}",
                detail={"officer_id": officer.id, "office_id": officer.office_id},
                at=now,
            )
    return officer


# --- reading --------------------------------------------------------------------------------


def officer_public(officer: Officer, keys: Iterable[ApiKey] = ()) -> OfficerPublic:
    """Return what may be shown of ``officer`` and its ``keys``."""
    assert officer.id is not None
    return OfficerPublic(
        id=officer.id,
        office_id=officer.office_id,
        username=officer.username,
        display_name=officer.display_name,
        role=officer.role,
        active=officer.active,
        created_at=officer.created_at,
        api_keys=[key_public(k) for k in keys],
    )


def get_officer(session: Session, *, officer_id: int, office_id: str | None) -> OfficerPublic:
    """Return officer ``officer_id`` of ``office_id`` (None: any office) with its keys'
    prefixes; raises NotFound."""
    officer = officer_in(session, officer_id, office_id)
    return officer_public(officer, keys_of(session, _KEY.c.officer_id, [officer_id])[officer_id])


def officer_created(session: Session, officer: Officer, new: NewApiKey) -> OfficerCreated:
    """Return the answer to creating ``officer``: the officer and its key's text (once)."""
    oid = officer.id or 0
    public = officer_public(officer, keys_of(session, _KEY.c.officer_id, [oid])[oid])
    return OfficerCreated(**public.model_dump(), api_key=new.text)


def list_officers(session: Session, *, office_id: str) -> list[OfficerPublic]:
    """Return the officers of ``office_id`` (oldest first) with their keys' prefixes."""
    officers = list(
        session.execute(
            sa.select(Officer).where(_OFFICER.c.office_id == office_id).order_by(_OFFICER.c.id)
        ).scalars()
    )
    keys = keys_of(session, _KEY.c.officer_id, (o.id for o in officers if o.id is not None))
    return [officer_public(o, keys[o.id]) for o in officers if o.id is not None]
