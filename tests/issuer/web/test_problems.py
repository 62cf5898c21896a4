"""Errors leave as RFC 9457 problem JSON in the request's language; no input yields a 500."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from issuer.settings import IssuerSettings
from issuer.web.app import create_app
from issuer.web.problems import language
from tests.factory import signer
from tests.factory.issuer import IssuerHarness, application


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "zh"),
        ("", "zh"),
        ("en", "en"),
        ("en-US,en;q=0.9", "en"),
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh"),
        ("fr-FR,en;q=0.5", "en"),
        ("fr-FR,de", "zh"),
        ("en;q=0.2,zh-TW;q=0.8", "zh"),
        ("en;q=0", "zh"),
        ("en;q=bogus", "zh"),
        ("*", "zh"),
    ],
)
def test_language_follows_accept_language_with_chinese_default(header, expected) -> None:
    from verifier.problems import language as verifier_language

    assert language(header) == expected
    assert verifier_language(header) == expected  # one parser, both services


def test_only_the_first_twenty_ranges_of_a_long_header_are_weighed() -> None:
    """A header of thousands of ranges costs what one of twenty does: an English range
    after the twentieth is not read."""
    assert language(",".join(["fr"] * 19 + ["en"])) == "en"
    assert language(",".join(["fr"] * 20 + ["en"])) == "zh"


def test_unexpected_error_is_a_bare_500_problem_without_traceback(tmp_path) -> None:
    app = create_app(IssuerSettings(database_url=f"sqlite:///{tmp_path / 'i.db'}"), signer=signer())

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internals 110105197609062469")

    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.get("/boom", headers={"Accept-Language": "en"})
    assert r.status_code == 500
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json() == {
        "type": "https://jiaozi.example.org/problems/internal",
        "title": "Internal error",
        "status": 500,
        "detail": "The error was logged.",
    }


def test_unknown_route_and_method_are_problems(issuer_env: IssuerHarness) -> None:
    r = issuer_env.client.get("/no/such/thing")
    assert (r.status_code, r.headers["content-type"]) == (404, "application/problem+json")
    assert r.json()["title"] == "未找到"
    r = issuer_env.client.delete("/api/v1/certificates", headers={"Accept-Language": "en"})
    assert (r.status_code, r.json()["title"]) == (405, "Method not allowed")


_text = st.one_of(
    st.text(max_size=60),
    st.sampled_from(["", " ", "男", "female", "1976-09-06", "2026-02-30", "resident_id", "7"]),
    st.integers(),
    st.none(),
    st.lists(st.text(max_size=3), max_size=2),
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(over=st.dictionaries(st.sampled_from(sorted(application(1))), _text, max_size=4))
def test_any_field_values_get_201_or_a_422_problem(issuer_env: IssuerHarness, over) -> None:
    r = issuer_env.client.post(
        "/api/v1/certificates", json={**application(1), **over}, headers=issuer_env.headers()
    )
    assert r.status_code in (201, 422), r.text
    if r.status_code == 422:
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["errors"]
