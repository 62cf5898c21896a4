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
    # --- batch (issuer/cli/batch.py)
    "batch": ("从 CSV 或 XLSX 文件批量签发。", "从 CSV 或 XLSX 文件批量签发。"),
    "batch issue": (
        "校验文件，签发其中每一有效行；可同时打印。",
        "校验 FILE，写出错误报告，并将每一有效行签发且只签发一次；给出 `--pdf-dir` 时同时"
        "打印本批次。数据库连接中断时等待并自动续签（最多 `--retries` 次）。\n\n"
        "每一有效行都已签发（有错误的行只报告、不签发）且给出 `--pdf-dir` 时都已打印，退出码"
        "为 0；文件无法使用、签发或打印中断、或有证书无法打印（会逐一列出）时为 1。再次运行"
        "同一命令即可继续：签发和打印都从中断处接着进行。",
    ),
    "batch status": (
        "显示批次的状态和进度。",
        "显示批次 BATCH_ID 的状态和进度（已完成的行数、每秒行数、剩余时间）。",
    ),
    "batch codes": (
        "为批次中的教师生成领取码。",
        "为批次 BATCH_ID 的教师生成领取码（一步完成；再次运行不会新生成）。\n\n"
        "在上传批次之后已有领取码的教师（由此前运行本命令生成，或在通知书遗失后单独补发）保留"
        "原领取码。用 `letters` 或 `manifest` 打印领取码。",
    ),
    "batch manifest": (
        "写出批次的清单（含领取码，须保密）。",
        "写出批次 BATCH_ID 的清单：每一行、其证书编号或错误，以及该教师有效的领取码（这是一份"
        "保密名单：请像领取通知书一样保管）。",
    ),
    "batch letters": (
        "写出批次的领取通知书。",
        "写出批次 BATCH_ID 的领取通知书：每位持有有效领取码的教师一页 A4。",
    ),
    "batch print": (
        "打印已签发的批次；再次运行即可继续。",
        "打印已签发的批次 BATCH_ID（与 `issue --pdf-dir` 相同）；再次运行即可继续。",
    ),
    "batch zip": (
        "把批次签名的 PDF 写成一个 ZIP 压缩包。",
        "把批次 BATCH_ID 签名的 PDF 写成一个 ZIP 压缩包，边生成边写出。",
    ),
    # --- issuer, accounts (issuer/cli/commands.py)
    "issuer": ("认定机构的签发服务。", "认定机构的签发服务。"),
    "issuer serve": (
        "运行签发服务的 API。",
        "运行签发服务的 API（配置来自 `JIAOZI_*` 环境变量；收到 SIGTERM 或按中断键时干净地"
        "停止）。\n\n"
        "用密钥库中本机构的有效密钥签名，每次使用时重新读取，因此 `jiaozi keys rotate` 无需"
        "重启即可生效；开始服务前运行一次发布任务，此后每隔 `JIAOZI_PUBLISH_INTERVAL_SECONDS`"
        " 秒运行一次。给出 `--public-only` 时不打开密钥库，无法签署任何内容。",
    ),
    "issuer migrate": (
        "把本机构的数据库结构升级到当前版本。",
        "把本机构的数据库结构升级到当前版本（其 `Alembic` 修订，版本表 `alembic_version`）；"
        "除非设置 `JIAOZI_AUTO_MIGRATE=false`，`serve` 和会写入的命令在启动时也会这样做。"
        "给出 `--check` 时只报告所处的版本，落后时退出码为 1。",
    ),
    "issuer sync-national": (
        "一轮全国限制名单同步。",
        "一轮全国限制名单同步：把本机构发件箱中等待的条目发送到登记中心"
        "（`JIAOZI_REGISTRY_URL`），再拉取全国限制名单。本轮遇到错误时退出码为 1（已完成的"
        "保留，下一轮继续）。",
    ),
    "issuer publish": (
        "运行一次发布任务。",
        "运行一次发布任务（供定时任务使用，或用于不运行 `serve` 的主机）：重新签署到期的状态"
        "列表，并保存有变化的 JWKS 或信任列表。\n\n"
        "可与运行中的服务和其他发布并行（比较并交换）；会输出所做的事。",
    ),
    "issuer export-public": (
        "把公开发布的文件导出到目录，供静态网站服务器使用。",
        "把公开发布的文件写到 DIRECTORY，供任何静态网站服务器使用：状态列表在 "
        "`statuslists/<id>`，以及 `.well-known/jwks.json` 和 `trust-list.jwt`，每个文件都"
        "原子地替换。不打开密钥库，也不签署任何内容：签署请运行 `publish`（或 `serve`）；"
        "`JIAOZI_PUBLIC_URL` 须为该目录对外服务的地址。",
    ),
    "issuer reconcile-status": (
        "恢复之后：按备份后发布的状态列表找回证书状态。",
        "在 `jiaozi restore issuer` 及随后的新备份之后、服务发布之前运行：从备份之后发布的"
        "状态列表（其签名按恢复的信任列表检查）取回每份证书的状态，使此后被撤销、暂停或恢复的"
        "证书重新如此，然后重新签署有变化的列表。在它运行之前（或给出 `--none-published` "
        "之前），不会签署或提供任何状态列表。",
    ),
    "accounts": (
        "本机构的工作人员和服务客户端。",
        "所配置认定机构的工作人员和服务客户端。",
    ),
    "accounts create-admin": (
        "创建本机构的管理员，并打印其 API 密钥（仅一次）。",
        "创建所配置认定机构的第一位管理员，并打印其 API 密钥（仅显示一次）。",
    ),
    "accounts create-officer": (
        "创建本机构的工作人员，并打印其 API 密钥（仅一次）。",
        "创建所配置认定机构的工作人员，并打印其 API 密钥（仅显示一次）。",
    ),
    "accounts console-code": (
        "为工作人员打印一次性的登记码（控制台密码和 TOTP）。",
        "为所配置机构的一名工作人员打印一次性的登记码，供其在 `/office/enrol` 设置控制台密码"
        "和 TOTP（也用于重置：其登录和会话随即结束）。这是部署时的操作，与 `create-admin` "
        "一样：第一位管理员由此进入控制台。",
    ),
    "accounts create-client": (
        "创建服务客户端，并打印其 API 密钥（仅一次）。",
        "创建服务客户端，并打印其 API 密钥（仅显示一次）。",
    ),
    # --- verify (verifier/cli.py), verifier (verifier/commands.py)
    "verify": (
        "离线（或在线）核验一份电子证照。",
        "离线（或用 `--online` 在线）核验一份电子证照。退出码：0 有效，1 无效，2 无法判定，"
        "64 用法错误。",
    ),
    "verifier": (
        "公开的核验服务：运行服务、同步、离线包。",
        "公开的核验服务：运行服务、同步、离线包。",
    ),
    "verifier serve": (
        "运行核验服务的 API。",
        "运行核验服务的 API（配置来自 `JIAOZI_*` 环境变量）。",
    ),
    "verifier migrate": (
        "把核验服务的数据库结构升级到当前版本。",
        "把核验服务的数据库结构升级到当前版本（其 `Alembic` 修订，版本表 "
        "`vf_alembic_version`），每次升级一个副本；给出 `--check` 时只报告所处的版本，落后时"
        "退出码为 1。",
    ),
    "verifier sync": (
        "运行一轮同步：信任列表、状态列表、限制名单。",
        "运行一轮同步：信任列表、状态列表、限制名单。",
    ),
    "verifier bundle": (
        "离线包：签名的信任列表、状态列表和限制名单。",
        "离线包：签名的信任列表、状态列表和限制名单。",
    ),
    "verifier bundle export": (
        "把所持有的全部内容写到文件。",
        "把所持有的全部内容写到 FILE（原始签名文件组成的 JSON）。",
    ),
    "verifier bundle import": (
        "核验文件中的每份文件，保存其中较新的。",
        "按固定信任的根密钥核验 FILE 中的每份文件，并保存其中较新的。",
    ),
    # --- registry, feed (registry/cli.py)
    "registry": (
        "全国登记中心：汇总的限制名单。",
        "全国登记中心：汇总的限制名单（见 `docs/registry.md`）。",
    ),
    "registry serve": (
        "运行登记中心。",
        "运行登记中心（配置来自 `JIAOZI_*` 环境变量；见 `docs/operations.md`）。",
    ),
    "registry migrate": (
        "把登记中心的数据库结构升级到当前版本。",
        "把登记中心的数据库结构升级到当前版本（其 `Alembic` 修订，版本表 "
        "`rg_alembic_version`），每次只由一个进程升级；给出 `--check` 时只报告所处的版本，"
        "落后时退出码为 1。",
    ),
    "registry feed-client": (
        "创建全国事件订阅的客户端并打印其 API 密钥，或停用一个。",
        "创建全国事件订阅的系统客户端并打印其 API 密钥（仅显示一次），或停用一个客户端。",
    ),
    "registry accounts": (
        "供聘用核验使用的学校和用人单位账户。",
        "供聘用核验使用的学校和用人单位账户（见 `docs/registry.md`）。",
    ),
    "registry accounts create-employer": (
        "创建用人单位账户，并打印其 API 密钥（仅一次）。",
        "创建用人单位账户，并打印其 API 密钥（仅显示一次）。",
    ),
    "registry accounts create-school": (
        "创建学校账户，并打印其 API 密钥（仅一次）。",
        "创建学校账户，并打印其 API 密钥（仅显示一次）。",
    ),
    "registry accounts list": (
        "列出账户（从不显示密钥）。",
        "列出账户：编号、类型、密钥前缀、是否有效、创建时间、名称（从不显示密钥）。",
    ),
    "registry accounts deactivate": (
        "停用一个账户：从下一个请求起拒绝其密钥。",
        "停用账户 ACCOUNT_ID：从下一个请求起拒绝其密钥。",
    ),
    "feed": (
        "供教师管理信息系统使用的全国事件订阅。",
        "供教师管理信息系统使用的全国事件订阅。",
    ),
    "feed follow": (
        "按全国事件订阅使目标数据库保持最新。",
        "按全国事件订阅使 INTO 中的表 `certificate_by_person` 保持最新。",
    ),
    # --- trust, keys (keys/cli.py)
    "trust": (
        "全国信任列表：初始化、添加机构、查看、导出（离线，用根密钥）。",
        "全国信任列表：初始化、添加机构、查看、导出（离线进行，用根密钥签署）。",
    ),
    "trust init": (
        "创建根密钥及其 CA 证书，并签署一份空的信任列表。",
        "创建根密钥（若还没有）及其 CA 证书，并签署一份空的信任列表。\n\n"
        "在密钥仪式的根密钥目录中（一台离线机器上）运行，切勿在机构的目录中运行。",
    ),
    "trust onboard": (
        "答复机构的入网申请：列入信任列表，认证其文件签名密钥。",
        "答复机构的入网申请 REQUEST：将该机构列入信任列表，并认证其文件签名密钥。",
    ),
    "trust add-office": (
        "添加（或更新）一个认定机构，并重新签署信任列表。",
        "添加（或更新）一个认定机构：其认定范围和密钥；并重新签署信任列表。",
    ),
    "trust revoke-docsign": (
        "吊销一张文件签名证书。",
        "自即刻起吊销序列号为 SERIAL（十六进制）的文件签名证书。",
    ),
    "trust sync": (
        "把机构的密钥从密钥库复制到信任列表并重新签署。",
        "把一个机构的密钥从密钥库复制到信任列表，并重新签署信任列表。",
    ),
    "trust show": (
        "显示当前的信任列表。",
        "显示当前的信任列表：各机构、其认定范围、密钥及有效期。",
    ),
    "trust export": (
        "为核验方导出签名的信任列表（和根 JWKS）。",
        "为核验方导出签名的信任列表（以及根密钥的 JWKS）。",
    ),
    "keys": (
        "签名密钥：创建、轮换、标记泄露、以 JWKS 发布。",
        "签名密钥：创建、轮换、标记泄露、以 JWKS 发布。",
    ),
    "keys create": (
        "为自行持有密钥的机构创建第一把密钥。",
        "为自行持有密钥的机构创建第一把密钥（然后把其 JWKS 交给国家主管部门）。",
    ),
    "keys init-office": (
        "在此生成本机构的密钥，并写出入网申请。",
        "在此生成本机构的密钥（若还没有），并写出其入网申请。\n\n"
        "在机构自己的目录中运行；续期证书或轮换密钥之后再次运行。",
    ),
    "keys install": (
        "安装密钥仪式的答复：信任列表、根证书、本机构的证书。",
        "安装密钥仪式的答复 ANSWER：信任列表、根证书、本机构的证书。",
    ),
    "keys jwks": (
        "以 JWKS 输出一个机构的公钥。",
        "以 JWKS 输出一个机构的公钥（即其签发服务对外提供的）。",
    ),
    "keys rotate": (
        "停用当前密钥，创建后继密钥，并重新签署信任列表。",
        "停用当前密钥，创建其后继密钥，并重新签署信任列表。",
    ),
    "keys compromise": (
        "把密钥标记为自某时起泄露。",
        "把密钥 KID 标记为自 `--at` 所给的时间起泄露：此后它签署的内容均无效。",
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
    # --- batch
    ("batch issue", "--chunk"): "每个事务处理的行数。",
    ("batch issue", "--workers"): "签名进程数（默认 2，单核时为 1）。",
    ("batch issue", "--errors-out"): (
        "错误报告写到哪里（`.csv` 或 `.xlsx`）[默认：FILE 的主名加 `.errors.csv`]。"
    ),
    ("batch issue", "--lang"): "错误报告的语言。",
    ("batch issue", "--retries"): (
        "数据库连接中断时自动续签的次数（依次等待 2、4、8、16、30 秒……）。"
    ),
    ("batch issue", "--pdf-dir"): (
        "随后打印：每份证书签名的 PDF 写为 `DIR/<证书编号>.pdf`，另写 "
        "`DIR/<文件主名>-print.pdf`，含供打印机使用的全部页面（未签名）。"
    ),
    ("batch issue", "--photos"): (
        "持证人照片的 ZIP 压缩包，文件名为 `<request_id>` 或 `<身份证件号码>` 加 `.jpg`、"
        "`.jpeg` 或 `.png`；此时每一行都须有照片（首次打开批次时读取；续签的批次使用当时"
        "保存的照片）。"
    ),
    ("batch issue", "--pdf-workers"): "打印进程数（默认每核一个）。",
    ("batch manifest", "--out"): "清单文件：`.csv`（带 BOM 的 UTF-8）或 `.xlsx`。",
    ("batch manifest", "--lang"): "清单的语言。",
    ("batch letters", "--out"): "要写入的 PDF 文件。",
    ("batch print", "--pdf-dir"): (
        "每份证书签名的 PDF 写为 `DIR/<证书编号>.pdf`，另写 `DIR/batch-<批次号>-print.pdf`。"
    ),
    ("batch print", "--pdf-workers"): "打印进程数（默认每核一个）。",
    ("batch zip", "--out"): "要写入的 ZIP 压缩包：每份有效证书一个 `<证书编号>.pdf`。",
    # --- issuer, accounts
    ("issuer serve", "--host"): "监听的地址。",
    ("issuer serve", "--port"): "TCP 端口。",
    ("issuer serve", "--public-only"): (
        "只从数据库提供公开的路由（状态列表、JWKS、信任列表），不打开密钥库：用于不持有"
        "任何密钥的公开前端。"
    ),
    ("issuer migrate", "--check"): "不做任何改动：只报告数据库结构所处的版本。",
    ("issuer reconcile-status", "--published"): (
        "`export-public` 写出的目录，或其对外服务的公开基础地址。"
    ),
    ("issuer reconcile-status", "--none-published"): (
        "本机构从未发布过状态列表：不读取任何列表，直接解除恢复后的限制（记入审计）。"
    ),
    ("issuer reconcile-status", "--since"): (
        "备份的时间（`POSIX` 秒数或 `ISO 8601`）[默认：上次恢复的时间]。"
    ),
    **{
        (f"accounts {command}", "--username"): "登录名：小写字母、数字和 `._-`（1 至 64 个字符）。"
        for command in ("create-admin", "create-officer")
    },
    ("accounts create-admin", "--name"): "管理员的姓名，用于显示。",
    ("accounts create-officer", "--name"): "工作人员的姓名，用于显示。",
    ("accounts create-officer", "--role"): "角色。",
    ("accounts console-code", "--username"): "工作人员的登录名。",
    ("accounts create-client", "--name"): "客户端名称：小写字母、数字和 `._-`（1 至 64 个字符）。",
    ("accounts create-client", "--kind"): "`verifier`（限制名单）或 `mis`（事件订阅）。",
    # --- verify, verifier
    ("verify", "--json"): "按接口规范以 JSON 输出核验结果。",
    ("verify", "--trust"): "签名的信任列表（JWT 文件）。",
    ("verify", "--root"): "固定信任的根密钥（JWKS 文件）。",
    ("verify", "--status"): "签名的状态列表（JWT 文件）；可重复给出。",
    ("verify", "--origin"): "二维码网址中接受的核验服务地址。",
    ("verify", "--grace"): "状态列表过了有效期（`ttl`）后仍可使用的秒数。",
    ("verify", "--require-sm2"): (
        "没有有效 SM2 签名的电子证照判为无效（见 `docs/formats.md` 的 SM2 一节）。"
    ),
    ("verify", "--online"): "改为询问 URL 处的核验服务，不在本地判定。",
    ("verify", "--bundle"): (
        "`jiaozi verifier bundle export` 导出的离线包（信任列表、状态列表、限制名单）。"
    ),
    ("verify", "--lang"): (
        "答复的语言 [默认：`jiaozi --lang`、`JIAOZI_LANG`，否则在区域设置为中文时用 zh，否则用 en]"
    ),
    ("verifier serve", "--host"): "监听的地址。",
    ("verifier serve", "--port"): "TCP 端口。",
    ("verifier serve", "--workers"): "工作进程数。",
    ("verifier migrate", "--check"): "不做任何改动：只报告数据库结构所处的版本。",
    ("verifier sync", "--status-uri"): "同时获取这份状态列表（可重复给出）。",
    # --- registry, feed
    ("registry serve", "--host"): "监听的地址。",
    ("registry serve", "--port"): "TCP 端口。",
    ("registry migrate", "--check"): "不做任何改动：只报告数据库结构所处的版本。",
    (
        "registry feed-client",
        "--identity",
    ): "该客户端可读取身份证件号码（经授权的教师管理信息系统）。",
    ("registry feed-client", "--disable"): "停用该客户端：其密钥随即失效。",
    ("registry accounts list", "--active-only"): "不列出已停用的账户。",
    ("feed follow", "--registry"): "登记中心的地址。",
    ("feed follow", "--key"): "本客户端的 API 密钥。",
    ("feed follow", "--into"): "目标数据库的地址。",
    ("feed follow", "--limit"): "每次请求读取的事件数。",
    ("feed follow", "--interval"): "读到末尾后，再次读取前等待的秒数。",
    ("feed follow", "--until-idle"): "事件订阅读到末尾即停止。",
    # --- trust, keys
    **{
        (command, "--id"): "机构标识，如 `urn:jiaozi:office:11001`。"
        for command in ("trust add-office", "keys init-office")
    },
    **{
        (command, "--name"): "机构名称，与其证书上印的一致。"
        for command in ("trust add-office", "keys init-office")
    },
    **{
        (command, "--province"): "两位省份代码（`GB/T 2260`），如 11。"
        for command in ("trust add-office", "keys init-office")
    },
    **{
        (command, "--office-code"): "三位机构代码，如 001。"
        for command in ("trust add-office", "keys init-office")
    },
    ("trust add-office", "--types"): (
        "可签发的资格种类，以逗号分隔：`kindergarten,primary,...` 或 1-7。"
    ),
    ("trust add-office", "--alg"): "新密钥的算法。",
    ("trust add-office", "--jwks"): "本机构自己的公钥（JWKS），代替在此生成的密钥。",
    ("trust init", "--force"): "把已有的信任列表替换为空列表。",
    ("trust init", "--alg"): (
        "根密钥的算法（用 ES256：`pdfsig`、`NSS` 等 PDF 校验工具不接受 Ed25519 的 CA 证书）。"
    ),
    ("trust onboard", "--out"): "给机构的答复写到哪里（由机构运行 `jiaozi keys install ANSWER`）。",
    ("trust onboard", "--days"): "文件签名证书的有效天数。",
    ("trust sync", "--office"): "机构标识。",
    ("trust export", "--out"): (
        "`trust-list.jwt` 和 `root.jwks.json` 写入的目录；`-` 表示把信任列表的 JWT 输出到标准输出。"
    ),
    ("keys create", "--office"): "机构标识（或 `root`）。",
    ("keys create", "--alg"): "密钥的算法。",
    ("keys init-office", "--types"): "可签发的资格种类，以逗号分隔。",
    ("keys init-office", "--alg"): "令牌签名密钥的算法。",
    ("keys init-office", "--new-docsign-key"): "生成新的文件签名密钥（经认证后取代旧的）。",
    ("keys init-office", "--out"): "入网申请写到哪里，供密钥仪式使用。",
    ("keys jwks", "--office"): "机构标识（或 `root`）。",
    ("keys rotate", "--office"): "要轮换密钥的机构标识。",
    ("keys rotate", "--root"): "改为轮换国家根密钥。",
    ("keys rotate", "--alg"): "新密钥的算法 [默认：不变]。",
    ("keys compromise", "--at"): (
        "泄露的起始时间：`RFC 3339` 时间（如 `2026-11-29T08:00:00+08:00`）或 `POSIX` 秒数。"
    ),
}
