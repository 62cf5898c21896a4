"""Request bodies are capped before anything reads them (issue 11, point 3).

An unauthenticated 100 MB body used to be read whole (the JSON check and form parsing run
before authentication) before the 401: now a declared length over the route's cap is
refused without reading a byte, and a chunked body is cut off once it passes the cap.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from starlette.types import Message

from issuer.settings import IssuerSettings
from issuer.web.app import create_app
from issuer.web.limits import MULTIPART_SLACK, PHOTO_ROOM, BodyLimit
from tests.factory import APPLICANTS_CSV, signer
from tests.factory.issuer import API_KEY, IssuerHarness, application, poll_batch, post_batch

SETTINGS = IssuerSettings(
    body_limit=4096, batch_max_bytes=64 * 1024, batch_photos_max_bytes=32 * 1024
)


class _Inner:
    """The app behind the middleware: records whether it ran and the body it read."""

    def __init__(self) -> None:
        self.called = False
        self.body = b""

    async def __call__(self, scope, receive, send) -> None:
        self.called = True
        while True:
            message = await receive()
            self.body += message.get("body", b"")
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def _run(
    path: str, chunks: Iterator[bytes], *, length: int | None = None, method: str = "POST"
) -> tuple[_Inner, list[Message], int]:
    """Send ``chunks`` through BodyLimit; return the inner app, what was sent, chunks read."""
    inner = _Inner()
    sent: list[Message] = []
    reads = 0

    async def receive() -> Message:
        nonlocal reads
        reads += 1
        chunk = next(chunks, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: Message) -> None:
        sent.append(message)

    headers = [(b"accept-language", b"en")]
    if length is not None:
        headers.append((b"content-length", str(length).encode()))
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "headers": headers,
        "query_string": b"",
    }
    asyncio.run(BodyLimit(inner, SETTINGS)(scope, receive, send))
    return inner, sent, reads


def _problem(sent: list[Message]) -> dict:
    assert sent[0]["status"] == 413
    assert (b"content-type", b"application/problem+json") in sent[0]["headers"]
    return json.loads(b"".join(m.get("body", b"") for m in sent[1:]))


def _endless(size: int = 1024) -> Iterator[bytes]:
    while True:
        yield b"x" * size


def test_a_declared_length_over_the_cap_is_refused_without_reading_the_body() -> None:
    inner, sent, reads = _run("/api/v1/certificates/search", _endless(), length=100 * 1024 * 1024)
    assert not inner.called and reads == 0
    body = _problem(sent)
    assert body["type"].endswith("/body_too_large") and body["status"] == 413
    assert "4,096 bytes" in body["detail"]


def test_issuing_one_certificate_has_room_for_the_holders_photo() -> None:
    # a 2 MiB photo is 2.7 MiB of base64: the cap is the body limit and 3 MiB
    cap = 4096 + PHOTO_ROOM
    inner, sent, _ = _run("/api/v1/certificates", iter([b"x" * cap]), length=cap)
    assert inner.called
    inner, sent, reads = _run("/office/certificates/new", _endless(), length=cap + 1)
    assert not inner.called and reads == 0 and _problem(sent)["status"] == 413


@pytest.mark.parametrize(
    ("declared", "refused"), [(b"9" * 5000, True), (b"0" * 5000, False), (b"0" * 30 + b"7", False)]
)
def test_a_content_length_of_thousands_of_digits_is_judged_not_a_crash(
    declared: bytes, refused: bool
) -> None:
    # int() refuses strings of over 4,300 digits: the header must not reach it whole
    inner, sent = _Inner(), []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/v1/certificates",
        "headers": [(b"content-length", declared)],
        "query_string": b"",
    }
    asyncio.run(BodyLimit(inner, SETTINGS)(scope, receive, send))
    if refused:
        assert not inner.called and _problem(sent)["type"].endswith("/body_too_large")
    else:
        assert inner.called and sent[0]["status"] == 204


def test_a_chunked_body_is_cut_off_once_it_passes_the_cap() -> None:
    inner, sent, reads = _run("/holder/login", _endless())
    assert not inner.called
    assert reads == 5  # 4 KiB in 1 KiB pieces, and the piece that passed it: no more read
    assert _problem(sent)["type"].endswith("/body_too_large")


def test_the_batch_upload_has_its_own_larger_cap() -> None:
    file_cap = 64 * 1024 + 32 * 1024 + MULTIPART_SLACK  # the file and its zip of photos
    inner, sent, _ = _run("/api/v1/batches", iter([b"y" * file_cap]), length=file_cap)
    assert inner.called and inner.body == b"y" * file_cap  # handed on whole, as it came
    assert sent[0]["status"] == 204
    inner, sent, _ = _run("/api/v1/batches", _endless(), length=file_cap + 1)
    assert not inner.called
    assert _problem(sent)["type"].endswith("/upload_too_large")
    # the larger cap is the upload's alone
    inner, sent, _ = _run("/api/v1/batches/1", _endless(), length=5000, method="PUT")
    assert not inner.called and _problem(sent)["type"].endswith("/body_too_large")


def test_a_body_under_the_cap_reaches_the_app_unchanged() -> None:
    inner, sent, _ = _run("/api/v1/certificates", iter([b"ab", b"cd"]))
    assert inner.called and inner.body == b"abcd" and sent[0]["status"] == 204


@pytest.fixture
def small_app(tmp_path: Path) -> Iterator[TestClient]:
    settings = IssuerSettings(
        database_url=f"sqlite:///{tmp_path / 'issuer.db'}",
        public_url="http://testserver",
        api_key=API_KEY,
    )
    with TestClient(create_app(settings, signer=signer(kid="11001-1"))) as client:
        yield client


def test_an_unauthenticated_oversized_body_gets_413_not_a_401_after_reading_it(
    small_app: TestClient,
) -> None:
    big = b'{"name": "' + b"x" * (5 * 1024 * 1024) + b'"}'
    r = small_app.post(
        "/api/v1/certificates", content=big, headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 413, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"].endswith("/body_too_large")
    # a small body still meets authentication first
    r = small_app.post("/api/v1/certificates", json=application(1))
    assert r.status_code == 401


def test_a_normal_batch_upload_still_works(issuer_env: IssuerHarness) -> None:
    raw = b"\n".join(APPLICANTS_CSV.read_bytes().splitlines()[:4]) + b"\n"
    r = post_batch(issuer_env, raw, "three.csv")
    assert r.status_code == 202, r.text
    assert poll_batch(issuer_env, r.json()["id"])["state"] == "done"
