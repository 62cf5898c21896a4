"""The batch pages' own text (zh-CN first, English), and how their figures are written.

Kept beside ``issuer.web.routes.office_batches`` and passed to ``office_pages.page`` as
``strings=``.
"""

from __future__ import annotations

import datetime as dt

from credential import BEIJING, as_utc
from issuer.batches import BatchProgress
from issuer.errors import IssuerError

__all__ = ["BATCH_STRINGS", "error_text", "figures", "when"]

BATCH_STRINGS: dict[str, dict[str, str]] = {
    "zh": {
        "batches_heading": "批量签发",
        "batches_lead": "上传一轮认定的申请表（CSV 或 XLSX），每一行先逐项校验，"
        "通过校验的行在后台签发；有错误的行列入错误报告，不签发。",
        "upload_heading": "上传批量文件",
        "file": "批量文件",
        "file_hint": "CSV（UTF-8 或 GB18030）或 XLSX，不超过 {mb} MB、{rows} 行；"
        "同一文件再次上传会继续原批次。",
        "photos": "持证人照片压缩包（可选）",
        "photos_hint": "ZIP压缩包，不超过 {mb} MB；每张照片为JPEG或PNG格式，以申请编号或证件号码"
        "为文件名，不超过2 MB，约5:7竖版，至少260×364像素。"
        "附照片时每行都须有照片，缺少或不合格的照片列入错误报告。",
        "upload_button": "上传并签发",
        "list_heading": "本机构的批次",
        "none": "还没有批次。",
        "col_id": "批次",
        "col_file": "文件名",
        "col_by": "上传人",
        "col_at": "上传时间（北京时间）",
        "col_rows": "行数",
        "col_issued": "已签发",
        "col_errors": "错误行",
        "col_state": "状态",
        "state_validating": "校验中",
        "state_issuing": "签发中",
        "state_done": "已完成",
        "state_failed": "已中止",
        "pages": "分页",
        "prev": "上一页",
        "next": "下一页",
        "page_of": "第 {page} 页，共 {pages} 页",
        "bad_page": "页码无效：应为 1 到 {max} 之间的整数。",
        "no_batch": "没有这个批次。",
        "past_last": "没有这一页：批次列表共 {pages} 页。",
        "batch_heading": "批次 {id}",
        "uploaded_by": "上传人",
        "uploaded_at": "上传时间（北京时间）",
        "finished_at": "完成时间（北京时间）",
        "total_rows": "数据行",
        "valid_rows": "通过校验",
        "error_rows": "有错误的行",
        "issued_rows": "已签发",
        "failure": "中止原因",
        "failed_note": "再次上传同一文件可继续签发。",
        "progress_heading": "签发进度",
        "progress_done": "已签发 {done} / {total} 行",
        "rate": "速度：{rate}",
        "rate_value": "每秒 {rate} 行",
        "rate_unknown": "正在计算",
        "left": "预计剩余：{left}",
        "left_unknown": "无法估计",
        "left_none": "无",
        "seconds": "{s} 秒",
        "minutes": "{m} 分 {s} 秒",
        "hours": "{h} 小时 {m} 分",
        "refresh": "刷新进度",
        "refresh_note": "本页每隔几秒自动更新。",
        "downloads_heading": "下载",
        "errors_report": "错误报告",
        "errors_none": "（没有错误行）",
        "manifest": "签发清单（每行的证书编号或错误，以及领取码）",
        "codes_heading": "领取码与领取通知书",
        "codes_lead": "为本批次每位教师生成领取码（一次完成）；再次点击不会生成新码，"
        "已生成的码保持不变。清单和领取通知书中显示领取码，每次下载均记入审计日志。",
        "codes_button": "生成领取码",
        "codes_made": "本次生成 {made} 个领取码，保留 {kept} 个已有的领取码"
        "（{not_valid} 人的证书已失效，未生成）；现有 {live} 个有效领取码。",
        "letters": "领取通知书（PDF，每位教师一页）",
        "zip": "全部电子证书（PDF，打包为 ZIP 压缩包）",
        "print": "打印文件（PDF，未签名，仅供打印）",
        "back_list": "返回批次列表",
        "colon": "：",
        "required_file": "请选择要上传的文件。",
    },
    "en": {
        "batches_heading": "Batches",
        "batches_lead": "Upload a certification round's file (CSV or XLSX). Every row is "
        "checked first; the valid rows are issued in the background, the rows with errors "
        "go to the error report and are not issued.",
        "upload_heading": "Upload a batch file",
        "file": "Batch file",
        "file_hint": "CSV (UTF-8 or GB18030) or XLSX, at most {mb} MB and {rows} rows; the "
        "same file uploaded again resumes its batch.",
        "photos": "Holders' photos as a zip (optional)",
        "photos_hint": "A zip of at most {mb} MB; each photo named by the application number"
        " or the identity number (.jpg, .jpeg or .png), JPEG or PNG, at most 2 MB, portrait"
        " about 5:7, at least 260 x 364 pixels. With photos every row needs its photo; a"
        " missing or bad one is listed in the error report.",
        "upload_button": "Upload and issue",
        "list_heading": "This office's batches",
        "none": "No batches yet.",
        "col_id": "Batch",
        "col_file": "File",
        "col_by": "Uploaded by",
        "col_at": "Uploaded (Beijing time)",
        "col_rows": "Rows",
        "col_issued": "Issued",
        "col_errors": "Errors",
        "col_state": "State",
        "state_validating": "Validating",
        "state_issuing": "Issuing",
        "state_done": "Done",
        "state_failed": "Stopped",
        "pages": "Pages",
        "prev": "Previous",
        "next": "Next",
        "page_of": "Page {page} of {pages}",
        "bad_page": "Invalid page number: it must be a whole number from 1 to {max}.",
        "no_batch": "No such batch.",
        "past_last": "No such page: the list of batches has {pages} pages.",
        "batch_heading": "Batch {id}",
        "uploaded_by": "Uploaded by",
        "uploaded_at": "Uploaded (Beijing time)",
        "finished_at": "Finished (Beijing time)",
        "total_rows": "Data rows",
        "valid_rows": "Valid",
        "error_rows": "Rows with errors",
        "issued_rows": "Issued",
        "failure": "Why it stopped",
        "failed_note": "Upload the same file again to resume.",
        "progress_heading": "Progress",
        "progress_done": "{done} of {total} rows issued",
        "rate": "Speed: {rate}",
        "rate_value": "{rate} rows per second",
        "rate_unknown": "measuring",
        "left": "Time left: {left}",
        "left_unknown": "cannot be estimated",
        "left_none": "none",
        "seconds": "{s} s",
        "minutes": "{m} min {s} s",
        "hours": "{h} h {m} min",
        "refresh": "Refresh progress",
        "refresh_note": "This page updates itself every few seconds.",
        "downloads_heading": "Downloads",
        "errors_report": "Error report",
        "errors_none": "(no rows with errors)",
        "manifest": "Manifest (every row's certificate number or errors, and claim code)",
        "codes_heading": "Claim codes and letters",
        "codes_lead": "Make a claim code for every teacher of this batch, in one step; "
        "pressing again makes no new code and keeps those made. The manifest and the "
        "claim letters show the codes; every download is audited.",
        "codes_button": "Make claim codes",
        "codes_made": "Made {made} claim codes now, kept {kept} made before ({not_valid} "
        "teachers' certificates are no longer valid: no code); {live} codes are live.",
        "letters": "Claim letters (PDF, a page per teacher)",
        "zip": "All e-certificates (PDFs in a zip)",
        "print": "Print file (PDF, unsigned, for the printer only)",
        "back_list": "Back to the batches",
        "colon": ": ",
        "required_file": "Choose a file to upload.",
    },
}


