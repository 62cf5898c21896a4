"""The issuer's request dependencies: settings, database session, signer, and who is asking.

Routes declare what they need with ``Annotated`` aliases, and who may call them with the
role aliases defined here, once, each with one meaning::

    def revoke(..., session: DbSession, who: Supervisor)

Authentication is a bearer API key. An officer's key (``jz_...``) acts for the officer's
office in the officer's role; a service client's key (verifier, teacher MIS) reads feeds
only. The static ``JIAOZI_API_KEY`` acts as the configured office's admin only while that
office has no active admin officer: it is how a fresh install makes its first accounts,
and is refused (401) once an admin exists. Production refuses its default value.
"""

from __future__ import annotations

import datetime as dt
import hmac
from collections.abc import Callable, Iterator
from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends, Header, HTTPException, Request
from sqlalchemy.orm import Session

from credential import Signer
from issuer.accounts import (
    ROLES,
    Principal,
    active_admin_exists,
    parse_api_key,
    secret_matches,
)
from issuer.db import tables
from issuer.db.models import ApiKey, Officer, ServiceClient
from issuer.errors import Forbidden, PrintingUnavailable, Unauthorized
from issuer.settings import IssuerSettings
from keys import DocumentSigningKey, KeysError

__all__ = [
    "ROLES",
    "Actor",
    "Admin",
    "AnyOfficeAdmin",
    "Clerk",
    "DbSession",
    "DocumentKey",
    "MisClient",
    "Now",
    "Principal",
    "Settings",
    "SignerDep",
    "Supervisor",
    "VerifierClient",
    "client",
    "get_principal",
    "now",
    "require",
    "utf8_json_body",
]

STATIC_ACTOR = "apikey:static"


def _settings(request: Request) -> IssuerSettings:
    return request.app.state.settings  # type: ignore[no-any-return]


def _session(request: Request) -> Iterator[Session]:
    with Session(request.app.state.engine) as session:
        yield session


def _signer(request: Request) -> Signer:
    return request.app.state.signer_provider()  # type: ignore[no-any-return]


def _document_key(request: Request) -> Callable[[], DocumentSigningKey]:
    """Return a getter, so a route asks for the key only once it has something to sign (a
    missing certificate is a 404 even where printing is not configured)."""
    provider = request.app.state.document_key_provider

    def get() -> DocumentSigningKey:
        if provider is None:
            raise PrintingUnavailable(
                "PDF signing is not configured on this issuer",
                "本签发服务未配置 PDF 签名密钥",
            )
        try:
            return provider()  # type: ignore[no-any-return]
        except KeysError as exc:  # a key store that cannot give the key now
            raise PrintingUnavailable(
                "The document-signing key cannot be opened",
                "无法打开 PDF 签名密钥",
            ) from exc

    return get


def now() -> dt.datetime:
    """Return the current time (a dependency, so tests can override the clock)."""
    return dt.datetime.now(dt.UTC)


Settings = Annotated[IssuerSettings, Depends(_settings)]
DbSession = Annotated[Session, Depends(_session)]
SignerDep = Annotated[Signer, Depends(_signer)]
DocumentKey = Annotated[Callable[[], DocumentSigningKey], Depends(_document_key)]
Now = Annotated[dt.datetime, Depends(now)]


def get_principal(
    settings: Settings,
    session: DbSession,
    authorization: Annotated[str | None, Header()] = None,
) -> Principal:
    """Return the principal of the request's bearer key; raises Unauthorized."""
    try:
        return _principal(settings, session, authorization)
    finally:
        # End the read transaction: on SQLite an open read keeps the route's BEGIN IMMEDIATE
        # from starting, and concurrent writers then fail with "database is locked".
        session.rollback()


