"""A fake issuer and trust authority for the verifier's tests (httpx.MockTransport), and
the harness that builds a verifier app on it. The few tests here pin the fake itself."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.factory import ISSUER_URL, World, applicants, logscan
from tests.factory.verifier import (
    FEED_KEY,
    TRUST_URL,
    Clock,
    FakeIssuer,
    Harness,
    make_harness,
)


@pytest.fixture
def harness(database_url: str, tmp_path: Path) -> Iterator[Harness]:
    yield from make_harness(database_url, tmp_path)


# --- the fake itself ---------------------------------------------------------------------


def test_fake_issuer_serves_conditional_trust_list() -> None:
    world = World()
    issuer = FakeIssuer(world, Clock())
    with issuer.client() as http:
        first = http.get(TRUST_URL)
        again = http.get(TRUST_URL, headers={"If-None-Match": first.headers["etag"]})
    assert first.status_code == 200 and first.text == world.trust_token()
    assert again.status_code == 304


def test_fake_feed_needs_the_key_and_pages_changes() -> None:
    world = World()
    issuer = FakeIssuer(world, Clock(), page_size=1)
    issuer.restrict("r1", applicants()[3])
    issuer.restrict("r2", applicants()[4])
    with issuer.client() as http:
        assert http.get(ISSUER_URL + "/api/v1/restrictions/snapshot").status_code == 401
        r = http.get(
            ISSUER_URL + "/api/v1/restrictions/changes?after=0",
            headers={"Authorization": f"Bearer {FEED_KEY}"},
        )
    payload = json.loads(
        __import__("base64").urlsafe_b64decode(r.text.split(".")[1] + "==").decode()
    )
    assert payload["cursor"] == 1 and [c["seq"] for c in payload["changes"]] == [1]


def test_the_harness_fails_a_test_whose_logs_or_answers_hold_an_identity_number(
    tmp_path: Path,
) -> None:
    number = applicants()[1]["id_number"]
    gen = make_harness(f"sqlite:///{tmp_path / 'v.db'}", tmp_path)
    next(gen)
    # planted on purpose: the session's log scan (tests/factory/logscan.py) skips it
    logging.getLogger("jiaozi.verifier.test").info(
        "looked up %s", number, extra={logscan.PLANTED: True}
    )
    with pytest.raises(AssertionError, match="identity numbers"):
        gen.close()
    gen = make_harness(f"sqlite:///{tmp_path / 'w.db'}", tmp_path)
    h = next(gen)
    h.app.get("/leak")(lambda: {"id": number})
    assert h.client.get("/leak").status_code == 200
    with pytest.raises(AssertionError, match="identity numbers"):
        gen.close()
    gen = make_harness(f"sqlite:///{tmp_path / 'x.db'}", tmp_path)
    h = next(gen)
    assert h.client.get("/healthz").status_code == 200
    gen.close()  # clean: no assertion
