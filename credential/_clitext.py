"""The command line's words, in the two languages every Jiaozi text comes in.

Pure text and a pure choice of language, so that each command-line package (issuer, verifier,
registry, jiaozi) can speak the same way without importing one another. `jiaozi verify`
speaks with ``Verdict.zh``/``Reason.zh`` and the checks' own texts, as the verifier page does.
"""

from __future__ import annotations

from collections.abc import Mapping

from ._language import Language

__all__ = ["CLI_TEXT", "cli_language", "cli_text"]

# key -> (Chinese, English). Placeholders are str.format fields; numbers come formatted.
CLI_TEXT: dict[str, tuple[str, str]] = {
    # jiaozi batch issue / print
    "batch.issued": ("已签发", "issued"),
    "batch.printed": ("已打印", "printed"),
    "batch.opened": (
        "批次 {id}{resumed}：{file}：共 {total} 行，有效 {valid} 行，有错误 {errors} 行，"
        "此前已签发 {before} 行",
        "batch {id}{resumed}: {file}: {total} rows, {valid} valid, {errors} with errors, "
        "{before} issued before",
    ),
    "batch.resumed": ("（续签）", " (resumed)"),
    "batch.error_report": ("错误报告：{path}（{n} 处错误）", "error report: {path} ({n} errors)"),
    "batch.db_wait": (
        "数据库暂不可用（{error}）：{wait} 秒后继续（第 {attempt}/{retries} 次）",
        "database unavailable ({error}): resuming in {wait} s ({attempt}/{retries})",
    ),
    "batch.done": (
        "完成：{valid} 行有效数据中已签发 {issued} 行",
        "done: {issued} of {valid} valid rows issued",
    ),
    "batch.done_errors": (
        "；{errors} 行有错误，未签发，见 {path}",
        "; {errors} rows with errors were not issued, see {path}",
    ),
    "batch.only": ("{valid} 行中仅签发了 {issued} 行", "only {issued} of {valid} rows issued"),
    "batch.stopped": (
        "签发中断：{error}（再次运行同一文件即可继续）",
        "issuing stopped: {error} (run the same file again to resume)",
    ),
    "batch.stopped_retries": (
        "签发中断：{error}，已自动续签 {retries} 次（再次运行同一文件即可继续）",
        "issuing stopped: {error} after {retries} resumption(s) "
        "(run the same file again to resume)",
    ),
    "batch.settings": ("配置有误：{error}", "settings: {error}"),
    "batch.signing_key": ("{office} 的签名密钥：{error}", "signing key of {office}: {error}"),
    "batch.document_key": (
        "{office} 的文件签名密钥：{error}",
        "document-signing key of {office}: {error}",
    ),
    "batch.no_batch": ("机构 {office} 没有批次 {id}", "no batch {id} of office {office}"),
    "batch.status": (
        "批次 {id}：{file}：{state}；共 {total} 行，有错误 {errors} 行；"
        "已签发 {done} / {all}，{rate}，剩余 {left}；开始于 {started}",
        "batch {id}: {file}: {state}; {total} rows, {errors} with errors; "
        "issued {done} / {all}, {rate}, left {left}; started {started}",
    ),
    "batch.rate": ("每秒 {rate} 行", "{rate}/s"),
    "batch.left": ("{seconds} 秒", "{seconds} s"),
    "batch.state.validating": ("校验中", "validating"),
    "batch.state.issuing": ("签发中", "issuing"),
    "batch.state.done": ("已完成", "done"),
    "batch.state.failed": ("失败", "failed"),
    "print.unavailable": ("无法打印：{error}", "printing: {error}"),
    "print.stopped": (
        "打印中断：{error}（再次运行同一命令即可继续）",
        "printing stopped: {error} (run the same command again to resume)",
    ),
    "print.made": ("新打印 {made} 份", "{made} made"),
    "print.present": ("，{present} 份已存在", ", {present} already there"),
    "print.done": ("已打印：{n} 份 PDF，在 {dir}（{made}）", "printed: {n} PDFs in {dir} ({made})"),
    "print.file": ("打印文件：{path}{pages}", "print file: {path}{pages}"),
    "print.pages": ("（{pages} 页）", " ({pages} pages)"),
    "print.no_file": ("打印文件：无（未生成 {path}）", "print file: none ({path} not made)"),
    "print.not_valid": (
        "未打印：第 {row} 行，证书 {number}：{status}",
        "not printed: row {row}, certificate {number}: {status}",
    ),
    "print.cannot": (
        "无法打印第 {row} 行，证书 {number}：{error}",
        "cannot print row {row}, certificate {number}: {error}",
    ),
    "print.failures": (
        "{n} 份证书无法打印（见上）",
        "{n} certificates could not be printed (listed above)",
    ),
    "batch.codes": (
        "批次 {id}：新生成领取码 {made} 个，{kept} 位教师保留原领取码，"
        "{not_valid} 份证书无效（无领取码）",
        "batch {id}: {made} claim codes made, {kept} teachers keep theirs, "
        "{not_valid} certificates not valid (no code)",
    ),
    "batch.manifest": (
        "清单：{path}（已签发 {rows} 行，有效领取码 {live} 个）",
        "manifest: {path} ({rows} issued rows, {live} live claim codes)",
    ),
    "batch.letters": ("领取通知书：{path}（{pages} 页）", "claim letters: {path} ({pages} pages)"),
    "batch.no_letter": ("无法生成通知书：{error}", "cannot draw a letter: {error}"),
    "batch.no_codes": (
        "批次 {id} 没有有效的领取码：请先运行 `jiaozi batch codes`",
        "batch {id} has no live claim codes: run `jiaozi batch codes`",
    ),
    "batch.zip": ("压缩包：{path}（{size} 字节）", "zip: {path} ({size} bytes)"),
    # jiaozi issuer serve
    "serve.public": (
        "核发服务（仅公开接口）：{office}，地址 http://{host}:{port}",
        "jiaozi issuer (public only) for {office} on http://{host}:{port}",
    ),
    "serve.start": (
        "核发服务：{office}，地址 http://{host}:{port}",
        "jiaozi issuer for {office} on http://{host}:{port}",
    ),
    "serve.nothing_published": (
        "警告：未发布任何内容：{error}",
        "WARNING: nothing published: {error}",
    ),
}

_LOCALE_VARIABLES = ("LC_ALL", "LC_MESSAGES", "LANG")


def cli_language(environ: Mapping[str, str], chosen: str | None = None) -> Language:
    """Return the command line's language: ``chosen`` (``--lang``) when given, else
    ``JIAOZI_LANG`` when it is ``zh`` or ``en``, else ``"zh"`` when the locale (the first set
    of ``LC_ALL``, ``LC_MESSAGES``, ``LANG``, as POSIX orders them) is Chinese, else ``"en"``."""
    for value in (chosen, environ.get("JIAOZI_LANG")):
        if value in ("zh", "en"):
            return "zh" if value == "zh" else "en"
    for name in _LOCALE_VARIABLES:
        value = environ.get(name)
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


def cli_text(key: str, lang: str, **fields: object) -> str:
    """Return the text ``key`` of ``CLI_TEXT`` in ``lang`` (``zh`` or else English) with
    ``fields`` filled in. Raises ``KeyError`` for a key not in the table or a field the
    text names and ``fields`` lacks."""
    zh, en = CLI_TEXT[key]
    return (zh if lang == "zh" else en).format(**fields)
