"""``jiaozi verify``: judge a token, QR URL or file offline, in plain words or as JSON.

A PDF, PNG or JPEG file is read as the API reads an upload: its QR and attached e-licence,
and a PDF's own signature against the pinned roots (``verifier.filecheck``)."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from credential import (
    Check,
    PublicKey,
    Reason,
    Verdict,
    VerificationResult,
    VerifyPolicy,
    beijing_date,
    beijing_text,
    cli_language,
    cli_text,
    photo_check,
    verify,
)

from ._offline import (
    OfflineDataError,
    RevokedDocumentCertificates,
    load_root_keys,
    load_status_files,
    load_trust,
)

__all__ = ["render_doc", "render_text", "verify_command"]

EXIT = {"valid": 0, "not_valid": 1, "cannot_determine": 2}
EXIT_USAGE = 64
_UPLOADS = (".pdf", ".png", ".jpg", ".jpeg")
_CHECK_ZH = {
    "format": "格式",
    "signature": "签名",
    "issuer_trusted": "签发机构",
    "scope": "认定范围",
    "validity_period": "有效期",
    "status": "证书状态",
    "restriction": "限制库",
    "binding": "二维码与证照一致",
    "file_signature": "文件签名",
    "photo": "持证人照片",
}
_FIELDS = (
    ("certificate_number", "证书号码", "Certificate number"),
    ("name", "姓名", "Name"),
    ("id_number_masked", "证件号码", "ID number"),
    ("qualification_name", "资格种类", "Qualification"),
    ("subject", "任教学科", "Subject"),
    ("issuer", "认定机构", "Issued by"),
    ("certified_on", "认定日期", "Certified on"),
    ("purpose", "用途", "Purpose"),
    ("expires_at", "有效期至", "Valid until"),
)


def _shown(at: dt.datetime, lang: str) -> str:
    """Return ``at`` in Beijing time with the zone named, as the web pages show times."""
    return beijing_text(at, "zh" if lang.startswith("zh") else "en")


def _lang(chosen: str | None) -> str:
    """Return the language of the answer: ``--lang``, else ``jiaozi --lang`` (the click
    context's meta), else ``JIAOZI_LANG``, else the locale's (``credential.cli_language``)."""
    ctx = click.get_current_context(silent=True)
    if chosen is None and ctx is not None:
        chosen = ctx.meta.get("jiaozi.lang")
    return cli_language(os.environ, chosen)


def render_text(result: VerificationResult, lang: str = "zh") -> str:
    """Return the verdict, the reason and each check as plain text for a person."""
    zh = lang.startswith("zh")
    lines = []
    verdict = result.verdict.zh if zh else result.verdict.value.replace("_", " ").upper()
    lines.append(("结论：" if zh else "Verdict: ") + verdict)
    if result.reason is not None:
        lines.append(("原因：" if zh else "Why: ") + (result.reason.zh if zh else result.reason.en))
    if result.certificate is not None:
        cert = result.certificate.to_json()
        for key, label_zh, label_en in _FIELDS:
            if cert.get(key) is not None:
                lines.append(
                    f"  {label_zh if zh else label_en}：{cert[key]}"
                    if zh
                    else f"  {label_en}: {cert[key]}"
                )
    lines.append("检查：" if zh else "Checks:")
    for check in result.checks:
        mark = {True: "✓", False: "✗", None: "–"}[check.ok]
        name = _CHECK_ZH[check.name] if zh else check.name
        lines.append(f"  {mark} {name}: {check.detail_zh if zh else check.detail}")
    if result.status_as_of is not None:
        age = result.checked_at - result.status_as_of
        minutes = int(age.total_seconds() // 60)
        stamp = _shown(result.status_as_of, lang)
        lines.append(
            f"状态数据时间：{stamp}（{minutes} 分钟前）"
            if zh
            else f"Status data as of {stamp} ({minutes} min old)"
        )
    return "\n".join(lines)


def render_doc(doc: dict[str, Any], lang: str = "zh") -> str:
    """Return a verifier's JSON answer (contract section 8) as plain text for a person."""
    zh = lang.startswith("zh")
    verdict = Verdict(doc["verdict"])
    lines = [
        ("结论：" if zh else "Verdict: ")
        + (verdict.zh if zh else verdict.value.replace("_", " ").upper())
    ]
    if doc.get("reason"):
        try:
            reason = Reason(doc["reason"])
            lines.append(("原因：" if zh else "Why: ") + (reason.zh if zh else reason.en))
        except ValueError:
            lines.append(("原因：" if zh else "Why: ") + str(doc["reason"]))
    cert = doc.get("certificate") or {}
    for key, label_zh, label_en in _FIELDS:
        if cert.get(key) is not None:
            lines.append(f"  {label_zh}：{cert[key]}" if zh else f"  {label_en}: {cert[key]}")
    lines.append("检查：" if zh else "Checks:")
    for check in doc.get("checks", []):
        mark = {True: "✓", False: "✗", None: "–"}.get(check.get("ok"), "?")
        name = _CHECK_ZH.get(check["name"], check["name"]) if zh else check["name"]
        lines.append(f"  {mark} {name}: {check.get('detail', '')}")
    if doc.get("status_as_of"):
        as_of = dt.datetime.fromisoformat(doc["status_as_of"].replace("Z", "+00:00"))
        checked = dt.datetime.fromisoformat(doc["checked_at"].replace("Z", "+00:00"))
        minutes = int((checked - as_of).total_seconds() // 60)
        stamp = _shown(as_of, lang)
        lines.append(
            f"状态数据时间：{stamp}（{minutes} 分钟前）"
            if zh
            else f"Status data as of {stamp} ({minutes} min old)"
        )
    return "\n".join(lines)


def _online(url: str, value: str, lang: str) -> dict[str, Any]:
    """POST the input to a verifier's API and return its judgement; exits on a problem."""
    import httpx

    endpoint = url.rstrip("/") + "/api/v1/verify"
    headers = {"Accept-Language": "en" if lang == "en" else "zh-CN"}
    path = Path(value)
    try:
        is_file = path.is_file()
    except (OSError, ValueError):
        is_file = False
    try:
        if is_file and path.suffix.lower() in _UPLOADS:
            with path.open("rb") as f:
                r = httpx.post(
                    endpoint, files={"file": (path.name, f)}, headers=headers, timeout=60
                )
        else:
            qr_text, credential_jws = _read_input(value)
            body = {"credential": credential_jws} if credential_jws else {"qr": qr_text}
            r = httpx.post(endpoint, json=body, headers=headers, timeout=30)
    except httpx.HTTPError as exc:
        click.echo(cli_text("verify.unreachable", lang, error=exc), err=True)
        sys.exit(EXIT["cannot_determine"])
    try:
        doc = r.json()
    except ValueError:
        doc = None
    if r.status_code == 200 and isinstance(doc, dict) and doc.get("verdict") in EXIT:
        return doc
    title = doc.get("title") if isinstance(doc, dict) else None
    detail = doc.get("detail") if isinstance(doc, dict) else None
    said = f"{title or ''} {detail or ''}".strip()
    click.echo(cli_text("verify.answered", lang, status=r.status_code, text=said).strip(), err=True)
    sys.exit(EXIT_USAGE if 400 <= r.status_code < 500 else EXIT["cannot_determine"])


def _read_file(
    value: str, roots: list[PublicKey], lang: str, revoked: frozenset[int] = frozenset()
) -> tuple[str | None, str | None, Check, bytes | None, bool]:
    """Return (qr_text, credential, the file's own signature check) of a PDF, PNG or
    JPEG file, as the API reads an upload (``verifier.extract``, ``verifier.filecheck``);
    raises UsageError when the file holds nothing to judge. Also the PDF's photo and
    whether it is a PDF (for ``credential.photo_check``)."""
    from .extract import UnreadableFile, extract
    from .filecheck import file_signature

    path = Path(value)
    if path.stat().st_size > 10 * 1024 * 1024:
        raise click.UsageError(cli_text("verify.too_large", lang, file=value))
    data = path.read_bytes()
    try:
        found = extract(data)
    except UnreadableFile as exc:
        raise click.UsageError(f"{value}: {exc.en if lang == 'en' else exc.zh}") from None
    file = file_signature(found.kind, data, roots, revoked)
    return found.qr, found.credential, file, found.photo, found.kind == "pdf"


def _is_upload(value: str) -> bool:
    """Return True if ``value`` names a PDF, PNG or JPEG file (judged as an upload)."""
    path = Path(value)
    try:
        return path.is_file() and path.suffix.lower() in _UPLOADS
    except (OSError, ValueError):  # a long token is not a file name
        return False


def _read_input(value: str) -> tuple[str | None, str | None]:
    """Return (qr_text, credential) from a token, URL, or a file holding one."""
    path = Path(value)
    try:
        is_file = path.is_file()
    except (OSError, ValueError):  # a long token is not a file name; say nothing of it
        is_file = False
    if is_file:
        lang = _lang(None)
        if path.stat().st_size > 10 * 1024 * 1024:
            raise click.UsageError(cli_text("verify.too_large", lang, file=value))
        text = path.read_text(encoding="utf-8", errors="replace").strip()
        if path.suffix.lower() == ".json":
            try:
                doc = json.loads(text)
            except ValueError as exc:
                raise click.UsageError(cli_text("verify.not_json", lang, file=value)) from exc
            if isinstance(doc, dict) and set(doc) == {"payload", "signatures"}:
                return None, text  # a dual-signed e-licence's .vc.jws.json (issue 16)
            jws = doc.get("jws_json", doc.get("jws")) if isinstance(doc, dict) else None
            if not isinstance(jws, str):
                raise click.UsageError(cli_text("verify.no_jws", lang, file=value))
            return None, jws
        return text, None
    return value, None


@click.command("verify")
@click.argument("value", metavar="TOKEN|QR-URL|FILE")
@click.option("--json", "as_json", is_flag=True, help="Print the contract's JSON result.")
@click.option(
    "--trust", "trust_path", type=click.Path(path_type=Path), help="Signed trust list (JWT file)."
)
@click.option(
    "--root", "root_path", type=click.Path(path_type=Path), help="Pinned root keys (JWKS file)."
)
@click.option(
    "--status",
    "status_paths",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Signed status list (JWT file); repeatable.",
)
@click.option(
    "--origin",
    envvar="JIAOZI_VERIFIER_URL",
    default="http://127.0.0.1:8200",
    show_default=True,
    help="Verifier origin accepted in QR URLs.",
)
@click.option(
    "--grace", default=0, show_default=True, help="Seconds a status list may be used past its ttl."
)
@click.option(
    "--require-sm2",
    is_flag=True,
    envvar="JIAOZI_REQUIRE_SM2",
    help="An e-licence without a valid SM2 signature is not valid (docs/formats.md, SM2).",
)
@click.option(
    "--online",
    "online_url",
    metavar="URL",
    help="Ask the verifier service at URL instead of judging here.",
)
@click.option(
    "--bundle",
    "bundle_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Offline bundle from 'jiaozi verifier bundle export' (trust, status, restrictions).",
)
@click.option(
    "--lang",
    type=click.Choice(["zh", "en"]),
    default=None,
    help="language of the answer [default: jiaozi --lang, JIAOZI_LANG, else zh where the "
    "locale is Chinese, else en]",
)
@click.option("--now", "now_ts", type=int, envvar="JIAOZI_NOW", hidden=True)
def verify_command(
    value: str,
    as_json: bool,
    trust_path: Path | None,
    root_path: Path | None,
    status_paths: tuple[Path, ...],
    origin: str,
    grace: int,
    require_sm2: bool,
    online_url: str | None,
    bundle_path: Path | None,
    lang: str | None,
    now_ts: int | None,
) -> None:
    """Verify an e-licence offline (or --online). Exit 0 valid, 1 not valid, 2 cannot
    determine, 64 usage."""
    lang = _lang(lang)
    if online_url is not None:
        doc = _online(online_url, value, lang)
        if as_json:
            click.echo(json.dumps(doc, ensure_ascii=False, indent=2))
        else:
            click.echo(render_doc(doc, lang))
        sys.exit(EXIT[doc["verdict"]])
    home = Path(os.environ.get("JIAOZI_HOME", "var"))
    default_trust = home / "trust" / "trust-list.jwt"
    root_path = root_path or (trust_path or default_trust).parent / "root.jwks.json"
    restrictions = None
    try:
        roots = load_root_keys(root_path)
        if bundle_path is not None:
            from .bundle import BundleError, read_bundle
            from .store import DatedRestrictions

            try:
                b = read_bundle(bundle_path.read_bytes(), roots)
            except (BundleError, OSError) as exc:
                raise click.UsageError(f"{bundle_path}: {exc}") from exc
            trust = b.trust
            snapshots = {**b.status, **load_status_files(status_paths, trust)}
        else:
            trust = load_trust(trust_path or default_trust, roots)
            snapshots = load_status_files(status_paths, trust)
    except OfflineDataError as exc:
        raise click.UsageError(str(exc)) from exc
    # A PDF or photo is read as the API reads an upload, its own signature checked against
    # the same pinned roots, so a PDF changed after signing gets the API's verdict.
    file: Check | None = None
    photo, in_pdf = None, False
    if _is_upload(value):
        revoked = RevokedDocumentCertificates.beside(root_path, roots).serials()
        qr_text, credential_jws, file, photo, in_pdf = _read_file(value, roots, lang, revoked)
    else:
        qr_text, credential_jws = _read_input(value)
    now = (
        dt.datetime.fromtimestamp(now_ts, dt.UTC) if now_ts is not None else dt.datetime.now(dt.UTC)
    )
    if bundle_path is not None and b.restrictions:
        restrictions = DatedRestrictions(b.index, beijing_date(now))
    result = verify(
        qr_text,
        credential=credential_jws,
        trust=trust,
        status=snapshots,
        restrictions=restrictions,
        now=now,
        policy=VerifyPolicy(
            verifier_origin=origin,
            status_grace=grace,
            require_sm2=require_sm2,
        ),
    )
    if file is not None:
        result = result.with_check(file)
        # the photo is judged, not printed (a data: URL is for the web page)
        result = result.with_check(photo_check(result, photo, in_pdf=in_pdf))
    if as_json:
        click.echo(json.dumps(result.to_json(lang), ensure_ascii=False, indent=2))
    else:
        click.echo(render_text(result, lang))
    sys.exit(EXIT[result.verdict.value])
