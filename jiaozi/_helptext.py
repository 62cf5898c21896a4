"""The commands' own ``--help`` in Chinese: each command's description and its options' help.

``jiaozi.cli`` shows these in place of the English docstrings and option help while a
``jiaozi`` command speaks Chinese. Keys are the command's path under ``jiaozi`` (``""`` for
``jiaozi`` itself, ``"backup issuer"``) and, for an option, that path and the option's
longest name. A command or option not here keeps its English help (issue 15 point 3: the
clerk's and operator's commands first). Pure text: nothing here imports click.
"""

from __future__ import annotations

__all__ = ["COMMAND_HELP_ZH", "OPTION_HELP_ZH"]

# command path -> (short help for the list of commands, whole help)
COMMAND_HELP_ZH: dict[str, tuple[str, str]] = {
    "": ("Jiaozi 教资：电子教师资格证书。", "Jiaozi 教资：电子教师资格证书。"),
    "backup": (
        "把一项服务备份为一个加密归档。",
        "把一项服务备份为一个加密归档（说明见 `docs/operations.md`）。",
    ),
    "backup issuer": (
        "签发机构：数据库、密钥目录、签署的审计检查点、编号余量。",
        "签发机构：数据库、密钥目录、签署的审计检查点、编号余量。",
    ),
    "backup registry": (
        "登记中心：数据库和目录（其密钥、信任列表）。",
        "登记中心：数据库和目录（其密钥、信任列表）。",
    ),
    "backup verifier": (
        "核验服务：数据库和固定信任的根密钥。",
        "核验服务：数据库和固定信任的根密钥。",
    ),
    "restore": (
        "从归档恢复一项服务：请先停止该服务。",
        "从归档恢复一项服务：请先停止该服务。",
    ),
    "restore issuer": (
        "签发机构；并越过备份所预留的全部编号和状态列表。",
        "签发机构；然后越过备份所预留的每个编号和状态列表（备份之后发出的编号或状态条目"
        "不会再次发出）。",
    ),
    "restore registry": ("登记中心。", "登记中心。"),
    "restore verifier": ("核验服务。", "核验服务。"),
    "audit": (
        "审计记录：检查、签署检查点。",
        "审计记录：检查、签署检查点。",
    ),
    "audit verify": (
        "从第 1 条记录起重算审计链，并检查每个签署的检查点。",
        "从第 1 条记录起重算审计链，并检查每个签署的检查点。\n\n"
        "指出第一条被改动或删除的记录，以及被删去的末尾。记录完好时退出码为 0，"
        "被篡改时为 1。",
    ),
    "audit checkpoint": (
        "用本机构的有效密钥为审计链的最新记录签署检查点。",
        "用本机构的有效密钥为审计链的最新记录签署检查点。",
    ),
    "reissue": (
        "用本机构的有效密钥换发密钥 KID 签署的每份证书。",
        "用本机构的有效密钥换发密钥 KID 签署的每份证书。\n\n"
        "每份证书保留其编号和状态条目，版本加一；旧的令牌作为已被取代的版本保留，审计记录和"
        "事件订阅逐份记录。请先标记该密钥（`jiaozi keys compromise KID --at TIME`）并轮换"
        "（`jiaozi keys rotate --office ID`）。可以重复运行：已完成的会跳过。",
    ),
}

# (command path, option's longest name) -> help
OPTION_HELP_ZH: dict[tuple[str, str], str] = {
    ("", "--lang"): (
        "消息的语言[默认：`JIAOZI_LANG`，否则在区域设置（`LC_ALL`、`LC_MESSAGES`、`LANG`）"
        "为中文时用 zh，否则用 en]"
    ),
    ("", "--version"): "显示版本并退出。",
    **{
        (f"backup {service}", "--out"): "要写入的归档（权限 0600；已存在则替换）。"
        for service in ("issuer", "registry", "verifier")
    },
    **{
        (f"{verb} {service}", "--passphrase-file"): (
            "首行为归档口令的文件（否则用 `$JIAOZI_BACKUP_PASSPHRASE`）。"
        )
        for verb in ("backup", "restore")
        for service in ("issuer", "registry", "verifier")
    },
    **{
        (f"restore {service}", "--force"): "替换不为空的数据库或目录。"
        for service in ("issuer", "registry", "verifier")
    },
    ("backup issuer", "--serials"): "下次备份前本机构可分配的编号数。",
    ("backup issuer", "--lists"): "下次备份前本机构可新建的状态列表数。",
    ("backup issuer", "--feeds"): "下次备份前可用的事件和限制名单序号数 [默认：每个编号 4 个]。",
    ("restore issuer", "--extra-serials"): "恢复较早的归档时：其后每次备份预留的编号数之和。",
    ("restore issuer", "--extra-lists"): "恢复较早的归档时：其后每次备份预留的状态列表数之和。",
    ("restore issuer", "--extra-feeds"): "恢复较早的归档时：其后每次备份预留的订阅序号数之和。",
    (
        "audit verify",
        "--lang",
    ): "报告的语言 [默认：`jiaozi --lang`、`JIAOZI_LANG`，否则按区域设置]。",
    ("audit verify", "--json"): "以 JSON 输出报告。",
    ("audit verify", "--jwks"): "本机构的公钥（JWKS），代替密钥库中的。",
    ("reissue", "--key"): "已泄露密钥的标识，如 11001-1。",
    ("reissue", "--chunk"): "每个事务处理的证书数。",
}
