"""Verifier settings from ``JIAOZI_*`` environment variables (contract section 11).

Production is the default: with ``JIAOZI_ENV`` unset (or ``production``) building the
app fails on a default or short secret, an ``http:`` public URL, or a missing trust list
URL, and the message names ``JIAOZI_ENV``. A laptop, ``make demo`` and the tests say
``JIAOZI_ENV=development`` explicitly.
"""

from __future__ import annotations

import urllib.parse
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from credential import parse_host_list, parse_proxy_list
from ops import DEFAULT_METRICS_ALLOW, parse_metrics_allow

__all__ = ["PERSON_KEY_VARIABLES", "PRODUCTION_HINT", "IssuerSource", "VerifierSettings"]

# A public verifier holds no person-level data (issue 12 point 4): these variables of the
# offices' shared person-reference key are no longer read; ``verifier.app`` warns at start
# when one is set, so that an operator removes the secret from the verifier's host.
PERSON_KEY_VARIABLES = ("JIAOZI_PERSON_REF_KEY", "JIAOZI_RESTRICTION_HMAC_KEY")
PRODUCTION_HINT = (
    "JIAOZI_ENV is production unless set: on a laptop or in tests say JIAOZI_ENV=development"
)


def _http_url(value: str) -> str:
    parts = urllib.parse.urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http(s) URL")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ValueError("must not carry user info, a query or a fragment")
    return value.rstrip("/")


class IssuerSource(BaseModel):
    """An issuer the verifier syncs from: its public base URL (where its status lists
    are served, maybe as static files by a web server) and, for the restricted list, the
    API key of this verifier's client account there and, when the issuer's API is not at
    the public base URL (an internal address: docs/deployment.md), ``api_url``."""

    model_config = {"frozen": True}

    base_url: str
    api_key: SecretStr | None = None
    api_url: str | None = None

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _http_url(value)

    @field_validator("api_url")
    @classmethod
    def _api_url(cls, value: str | None) -> str | None:
        return _http_url(value) if value else None

    @property
    def restrictions_url(self) -> str:
        """Return the base URL the restricted-list documents are fetched under."""
        return self.api_url or self.base_url


