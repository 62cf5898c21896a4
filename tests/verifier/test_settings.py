"""Verifier settings: production refuses insecure defaults; only configured issuers' status
list URLs may be fetched; the restricted list's dates are honoured."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from pydantic import ValidationError

from credential import beijing_date
from verifier.app import create_app
from verifier.settings import IssuerSource, VerifierSettings
from verifier.store import DatedRestrictions, RestrictionEntry, RestrictionIndex

GOOD = dict(
    env="production",
    public_url="https://verify.example.cn",
    trust_list_url="https://trust.example.cn/trust-list.jwt",
    issuers=(IssuerSource(base_url="https://jszg.example.cn", api_key="k" * 40),),
)


def test_production_accepts_real_settings() -> None:
    s = VerifierSettings(**GOOD)
    assert not hasattr(s, "person_ref_key")  # a public verifier holds no person key
    assert s.upload_limit == 10 * 1024 * 1024 and s.token_limit == 8 * 1024


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"public_url": "http://verify.example.cn"}, "https"),
        ({"trust_list_url": None}, "JIAOZI_TRUST_LIST_URL"),
        ({"issuers": (IssuerSource(base_url="http://jszg.example.cn"),)}, "https"),
        (
            {
                "issuers": (
                    IssuerSource(
                        base_url="https://jszg.example.cn", api_url="http://10.0.0.5:8100"
                    ),
                )
            },
            "https",
        ),
    ],
)
def test_production_refuses_insecure_defaults(over: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        VerifierSettings(**{**GOOD, **over})


def test_production_is_the_default_and_a_person_key_is_not_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("JIAOZI_ENV")
    monkeypatch.setenv("JIAOZI_RESTRICTION_HMAC_KEY", "issuer-name-for-the-same-secret")
    given = {k: v for k, v in GOOD.items() if k != "env"}
    with pytest.raises(ValidationError, match="JIAOZI_ENV"):
        VerifierSettings()
    s = VerifierSettings(**given)
    assert s.env == "production"
    assert "issuer-name-for-the-same-secret" not in repr(s.model_dump())


def test_production_app_refuses_to_start_without_pinned_root(tmp_path: Path) -> None:
    settings = VerifierSettings(
        **GOOD, root_jwks=tmp_path / "missing.json", database_url=f"sqlite:///{tmp_path}/v.db"
    )
    with pytest.raises(Exception, match="root JWKS"):
        create_app(settings)


def test_issuers_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "JIAOZI_ISSUERS", '[{"base_url": "https://jszg.example.cn/", "api_key": "abc"}]'
    )
    monkeypatch.setenv("JIAOZI_STATUS_GRACE", "120")
    s = VerifierSettings()
    assert s.issuers[0].base_url == "https://jszg.example.cn"
    assert s.issuers[0].api_key is not None and s.issuers[0].api_key.get_secret_value() == "abc"
    assert "abc" not in repr(s)
    assert s.status_grace == 120
    # no api_url: the restricted list is fetched under the public base URL
    assert s.issuers[0].restrictions_url == "https://jszg.example.cn"


def test_restricted_list_from_an_internal_api_url(monkeypatch: pytest.MonkeyPatch) -> None:
    # status lists at the public URL (static files), the authenticated API internal
    monkeypatch.setenv(
        "JIAOZI_ISSUERS",
        '[{"base_url": "https://jszg.example.cn", "api_key": "abc",'
        ' "api_url": "https://issuer.internal:8443/"}]',
    )
    s = VerifierSettings()
    source = s.issuers[0]
    assert source.restrictions_url == "https://issuer.internal:8443"
    assert s.issuer_for("https://jszg.example.cn/statuslists/3") == source
    assert s.issuer_for("https://issuer.internal:8443/statuslists/3") is None


@pytest.mark.parametrize(
    ("uri", "ok"),
    [
        ("https://jszg.example.cn/statuslists/1", True),
        ("https://JSZG.example.cn/statuslists/42", True),
        ("https://jszg.example.cn/statuslists/01", False),
        ("https://jszg.example.cn/statuslists/", False),
        ("https://jszg.example.cn/statuslists/1/", False),
        ("https://jszg.example.cn/statuslists/1?x=1", False),
        ("https://jszg.example.cn/statuslists/1#f", False),
        ("https://jszg.example.cn/statuslists/../../admin", False),
        ("https://jszg.example.cn/admin", False),
        ("https://jszg.example.cn:444/statuslists/1", False),
        ("http://jszg.example.cn/statuslists/1", False),
        ("https://jszg.example.cn.evil.net/statuslists/1", False),
        ("https://jszg.example.cn@evil.net/statuslists/1", False),
        ("https://evil.net@jszg.example.cn/statuslists/1", False),
        ("https://jszg.example.cn\\@evil.net/statuslists/1", False),
        ("https://jszg.example.cn/statuslists/1 ", False),
        ("https://jszg.example.cn/statuslists/１", False),  # full-width digit
        ("https://169.254.169.254/statuslists/1", False),
        ("file:///statuslists/1", False),
        ("https://other.example.cn/base/statuslists/1", True),
        ("https://other.example.cn/statuslists/1", False),
        ("https://other.example.cn/basement/statuslists/1", False),
    ],
)
def test_only_configured_issuers_status_lists_may_be_fetched(uri: str, ok: bool) -> None:
    s = VerifierSettings(
        issuers=(
            IssuerSource(base_url="https://jszg.example.cn"),
            IssuerSource(base_url="https://other.example.cn/base"),
        )
    )
    assert (s.issuer_for(uri) is not None) is ok


def _entry(category: str, bar_until: dt.date | None, affected: tuple[str, ...] = ()):
    return RestrictionEntry("src", "e1", category, dt.date(2020, 1, 1), bar_until, affected)


def test_restrictions_are_by_certificate_number_only() -> None:
    lost = RestrictionIndex.build([_entry("lost", None, ("20201100110000001",))])
    assert lost.category_for(certificate_number="20201100110000001") == "lost"
    assert lost.category_for(certificate_number="20261100110000009") is None
    # a revoked entry's bar may end: the certificates it named stay revoked
    ended = RestrictionIndex.build([_entry("revoked", dt.date(2025, 1, 1), ("20201100110000001",))])
    assert ended.category_for(certificate_number="20201100110000001") == "revoked"
    assert RestrictionIndex.build([_entry("revoked", None)]).by_number == {}


def test_dated_restrictions_never_look_at_a_person(monkeypatch: pytest.MonkeyPatch) -> None:
    index = RestrictionIndex.build(
        [_entry("revoked", dt.date(2026, 12, 31), ("20201100110000001",))]
    )
    today = beijing_date(dt.datetime(2026, 12, 31, 16, 30, tzinfo=dt.UTC))
    dated = DatedRestrictions(index, today)
    assert dated.category_for(certificate_number="20201100110000001", person_ref=None) == "revoked"
    assert dated.category_for(certificate_number="20261100110000009", person_ref="a" * 64) is None


@pytest.mark.parametrize(
    ("configured", "expected"),
    [
        ("", ()),
        ("10.0.0.5,10.1.0.0/16", ("10.0.0.5/32", "10.1.0.0/16")),
    ],
)
def test_the_verifier_believes_forwarding_headers_only_from_configured_proxies(
    monkeypatch: pytest.MonkeyPatch, configured: str, expected: tuple[str, ...]
) -> None:
    from verifier.commands import proxy_options

    monkeypatch.setenv("JIAOZI_TRUSTED_PROXIES", configured)
    settings = VerifierSettings()
    assert settings.trusted_proxies == expected
    # uvicorn's own reading stays off: the app reads the headers, once, from these proxies
    # only (tests/verifier/test_rate_limit.py)
    assert proxy_options(settings) == {"proxy_headers": False}
    monkeypatch.setenv("JIAOZI_TRUSTED_PROXIES", "*")
    with pytest.raises(ValidationError, match="trusted_proxies"):
        VerifierSettings()


def test_verify_rate_limit_is_on_unless_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    s = VerifierSettings(**GOOD)
    assert (s.verify_rate_limit, s.verify_rate_window, s.trusted_proxies) == (120, 60, ())
    monkeypatch.setenv("JIAOZI_VERIFY_RATE_LIMIT", "0")
    monkeypatch.setenv("JIAOZI_TRUSTED_PROXIES", '["10.0.0.0/8", "::1"]')
    s = VerifierSettings(**GOOD)
    assert s.verify_rate_limit == 0 and s.trusted_proxies == ("10.0.0.0/8", "::1/128")


def test_a_trusted_proxy_that_is_not_an_address_is_refused() -> None:
    with pytest.raises(ValidationError, match="trusted_proxies"):
        VerifierSettings(**GOOD, trusted_proxies=("proxy.example.cn",))


def test_allowed_hosts_are_named_host_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JIAOZI_ALLOWED_HOSTS", "Verifier.Internal., 10.0.0.7")
    assert VerifierSettings().allowed_hosts == ("verifier.internal", "10.0.0.7")
    for bad in ("*", "*.example.cn", "verify.example.cn:8200", "https://verify.example.cn"):
        with pytest.raises(ValidationError, match="allowed_hosts"):
            VerifierSettings(**GOOD, allowed_hosts=(bad,))
