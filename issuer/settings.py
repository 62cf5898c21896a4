"""Issuer settings from ``JIAOZI_*`` environment variables (contract section 11).

Production is the default: with ``JIAOZI_ENV`` unset (or ``production``) building the
settings fails on any published development secret, default or empty, and the message
names ``JIAOZI_ENV``. ``make demo`` and the tests say ``JIAOZI_ENV=development``
explicitly, which lets the development defaults run on a laptop.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Literal

from pydantic import Field, FilePath, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from credential import (
    MIN_LIST_SIZE,
    CredentialError,
    QualificationType,
    beijing_date,
    elicence_id,
    parse_host_list,
    parse_proxy_list,
)
from keys import DEV_DATA_KEY, KeysError, parse_data_key
from ops import DEFAULT_METRICS_ALLOW, parse_metrics_allow

__all__ = [
    "DEV_API_KEY",
    "DEV_ID_HMAC_KEY",
    "DEV_RESTRICTION_HMAC_KEY",
    "EARLIEST_DATE",
    "PRODUCTION_HINT",
    "IssuerSettings",
]

# Published defaults: fine on a laptop, refused in production.
DEV_API_KEY = "jiaozi-dev-api-key"
DEV_ID_HMAC_KEY = "jiaozi-dev-id-hmac-key"
DEV_RESTRICTION_HMAC_KEY = "jiaozi-dev-restriction-hmac-key"
_MIN_SECRET_LENGTH = 32
PRODUCTION_HINT = (
    "JIAOZI_ENV is production unless set: on a laptop or in tests say JIAOZI_ENV=development"
)
EARLIEST_DATE = dt.date(1900, 1, 1)
"""No date an office writes (birth, certification, decision) is earlier."""


class IssuerSettings(BaseSettings):
    """Everything the issuer service reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="JIAOZI_", extra="ignore", frozen=True)

    # Production unless told otherwise: a forgotten JIAOZI_ENV must not leave the published
    # development API key acting as admin.
    env: Literal["development", "production"] = "production"
    database_url: str = "sqlite:///var/issuer.db"
    auto_migrate: bool = True
    public_url: str = "http://127.0.0.1:8100"
    verifier_url: str = "http://127.0.0.1:8200"
    # The reverse proxies (IP addresses or networks, comma-separated or a JSON list) whose
    # X-Forwarded-For and X-Forwarded-Proto headers are believed. Default none: the client
    # address (what login lockouts, rate limits and the audit trail count) is the socket's,
    # so a caller cannot choose it by sending the header.
    trusted_proxies: Annotated[tuple[str, ...], NoDecode] = ()
    # Who may read GET /metrics (IP addresses or CIDR networks, comma-separated or a JSON
    # list; default loopback only): anyone else is answered 404 (docs/operations.md,
    # "Health, metrics and logs"). The client address is the one JIAOZI_TRUSTED_PROXIES yields.
    metrics_allow: Annotated[tuple[str, ...], NoDecode] = DEFAULT_METRICS_ALLOW
    # Log lines: one JSON object per line on stderr ("json"), or readable text ("text",
    # development only).
    log_format: Literal["json", "text"] = "json"

    # Host names besides the public URL's that requests may name in Host (comma-separated
    # or a JSON list; no port, no wildcard), e.g. an internal name a health check uses.
    # The public URL's host and the loopback literals (localhost, 127.0.0.1, ::1) always
    # pass; any other Host is answered 400 (docs/operations.md section 8).
    allowed_hosts: Annotated[tuple[str, ...], NoDecode] = ()

    office_id: str = "urn:jiaozi:office:11001"
    office_name: str = "北京市教育委员会教师资格认定中心"
    province: str = Field(default="11", pattern=r"^[1-9][0-9]$")
    office_code: str = Field(default="001", pattern=r"^[0-9]{3}$")
    issuer_uscc: str = "11330105002500287C"
    elicence_type_code: str = "11100000000013338W009"
    # The qualification types this office may certify (its scope in the trust list):
    # slugs, digits or Chinese names, comma-separated or a JSON list; stored as slugs.
    qualification_types: Annotated[tuple[str, ...], NoDecode] = tuple(
        t.slug for t in QualificationType
    )

    # The office's seal image (PNG, transparent background) printed on its certificates;
    # without one layout v2 draws the seal in vectors (v1 left a faint circle).
    seal_png: FilePath | None = None
    # The words under the vector seal's star (layout v2); None: the layout's 教师资格认定专用章.
    seal_text: str | None = Field(default=None, min_length=1, max_length=20)

    # Whether every certificate must carry the holder's photo (issue 15): on, an application
    # (API, console, batch row) without one is refused (``photo_required``); off (the
    # default), a photo is taken when one is given.
    photo_required: bool = False

    # The certification policy every way in applies (issuer.fields.dates): the holder is at
    # least this old on the certification date, which is not before the earliest date.
    min_certification_age: int = Field(default=18, ge=16, le=70)
    earliest_certification_date: dt.date = EARLIEST_DATE

    # Request bodies (issuer.web.limits), refused with 413 before anything reads them: a
    # batch upload's file, and the body of any other request (JSON and forms are small).
    batch_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, le=1 << 30)
    # A batch's zip of photos (issue 15), beside its file: 10,000 photos of ~40 KB are
    # ~400 MB; 1 GiB by default. The zip's unpacked total may be twice this.
    batch_photos_max_bytes: int = Field(default=1 << 30, ge=1024, le=1 << 34)
    body_limit: int = Field(default=1024 * 1024, ge=1024, le=1 << 30)

    status_list_size: int = Field(default=MIN_LIST_SIZE, ge=MIN_LIST_SIZE, le=1 << 24)
    status_ttl_seconds: int = Field(default=300, ge=1, le=86400)
    status_exp_seconds: int = Field(default=86400, ge=60)
    # The publication job of `jiaozi issuer serve` (issuer.lifecycle.publication): every so
    # many seconds it re-signs the status lists that are due (half a ttl old, or behind a
    # change) and stores a changed JWKS or trust list; 0 leaves it to `jiaozi issuer
    # publish` run by cron. Keep it well under status_ttl_seconds / 2.
    publish_interval_seconds: int = Field(default=60, ge=0, le=86400)

    # The static bearer key acts as the office's admin: how a fresh install is bootstrapped
    # (it creates the first personal accounts); production refuses the development default.
    api_key: SecretStr = SecretStr(DEV_API_KEY)
    # Key of the HMAC over identity numbers (lookups without storing the number in clear).
    id_hmac_key: SecretStr = SecretStr(DEV_ID_HMAC_KEY)
    # AES-256-GCM key sealing the stored credentials (they hold identity numbers):
    # 32 bytes as base64url (`python -c "import keys; print(keys.generate_data_key())"`).
    # The published development key is refused in production where it is used
    # (issuer.issuance.sealing), like restriction_hmac_key.
    data_key: SecretStr = SecretStr(DEV_DATA_KEY)
    # Key of the person references on the restricted list (contract section 7), shared with
    # the verifiers; distinct from id_hmac_key, which never leaves the issuer.
    restriction_hmac_key: SecretStr = SecretStr(DEV_RESTRICTION_HMAC_KEY)

    # Holder pages (docs/holder.md): key of the HMAC over claim codes and of the holder
    # session cookie; never leaves the issuer. Unset, it is derived from id_hmac_key (a
    # separate HMAC label), so no published default can reach production; set, production
    # wants at least 32 characters distinct from the other keys.
    holder_hmac_key: SecretStr | None = None
    # The holder pages' address as teachers reach it (printed on claim letters); unset, it
    # is the public URL's /holder (an office whose console is intranet-only sets this).
    holder_url: str | None = None
    holder_code_days: int = Field(default=30, ge=1, le=365)  # a claim code's lifetime
    holder_session_minutes: int = Field(default=30, ge=5, le=24 * 60)
    holder_max_failures: int = Field(default=5, ge=1, le=100)  # per certificate number
    holder_address_max_failures: int = Field(default=20, ge=1, le=10000)  # per client
    holder_lockout_minutes: int = Field(default=15, ge=1, le=24 * 60)
    # purpose copies of one certificate per day (Beijing time): each is a signed token, a
    # signed PDF and an audited row, so a session cannot make them without end
    holder_max_copies_per_day: int = Field(default=20, ge=1, le=1000)

    # The office console at /office (issue 13 point 2; issuer.console): officers sign in
    # with a password (argon2id) and a TOTP code. After console_max_failures wrong tries
    # within console_lockout_minutes the officer is locked for that long; a session ends
    # console_session_hours after sign-in, or after console_idle_minutes without a request.
    # An enrolment code (set a password, enrol TOTP) is good for console_enrolment_hours.
    console_max_failures: int = Field(default=5, ge=1, le=100)
    console_lockout_minutes: int = Field(default=15, ge=1, le=24 * 60)
    console_session_hours: int = Field(default=10, ge=1, le=24)
    console_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    console_enrolment_hours: int = Field(default=72, ge=1, le=30 * 24)
    console_password_min_length: int = Field(default=12, ge=8, le=128)

    # The national registry (docs/registry.md): where this office sends its restricted-list
    # entries and reads the national list; unset, entries wait in the outbox. Every
    # ``national_sync_interval`` seconds (0 = only ``jiaozi issuer sync-national``) the
    # app pushes the outbox and pulls the list.
    registry_url: str | None = None
    registry_id: str = "urn:jiaozi:registry"
    national_sync_interval: int = Field(default=60, ge=0, le=86400)
    national_sync_timeout: float = Field(default=10.0, gt=0, le=120)

    @field_validator("public_url", "verifier_url", "registry_url", "holder_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/")

    @property
    def holder_page_url(self) -> str:
        """Return the holder pages' public address: ``holder_url``, else public_url/holder."""
        return self.holder_url or f"{self.public_url}/holder"

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

    @field_validator("earliest_certification_date")
    @classmethod
    def _earliest(cls, value: dt.date) -> dt.date:
        today = beijing_date(dt.datetime.now(dt.UTC))
        if not EARLIEST_DATE <= value <= today:
            raise ValueError(
                f"must be from {EARLIEST_DATE.isoformat()} to today ({today.isoformat()})"
            )
        return value

    @field_validator("qualification_types", mode="before")
    @classmethod
    def _scope(cls, value: object) -> tuple[str, ...]:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                try:
                    value = json.loads(text)
                except ValueError:
                    raise ValueError("not a JSON list of qualification types") from None
            else:
                value = [t for t in text.split(",") if t.strip()]
        if not isinstance(value, list | tuple | set | frozenset):
            raise ValueError("must be a list of qualification types")
        try:
            parsed = {QualificationType.parse(t) for t in value}
        except CredentialError as exc:
            raise ValueError(str(exc)) from None
        if not parsed:
            raise ValueError("an office needs at least one qualification type")
        return tuple(t.slug for t in sorted(parsed))

    @model_validator(mode="after")
    def _check(self) -> IssuerSettings:
        try:
            elicence_id(
                type_code=self.elicence_type_code,
                issuer_uscc=self.issuer_uscc,
                serial="1",
                version=1,
            )
        except CredentialError as exc:
            raise ValueError(f"e-licence settings: {exc}") from None
        try:
            parse_data_key(self.data_key.get_secret_value())
        except KeysError as exc:
            raise ValueError(f"JIAOZI_DATA_KEY: {exc}") from None
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
        # Every secret with a published development default is refused here, when the
        # app is built, rather than at first use in the middle of a round.
        if self.data_key.get_secret_value().strip() == DEV_DATA_KEY:
            raise ValueError(
                "JIAOZI_DATA_KEY must be set in production (the development key is "
                'published); make one with python -c "import keys; '
                'print(keys.generate_data_key())"'
            )
        for name, default in (
            ("api_key", DEV_API_KEY),
            ("id_hmac_key", DEV_ID_HMAC_KEY),
            ("restriction_hmac_key", DEV_RESTRICTION_HMAC_KEY),
        ):
            value = getattr(self, name).get_secret_value()
            if value == default or len(value) < _MIN_SECRET_LENGTH:
                raise ValueError(
                    f"JIAOZI_{name.upper()} must be set to a secret of at least "
                    f"{_MIN_SECRET_LENGTH} characters in production (default or empty "
                    "value refused)"
                )
        if self.registry_url is not None and not self.registry_url.startswith("https://"):
            raise ValueError("JIAOZI_REGISTRY_URL must be https in production")
        if self.restriction_hmac_key.get_secret_value() == self.id_hmac_key.get_secret_value():
            raise ValueError(
                "JIAOZI_RESTRICTION_HMAC_KEY is shared with verifiers and must differ "
                "from JIAOZI_ID_HMAC_KEY"
            )
        holder = self.holder_hmac_key
        if holder is not None and (
            len(holder.get_secret_value()) < _MIN_SECRET_LENGTH
            or holder.get_secret_value()
            in (
                self.id_hmac_key.get_secret_value(),
                self.restriction_hmac_key.get_secret_value(),
            )
        ):
            raise ValueError(
                f"JIAOZI_HOLDER_HMAC_KEY must be a secret of at least {_MIN_SECRET_LENGTH} "
                "characters in production, distinct from the other keys (or unset: it is "
                "then derived from JIAOZI_ID_HMAC_KEY)"
            )
        if self.public_url.startswith("http://") or self.verifier_url.startswith("http://"):
            raise ValueError("JIAOZI_PUBLIC_URL and JIAOZI_VERIFIER_URL must be https")

    @property
    def qualification_scope(self) -> frozenset[QualificationType]:
        """Return the qualification types this office may certify."""
        return frozenset(QualificationType.parse(t) for t in self.qualification_types)

    @property
    def office_number_code(self) -> str:
        """Return province + office code (5 digits), the office code in credentials."""
        return self.province + self.office_code