def error_text(exc: IssuerError, lang: str) -> str:
    """Return ``exc``'s title and detail in ``lang``."""
    if lang == "en":
        return f"{exc.title}. {exc.detail}" if exc.detail else exc.title
    return f"{exc.title_zh}。{exc.detail_zh}" if exc.detail_zh else exc.title_zh


def when(moment: dt.datetime | None) -> str:
    """Return ``moment`` in Beijing time to the minute ("" for None)."""
    if moment is None:
        return ""
    return as_utc(moment).astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")


def _duration(seconds: int, t: dict[str, str]) -> str:
    if seconds < 60:
        return t["seconds"].format(s=seconds)
    if seconds < 3600:
        return t["minutes"].format(m=seconds // 60, s=seconds % 60)
    return t["hours"].format(h=seconds // 3600, m=seconds % 3600 // 60)


def figures(progress: BatchProgress, lang: str) -> dict[str, str]:
    """Return the progress lines of a batch in ``lang``: ``done`` (rows issued of the
    valid ones), ``rate`` (rows per second) and ``left`` (time left)."""
    t = BATCH_STRINGS[lang]
    rate = (
        t["rate_unknown"]
        if progress.rows_per_second is None
        else t["rate_value"].format(rate=progress.rows_per_second)
    )
    if progress.seconds_left is None:
        left = t["left_unknown"]
    elif progress.seconds_left == 0:
        left = t["left_none"]
    else:
        left = _duration(progress.seconds_left, t)
    return {
        "done": t["progress_done"].format(done=progress.done, total=progress.total),
        "rate": t["rate"].format(rate=rate),
        "left": t["left"].format(left=left),
    }