class VerifierSettings(BaseSettings):
    """Everything the verifier service reads from its environment."""

    model_config = SettingsConfigDict(
        env_prefix="JIAOZI_", extra="ignore", frozen=True, populate_by_name=True
    )

    # Production unless told otherwise, as the issuer: a forgotten JIAOZI_ENV must not leave
    # a published development secret in use.
    env: Literal["development", "production"] = "production"
    database_url: str = "sqlite:///var/verifier.db"
    # Upgrade the schema to this version's at start (as the issuer's JIAOZI_AUTO_MIGRATE);
    # off: start only on a database `jiaozi verifier migrate` has brought to head.
    auto_migrate: bool = True
    redis_url: str | None = None
    redis_prefix: str = "jiaozi:verifier:"
    # The only origin accepted in QR URLs (contract section 4).
    public_url: str = "http://127.0.0.1:8200"
    # The reverse proxies (IP addresses or networks, comma-separated or a JSON list) whose
    # X-Forwarded-For and X-Forwarded-Proto headers are believed. Default none: the client
    # address (what login lockouts, rate limits and the audit trail count) is the socket's,
    # so a caller cannot choose it by sending the header.
    trusted_proxies: Annotated[tuple[str, ...], NoDecode] = ()
    # Host names besides the public URL's that requests may name in Host (comma-separated
    # or a JSON list; no port, no wildcard), e.g. an internal name a health check uses.
    # The public URL's host and the loopback literals (localhost, 127.0.0.1, ::1) always
    # pass; any other Host is answered 400 (docs/operations.md section 8).
    allowed_hosts: Annotated[tuple[str, ...], NoDecode] = ()

    # Who may read GET /metrics (IP addresses or CIDR networks, comma-separated or a JSON
    # list; default loopback only): anyone else is answered 404 (docs/operations.md,
    # "Health, metrics and logs"). The client address is the one trusted_proxies yields.
    metrics_allow: Annotated[tuple[str, ...], NoDecode] = DEFAULT_METRICS_ALLOW
    # Log lines: one JSON object per line on stderr ("json"), or readable text ("text",
    # development only).
    log_format: Literal["json", "text"] = "json"

    # Trust: the pinned root keys (a JWKS file) and where the signed trust list is fetched.
    root_jwks: Path = Path("var/trust/root.jwks.json")
    trust_list_url: str | None = None
    # Issuers to sync status lists and the restricted list from (JSON list in the env).
    issuers: tuple[IssuerSource, ...] = ()

    status_grace: int = Field(default=3600, ge=0, le=30 * 86400)
    # A deployment that must use the national algorithms (issue 16): an e-licence without
    # a valid SM2 signature is not valid (reason sm2_required). A QR alone carries one
    # signature and is judged by it (docs/formats.md, "SM2").
    require_sm2: bool = False
    sync_interval: int = Field(default=60, ge=0)  # seconds; 0 = no background sync
    sync_timeout: float = Field(default=10.0, gt=0, le=120)
    on_demand_timeout: float = Field(default=2.0, gt=0, le=30)
    on_demand_retry: int = Field(default=30, ge=0)  # seconds between tries of one URI
    reload_interval: float = Field(default=1.0, ge=0)  # how often a replica re-reads the DB

    # Where schools and employers make admission checks now: the national registry's
    # base URL (JIAOZI_REGISTRY_URL), named by the page and by this verifier's 410 answer.
    registry_url: str | None = None

    # Limits (contract section 10) and rate limits (requests per window, 0 = off).
    upload_limit: int = Field(default=10 * 1024 * 1024, ge=1024)
    token_limit: int = Field(default=8 * 1024, ge=512, le=1024 * 1024)
    # per client address: on by default (a load test sets it to 0 itself)
    verify_rate_limit: int = Field(default=120, ge=0)
    verify_rate_window: int = Field(default=60, ge=1)
    # Uploaded files are read in worker processes under limits (verifier/sandbox.py):
    # how many at once (0 = in the server process: only for debugging), the wall-clock
    # seconds one file may take, each worker's address space (MiB), and after how many
    # files a worker is replaced.
    extract_workers: int = Field(default=2, ge=0, le=64)
    extract_timeout: float = Field(default=1.8, gt=0, le=60)
    extract_memory_mib: int = Field(default=512, ge=128, le=16384)
    extract_max_tasks: int = Field(default=200, ge=1)

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        return _http_url(value)

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxies(cls, value: object) -> tuple[str, ...]:
        return parse_proxy_list(value)

    @field_validator("metrics_allow", mode="before")
    @classmethod
    def _metrics_allow(cls, value: object) -> tuple[str, ...]:
        return parse_metrics_allow(value)

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _hosts(cls, value: object) -> tuple[str, ...]:
        return parse_host_list(value)

    @field_validator("trust_list_url", "registry_url")
    @classmethod
    def _trust_url(cls, value: str | None) -> str | None:
        return _http_url(value) if value else None

    @model_validator(mode="after")
    def _check(self) -> VerifierSettings:
        bases = [i.base_url for i in self.issuers]
        if len(set(bases)) != len(bases):
            raise ValueError("an issuer base_url is listed twice")
        if self.env == "production":
            try:
                self._production_checks()
            except ValueError as exc:
                raise ValueError(f"{exc} ({PRODUCTION_HINT})") from None
        return self

    def _production_checks(self) -> None:
        """Raise ValueError naming the first setting production refuses."""
        if self.log_format != "json":
            raise ValueError("JIAOZI_LOG_FORMAT must be json in production")
        if not self.public_url.startswith("https://"):
            raise ValueError("JIAOZI_PUBLIC_URL must be https in production")
        if self.trust_list_url is None:
            raise ValueError("JIAOZI_TRUST_LIST_URL must be set in production")
        for source in self.issuers:
            if not all(
                url.startswith("https://") for url in (source.base_url, source.restrictions_url)
            ):
                raise ValueError("issuer base URLs must be https in production")

    def issuer_for(self, uri: str) -> IssuerSource | None:
        """Return the configured issuer whose status lists ``uri`` may name, else None.

        Only ``<base_url>/statuslists/<digits>`` with the base's exact scheme and host,
        no user info, query or fragment, qualifies: nothing else is ever fetched.
        """
        try:
            parts = urllib.parse.urlsplit(uri)
            parts.port  # noqa: B018 - raises on a bad port
        except ValueError:
            return None
        if parts.username is not None or parts.query or parts.fragment or "\\" in uri:
            return None
        if not uri.isascii() or not uri.isprintable() or " " in uri:
            return None
        for source in self.issuers:
            base = urllib.parse.urlsplit(source.base_url)
            if (parts.scheme, parts.netloc.lower()) != (base.scheme, base.netloc.lower()):
                continue
            rest = parts.path.removeprefix(base.path.rstrip("/"))
            if rest == parts.path and base.path.strip("/"):
                continue
            number = rest.removeprefix("/statuslists/")
            if rest.startswith("/statuslists/") and number.isascii() and number.isdigit():
                if len(number) <= 10 and not number.startswith("0"):
                    return source
        return None
