"""The rules on proxies, hosts and origins both services apply (credential._hosts): the
one parser of trusted proxies, the extra host names, and the judgement of a request."""

from __future__ import annotations

import pytest

from credential import HostRules, parse_host_list, parse_proxy_list

RULES = HostRules("https://Verify.Example.cn/", ("verifier.internal",))


def headers(**values: str) -> list[tuple[bytes, bytes]]:
    return [(k.replace("_", "-").encode(), v.encode("latin-1")) for k, v in values.items()]


@pytest.mark.parametrize(
    ("given", "parsed"),
    [
        ("", ()),
        ("10.0.0.5, 192.168.1.0/24,", ("10.0.0.5/32", "192.168.1.0/24")),
        ('["::1", "10.0.0.5", "10.0.0.5/32"]', ("::1/128", "10.0.0.5/32")),
        (["192.168.1.7/24"], ("192.168.1.0/24",)),
    ],
)
def test_trusted_proxies_are_addresses_or_networks(given: object, parsed: tuple) -> None:
    assert parse_proxy_list(given) == parsed


@pytest.mark.parametrize("given", ["*", "proxy.example.cn", "10.0.0.300", "[1", 5])
def test_a_proxy_that_is_not_an_address_is_refused(given: object) -> None:
    with pytest.raises(ValueError):
        parse_proxy_list(given)


def test_extra_hosts_are_normalised_names() -> None:
    assert parse_host_list(" Health.Internal. ,10.0.0.7,[::1]") == (
        "health.internal",
        "10.0.0.7",
        "::1",
    )
    for bad in ("*", "*.example.cn", "a.example.cn:8100", "https://a.example.cn", "a b", "-a.cn"):
        with pytest.raises(ValueError):
            parse_host_list([bad])


@pytest.mark.parametrize(
    "host",
    ["verify.example.cn", "VERIFY.example.CN.", "verify.example.cn:8443", "verifier.internal",
     "localhost:8200", "127.0.0.1", "[::1]:8200"],
)  # fmt: skip
def test_hosts_that_pass(host: str) -> None:
    assert RULES.judge("GET", "http", headers(host=host)) is None


@pytest.mark.parametrize(
    "hosts",
    [[], ["attacker.example"], ["verify.example.cn.attacker.example"], ["verify.example.cn:x"],
     ["[::1"], ["verify.example.cn", "attacker.example"], ["127.0.0.2.nip.io"]],
)  # fmt: skip
def test_hosts_that_fail(hosts: list[str]) -> None:
    sent = [(b"host", h.encode()) for h in hosts]
    assert RULES.judge("GET", "http", sent) == "bad_host"


@pytest.mark.parametrize(
    ("method", "scheme", "sent", "why"),
    [
        ("POST", "http", {}, None),  # a program: no Origin, no Sec-Fetch-Site
        ("POST", "http", {"origin": "https://verify.example.cn"}, None),
        ("POST", "http", {"origin": "https://verify.example.cn:443"}, None),
        ("DELETE", "http", {"origin": "http://verify.example.cn"}, None),  # served as http
        ("POST", "https", {"origin": "http://verify.example.cn"}, "bad_origin"),
        ("PUT", "http", {"origin": "https://attacker.example"}, "bad_origin"),
        ("PATCH", "http", {"origin": "null"}, "bad_origin"),
        ("POST", "http", {"origin": ""}, "bad_origin"),
        ("POST", "http", {"sec_fetch_site": "cross-site"}, "bad_origin"),
        ("POST", "http", {"sec_fetch_site": "same-origin"}, None),
        ("GET", "http", {"origin": "null", "sec_fetch_site": "cross-site"}, None),
        ("OPTIONS", "http", {"origin": "https://attacker.example"}, None),
    ],
)
def test_origins_of_unsafe_methods(method: str, scheme: str, sent: dict, why: str | None) -> None:
    assert RULES.judge(method, scheme, headers(host="verify.example.cn", **sent)) == why


def test_a_public_url_that_is_not_http_is_refused() -> None:
    with pytest.raises(ValueError):
        HostRules("ftp://verify.example.cn")
    assert HostRules("http://127.0.0.1:8200").origin == "http://127.0.0.1:8200"
    assert HostRules("https://[::1]:443/base").origin == "https://[::1]"
