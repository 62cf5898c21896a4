"""What the teacher's page says in words (issue 15 point 5): what each download is for,
the copies made with their purpose and expiry (the date the copy's PDF prints), and what
a suspended or revoked certificate means and whom to contact, in Chinese and English,
without an internal code in either."""

from __future__ import annotations

import datetime as dt
import html
import re
import subprocess

import pytest
import sqlalchemy as sa

from credential import BEIJING, QualificationType
from issuer.db import tables
from issuer.fields.decisions import REASON_CODES
from issuer.web.deps import now as now_dependency
from tests.factory.issuer import API_KEY, IssuerHarness, application

ORIGIN = {"Origin": "http://testserver"}
OFFICE = {"Authorization": f"Bearer {API_KEY}"}


def _issue(env: IssuerHarness, i: int, **over: str) -> str:
    r = env.issue(application(i, **over))
    assert r.status_code == 201, r.text
    return str(r.json()["certificate_number"])


def _log_in(env: IssuerHarness, number: str) -> str:
    """Log in as the holder of ``number``; return the page's form token."""
    r = env.client.post(f"/api/v1/certificates/{number}/claim-code", headers=OFFICE)
    assert r.status_code == 201, r.text
    env.client.cookies.clear()
    r = env.client.post(
        "/holder/login",
        data={"number": number, "code": r.json()["claim_code"]},
        headers=ORIGIN,
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    page = env.client.get("/holder/certificates")
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
    assert match is not None
    return match.group(1)


def _visible(page: str) -> str:
    """The page's text as read on screen: no tags, attributes, style or entities."""
    body = re.sub(r"<(style|head)\b.*?</\1>", " ", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def _section(page: str, number: str) -> str:
    start = page.index(f'id="c{number}"')
    end = page.find('<section class="card"', start)
    return _visible(page[start : end if end != -1 else len(page)])


def _set_status(env: IssuerHarness, number: str, status: str) -> None:
    with env.engine.begin() as conn:
        conn.execute(
            sa.update(tables.CERTIFICATE)
            .where(tables.CERTIFICATE.c.certificate_number == number)
            .values(status=status)
        )


def _pdftotext(pdf: bytes) -> str:
    out = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
    )
    return out.stdout.decode().replace(" ", "")


def test_each_download_says_what_it_is_for(issuer_env: IssuerHarness) -> None:
    number = _issue(issuer_env, 71, certified_on="2026-06-05")
    _log_in(issuer_env, number)
    zh = _section(issuer_env.client.get("/holder/certificates").text, number)
    assert "可打印，或作为附件发给需要查看证书的单位" in zh
    assert "用人单位的人事系统或政务服务平台" in zh
    assert "对方没有要求时，发送 PDF 即可" in zh
    # the date as the PDF prints it, not 2026-06-05
    assert "认定日期 2026年6月5日" in zh and "2026-06-05" not in zh
    en = _section(issuer_env.client.get("/holder/certificates?lang=en").text, number)
    assert "Print it, or send it to whoever needs to see your certificate" in en
    assert "an employer's HR system or a government service platform" in en
    assert "If nobody asked you for it, send the PDF" in en
    assert "Certified on 5 June 2026" in en


def test_copies_are_listed_with_purpose_and_the_expiry_their_pdf_prints(
    issuer_env: IssuerHarness,
) -> None:
    number = _issue(issuer_env, 72)
    # 23:30 in Beijing, still the day before in UTC: the expiry counts Beijing days
    made_at = dt.datetime.combine(
        dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1), dt.time(15, 30), dt.UTC
    )
    clock = {"now": made_at}
    issuer_env.app.dependency_overrides[now_dependency] = lambda: clock["now"]
    try:
        csrf = _log_in(issuer_env, number)
        page = issuer_env.client.get("/holder/certificates").text
        assert "尚未生成加注件。" in _section(page, number)
        pdfs = {}
        for purpose, days in (("应聘北京市第一中学教师岗位", "30"), ("办理人才引进", "7")):
            r = issuer_env.client.post(
                f"/holder/certificates/{number}/copy",
                data={"purpose": purpose, "days": days, "csrf": csrf},
                headers=ORIGIN,
            )
            assert r.status_code == 200, r.text
            pdfs[purpose] = _pdftotext(r.content)
        today = made_at.astimezone(BEIJING).date()
        last_30 = today + dt.timedelta(days=30)
        last_7 = today + dt.timedelta(days=7)

        def zh(d: dt.date) -> str:
            return f"{d.year}年{d.month}月{d.day}日"

        # each PDF prints the very date its listing shows
        assert zh(last_30) in pdfs["应聘北京市第一中学教师岗位"]
        assert zh(last_7) in pdfs["办理人才引进"]
        zh_page = _section(issuer_env.client.get("/holder/certificates").text, number)
        assert "已生成的加注件" in zh_page and "尚未生成加注件" not in zh_page
        newest = f"用途 办理人才引进 有效期至 {zh(last_7)}（含当日） 生成日期 {zh(today)}"
        older = f"用途 应聘北京市第一中学教师岗位 有效期至 {zh(last_30)}（含当日）"
        assert newest in zh_page and older in zh_page
        assert zh_page.index(newest) < zh_page.index(older)  # newest first
        assert "已过期" not in zh_page.replace("过期后核验显示为已过期", "")
        en_page = _section(issuer_env.client.get("/holder/certificates?lang=en").text, number)
        en_date = f"{last_7.day} {last_7.strftime('%B')} {last_7.year}"
        assert f"Purpose 办理人才引进 Valid until {en_date} (inclusive)" in en_page

        # the day after the 7-day copy's last day (Beijing), it is listed as expired
        clock["now"] = dt.datetime.combine(last_7 + dt.timedelta(days=1), dt.time(0, 1), BEIJING)
        _log_in(issuer_env, number)  # the session has long ended
        later = _section(issuer_env.client.get("/holder/certificates").text, number)
        assert f"{zh(last_7)}（含当日） （已过期）" in later
        assert f"{zh(last_30)}（含当日） 生成日期" in later  # the other is not
    finally:
        issuer_env.app.dependency_overrides.pop(now_dependency, None)


