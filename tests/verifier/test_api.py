"""POST /api/v1/verify for every input kind: QR URL, token, transport digits, credential, a
PNG/JPEG photo of the printed QR, and a PDF with the QR drawn and the e-licence attached;
QR URL origin tricks; and the problems for what cannot be judged."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
import segno
import segno.consts
from PIL import Image
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from credential import StatusValue, encode_transport, qr_segments, qr_url
from tests.factory import VERIFIER_URL, World, applicants
from tests.factory.verifier import QR_MODES, Harness, make_harness, pdf, photo, upload
from verifier.app.fastpath import JsonVerifyFastPath

# --- text inputs -------------------------------------------------------------------------


def test_qr_url_token_digits_and_credential_are_all_valid(api: Harness) -> None:
    issued = api.world.issue(idx=101)
    for body in (
        {"qr": qr_url(VERIFIER_URL, issued.qr_token)},
        {"qr": VERIFIER_URL + "/v#" + issued.qr_token},
        {"qr": issued.qr_token},
        {"qr": encode_transport(issued.qr_token)},
        {"credential": issued.credential},
        {"qr": issued.credential},  # a credential pasted into the QR box
    ):
        result = api.verify(**body)
        assert (result["verdict"], result["reason"]) == ("valid", None), body
        assert result["certificate"]["id_number_masked"].count("*") == 11
        assert [c["name"] for c in result["checks"]] == [
            "format",
            "signature",
            "issuer_trusted",
            "scope",
            "validity_period",
            "status",
            "restriction",
            "binding",
        ]


def test_qr_and_credential_together_are_bound(api: Harness) -> None:
    one = api.world.issue(idx=102)
    other = api.world.issue(api.world.certificate(applicants()[2]), idx=103)
    ok = api.verify(qr=one.qr_token, credential=one.credential)
    assert ok["verdict"] == "valid"
    assert {c["name"]: c["ok"] for c in ok["checks"]}["binding"] is True
    bad = api.verify(qr=one.qr_token, credential=other.credential)
    assert (bad["verdict"], bad["reason"]) == ("not_valid", "malformed")


def test_answers_in_chinese_by_default_and_english_on_request(api: Harness) -> None:
    token = api.world.issue(idx=104).qr_token
    zh = api.client.post("/api/v1/verify", json={"qr": token})
    en = api.client.post("/api/v1/verify", json={"qr": token}, headers={"Accept-Language": "en"})
    assert zh.headers["content-language"] == "zh-CN" and en.headers["content-language"] == "en"
    assert zh.json()["checks"][0]["detail"] == "格式正确"
    assert en.json()["checks"][0]["detail"] == "well-formed"


@pytest.mark.parametrize(
    "url",
    [
        "https://verify.example.cn@evil.example.net/v#{t}",
        "https://evil.example.net@verify.example.cn/v#{t}",
        "https://verify.example.cn.evil.example.net/v#{t}",
        "https://evilverify.example.cn/v#{t}",
        "https://xn--vrify-bva.example.cn/v#{t}",  # punycode lookalike (vérify)
        "https://vеrify.example.cn/v#{t}",  # Cyrillic е
        "http://verify.example.cn/v#{t}",
        "https://verify.example.cn./v#{t}",
        "https://verify.example.cn:8443/v#{t}",
        "https://verify.example.cn:443/v#{t}",
        "https://verify.example.cn/x/v#{t}",
        "https://verify.example.cn/v?x=1#{t}",
        "https://verify.example.cn\t/v#{t}",
        "javascript:alert(1)//verify.example.cn/v#{t}",
    ],
)
def test_qr_url_origin_tricks_are_malformed(api: Harness, url: str) -> None:
    token = api.world.issue(idx=105).qr_token
    result = api.verify(qr=url.format(t=encode_transport(token)))
    assert (result["verdict"], result["reason"]) == ("not_valid", "malformed")
    assert "certificate" not in result


def test_a_forged_token_is_not_valid_never_cannot_determine(api: Harness) -> None:
    token = api.world.issue(idx=106).qr_token
    head, payload, sig = token.split(".")
    forged = f"{head}.{payload}.{sig[:-4]}AAAA"
    result = api.verify(qr=forged)
    assert (result["verdict"], result["reason"]) == ("not_valid", "bad_signature")
    assert "certificate" not in result


# --- files ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "media"), [("PNG", "image/png"), ("JPEG", "image/jpeg")])
def test_photo_of_the_printed_qr(api: Harness, fmt: str, media: str) -> None:
    token = api.world.issue(idx=111).qr_token
    r = upload(api, photo(qr_url(VERIFIER_URL, token), fmt), "scan." + fmt.lower(), media)
    assert r.status_code == 200, r.text
    assert (r.json()["verdict"], r.json()["certificate"]["name"]) == (
        "valid",
        applicants()[1]["name"],
    )


def test_pdf_with_qr_and_attached_credential_is_checked_and_bound(api: Harness) -> None:
    issued = api.world.issue(idx=112)
    r = upload(
        api,
        pdf(qr_url(VERIFIER_URL, issued.qr_token), issued.credential),
        "c.pdf",
        "application/pdf",
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["verdict"] == "valid"
    checks = {c["name"]: c["ok"] for c in body["checks"]}
    assert checks["binding"] is True  # both were found and compared


def test_pdf_whose_qr_and_credential_disagree_is_not_valid(api: Harness) -> None:
    one = api.world.issue(idx=113)
    other = api.world.issue(api.world.certificate(applicants()[3]), idx=114)
    r = upload(
        api, pdf(qr_url(VERIFIER_URL, one.qr_token), other.credential), "c.pdf", "application/pdf"
    )
    assert r.status_code == 200
    assert (r.json()["verdict"], r.json()["reason"]) == ("not_valid", "malformed")


def test_pdf_with_only_one_form(api: Harness) -> None:
    issued = api.world.issue(idx=115)
    only_credential = upload(api, pdf(None, issued.credential), "c.pdf", "application/pdf")
    assert only_credential.json()["verdict"] == "valid"
    only_qr = upload(
        api, pdf(qr_url(VERIFIER_URL, issued.qr_token), None), "c.pdf", "application/pdf"
    )
    assert only_qr.json()["verdict"] == "valid"
    json_named = upload(
        api,
        pdf(None, json.dumps({"jws": issued.credential}), name="x.json"),
        "c.pdf",
        "application/pdf",
    )
    assert json_named.json()["verdict"] == "valid"


def test_pdf_with_nothing_to_verify_is_422(api: Harness) -> None:
    r = upload(api, pdf(None, None), "c.pdf", "application/pdf")
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"].endswith("/nothing_found")


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"hello, not a file we know", "unsupported_file"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "unreadable_image"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 40, "unreadable_image"),
        (b"%PDF-1.7\n" + b"garbage " * 40, "unreadable_pdf"),
    ],
)
def test_unreadable_files_are_422_problems(api: Harness, data: bytes, code: str) -> None:
    r = upload(api, data, "f.bin", "application/octet-stream")
    assert r.status_code == 422, r.text
    assert r.json()["type"].endswith("/" + code) and r.json()["status"] == 422


def test_image_without_a_qr_is_422(api: Harness) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (300, 200), (255, 255, 255)).save(buf, format="PNG")
    r = upload(api, buf.getvalue(), "blank.png", "image/png")
    assert r.status_code == 422 and r.json()["type"].endswith("/no_qr")


def test_upload_over_10_mib_is_413(api: Harness) -> None:
    big = b"%PDF-1.7\n" + b"0" * (10 * 1024 * 1024)
    r = upload(api, big, "big.pdf", "application/pdf")
    assert r.status_code == 413 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["title"] == "内容过大"


def test_problems_for_bodies_with_nothing_to_judge(api: Harness) -> None:
    c = api.client
    r = c.post("/api/v1/verify", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["type"].endswith("/invalid_json")
    r = c.post("/api/v1/verify", json={}, headers={"Accept-Language": "en"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "qr"
    assert r.headers["content-language"] == "en"
    r = c.post("/api/v1/verify", json=["qr"])
    assert r.status_code == 422
    r = c.post("/api/v1/verify", json={"qr": 12})
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "type"
    r = c.post("/api/v1/verify", content=b"qr=x", headers={"Content-Type": "text/plain"})
    assert r.status_code == 415
    r = c.post("/api/v1/verify", json={"qr": "a" * 20000})
    assert r.status_code == 413
    r = c.get("/api/v1/nothing-here")
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    r = c.get("/api/v1/verify")
    assert r.status_code == 405 and r.json()["status"] == 405


def test_json_with_a_duplicate_key_is_400(api: Harness) -> None:
    """{"qr": token, "qr": null} kept the last value silently (then a 422 "missing"): the
    body is read as strictly as every other JSON the verifier reads."""
    r = api.client.post(
        "/api/v1/verify",
        content=b'{"qr": "x", "qr": null}',
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 400 and r.json()["type"].endswith("/invalid_json")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32", "utf-8-sig"])
def test_json_in_another_encoding_than_utf8_is_400(api: Harness, encoding: str) -> None:
    """RFC 8259 8.1: JSON between systems is UTF-8 (json.loads of bytes would guess
    UTF-16 and UTF-32; a BOM is not JSON)."""
    body = '{"qr": "https://verify.example.cn/v#1"}'.encode(encoding)
    r = api.client.post(
        "/api/v1/verify", content=body, headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400, r.text
    assert r.json()["type"].endswith("/invalid_json")


def test_text_fields_in_a_form_work_too(api: Harness) -> None:
    token = api.world.issue(idx=116).qr_token
    r = api.client.post("/api/v1/verify", data={"qr": token})
    assert r.status_code == 200 and r.json()["verdict"] == "valid"


def test_pdf_qr_is_read_from_the_image_xobject_without_rendering(
    api: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    import verifier.extract as extract_mod

    issued = api.world.issue(idx=117)
    data = pdf(qr_url(VERIFIER_URL, issued.qr_token), issued.credential)
    monkeypatch.setattr(extract_mod.shutil, "which", lambda _name: None)  # no pdftoppm
    found = extract_mod.extract(data)
    assert found.qr == qr_url(VERIFIER_URL, issued.qr_token)
    assert found.credential == issued.credential


def test_pdf_with_a_vector_qr_falls_back_to_rendering(api: Harness) -> None:
    import shutil

    if shutil.which("pdftoppm") is None:
        pytest.fail("pdftoppm (poppler-utils) is needed for this test")
    issued = api.world.issue(idx=118)
    segs = [(c, QR_MODES[m]) for c, m in qr_segments(qr_url(VERIFIER_URL, issued.qr_token))]
    matrix = segno.make_qr(segs, error="q", boost_error=False).matrix
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    unit = 2.0
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                c.rect(300 + x * unit, 300 - y * unit, unit, unit, stroke=0, fill=1)
    c.showPage()
    c.save()
    r = upload(api, buf.getvalue(), "vector.pdf", "application/pdf")
    assert r.status_code == 200, r.text
    assert r.json()["verdict"] == "valid"


def test_unexpected_errors_are_a_bare_500_problem_and_log_no_input(
    api: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from fastapi.testclient import TestClient

    secret = applicants()[1]["id_number"]

    def boom(*_a: object, **_k: object) -> None:
        raise RuntimeError(f"failed on {secret}")

    monkeypatch.setattr(api.verifier, "judge", boom)
    with TestClient(api.app, raise_server_exceptions=False) as client:
        r = client.post("/api/v1/verify", json={"qr": "x"})
    assert r.status_code == 500 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"].endswith("/internal") and "Traceback" not in r.text
    assert secret not in r.text and secret not in caplog.text
    assert "RuntimeError" in caplog.text


def test_json_fast_path_answers_exactly_as_the_route(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """JSON bodies are answered by JsonVerifyFastPath (rate limits counted there too); the
    second app's fast path is switched off, so the FastAPI route answers. Status, headers
    and bytes must be the same for every outcome."""
    world = World()
    (tmp_path / "fast").mkdir()
    (tmp_path / "route").mkdir()
    # reload_interval: judged in the event loop once loaded (0 sends every one to a thread)
    fast_gen = make_harness(
        f"sqlite:///{tmp_path / 'fast.db'}",
        tmp_path / "fast",
        world,
        reload_interval=3600,
        verify_rate_limit=10_000,
    )
    route_gen = make_harness(
        f"sqlite:///{tmp_path / 'route.db'}",
        tmp_path / "route",
        world,
        reload_interval=3600,
        verify_rate_limit=10_000,
    )
    fast, route = next(fast_gen), next(route_gen)
    fast_path = JsonVerifyFastPath.__call__

    async def route_only(self: JsonVerifyFastPath, scope: Any, receive: Any, send: Any) -> None:
        if self.verifier is route.verifier:
            return await self.app(scope, receive, send)
        return await fast_path(self, scope, receive, send)

    JsonVerifyFastPath.__call__ = route_only  # type: ignore[method-assign]
    try:
        good = world.issue(idx=121)
        revoked = world.issue(idx=122)
        world.status.set(122, StatusValue.INVALID)
        for h in (fast, route):
            h.verifier.syncer.run_once(extra_status=[world.status_uri])
        forged = good.qr_token[:-4] + ("AAAA" if not good.qr_token.endswith("AAAA") else "BBBB")
        json_type = {"Content-Type": "application/json"}
        cases: list[tuple[bytes, dict[str, str]]] = [
            (json.dumps({"qr": good.qr_token}).encode(), {}),
            (json.dumps({"qr": qr_url(VERIFIER_URL, good.qr_token)}).encode(), {}),
            (json.dumps({"credential": good.credential}).encode(), {}),
            (json.dumps({"qr": good.qr_token, "credential": good.credential}).encode(), {}),
            (json.dumps({"qr": revoked.qr_token}).encode(), {}),
            (json.dumps({"qr": forged}).encode(), {}),
            (json.dumps({"qr": "https://evil.example/v#" + good.qr_token}).encode(), {}),
            (b'{"qr": "x", "qr": "y"}', {}),
            (b"{not json", {}),
            (b"[]", {}),
            (b"{}", {}),
            (b'{"qr": 12}', {}),
            (b'{"qr": ""}', {}),
            (json.dumps({"qr": "a" * 20000}).encode(), {}),
            (b"x" * 40000, {}),
            (b"\xff\xfe", {}),
        ]
        langs = [{}, {"Accept-Language": "en"}, {"Accept-Language": "en;q=0.3, zh-CN"}]
        types = [json_type, {"Content-Type": "application/vnd.x+json; charset=utf-8"}]
        # The route reads the media type; the fast path must not need it.
        monkeypatch.setattr("verifier.app.routes.media_type", _not_on_the_fast_path)
        seen: set[int] = set()
        for body, extra in cases:
            for lang in langs:
                for media in types:
                    # the same request id: each answer echoes it (ops.RequestContext)
                    headers = {**media, **lang, **extra, "X-Request-ID": "same-request"}
                    a = fast.client.post("/api/v1/verify", content=body, headers=headers)
                    monkeypatch.undo()
                    b = route.client.post("/api/v1/verify", content=body, headers=headers)
                    monkeypatch.setattr("verifier.app.routes.media_type", _not_on_the_fast_path)
                    assert a.status_code == b.status_code, (body[:80], headers)
                    assert a.content == b.content, (body[:80], headers)
                    assert a.headers.multi_items() == b.headers.multi_items()
                    seen.add(a.status_code)
        assert seen == {200, 400, 413, 422}
    finally:
        JsonVerifyFastPath.__call__ = fast_path  # type: ignore[method-assign]
        fast_gen.close()
        route_gen.close()


def _not_on_the_fast_path(_request: object) -> str:
    raise AssertionError("a JSON verify went through the FastAPI route")


def test_fast_path_leaves_other_requests_to_the_app(api: Harness) -> None:
    token = api.world.issue(idx=123).qr_token
    r = api.client.post("/api/v1/verify", data={"qr": token})  # a form: the route
    assert r.status_code == 200 and r.json()["verdict"] == "valid"
    r = api.client.post("/api/v1/verify/", json={"qr": token}, follow_redirects=False)
    assert r.status_code in (307, 404)  # not the fast path's exact path
    r = api.client.put("/api/v1/verify", json={"qr": token})
    assert r.status_code == 405 and r.headers["content-type"] == "application/problem+json"
    r = api.client.post("/api/v1/verify", content=b"{}", headers={"Content-Type": "text/json"})
    assert r.status_code == 415


def test_arbitrary_input_never_yields_a_5xx(unlimited: Harness) -> None:
    api = unlimited
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    json_values = st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=50),
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
        ),
        max_leaves=6,
    )
    token = api.world.issue(idx=120).qr_token
    texts = st.one_of(
        st.text(max_size=300),
        st.builds(
            lambda i, c: token[:i] + c + token[i + 1 :],
            st.integers(0, len(token) - 1),
            st.characters(),
        ),
        st.builds(lambda s: VERIFIER_URL + "/v#" + s, st.text(max_size=100)),
    )

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        body=st.one_of(
            st.fixed_dictionaries({"qr": texts}),
            st.fixed_dictionaries({"credential": texts}),
            st.dictionaries(st.sampled_from(["qr", "credential", "x"]), json_values, max_size=3),
            json_values,
        ),
        raw=st.binary(max_size=300),
        prefix=st.sampled_from([b"", b"%PDF-1.4\n", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff"]),
    )
    def check(body: object, raw: bytes, prefix: bytes) -> None:
        r = api.client.post("/api/v1/verify", json=body)
        assert r.status_code in (200, 400, 413, 415, 422), (body, r.text)
        if r.status_code != 200:
            assert r.headers["content-type"] == "application/problem+json"
        r = upload(api, prefix + raw, "f", "application/octet-stream")
        assert r.status_code in (200, 413, 422), r.text

    check()


def test_openapi_describes_the_endpoints(api: Harness) -> None:
    doc = api.client.get("/openapi.json").json()
    assert {"/api/v1/verify", "/api/v1/admission-checks", "/healthz"} <= set(doc["paths"])
    assert {"200", "413", "422"} <= set(doc["paths"]["/api/v1/verify"]["post"]["responses"])
    body = doc["paths"]["/api/v1/verify"]["post"]["requestBody"]["content"]
    assert {"application/json", "multipart/form-data"} <= set(body)
    moved = doc["paths"]["/api/v1/admission-checks"]["post"]["responses"]
    assert "410" in moved  # admission checks are the registry's


def test_an_outage_judges_each_request_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With the issuer down and the status list past its ttl, the first request tries the
    # issuer (off the event loop); within the retry window later ones are judged from the
    # held list at once, not judged in the loop, found to need I/O and judged again.
    import verifier.app.service as verifier_service

    gen = make_harness(f"sqlite:///{tmp_path / 'v.db'}", tmp_path, World(), reload_interval=3600)
    h = next(gen)
    try:
        h.verifier.syncer.run_once(extra_status=[h.world.status_uri])
        token = h.world.issue(idx=131).qr_token
        assert h.verify(qr=token)["verdict"] == "valid"
        h.issuer.down = True
        h.clock.advance(7200)
        calls = []
        real = verifier_service.verify
        monkeypatch.setattr(
            verifier_service, "verify", lambda *a, **k: calls.append(1) or real(*a, **k)
        )
        h.verify(qr=token)  # tries the issuer: judged in the loop, then in a thread
        calls.clear()
        answers = [h.verify(qr=token) for _ in range(3)]
        assert len(calls) == 3
        assert {a["verdict"] for a in answers} == {"cannot_determine"}
        assert {a["reason"] for a in answers} == {"status_stale"}
    finally:
        gen.close()


@pytest.mark.parametrize("declared", [b"\xb2", b"12x", b"", b"9" * 5000, b"0" * 5000])
def test_a_content_length_that_is_not_ascii_digits_is_not_a_500(
    api: Harness, declared: bytes
) -> None:
    import asyncio

    body = b'{"qr": "x"}'
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v1/verify",
        "raw_path": b"/api/v1/verify",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"application/json"),
            (b"content-length", declared),
        ],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
    }
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    asyncio.run(api.app(scope, receive, send))
    (start,) = [m for m in sent if m["type"] == "http.response.start"]
    if declared.isdigit():  # a length past every limit, of more digits than int() takes
        assert start["status"] == 413
        return
    assert start["status"] == 200  # judged: a malformed token, not_valid
