"""Registry settings from ``JIAOZI_*`` environment variables (contract section 11).

Production is the default, as the other services: with ``JIAOZI_ENV`` unset (or
``production``) building the settings fails on an ``http:`` public URL and the message
names ``JIAOZI_ENV``. A laptop, the demo and the tests say ``JIAOZI_ENV=development``.
"""

from __future__ import annotations

import urllib.parse
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from credential import REGISTRY_ID, parse_host_list
from keys import DEV_DATA_KEY, KeysError, parse_data_key
from ops import DEFAULT_METRICS_ALLOW, parse_metrics_allow

__all__ = ["DEV_AUDIT_KEY", "DEV_RESTRICTION_KEY", "PRODUCTION_HINT", "RegistrySettings"]

# Development defaults, refused in production (as are keys under 32 characters).
DEV_RESTRICTION_KEY = "jiaozi-dev-restriction-hmac-key"
DEV_AUDIT_KEY = "jiaozi-dev-registry-audit-key"
_MIN_SECRET_LENGTH = 32

PRODUCTION_HINT = (
    "JIAOZI_ENV is production unless set: on a laptop or in tests say JIAOZI_ENV=development"
)


class RegistrySettings(BaseSettings):
    """Everything the registry reads from its environment."""

    model_config = SettingsConfigDict(
        env_prefix="JIAOZI_", extra="ignore", frozen=True, populate_by_name=True
    )

    env: Literal["development", "production"] = "production"
    # Its own database: JIAOZI_REGISTRY_DATABASE_URL first (a host that also runs an
    # office keeps the two apart), else the JIAOZI_DATABASE_URL convention.
    database_url: str = Field(
        default="sqlite:///var/registry.db",
        # (no bare "database_url" alias: a DATABASE_URL of the host's must not be taken)
        validation_alias=AliasChoices("JIAOZI_REGISTRY_DATABASE_URL", "JIAOZI_DATABASE_URL"),
    )
    # Upgrade the schema to this version's at start (as the issuer's JIAOZI_AUTO_MIGRATE);
    # off: start only on a database `jiaozi registry migrate` has brought to head.
    auto_migrate: bool = True
    public_url: str = "http://127.0.0.1:8300"
    # Host names besides the public URL's and loopback (docs/operations.md section 8).
    allowed_hosts: Annotated[tuple[str, ...], NoDecode] = ()
    # Who may read GET /metrics (IP addresses or CIDR networks, comma-separated or a JSON
    # list; default loopback only): anyone else is answered 404 (docs/operations.md,
    # "Health, metrics and logs").
    metrics_allow: Annotated[tuple[str, ...], NoDecode] = DEFAULT_METRICS_ALLOW
    # Log lines: one JSON object per line on stderr ("json"), or readable text ("text",
    # development only).
    log_format: Literal["json", "text"] = "json"

    # The registry's id in the trust list (its signing key's owner in the key store).
    registry_id: str = REGISTRY_ID
    # The trust list the ceremony signed and the pinned root keys it is checked against;
    # default: the key store's trust directory ($JIAOZI_HOME/trust/).
    trust_list_file: Path | None = None
    root_jwks: Path | None = None
    # How far a signed read request's iat may be from now (seconds).
    request_leeway: int = Field(default=300, ge=10, le=3600)
    page_limit: int = Field(default=500, ge=1, le=10_000)
    # AES-256-GCM key sealing the identity numbers the national feed holds for authorised
    # clients (contract section 2: stored encrypted or as keyed hashes, never in clear):
    # 32 bytes as base64url (`python -c "import keys; print(keys.generate_data_key())"`).
    # Its own variable, apart from an office's JIAOZI_DATA_KEY on a shared host; the
    # published development key is refused in production.
    data_key: SecretStr = Field(
        default=SecretStr(DEV_DATA_KEY),
        validation_alias=AliasChoices("JIAOZI_REGISTRY_DATA_KEY", "data_key"),
    )
    # Admission checks (registry/admission.py). The key the offices share for person
    # references: held in memory to compute the asked person's reference, never stored.
    restriction_hmac_key: SecretStr = Field(
        default=SecretStr(DEV_RESTRICTION_KEY),
        validation_alias=AliasChoices("JIAOZI_RESTRICTION_HMAC_KEY", "restriction_hmac_key"),
    )
    # The registry's own key for the audit rows' subject tag: it never leaves the registry.
    audit_key: SecretStr = Field(
        default=SecretStr(DEV_AUDIT_KEY),
        validation_alias=AliasChoices("JIAOZI_REGISTRY_AUDIT_KEY", "audit_key"),
    )
    admission_rate_limit: int = Field(default=60, ge=0)
    admission_rate_window: int = Field(default=60, ge=1)

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        parts = urllib.parse.urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/")

    @field_validator("metrics_allow", mode="before")
    @classmethod
    def _metrics_allow(cls, value: object) -> tuple[str, ...]:
        return parse_metrics_allow(value)

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _hosts(cls, value: object) -> tuple[str, ...]:
        return parse_host_list(value)

    @model_validator(mode="after")
    def _check(self) -> RegistrySettings:
        try:
            parse_data_key(self.data_key.get_secret_value())
        except KeysError as exc:
            raise ValueError(f"JIAOZI_REGISTRY_DATA_KEY: {exc}") from None
        if self.env == "production" and self.log_format != "json":
            raise ValueError(f"JIAOZI_LOG_FORMAT must be json in production ({PRODUCTION_HINT})")
        if self.env == "production":
            if not self.public_url.startswith("https://"):
                raise ValueError(
                    f"JIAOZI_PUBLIC_URL must be https in production ({PRODUCTION_HINT})"
                )
            if self.data_key.get_secret_value().strip() == DEV_DATA_KEY:
                raise ValueError(
                    "JIAOZI_REGISTRY_DATA_KEY must be set in production (the development key "
                    f"is published) ({PRODUCTION_HINT})"
                )
        for name, value, dev in (
            ("JIAOZI_RESTRICTION_HMAC_KEY", self.restriction_hmac_key, DEV_RESTRICTION_KEY),
            ("JIAOZI_REGISTRY_AUDIT_KEY", self.audit_key, DEV_AUDIT_KEY),
        ):
            key = value.get_secret_value()
            if self.env == "production" and (key == dev or len(key) < _MIN_SECRET_LENGTH):
                raise ValueError(
                    f"{name} must be set to a secret of at least {_MIN_SECRET_LENGTH} "
                    f"characters in production (default or empty value refused; {PRODUCTION_HINT})"
                )
        if self.audit_key.get_secret_value() == self.restriction_hmac_key.get_secret_value():
            raise ValueError(
                "JIAOZI_REGISTRY_AUDIT_KEY must differ from JIAOZI_RESTRICTION_HMAC_KEY "
                "(the offices hold the latter)"
            )
        return self
