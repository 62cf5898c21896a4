"""The holder's photo in the console (issue 15 point 1): the issue form takes a photo file
(multipart), a bad one is said beside the field in both languages and nothing is issued;
the certificate's page shows the stored photo, served uncached to those who may see the
page and to nobody else.

Every test runs on SQLite and on PostgreSQL (the ``issuer_env`` fixture).
"""

from __future__ import annotations

import re

import pytest

from issuer.photos import normalise_photo
from tests.factory.console import signed_in
from tests.factory.issuer import IssuerHarness, application, ensure_office, issue, rows
from tests.factory.photos import synthetic_photo


def _send(clerk, body: dict[str, str], photo: bytes | None, lang: str = ""):
    form = clerk.get("/office/certificates/new" + lang)
    assert 'enctype="multipart/form-data"' in form.text and 'name="photo"' in form.text
    key = re.search(r'name="key" value="([^"]+)"', form.text)[1]
    files = {"photo": ("me.png", photo or b"", "image/png")}
    return clerk.post(
        "/office/certificates/new" + lang, {**body, "key": key}, page="/office", files=files
    )


def test_the_issue_form_takes_a_photo_and_the_page_shows_it_uncached(
    issuer_env: IssuerHarness,
) -> None:
    ensure_office(issuer_env)
    clerk = signed_in(issuer_env, "cy", "clerk")
    sent = synthetic_photo(41, fmt="PNG")
    r = _send(clerk, application(41), sent)
    assert r.status_code == 303, r.text[:1000]
    page = clerk.get(r.headers["location"])
    number = r.headers["location"].split("/")[-1].split("?")[0]
    src = f"/office/certificates/{number}/photo.jpg"
    assert f'src="{src}"' in page.text
    got = clerk.get(src)
    assert got.status_code == 200 and got.headers["content-type"] == "image/jpeg"
    assert got.headers["cache-control"] == "no-store"
    assert got.content == normalise_photo(sent).jpeg
    # nobody signed out, and no other office, sees it
    issuer_env.client.cookies.clear()
    assert issuer_env.client.get(src, follow_redirects=False).status_code in (303, 401, 403)


def test_without_a_photo_the_form_issues_as_before_and_the_page_shows_none(
    issuer_env: IssuerHarness,
) -> None:
    ensure_office(issuer_env)
    clerk = signed_in(issuer_env, "cy", "clerk")
    r = _send(clerk, application(42), None)  # a file input left empty
    assert r.status_code == 303, r.text[:1000]
    page = clerk.get(r.headers["location"])
    assert "photo.jpg" not in page.text
    number = r.headers["location"].split("/")[-1].split("?")[0]
    assert clerk.get(f"/office/certificates/{number}/photo.jpg").status_code == 404


@pytest.mark.parametrize(("lang", "words"), [("", "宽高比"), ("?lang=en", "width to height")])
def test_a_bad_photo_is_said_beside_the_field_in_both_languages(
    issuer_env: IssuerHarness, lang: str, words: str
) -> None:
    ensure_office(issuer_env)
    clerk = signed_in(issuer_env, "cy", "clerk")
    r = _send(clerk, application(43), synthetic_photo(43, size=(800, 600)), lang)
    assert r.status_code == 422, r.text[:1000]
    error = re.search(r'<p class="field-error" id="new-photo-error">([^<]*)</p>', r.text)
    assert error and words in error[1]
    assert 'aria-describedby="new-photo-hint new-photo-error"' in r.text
    assert rows(issuer_env, "SELECT count(*) AS n FROM certificate")[0]["n"] == 0


def test_a_certificate_page_of_a_photo_issued_over_the_api_shows_it(
    issuer_env: IssuerHarness,
) -> None:
    import base64

    ensure_office(issuer_env)
    number = issue(issuer_env, 44, photo=base64.b64encode(synthetic_photo(44)).decode())[
        "certificate_number"
    ]
    sup = signed_in(issuer_env, "su", "supervisor")
    assert "photo.jpg" in sup.get(f"/office/certificates/{number}").text
    assert sup.get(f"/office/certificates/{number}/photo.jpg").status_code == 200