def test_another_persons_copies_are_not_listed(issuer_env: IssuerHarness) -> None:
    mine, theirs = _issue(issuer_env, 73), _issue(issuer_env, 74)
    csrf = _log_in(issuer_env, theirs)
    r = issuer_env.client.post(
        f"/holder/certificates/{theirs}/copy",
        data={"purpose": "应聘某校教师岗位", "days": "5", "csrf": csrf},
        headers=ORIGIN,
    )
    assert r.status_code == 200, r.text
    _log_in(issuer_env, mine)
    page = issuer_env.client.get("/holder/certificates").text
    assert "应聘某校教师岗位" not in page and "尚未生成加注件。" in _section(page, mine)


@pytest.mark.parametrize(
    ("status", "zh_words", "en_words"),
    [
        (
            "suspended",
            [
                "状态 暂停",
                "此证书已被北京市教育委员会教师资格认定中心暂停",
                "暂停可以解除",
                "请联系北京市教育委员会教师资格认定中心",
            ],
            [
                "Status Suspended",
                "has suspended this certificate",
                "can be lifted",
                "contact the certification office (北京市教育委员会教师资格认定中心)",
            ],
        ),
        (
            "revoked",
            [
                "状态 已撤销",
                "此证书已被北京市教育委员会教师资格认定中心撤销",
                "它不再有效",
                "已生成的加注件也一并失效",
                "请联系北京市教育委员会教师资格认定中心",
            ],
            [
                "Status Revoked",
                "has revoked this certificate",
                "it is no longer valid",
                "how to appeal, contact the certification office (北京市教育委员会教师资格认定中心)",
            ],
        ),
    ],
)
def test_a_suspended_or_revoked_certificate_is_explained(
    issuer_env: IssuerHarness, status: str, zh_words: list[str], en_words: list[str]
) -> None:
    assert issuer_env.settings.office_name == "北京市教育委员会教师资格认定中心"
    number, other = _issue(issuer_env, 75), _issue(issuer_env, 75, subject="数学")
    _log_in(issuer_env, number)
    _set_status(issuer_env, number, status)
    zh = issuer_env.client.get("/holder/certificates").text
    for words in zh_words:
        assert words in _section(zh, number), words
    assert "生成加注件 PDF" not in _section(zh, number)  # nothing to copy
    assert "请联系" not in _section(zh, other)  # the valid one says nothing of the kind
    assert "生成加注件 PDF" in _section(zh, other)
    en = issuer_env.client.get("/holder/certificates?lang=en").text
    for words in en_words:
        assert words in _section(en, number), words
    assert "contact" not in _section(en, other)


def test_no_internal_code_on_the_page_in_either_language(issuer_env: IssuerHarness) -> None:
    numbers = [
        _issue(issuer_env, 76, qualification_type=QualificationType.HIGHER_EDUCATION.slug),
        _issue(issuer_env, 76, qualification_type=QualificationType.PRIMARY.slug),
    ]
    _log_in(issuer_env, numbers[0])
    _set_status(issuer_env, numbers[1], "revoked")
    codes = {q.slug for q in QualificationType} | set(REASON_CODES) | {"revoked", "suspended"}
    allowed = {"PDF", "JSON", "JWS", "English"}  # the files' own names; the language link
    for status in ("valid", "suspended"):
        _set_status(issuer_env, numbers[0], status)
        zh = _visible(issuer_env.client.get("/holder/certificates").text)
        assert "高等学校教师资格" in zh
        latin = set(re.findall(r"[A-Za-z_]+", zh)) - allowed
        assert not latin, latin  # no English, no code
        en = _visible(issuer_env.client.get("/holder/certificates?lang=en").text)
        assert "Higher education teacher qualification" in en
        assert "Primary school teacher qualification" in en
        words = set(re.findall(r"[A-Za-z_]+", en))
        assert not {c for c in codes if "_" in c} & words
        # a status is a word of the page, never its code as stored
        for found in re.findall(r"Status ([A-Za-z]+)", en):
            assert found in {"Valid", "Suspended", "Revoked"}, found
