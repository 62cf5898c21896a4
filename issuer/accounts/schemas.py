"""Request and response bodies of the accounts API (pydantic; no FastAPI imports).

Field rules with Chinese and English messages live in ``issuer.accounts.rules``; the bounds
here only refuse absurd sizes before any work. A key's text appears in exactly one
answer, the one that created it (``api_key``); lists show its prefix only.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ApiKeyCreated",
    "ApiKeyPublic",
    "ClientCreate",
    "ClientCreated",
    "ClientPublic",
    "OfficerCreate",
    "OfficerCreated",
    "OfficerPublic",
]

_BOUND = 1000


class OfficerCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {"username": "zhang.wei", "display_name": "张伟", "role": "clerk"}
        },
    )

    username: str = Field(max_length=_BOUND, description="登录名: a-z 0-9 . _ -, 1-64")
    display_name: str = Field(max_length=_BOUND, description="姓名")
    role: str = Field(max_length=_BOUND, description="clerk | supervisor | admin")


class ApiKeyPublic(BaseModel):
    """A key as lists show it: never its text."""

    prefix: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None


class OfficerPublic(BaseModel):
    id: int
    office_id: str
    username: str
    display_name: str
    role: str
    active: bool
    created_at: dt.datetime
    api_keys: list[ApiKeyPublic]


class ApiKeyCreated(ApiKeyPublic):
    api_key: str = Field(description="the key's text; shown only in this answer")


class OfficerCreated(OfficerPublic):
    api_key: str = Field(description="the new officer's key; shown only in this answer")


class ClientCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"example": {"name": "teacher-mis", "kind": "mis"}},
    )

    name: str = Field(max_length=_BOUND, description="a-z 0-9 . _ -, 1-64")
    kind: str = Field(max_length=_BOUND, description="verifier | mis")


class ClientPublic(BaseModel):
    id: int
    name: str
    kind: str
    created_at: dt.datetime
    api_keys: list[ApiKeyPublic]


class ClientCreated(ClientPublic):
    api_key: str = Field(description="the client's key; shown only in this answer")