def _principal(settings: IssuerSettings, session: Session, authorization: str | None) -> Principal:
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("Missing or wrong API key", "缺少或错误的API密钥")
    static = settings.api_key.get_secret_value().encode("utf-8")
    if hmac.compare_digest(token.encode("utf-8"), static):
        # The bootstrap key makes the first admin and then stops working: otherwise whoever
        # holds it is a second admin that two-person rules cannot tell from the first.
        if active_admin_exists(session, settings.office_id):
            raise Unauthorized(
                "The bootstrap key no longer works: use a personal API key",
                "引导密钥已停用，请使用个人API密钥",
                "The office has an admin; the static JIAOZI_API_KEY acts only until then.",
                "本机构已有管理员；静态引导密钥仅在此之前有效。",
            )
        return Principal(STATIC_ACTOR, settings.office_id, role="admin")
    parsed = parse_api_key(token)
    if parsed is None:
        raise Unauthorized("Missing or wrong API key", "缺少或错误的API密钥")
    prefix, secret = parsed
    key = session.scalars(sa.select(ApiKey).where(tables.API_KEY.c.prefix == prefix)).first()
    if key is None or key.revoked_at is not None or not secret_matches(secret, key.secret_hash):
        raise Unauthorized("Missing or wrong API key", "缺少或错误的API密钥")
    if key.officer_id is not None:
        officer = session.get(Officer, key.officer_id)
        if officer is None or not officer.active:
            raise Unauthorized("Account disabled", "账户已停用")
        return Principal(f"officer:{officer.username}", officer.office_id, officer.role, officer.id)
    svc = session.get(ServiceClient, key.client_id)
    if svc is None:
        raise Unauthorized("Missing or wrong API key", "缺少或错误的API密钥")
    return Principal(f"client:{svc.name}", None, client_kind=svc.kind)


Actor = Annotated[Principal, Depends(get_principal)]


def require(
    *roles: str, this_office: bool = True
) -> Callable[[Principal, IssuerSettings], Principal]:
    """Return a dependency admitting officers in one of ``roles`` (admin admits all).

    With ``this_office`` (the default, for everything that signs or changes certificates)
    the officer must belong to the office this issuer serves; account management, which
    scopes itself to the officer's own office, passes False.
    """
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {unknown}")

    def dependency(who: Actor, settings: Settings) -> Principal:
        # An officer acts only for their own office: this issuer serves settings.office_id.
        if this_office and who.role is not None and who.office_id != settings.office_id:
            raise Forbidden(
                "This account belongs to another office",
                "该账户属于其他认定机构",
            )
        if who.role is None or (who.role not in roles and who.role != "admin"):
            raise Forbidden(
                "This account may not do that",
                "该账户无权执行此操作",
                f"needs role: {' or '.join(roles)}",
                f"需要角色：{'或'.join(roles)}",
            )
        return who

    return dependency


def client(*kinds: str) -> Callable[[Principal], Principal]:
    """Return a dependency admitting service clients of ``kinds`` (and admins)."""

    def dependency(who: Actor) -> Principal:
        if who.client_kind in kinds or who.role == "admin":
            return who
        raise Forbidden("This account may not read this feed", "该账户无权读取此数据")

    return dependency


# Who may call a route. Officers act for the office this issuer serves unless said otherwise;
# an admin passes every role check.
Clerk = Annotated[Principal, Depends(require("clerk", "supervisor"))]
"""An officer who issues and reads certificates: a clerk or a supervisor of this office."""
Supervisor = Annotated[Principal, Depends(require("supervisor"))]
"""A supervisor of this office: status changes, restrictions, approvals."""
Admin = Annotated[Principal, Depends(require("admin"))]
"""An admin of this office: its settings and its audit trail."""
AnyOfficeAdmin = Annotated[Principal, Depends(require("admin", this_office=False))]
"""An admin of any office sharing this database, acting on their own office's accounts
only (account management scopes itself to the admin's office)."""
VerifierClient = Annotated[Principal, Depends(client("verifier"))]
"""A verifier service client (or an admin): the restricted-list feed."""
MisClient = Annotated[Principal, Depends(client("mis"))]
"""The teacher management information system's client (or an admin): the event feed."""


_BOM = b"\xef\xbb\xbf"


async def utf8_json_body(request: Request) -> None:
    """Refuse (400, as any body that cannot be parsed) a JSON body not in UTF-8: RFC 8259
    section 8.1 allows no other encoding between systems and no byte-order mark, while
    ``json.loads`` of bytes guesses UTF-16 and UTF-32. A UTF-8 JSON text never holds a
    NUL byte, which those encodings of it always do."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if not media.endswith(("/json", "+json")):
        return
    body = await request.body()
    try:
        ok = not body.startswith(_BOM) and b"\x00" not in body and bool(body.decode("utf-8"))
    except UnicodeDecodeError:
        ok = False
    if body and not ok:
        raise HTTPException(400, "The body is not JSON in UTF-8")
