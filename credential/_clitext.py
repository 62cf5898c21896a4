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
    # --- jiaozi registry, feed, verifier, backup, restore, audit, reissue (issue 15 point 3,
    # branch lang): the service's own words; what a lower layer says comes after a colon.
    "cli.needs_extra": (
        "`jiaozi {command}` 需要安装 {extra} 扩展（`pip install 'jiaozi[{extra}]'`）：{error}",
        "jiaozi {command} needs the {extra} extra (pip install 'jiaozi[{extra}]'): {error}",
    ),
    "service.registry": ("登记中心", "registry"),
    "service.verifier": ("核验服务", "verifier"),
    "service.issuer": ("签发服务", "issuer"),
    "db.at": (
        "{service}数据库处于版本 {current}，最新版本 {head}（{state}）",
        "{service} database at {current}, head {head} ({state})",
    ),
    "db.none": ("无", "none"),
    "db.behind": ("落后：请运行 `{command}`", "behind: run `{command}`"),
    "db.current": ("已是最新", "current"),
    "db.already": ("{service}数据库已是版本 {after}", "{service} database already at {after}"),
    "db.upgraded": (
        "{service}数据库已从版本 {before} 升级到 {after}",
        "{service} database upgraded from {before} to {after}",
    ),
    "db.error": ("数据库：{error}", "database: {error}"),
    "registry.serve": (
        "登记中心 {id}，地址 http://{host}:{port}（进程 {pid}）",
        "registry {id} on http://{host}:{port} (pid {pid})",
    ),
    "registry.no_trust": ("没有可用的信任列表：{error}", "no usable trust list: {error}"),
    "feed.name_length": ("名称须为 1 至 64 个字符", "1 to 64 characters"),
    "feed.no_client": (
        "没有名为 {name} 的已启用订阅客户端",
        "no enabled feed client named {name}",
    ),
    "feed.disabled": ("订阅客户端 {name} 已停用", "feed client {name} disabled"),
    "feed.exists": ("已有名为 {name} 的订阅客户端", "a feed client named {name} exists"),
    "feed.broken": (
        "订阅链已断开，未应用任何内容：{error}",
        "the feed chain is broken, nothing applied: {error}",
    ),
    "feed.answered": ("登记中心的应答：{error}", "the registry answered: {error}"),
    "feed.applied": ("已应用 {n} 个事件", "applied {n} events"),
    "feed.restored": (
        "登记中心已从备份恢复：其订阅保存到事件 {start}，从事件 {to} 之后继续；此处已应用的事件 "
        "{first} 至 {after} 在登记中心已丢失（各机构会在 {to} 之后重新发送，"
        "每份证书的记录都会更新）：从事件 {start} 起继续跟随",
        "the registry was restored from a backup: its feed holds events up to {start} and "
        "continues after {to}; events {first} to {after} applied here were lost there (their "
        "offices send them again after {to}, and each certificate's row is brought up to "
        "date): following from {start}",
    ),
    "account.kind.employer": ("用人单位", "employer"),
    "account.kind.school": ("学校", "school"),
    "account.made": ("{kind}账户 {id}（{name}）", "{kind} account {id} ({name})"),
    "account.key": (
        "API 密钥（仅显示这一次，请妥善保管）：{key}",
        "API key (shown once, keep it secret): {key}",
    ),
    "account.none": ("没有账户", "no accounts"),
    "account.active": ("有效", "active"),
    "account.inactive": ("已停用", "deactivated"),
    "account.deactivated": (
        "{kind}账户 {id}（{name}）已停用",
        "{kind} account {id} ({name}) deactivated",
    ),
    "verifier.schema_behind": (
        "核验服务数据库处于版本 {current}，当前版本需要 {head}：请运行 `jiaozi verifier migrate`"
        "（或设置 `JIAOZI_AUTO_MIGRATE=true`）",
        "the verifier's database is at revision {current}, this version needs {head}: run "
        "`jiaozi verifier migrate` (or set JIAOZI_AUTO_MIGRATE=true)",
    ),
    "sync.line": ("{what}：{outcome}{detail}", "{what}: {outcome}{detail}"),
    "sync.detail": ("（{detail}）", " ({detail})"),
    "sync.trust": ("信任列表", "trust"),
    "sync.status": ("状态列表 {uri}", "status {uri}"),
    "sync.restrictions": ("限制名单 {uri}", "restrictions {uri}"),
    "sync.seq": ("序号 {n}", "sequence {n}"),
    "sync.iat": ("签发于 {at}", "issued {at}"),
    "sync.rollback": ("版本倒退：{error}", "rollback: {error}"),
    "sync.newer_copy": ("其间已收到更新的副本", "a newer copy arrived meanwhile"),
    "sync.newer_list": ("其间已收到更新的列表", "a newer list arrived meanwhile"),
    "sync.no_api_key": ("没有限制名单的 API 密钥", "no API key for the restricted list"),
    "sync.no_trust_url": ("未配置信任列表地址", "no trust list URL configured"),
    "sync.no_trust": ("尚无信任列表", "no trust list held"),
    "sync.not_configured": ("不属于已配置的签发机构", "not under a configured issuer"),
    "sync.updated": ("已更新", "updated"),
    "sync.not_modified": ("未变更", "not modified"),
    "sync.unchanged": ("无变化", "unchanged"),
    "sync.refused": ("已拒绝", "refused"),
    "sync.failed": ("失败", "failed"),
    "sync.skipped": ("已跳过", "skipped"),
    "sync.imported": ("已导入", "imported"),
    "sync.kept": ("保留已有的相同或更新版本", "kept newer or same"),
    "sync.unrevokes": (
        "已拒绝：会撤销 {n} 个已判定无效的状态",
        "refused: un-revokes {n} held INVALID",
    ),
    "bundle.wrote": (
        "已写入 {file}：信任列表、{lists} 份状态列表、{sources} 个限制名单来源",
        "wrote {file}: trust list, {lists} status list(s), {sources} restricted-list source(s)",
    ),
    "backup.done": (
        "{service}已备份到 {out}（{n} 个文件，{at}）",
        "{service} backed up to {out} ({n} files, {at})",
    ),
    "backup.checkpoint": ("审计检查点在第 {seq} 条记录", "audit checkpoint at record {seq}"),
    "backup.no_checkpoint": (
        "警告：没有审计检查点：{problem}",
        "WARNING: no audit checkpoint: {problem}",
    ),
    "restore.done": ("{service}已从 {at} 的备份恢复", "{service} restored from the backup of {at}"),
    "restore.kept": ("被替换的 {what} 保留在 {path}", "the replaced {what} is kept at {path}"),
    "audit.checkpoint": (
        "已签署审计检查点 {id}：第 {seq} 条记录，哈希 {hash}，签名密钥 {kid}",
        "checkpoint {id}: record {seq}, hash {hash}, signed by {kid}",
    ),
    "audit.cannot_read": ("无法读取 {path}：{error}", "cannot read {path}: {error}"),
    "audit.not_jwks": (
        "{path}：不是 JWKS（缺少密钥列表 `keys`）",
        '{path}: not a JWKS (an object with "keys")',
    ),
    "reissue.no_key": ("{dir} 中没有密钥 {kid}", "no key {kid!r} in {dir}"),
    "reissue.not_ours": (
        "密钥 {kid} 属于 {owner}，不属于本机构（{office}）",
        "key {kid} belongs to {owner}, not to this office ({office})",
    ),
    "reissue.not_compromised": (
        "密钥 {kid} 尚未标记为泄露：请先运行 `jiaozi keys compromise {kid} --at TIME`",
        "key {kid} is not marked compromised: run `jiaozi keys compromise {kid} --at TIME` first",
    ),
    "reissue.progress": ("  …… 已换发 {n} 份", "  ... {n} reissued"),
    "reissue.done": (
        "已用密钥 {new} 换发 {count} 份由 {kid} 签名的证书"
        "（原因：密钥泄露；证书编号不变，版本加一）",
        "reissued {count} certificate(s) signed by {kid} with key {new} "
        "(reason: key compromised; same numbers, next version)",
    ),
    "verify.unreachable": ("无法连接核验服务：{error}", "verifier unreachable: {error}"),
    "verify.answered": (
        "核验服务应答 HTTP {status}：{text}",
        "verifier answered HTTP {status}: {text}",
    ),
    "verify.too_large": ("{file}：文件过大（上限 10 兆字节）", "{file}: larger than 10 MiB"),
    "verify.not_json": ("{file}：不是 JSON", "{file}: not JSON"),
    "verify.no_jws": (
        "{file}：没有 `jws` 成员（电子证照的 JSON 文件都有）",
        '{file}: no "jws" member (an e-licence .json has one)',
    ),
    # --- end of the lang block
    # --- jiaozi trust, jiaozi keys (issue 15 point 3, branch lang2): keys/cli.py; times
    # come as beijing_text gives them, key ids, paths, commands and subjects are data
    "keys.open": ("不限", "open"),
    "keys.root": ("国家根", "root"),
    "keys.line": ("{kid}  {alg}  有效期 {nbf} 至 {exp}", "{kid:<16} {alg:<6} valid {nbf} → {exp}"),
    "keys.line_compromised": ("  自 {at} 起已泄露", "  COMPROMISED from {at}"),
    "keys.line_signing": ("  [正在签名]", "  [signing]"),
    "keys.scope_item": ("{n} {name}", "{n} {name}"),
    "keys.scope_joiner": ("、", "; "),
    "keys.bad_time": (
        "{value!r} 既不是 `POSIX` 秒数，也不是 `RFC 3339` 时间",
        "{value!r} is neither POSIX seconds nor an RFC 3339 time",
    ),
    "keys.time_no_offset": (
        "{value!r} 没有时区偏移（请加上 `Z` 或 `+08:00`）",
        "{value!r} has no UTC offset (add Z or +08:00)",
    ),
    "keys.time_before_1970": ("{value!r} 早于 1970 年", "{value!r} is before 1970"),
    "trust.initialised": (
        "信任列表第 {seq} 版已由根密钥 {kid}（{alg}）签署",
        "trust list seq {seq} signed by root key {kid} ({alg})",
    ),
    "trust.file": ("  {path}", "  {path}"),
    "trust.file_pinned": ("  {path}（核验方固定信任此文件）", "  {path}  (verifiers pin this)"),
    "trust.file_root_cert": (
        "  {path}（PDF 阅读器将其导入为受信任的根证书）",
        "  {path}  (PDF readers import this as a trusted root)",
    ),
    "trust.onboarded": (
        "机构 {office} 已列入信任列表（第 {seq} 版）；文件签名证书序列号 {serial}",
        "office {office} listed; trust list seq {seq}; document-signing certificate serial "
        "{serial}",
    ),
    "trust.answer_written": (
        "答复已写入 {out}：由机构运行 `jiaozi keys install {name}`",
        "answer written to {out}: the office runs `jiaozi keys install {name}`",
    ),
    "trust.docsign_revoked": (
        "已吊销文件签名证书 {serial}（{subject}）",
        "revoked document-signing certificate {serial} ({subject})",
    ),
    "trust.docsign_crl": (
        "  {path}：请与信任列表一起交给核验方（`jiaozi trust export --out DIR`）",
        "  {path}: give it to verifiers with the trust list (`jiaozi trust export --out DIR`)",
    ),
    "trust.office_added": (
        "机构 {office} 已加入；信任列表第 {seq} 版",
        "office {office} added; trust list seq {seq}",
    ),
    "trust.office_updated": (
        "机构 {office} 已更新；信任列表第 {seq} 版",
        "office {office} updated; trust list seq {seq}",
    ),
    "trust.may_issue": ("  可签发：{scope}", "  may issue: {scope}"),
    "trust.key": ("  密钥 {line}", "  key {line}"),
    "trust.synced": (
        "机构 {office} 的密钥已同步；信任列表第 {seq} 版",
        "office {office} keys synced; trust list seq {seq}",
    ),
    "trust.exported": (
        "已写入 {file}（第 {seq} 版）和 {jwks}",
        "wrote {file} (seq {seq}) and {jwks}",
    ),
    "trust.show_head": (
        "信任列表第 {seq} 版，{at} 由 {issuer} 签发",
        "Trust list seq {seq}, issued {at} by {issuer}",
    ),
    "trust.show_roots": ("根密钥（{path}）：", "Root keys ({path}):"),
    "trust.show_root_key": ("  {line}", "  {line}"),
    "trust.show_offices": ("签发机构（{n} 个）：", "Offices ({n}):"),
    "trust.show_office": ("  {office}  {name}", "  {office}  {name}"),
    "trust.show_codes": (
        "    省份代码 {province}，机构代码 {code}",
        "    province {province}, office code {code}",
    ),
    "trust.show_scope": ("    可签发：{scope}", "    may issue: {scope}"),
    "trust.show_key": ("    密钥 {line}", "    key {line}"),
    "trust.show_no_signer": ("    （此刻没有可签名的密钥）", "    (no key may sign now)"),
    "keys.created": ("已创建密钥 {line}", "created key {line}"),
    "keys.send_jwks": (
        "请将 `jiaozi keys jwks --office {office}` 的输出交给国家主管部门"
        "（`jiaozi trust add-office --jwks FILE`）",
        "send `jiaozi keys jwks --office {office}` to the national authority "
        "(jiaozi trust add-office --jwks FILE)",
    ),
    "keys.request_written": (
        "{office} 的入网申请已写入 {out}（密钥 {kids}）",
        "onboarding request for {office} written to {out} (keys {kids})",
    ),
    "keys.request_no_secret": (
        "其中不含任何秘密：请带到密钥仪式上（`jiaozi trust onboard {name}`）",
        "no secret in it: take it to the key ceremony (`jiaozi trust onboard {name}`)",
    ),
    "keys.installed": (
        "已安装文件签名证书 {serial}（有效期至 {until}）和信任列表",
        "installed document-signing certificate {serial}, valid until {until}, and the trust list",
    ),
    "keys.rotate_usage": (
        "`--office ID` 与 `--root` 须且只能给出其一",
        "give exactly one of --office ID and --root",
    ),
    "keys.rotated": ("{owner}：新的签名密钥 {line}", "{owner}: new signing key {line}"),
    "keys.retired": (
        "  已停用 {kid}：它在 {at} 之前签署的内容仍然有效",
        "  retired {kid}: what it signed until {at} stays valid",
    ),
    "keys.resigned": ("信任列表已重新签署，第 {seq} 版", "trust list re-signed, seq {seq}"),
    "keys.resigned_tail": (
        "；信任列表已重新签署，第 {seq} 版",
        "; trust list re-signed, seq {seq}",
    ),
    "keys.no_list": ("此处没有需要重新签署的信任列表", "no trust list here to re-sign"),
    "keys.not_resigned_rotate": (
        "此处未重新签署信任列表（本目录没有根密钥）：请为 {owner} 再次运行 "
        "`jiaozi keys init-office`，并将申请带到密钥仪式上",
        "trust list not re-signed here (no root key in this home): run `jiaozi keys "
        "init-office` for {owner} again and take the request to the key ceremony",
    ),
    "keys.pin_new_root": ("核验方须固定信任新的 {path}", "verifiers must pin the new {path}"),
    "keys.compromised": ("{kid} 自 {at} 起已标记为泄露{tail}", "{kid} compromised from {at}{tail}"),
    "keys.compromised_root": (
        "这是根密钥：请运行 `jiaozi keys rotate --root` 用新的根密钥重新签署信任列表，"
        "并让核验方固定信任新的 `root.jwks.json`",
        "a root key: run `jiaozi keys rotate --root` to re-sign the trust list with a new "
        "root key, and have verifiers pin the new root.jwks.json",
    ),
    "keys.not_resigned_compromise": (
        "此处未重新签署信任列表（本目录没有根密钥）：密钥仪式上也要标记它"
        "（在根目录运行 `jiaozi keys compromise {kid} --at ...`）",
        "trust list not re-signed here (no root key in this home): the key ceremony marks it "
        "too (`jiaozi keys compromise {kid} --at ...` in the root home)",
    ),
    "keys.no_signer_now": (
        "{owner} 此刻没有可用的签名密钥：请运行 `jiaozi keys rotate --office {owner}`",
        "{owner} has no usable signing key now: run `jiaozi keys rotate --office {owner}`",
    ),
    # keys/ errors by code (KeysError.code, .fields): the common ones; the rest are shown
    # with their English message after 错误：
    "keys.error.no_key": ("{dir} 中没有密钥 {kid}", "no key {kid!r} in {dir}"),
    "keys.error.no_key_anywhere": (
        "密钥库和信任列表中都没有密钥 {kid}",
        "no key {kid!r} in the key store or the trust list",
    ),
    "keys.error.no_owner": ("{dir} 中没有 {owner} 的密钥", "no keys for {owner!r} in {dir}"),
    "keys.error.no_owner_anywhere": (
        "密钥库和信任列表中都没有 {owner} 的密钥",
        "no keys for {owner!r} in the key store or trust list",
    ),
    "keys.error.no_active": (
        "{owner} 在 {now} 没有可签名的密钥（均已停用或泄露）：请轮换到新密钥",
        "no key of {owner!r} may sign at {now} (all retired or compromised): rotate to a new key",
    ),
    "keys.error.no_main_line": (
        "{owner} 没有可轮换的 `EdDSA` 或 `ES256` 密钥",
        "{owner!r} has no EdDSA or ES256 key to rotate",
    ),
    "keys.error.root_sm2": (
        "国家根密钥使用 `EdDSA` 或 `ES256` 签名，不能使用 `SM2`",
        "the national root signs with EdDSA or ES256, not SM2",
    ),
    "keys.error.wrong_passphrase": (
        "无法解密 {path}：`JIAOZI_KEY_PASSPHRASE` 口令不对，或密钥文件已损坏",
        "cannot decrypt {path}: wrong JIAOZI_KEY_PASSPHRASE or damaged key file",
    ),
    "keys.error.wrong_passphrase_docsign": (
        "无法打开文件签名密钥：口令不对，或密钥文件已损坏",
        "cannot open the document-signing key: wrong passphrase or damaged key file",
    ),
    "keys.error.no_passphrase": (
        "未设置 {env} 或其为空：私钥只以口令加密的形式保存和读取",
        "{env} is not set or empty: private keys are only ever stored and read encrypted "
        "under a passphrase",
    ),
    "keys.error.long_passphrase": (
        "{env} 超过 {max} 字节，`PKCS#8` 加密不支持这么长的口令",
        "{env} is longer than {max} bytes, which PKCS#8 encryption does not support",
    ),
    "keys.error.kid_taken": ("密钥标识 {kid} 已被使用", "key id {kid!r} is already used"),
    "keys.error.clock_behind": (
        "无法轮换 {owner}：其最新密钥 {kid} 自 {nbf} 起才生效（时钟是否落后？）",
        "cannot rotate {owner!r}: its newest key {kid} starts at {nbf} (clock behind?)",
    ),
    "keys.error.compromise_later": (
        "{kid} 已自 {since} 起标记为泄露；拒绝将其推后到 {at}",
        "{kid} is already compromised from {since}; refusing to move that later to {at}",
    ),
    "keys.error.no_trust": (
        "尚无信任列表（{path} 不存在）：请先运行 `jiaozi trust init`",
        "{path} does not exist: run `jiaozi trust init` first",
    ),
    "keys.error.trust_exists": (
        "{dir} 中的信任列表已初始化；如要换成空列表，请加 `--force`",
        "trust already initialised in {dir}; use --force to replace it with an empty list",
    ),
    "keys.error.root_id": (
        "`root` 是国家根密钥的名称，不是机构标识",
        '"root" is the national root, not an office id',
    ),
    "keys.error.no_name": ("机构名称为空", "office name is empty"),
    "keys.error.province": (
        "省份代码须为两位 `GB/T 2260` 省级代码（11 至 99），收到的是 {value!r}",
        "province must be the 2-digit GB/T 2260 province code (11-99), got {value!r}",
    ),
    "keys.error.office_code": (
        "机构代码须为 3 位数字，收到的是 {value!r}",
        "office code must be 3 digits, got {value!r}",
    ),
    "keys.error.no_scope": (
        "机构至少要有一种可签发的资格种类",
        "an office needs at least one qualification type",
    ),
    "keys.error.office_no_keys": (
        "此处没有 {office} 的密钥：请提供其 JWKS，或在此生成密钥",
        "{office} has no keys here: give its JWKS or generate a key",
    ),
    "keys.error.office_unknown": (
        "{office} 不在信任列表中：请用 `jiaozi trust add-office` 添加",
        "{office} is not in the trust list; add it with `jiaozi trust add-office`",
    ),
    "keys.error.has_keys": (
        "{office} 已有密钥：请使用 `jiaozi keys rotate --office {office}`",
        "{office} already has keys; use `jiaozi keys rotate --office {office}`",
    ),
    # --- end of the lang2 keys block
    # keys/ archive errors (keys._archive) and jiaozi backup|restore's BackupError by code
    # (BackupError.code, .fields); {error} is what a lower layer (the OS, a tool) said
    "keys.error.archive_empty_passphrase": ("备份口令为空", "the backup passphrase is empty"),
    "keys.error.archive_header": (
        "不是 Jiaozi 备份归档（头部无法识别）",
        "not a Jiaozi backup archive (bad header)",
    ),
    "keys.error.archive_passphrase": (
        "备份口令不对（或归档头部被改动过）",
        "wrong backup passphrase (or the archive's header was changed)",
    ),
    "keys.error.archive_too_large": (
        "归档过大，无法用一个密钥加密",
        "archive too large for one key",
    ),
    "keys.error.archive_short": ("归档不完整：末尾缺失", "the archive is cut short"),
    "keys.error.archive_changed": ("归档在写成后被改动过", "the archive was changed"),
    "backup.error.passphrase_file": (
        "无法读取口令文件 {path}：{error}",
        "cannot read the passphrase file {path}: {error}",
    ),
    "backup.error.no_passphrase": (
        "没有备份口令：请设置 `{env}` 或给出 `--passphrase-file`（归档从不以明文写入或读取）",
        "no backup passphrase: set {env} or pass --passphrase-file "
        "(an archive is never written or read unencrypted)",
    ),
    "backup.error.weak_passphrase": (
        "来自 {where} 的备份口令对生产环境太弱：至少 {min} 个字符，其中 {distinct} 个互不相同",
        "the backup passphrase from {where} is too weak for production: at least {min} "
        "characters, {distinct} of them distinct",
    ),
    "backup.error.not_sqlite": (
        "不是 `SQLite` 文件数据库：{url}",
        "not a SQLite file database: {url}",
    ),
    "backup.error.not_postgres": ("不是 `PostgreSQL` 地址：{url}", "not a PostgreSQL URL: {url}"),
    "backup.error.tool": ("无法运行 `{tool}`：{error}", "{tool}: {error}"),
    "backup.error.tool_failed": ("`{tool}` 失败：{error}", "{tool} failed: {error}"),
    "backup.error.no_sqlite": ("{path} 处没有 `SQLite` 数据库", "no SQLite database at {path}"),
    "backup.error.database_not_empty": (
        "目标数据库不为空：请恢复到空数据库，或加 `--force` 将其替换",
        "the target database is not empty: restore into an empty database, or pass --force to "
        "replace it",
    ),
    "backup.error.database_not_empty_nothing_done": (
        "目标数据库不为空：请恢复到空数据库，或加 `--force` 将其替换（未恢复任何内容）",
        "the target database is not empty: restore into an empty database, or pass --force to "
        "replace it (nothing was restored)",
    ),
    "backup.error.pg_into_sqlite": (
        "归档中是 `PostgreSQL` 转储，目标却是 `SQLite`",
        "the archive holds a PostgreSQL dump, the target is SQLite",
    ),
    "backup.error.sqlite_into_pg": (
        "归档中是 `SQLite` 数据库，目标却是 `PostgreSQL`",
        "the archive holds a SQLite database, the target is PostgreSQL",
    ),
    "backup.error.integrity": (
        "归档中的 `SQLite` 数据库未通过完整性检查",
        "the archived SQLite database fails its integrity check",
    ),
    "backup.error.path_not_empty": (
        "{path} 已存在且不为空：请加 `--force` 将其替换",
        "{path} exists and is not empty: pass --force to replace it",
    ),
    "backup.error.path_not_empty_nothing_done": (
        "{path} 已存在且不为空：请加 `--force` 将其替换（未恢复任何内容）",
        "{path} exists and is not empty: pass --force to replace it (nothing was restored)",
    ),
    "backup.error.missing": ("{name}：{path} 不存在", "{name}: {path} does not exist"),
    "backup.error.unreadable": ("无法读取 {path}：{error}", "cannot read {path}: {error}"),
    "backup.error.unopened": (
        "{path}：{error}；未恢复任何内容",
        "{path}: {error}; nothing was restored",
    ),
    "backup.error.no_manifest": (
        "{path}：归档开头没有清单",
        "{path}: no manifest first in the archive",
    ),
    "backup.error.tar": (
        "{path}：无法读取归档中的 `tar` 包：{error}",
        "{path}: the archive's tar cannot be read: {error}",
    ),
    "backup.error.manifest": (
        "{path}：无法读取清单：{error}",
        "{path}: the manifest cannot be read: {error}",
    ),
    "backup.error.not_archive": (
        "{path}：不是 Jiaozi 备份归档",
        "{path}: not a Jiaozi backup archive",
    ),
    "backup.error.other_service": (
        "{path} 是{found}的备份，不是{service}的",
        "{path} is a backup of the {found}, not of the {service}",
    ),
    "backup.error.no_members": (
        "{path}：清单中没有列出任何文件",
        "{path}: the manifest lists no members",
    ),
    "backup.error.members": (
        "{path}：归档中的文件与清单所列不符",
        "{path}: its members differ from the manifest's list",
    ),
    "backup.error.member_hash": (
        "{path}：文件 {name} 与其 `SHA-256` 不符",
        "{path}: member {name} does not match its SHA-256",
    ),
    "backup.error.other_office": (
        "{path} 是 {found} 的备份，本机构是 {office}（未恢复任何内容）",
        "{path} is a backup of {found}, this office is {office} (nothing was restored)",
    ),
    "backup.error.high_water": ("{path}：{error}", "{path}: {error}"),
    "backup.error.inside_home": (
        "请把归档写到 {home} 之外：该目录本身也在备份之中",
        "write the archive outside {home}: it is part of the backup",
    ),
    "backup.error.databases": (
        "归档中的数据库不是恰好一个",
        "the archive does not hold exactly one database",
    ),
    # --- end of the lang2 backup block
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


def cli_text(key: str, lang: str, /, **fields: object) -> str:
    """Return the text ``key`` of ``CLI_TEXT`` in ``lang`` (``zh`` or else English) with
    ``fields`` filled in. Raises ``KeyError`` for a key not in the table or a field the
    text names and ``fields`` lacks."""
    zh, en = CLI_TEXT[key]
    return (zh if lang == "zh" else en).format(**fields)
