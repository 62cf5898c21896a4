"""Offices, officers, service clients and their API keys (issue 3 item 2).

Keyword-only functions over a database session, shared by the HTTP routes
(``issuer.web.routes.accounts``) and the command line (``jiaozi accounts ...``); no web
framework here. Each change is one write transaction that also appends its audit record,
so an account never exists without the record of who made it. An API key's text is
returned once (:class:`~issuer.accounts.apikeys.NewApiKey`) and never stored, logged or audited:
only its prefix and the hash of its secret are kept.

Scoping: functions that touch an officer take the acting admin's ``office_id`` and treat
an officer of another office exactly like a missing one (NotFound), so an admin cannot
even learn that it exists.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Iterable

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from issuer.accounts.apikeys import NewApiKey, new_api_key
from issuer.accounts.principal import ROLES
from issuer.accounts.schemas import (
    ApiKeyCreated,
    ApiKeyPublic,
    ClientCreated,
    ClientPublic,
    OfficerCreated,
    OfficerPublic,
)
from issuer.audit import chain as audit
from issuer.db.engine import begin_write
from issuer.db.models import ApiKey, Office, Officer, ServiceClient
from issuer.errors import Conflict, NotFound
from issuer.fields import FieldError, ValidationFailed
from issuer.settings import IssuerSettings

__all__ = [
    "CLIENT_KINDS",
    "ROLES",
    "client_created",
    "client_public",
    "create_client",
    "create_officer",
    "deactivate_officer",
    "ensure_office",
    "get_officer",
    "issue_api_key",
    "key_created",
    "key_public",
    "list_clients",
    "list_officers",
    "officer_created",
    "officer_public",
    "revoke_api_key",
]

CLIENT_KINDS = ("verifier", "mis")
_ROLE_ZH = {"clerk": "经办人", "supervisor": "审核人", "admin": "管理员"}
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_DISPLAY_MAX = 100

_KEY: sa.Table = ApiKey.__table__  # type: ignore[attr-defined]
_OFFICER: sa.Table = Officer.__table__  # type: ignore[attr-defined]
_CLIENT: sa.Table = ServiceClient.__table__  # type: ignore[attr-defined]


def _utc(ts: dt.datetime) -> dt.datetime:
    """Return ``ts`` as an aware UTC time (SQLite hands back naive UTC values)."""
    return ts.replace(tzinfo=dt.UTC) if ts.tzinfo is None else ts.astimezone(dt.UTC)


# --- field rules ---------------------------------------------------------------------------


def _login_name(field: str, value: object, label_zh: str) -> str:
    text = value.strip().lower() if isinstance(value, str) else ""
    if not text:
        raise ValidationFailed(
            [FieldError(field, "required", "must not be empty", f"{label_zh}不能为空")]
        )
    if not _NAME.fullmatch(text):
        raise ValidationFailed(
            [
                FieldError(
                    field,
                    "format",
                    "must be 1-64 of a-z, 0-9, '.', '_' and '-', starting with a letter or digit",
                    f"{label_zh}应为1至64个小写字母、数字或“._-”，且以字母或数字开头",
                )
            ]
        )
    return text


def _display_name(value: object) -> str:
    text = unicodedata.normalize("NFC", value).strip() if isinstance(value, str) else ""
    if not text:
        raise ValidationFailed(
            [FieldError("display_name", "required", "must not be empty", "姓名不能为空")]
        )
    if len(text) > _DISPLAY_MAX:
        raise ValidationFailed(
            [
                FieldError(
                    "display_name",
                    "too_long",
                    f"must be at most {_DISPLAY_MAX} characters, got {len(text)}",
                    f"姓名最多{_DISPLAY_MAX}个字符，实际为{len(text)}个",
                )
            ]
        )
    if any(unicodedata.category(ch)[0] == "C" for ch in text):
        raise ValidationFailed(
            [
                FieldError(
                    "display_name",
                    "control_character",
                    "must not contain control characters",
                    "姓名不能包含控制字符",
                )
            ]
        )
    return text


def _choice(field: str, value: object, allowed: tuple[str, ...], label_zh: str) -> str:
    if isinstance(value, str) and value.strip() in allowed:
        return value.strip()
    raise ValidationFailed(
        [
            FieldError(
                field,
                "unknown_" + field,
                f"must be one of {', '.join(allowed)}",
                f"{label_zh}应为以下之一：{'、'.join(allowed)}",
            )
        ]
    )


def _fields(**checks: Callable[[], str]) -> dict[str, str]:
    """Return each check's value by field name, or raise ValidationFailed naming every
    field that failed."""
    errors: list[FieldError] = []
    out: dict[str, str] = {}
    for name, check in checks.items():
        try:
            out[name] = check()
        except ValidationFailed as exc:
            errors.extend(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    return out


# --- transactions --------------------------------------------------------------------------


def _begin_write(session: Session) -> None:
    """Start a write transaction (``BEGIN IMMEDIATE`` on SQLite).

    A read transaction the session may still have open (the request's authentication
    reads the key and officer rows) is ended first: a write must begin as one.
    """
    if session.in_transaction():
        session.rollback()
    begin_write(session)


def _detached(session: Session, office_id: str) -> Office | None:
    office = session.get(Office, office_id)
    if office is not None:
        session.expunge(office)
    session.rollback()
    return office


def ensure_office(session: Session, *, settings: IssuerSettings, now: dt.datetime) -> Office:
    """Return the configured office's row, creating (and auditing) it on first use.

    Safe to call from many processes at once: a concurrent creator wins and this call
    returns its row. An existing row is left as it is (its settings are the office's own).
    """
    office = _detached(session, settings.office_id)
    if office is not None:
        return office
    _begin_write(session)
    try:
        if session.get(Office, settings.office_id) is None:
            office = Office(
                id=settings.office_id,
                name=settings.office_name,
                province=settings.province,
                office_code=settings.office_code,
                maker_checker=True,
                created_at=now,
            )
            session.add(office)
            session.flush()
            audit.append(
                session,
                actor="system",
                action="office.created",
                subject=settings.office_id,
                detail={
                    "office_id": settings.office_id,
                    "name": settings.office_name,
                    "province": settings.province,
                    "office_code": settings.office_code,
                    "maker_checker": True,
                },
                at=now,
            )
        session.commit()
    except IntegrityError:
        session.rollback()  # a concurrent caller created it first
    except BaseException:
        session.rollback()
        raise
    office = _detached(session, settings.office_id)
    if office is None:  # pragma: no cover - deleted again at once
        raise RuntimeError(f"office {settings.office_id} could not be created")
    return office


def _add_key(
    session: Session,
    *,
    officer_id: int | None = None,
    client_id: int | None = None,
    now: dt.datetime,
) -> tuple[ApiKey, NewApiKey]:
    new = new_api_key()
    row = ApiKey(
        officer_id=officer_id,
        client_id=client_id,
        prefix=new.prefix,
        secret_hash=new.secret_hash,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row, new


def _taken(field: str, value: str, what: str, what_zh: str) -> Conflict:
    return Conflict(
        f"The {field} is already taken",
        f"{field}已被占用",
        f"{field}: there is already {what} named {value!r}",
        f"{field}：已存在名为“{value}”的{what_zh}",
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
) -> tuple[Officer, NewApiKey]:
    """Create an officer of ``office_id`` with a first API key (its text returned once).

    Raises ValidationFailed naming bad fields, Conflict if ``username`` is taken (by an
    officer of any office: usernames are global), NotFound if the office does not exist.
    """
    fields = _fields(
        username=lambda: _login_name("username", username, "登录名"),
        display_name=lambda: _display_name(display_name),
        role=lambda: _choice("role", role, ROLES, "角色"),
    )
    _begin_write(session)
    try:
        if session.get(Office, office_id) is None:
            raise NotFound(
                "No such office", "机构不存在", f"No office {office_id}.", f"没有机构{office_id}。"
            )
        taken = session.execute(
            sa.select(_OFFICER.c.id).where(_OFFICER.c.username == fields["username"])
        ).first()
        if taken is not None:
            raise _taken("username", fields["username"], "an officer", "工作人员")
        officer = Officer(
            office_id=office_id,
            username=fields["username"],
            display_name=fields["display_name"],
            role=fields["role"],
            active=True,
            created_at=now,
        )
        session.add(officer)
        session.flush()
        assert officer.id is not None
        _, new = _add_key(session, officer_id=officer.id, now=now)
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
                "api_key_prefix": new.prefix,
            },
            at=now,
        )
        session.commit()
    except IntegrityError:
        session.rollback()  # a concurrent request took the username between check and insert
        raise _taken("username", fields["username"], "an officer", "工作人员") from None
    except BaseException:
        session.rollback()
        raise
    return officer, new


def _officer_in(session: Session, officer_id: int, office_id: str | None) -> Officer:
    officer = session.get(Officer, officer_id)
    if officer is None or (office_id is not None and officer.office_id != office_id):
        raise NotFound(
            "No such officer",
            "工作人员不存在",
            f"No officer {officer_id} in this office.",
            f"本机构没有编号为{officer_id}的工作人员。",
        )
    return officer


def get_officer(session: Session, *, officer_id: int, office_id: str | None) -> OfficerPublic:
    """Return officer ``officer_id`` of ``office_id`` (None: any office) with its keys'
    prefixes; raises NotFound."""
    officer = _officer_in(session, officer_id, office_id)
    return officer_public(officer, _keys_of(session, _KEY.c.officer_id, [officer_id])[officer_id])


def issue_api_key(
    session: Session,
    *,
    officer_id: int | None = None,
    client_id: int | None = None,
    office_id: str | None = None,
    actor: str,
    now: dt.datetime,
) -> NewApiKey:
    """Give an officer (of ``office_id``, when given) or a service client a new key.

    Exactly one of ``officer_id`` and ``client_id``. Earlier keys stay valid until
    revoked. Raises NotFound, or Conflict for a deactivated officer.
    """
    if (officer_id is None) == (client_id is None):
        raise ValueError("give exactly one of officer_id and client_id")
    _begin_write(session)
    try:
        if officer_id is not None:
            officer = _officer_in(session, officer_id, office_id)
            if not officer.active:
                raise Conflict(
                    "The officer is deactivated",
                    "该工作人员已停用",
                    f"officer {officer.username} is deactivated and gets no new keys",
                    f"工作人员{officer.username}已停用，不能再获得新的API密钥",
                )
            subject, detail = f"officer:{officer.username}", {"officer_id": officer.id}
        else:
            svc = session.get(ServiceClient, client_id)
            if svc is None:
                raise NotFound("No such client", "服务客户端不存在")
            subject, detail = f"client:{svc.name}", {"client_id": svc.id}
        _, new = _add_key(session, officer_id=officer_id, client_id=client_id, now=now)
        audit.append(
            session,
            actor=actor,
            action="api_key.issued",
            subject=subject,
            detail={**detail, "api_key_prefix": new.prefix},
            at=now,
        )
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return new


def revoke_api_key(
    session: Session,
    *,
    prefix: str,
    office_id: str | None,
    clients: bool = True,
    actor: str,
    now: dt.datetime,
) -> ApiKey:
    """Revoke the key with ``prefix``; it stops authenticating at once.

    With ``office_id`` only keys of that office's officers are found (and service
    clients' keys when ``clients``); any other key is NotFound. Revoking a revoked key
    changes nothing and writes no record.
    """
    _begin_write(session)
    try:
        key = session.execute(sa.select(ApiKey).where(_KEY.c.prefix == prefix)).scalar_one_or_none()
        subject = None
        if key is not None and key.officer_id is not None:
            officer = session.get(Officer, key.officer_id)
            if officer is not None and (office_id is None or officer.office_id == office_id):
                subject = f"officer:{officer.username}"
        elif key is not None and key.client_id is not None and clients:
            svc = session.get(ServiceClient, key.client_id)
            subject = f"client:{svc.name}" if svc is not None else None
        if key is None or subject is None:
            raise NotFound(
                "No such API key",
                "API密钥不存在",
                f"No API key with prefix {prefix} here.",
                f"没有前缀为{prefix}的API密钥。",
            )
        if key.revoked_at is None:
            key.revoked_at = now
            session.flush()
            audit.append(
                session,
                actor=actor,
                action="api_key.revoked",
                subject=subject,
                detail={"api_key_prefix": prefix},
                at=now,
            )
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return key


def deactivate_officer(
    session: Session, *, officer_id: int, office_id: str | None, actor: str, now: dt.datetime
) -> Officer:
    """Deactivate an officer (of ``office_id``, when given): their keys stop working.

    Deactivating an inactive officer changes nothing. An officer cannot deactivate
    themself (``actor`` naming them): Conflict, so an office cannot lock out its last admin
    by accident. Raises NotFound for an officer of another office.
    """
    _begin_write(session)
    try:
        officer = _officer_in(session, officer_id, office_id)
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
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return officer


def create_client(
    session: Session, *, name: str, kind: str, actor: str, now: dt.datetime
) -> tuple[ServiceClient, NewApiKey]:
    """Create a service client (``verifier`` reads the restricted list, ``mis`` the event
    feed) with a first API key. Raises ValidationFailed, or Conflict if ``name`` is taken."""
    fields = _fields(
        name=lambda: _login_name("name", name, "名称"),
        kind=lambda: _choice("kind", kind, CLIENT_KINDS, "类型"),
    )
    _begin_write(session)
    try:
        taken = session.execute(
            sa.select(_CLIENT.c.id).where(_CLIENT.c.name == fields["name"])
        ).first()
        if taken is not None:
            raise _taken("name", fields["name"], "a service client", "服务客户端")
        svc = ServiceClient(name=fields["name"], kind=fields["kind"], created_at=now)
        session.add(svc)
        session.flush()
        assert svc.id is not None
        _, new = _add_key(session, client_id=svc.id, now=now)
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
        session.commit()
    except IntegrityError:
        session.rollback()
        raise _taken("name", fields["name"], "a service client", "服务客户端") from None
    except BaseException:
        session.rollback()
        raise
    return svc, new


# --- reading -------------------------------------------------------------------------------


def _keys_of(
    session: Session, column: sa.Column[int], ids: Iterable[int]
) -> dict[int, list[ApiKey]]:
    wanted = list(ids)
    out: dict[int, list[ApiKey]] = {i: [] for i in wanted}
    if not wanted:
        return out
    rows = session.execute(
        sa.select(ApiKey).where(column.in_(wanted)).order_by(_KEY.c.id)
    ).scalars()
    for key in rows:
        owner = key.officer_id if column is _KEY.c.officer_id else key.client_id
        if owner is not None:
            out[owner].append(key)
    return out


def key_public(key: ApiKey) -> ApiKeyPublic:
    return ApiKeyPublic(
        prefix=key.prefix,
        created_at=_utc(key.created_at),
        revoked_at=_utc(key.revoked_at) if key.revoked_at is not None else None,
    )


def officer_public(officer: Officer, keys: Iterable[ApiKey] = ()) -> OfficerPublic:
    assert officer.id is not None
    return OfficerPublic(
        id=officer.id,
        office_id=officer.office_id,
        username=officer.username,
        display_name=officer.display_name,
        role=officer.role,
        active=officer.active,
        created_at=_utc(officer.created_at),
        api_keys=[key_public(k) for k in keys],
    )


def client_public(svc: ServiceClient, keys: Iterable[ApiKey] = ()) -> ClientPublic:
    assert svc.id is not None
    return ClientPublic(
        id=svc.id,
        name=svc.name,
        kind=svc.kind,
        created_at=_utc(svc.created_at),
        api_keys=[key_public(k) for k in keys],
    )


def officer_created(session: Session, officer: Officer, new: NewApiKey) -> OfficerCreated:
    """Return the answer to creating ``officer``: the officer and its key's text (once)."""
    oid = officer.id or 0
    public = officer_public(officer, _keys_of(session, _KEY.c.officer_id, [oid])[oid])
    return OfficerCreated(**public.model_dump(), api_key=new.text)


def client_created(session: Session, svc: ServiceClient, new: NewApiKey) -> ClientCreated:
    """Return the answer to creating ``svc``: the client and its key's text (once)."""
    cid = svc.id or 0
    public = client_public(svc, _keys_of(session, _KEY.c.client_id, [cid])[cid])
    return ClientCreated(**public.model_dump(), api_key=new.text)


def key_created(session: Session, new: NewApiKey) -> ApiKeyCreated:
    """Return the answer to issuing key ``new``: its public part and its text (once)."""
    row = session.execute(sa.select(ApiKey).where(_KEY.c.prefix == new.prefix)).scalar_one()
    return ApiKeyCreated(**key_public(row).model_dump(), api_key=new.text)


def list_officers(session: Session, *, office_id: str) -> list[OfficerPublic]:
    """Return the officers of ``office_id`` (oldest first) with their keys' prefixes."""
    officers = list(
        session.execute(
            sa.select(Officer).where(_OFFICER.c.office_id == office_id).order_by(_OFFICER.c.id)
        ).scalars()
    )
    keys = _keys_of(session, _KEY.c.officer_id, (o.id for o in officers if o.id is not None))
    return [officer_public(o, keys[o.id]) for o in officers if o.id is not None]


def list_clients(session: Session) -> list[ClientPublic]:
    """Return the service clients (oldest first) with their keys' prefixes."""
    clients = list(session.execute(sa.select(ServiceClient).order_by(_CLIENT.c.id)).scalars())
    keys = _keys_of(session, _KEY.c.client_id, (c.id for c in clients if c.id is not None))
    return [client_public(c, keys[c.id]) for c in clients if c.id is not None]
