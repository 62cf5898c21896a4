"""The public web page: ``GET /`` and ``GET /v``.

``/`` has a paste box, a file upload and, where the browser has ``BarcodeDetector``, a
camera scanner; ``/v`` is where a phone camera lands from a printed QR
(``<public URL>/v#<digits or token>``). Both pages are static HTML (Jinja2, autoescaped):
their script reads the input (the fragment on ``/v``), POSTs it to ``/api/v1/verify`` as
``{"qr": ...}`` (so the token never reaches a server log: fragments are not sent and
request bodies are not logged) and renders the contract's JSON with ``textContent`` only.
The QR transport decoding stays on the server (``credential``); nothing is loaded from
outside the app. zh-CN by default, English with ``?lang=en``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import jinja2
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response

__all__ = ["install"]

TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / "verifier"
_STATIC = {
    "verifier.css": "text/css; charset=utf-8",
    "verifier.js": "text/javascript; charset=utf-8",
}

# Everything is served by this app; the camera needs `camera` (self only).
_PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "media-src 'self' blob: mediastream:; connect-src 'self'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(self), microphone=(), geolocation=()",
    "Cache-Control": "no-cache",
}

# Page text. `js` strings are handed to the script as JSON (Jinja2's tojson escapes them
# for a <script> element); the rest is used by the templates.
STRINGS: dict[str, dict[str, Any]] = {
    "zh": {
        "html_lang": "zh-CN",
        "title": "教师资格证书核验",
        "subtitle": "核验电子教师资格证书的真伪与当前状态",
        "switch": "English",
        "switch_lang": "en",
        "paste_label": "粘贴二维码链接或令牌",
        "paste_hint": "扫描证书二维码得到的链接（…/v#…），或电子证照文本",
        "paste_button": "核验",
        "upload_label": "上传证书文件",
        "upload_hint": "PDF 证书，或证书二维码的照片（PNG / JPEG）",
        "upload_button": "核验文件",
        "scan_button": "用摄像头扫描二维码",
        "scan_cancel": "取消扫描",
        "or": "或",
        "landing_heading": "证书核验结果",
        "another": "核验其他证书",
        "noscript": "此页面需要启用 JavaScript 才能显示核验结果。",
        "privacy": "二维码内容只用于本次核验。本页不使用任何外部资源。",
        "admission_note": (
            "本服务只核查证书本身（限制库按证书编号核查），不保存任何人员信息。"
            "学校和用人单位的准入查询请至全国登记中心办理。"
        ),
        "js": {
            "verdict": {"valid": "有效", "not_valid": "无效", "cannot_determine": "无法确定"},
            "verdict_en": {},
            "verdict_sentence": {
                "valid": "这是一张由认定机构签发、当前有效的教师资格证书。",
                "not_valid": "这张证书不能作为有效的教师资格证明。",
                "cannot_determine": "现在无法确认这张证书的状态，请稍后再试，或联系认定机构。",
            },
            "reasons": {
                "malformed": "内容无法识别：不是本系统签发的证书二维码，或内容不完整、已被改动。",
                "bad_signature": "签名不正确：证书内容被改动过，或不是认定机构签发的。",
                "unknown_issuer": "签发机构不在国家信任列表中。",
                "key_not_valid": "签发时所用的密钥在当时无效。",
                "out_of_scope": "签发机构无权认定这一类教师资格。",
                "not_yet_valid": "证书的签发时间晚于当前时间。",
                "expired": "证书（或其用途副本）已过有效期。",
                "revoked": "证书已被撤销（作废）。",
                "lost": "持证人已丧失教师资格。",
                "suspended": "证书目前被暂停使用。",
                "status_unavailable": "暂时无法取得这张证书的状态数据。",
                "status_stale": "证书状态数据已过期，且暂时无法更新。",
                "file_altered": "PDF文件在认定机构签名后被改动过，或其签名不是认定机构的。",
                "sm2_required": "本核验服务要求电子证照带有SM2国密签名，这份电子证照没有。",
                "photo_mismatch": (
                    "PDF中的持证人照片不是电子证照绑定的那一张（被替换、删除或添加）。"
                ),
            },
            "fields": {
                "name": "姓名",
                "id_number_masked": "证件号码",
                "qualification_name": "资格种类",
                "subject": "任教学科",
                "issuer": "认定机构",
                "certified_on": "认定日期",
                "certificate_number": "证书编号",
                "purpose": "用途",
                "expires_at": "用途有效期至",
            },
            "checks_heading": "逐项检查",
            "certificate_heading": "证书信息",
            "photo_alt": "持证人照片（与电子证照一致）",
            "check_names": {
                "format": "格式",
                "signature": "签名",
                "issuer_trusted": "签发机构",
                "scope": "认定权限",
                "validity_period": "有效期",
                "status": "撤销 / 暂停状态",
                "restriction": "限制库",
                "binding": "二维码与证照一致",
                "photo": "持证人照片",
            },
            "fresh": "状态数据更新于 {time}（{ago}）",
            "no_status": "没有可用的状态数据。",
            "ago_now": "刚刚",
            "ago_minutes": "{n} 分钟前",
            "ago_hours": "{n} 小时前",
            "ago_days": "{n} 天前",
            "checked_at": "核验时间：{time}",
            "beijing_zone": "北京时间",
            "check_other": "其他检查",
            # as the copy's PDF prints it: 有效期至2026年7月5日 (the day included)
            "last_day": "{day}（含当日，北京时间）",
            "not_applicable": {
                "binding": "不适用：只提供了二维码或电子证照中的一种，无需比对两者。",
            },
            "restriction_checked": "已核对发证机关的教师资格限制库。",
            "restriction_checked_as_of": ("已核对发证机关的教师资格限制库（数据截至 {time}）。"),
            "busy": "正在核验…",
            "network_error": "无法连接核验服务，请检查网络后重试。",
            "no_fragment": (
                "链接中没有二维码内容。请用手机相机重新扫描证书上的二维码，或在首页粘贴、上传。"
            ),
            "empty_paste": "请先粘贴二维码链接或令牌。",
            "empty_file": "请先选择一个文件。",
            "camera_error": "无法打开摄像头：请允许使用摄像头，或改用上传照片。",
            "camera_looking": "将证书上的二维码对准取景框…",
            "problem": "无法核验",
        },
    },
    "en": {
        "html_lang": "en",
        "title": "Teacher qualification certificate check",
        "subtitle": (
            "Check that an electronic teacher-qualification certificate is genuine and current"
        ),
        "switch": "中文",
        "switch_lang": "zh",
        "paste_label": "Paste a QR link or token",
        "paste_hint": (
            "The link a scan of the certificate's QR gives (…/v#…), or the e-licence text"
        ),
        "paste_button": "Check",
        "upload_label": "Upload a certificate file",
        "upload_hint": "The PDF certificate, or a photo of its QR code (PNG / JPEG)",
        "upload_button": "Check file",
        "scan_button": "Scan the QR with the camera",
        "scan_cancel": "Stop scanning",
        "or": "or",
        "landing_heading": "Check result",
        "another": "Check another certificate",
        "noscript": "This page needs JavaScript to show the result.",
        "privacy": (
            "The QR content is used for this check only. This page loads nothing from elsewhere."
        ),
        "admission_note": (
            "This service checks the certificate itself (the restricted list by certificate "
            "number) and keeps no data about persons. Schools and employers make admission "
            "checks at the national registry."
        ),
        "js": {
            "verdict": {"valid": "有效", "not_valid": "无效", "cannot_determine": "无法确定"},
            "verdict_en": {
                "valid": "Valid",
                "not_valid": "Not valid",
                "cannot_determine": "Cannot be determined",
            },
            "verdict_sentence": {
                "valid": (
                    "A current teacher-qualification certificate issued by a recognised office."
                ),
                "not_valid": "This certificate cannot be relied on as a teacher qualification.",
                "cannot_determine": (
                    "Its current status cannot be confirmed now; try again later or ask the "
                    "issuing office."
                ),
            },
            "reasons": {
                "malformed": (
                    "Unreadable: not a certificate QR of this system, or incomplete or altered."
                ),
                "bad_signature": (
                    "The signature is wrong: the content was altered or not issued by the office."
                ),
                "unknown_issuer": "The issuing office is not on the national trust list.",
                "key_not_valid": "The key it was signed with was not valid at the time.",
                "out_of_scope": "The issuing office may not certify this kind of qualification.",
                "not_yet_valid": "It says it was issued later than now.",
                "expired": "The certificate (or its purpose copy) has expired.",
                "revoked": "The certificate has been revoked.",
                "lost": "The holder has lost the teacher qualification.",
                "suspended": "The certificate is suspended.",
                "status_unavailable": "Its status data cannot be obtained at the moment.",
                "status_stale": "Its status data is out of date and cannot be refreshed now.",
                "file_altered": (
                    "The PDF was changed after the office signed it, or not signed by an office."
                ),
                "sm2_required": (
                    "This verifier requires an SM2 signature on the e-licence, and it has none."
                ),
                "photo_mismatch": (
                    "The holder's photo in the PDF is not the one the e-licence binds (swapped,"
                    " removed or added)."
                ),
            },
            "fields": {
                "name": "Name",
                "id_number_masked": "ID number",
                "qualification_name": "Qualification",
                "subject": "Subject",
                "issuer": "Certified by",
                "certified_on": "Certified on",
                "certificate_number": "Certificate number",
                "purpose": "Purpose",
                "expires_at": "Purpose copy valid until",
            },
            "checks_heading": "Checks",
            "certificate_heading": "Certificate",
            "photo_alt": "The holder's photo (matches the e-licence)",
            "check_names": {
                "format": "Format",
                "signature": "Signature",
                "issuer_trusted": "Issuing office",
                "scope": "Office's authority",
                "validity_period": "Validity period",
                "status": "Revoked / suspended",
                "restriction": "Restricted list",
                "binding": "QR matches e-licence",
                "photo": "Holder's photo",
            },
            "fresh": "Status data as of {time} ({ago})",
            "no_status": "No status data was available.",
            "ago_now": "just now",
            "ago_minutes": "{n} min ago",
            "ago_hours": "{n} h ago",
            "ago_days": "{n} days ago",
            "checked_at": "Checked at {time}",
            "beijing_zone": "Beijing time",
            "check_other": "Other check",
            "last_day": "{day} (that day included, Beijing time)",
            "not_applicable": {
                "binding": (
                    "Not applicable: only one of the QR and the e-licence was given, so there "
                    "is nothing to compare."
                ),
            },
            "restriction_checked": "Checked against the issuing office's restricted list.",
            "restriction_checked_as_of": (
                "Checked against the issuing office's restricted list (data as of {time})."
            ),
            "busy": "Checking…",
            "network_error": "The checking service cannot be reached; check the network.",
            "no_fragment": (
                "This link carries no QR content. Scan the certificate's QR again, or paste or "
                "upload on the home page."
            ),
            "empty_paste": "Paste a QR link or token first.",
            "empty_file": "Choose a file first.",
            "camera_error": "The camera cannot be opened: allow camera access, or upload a photo.",
            "camera_looking": "Point the camera at the certificate's QR code…",
            "problem": "Cannot check",
        },
    },
}


def page_language(request: Request) -> str:
    """``"en"`` when the query says ``lang=en``, else zh-CN (the default)."""
    return "en" if request.query_params.get("lang", "").lower().startswith("en") else "zh"


def install(app: FastAPI) -> None:
    """Register ``GET /``, ``GET /v`` and the page's two static files on ``app``."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    static: dict[str, tuple[bytes, str]] = {}
    for name in _STATIC:
        data = (TEMPLATES / "static" / name).read_bytes()
        static[name] = (data, hashlib.sha256(data).hexdigest()[:12])

    def asset(name: str) -> str:
        return f"/static/verifier/{name}?v={static[name][1]}"

    def page(request: Request, template: str) -> HTMLResponse:
        lang = page_language(request)
        t = STRINGS[lang]
        switch_href = request.url.path + ("" if lang == "en" else "?lang=en")
        html = env.get_template(template).render(
            t=t, lang=lang, js=t["js"], asset=asset, switch_href=switch_href
        )
        return HTMLResponse(html, headers=_PAGE_HEADERS)

    @app.get("/", include_in_schema=False)
    async def home(request: Request) -> HTMLResponse:
        return page(request, "home.html")

    @app.get("/v", include_in_schema=False)
    async def landing(request: Request) -> HTMLResponse:
        return page(request, "landing.html")

    def static_route(name: str) -> None:
        data, etag = static[name]

        async def serve(request: Request) -> Response:
            headers = {
                "ETag": f'"{etag}"',
                "Cache-Control": "public, max-age=86400",
                "X-Content-Type-Options": "nosniff",
            }
            if request.headers.get("if-none-match") == f'"{etag}"':
                return Response(status_code=304, headers=headers)
            return Response(data, media_type=_STATIC[name], headers=headers)

        app.add_api_route(
            f"/static/verifier/{name}", serve, methods=["GET"], include_in_schema=False
        )

    for name in _STATIC:
        static_route(name)
