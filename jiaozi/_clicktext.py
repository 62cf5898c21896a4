"""Click's own messages in Chinese: usage errors, ``--help`` headings, ``--version``.

Click writes them through gettext (``_()`` and ``ngettext`` in each of its modules) and
ships no catalogue; ``jiaozi.cli`` puts :func:`gettext_zh` and :func:`ngettext_zh` in their
place while a ``jiaozi`` command speaks Chinese. The keys are click's English messages
(click 8.1 to 8.3 and later), format fields kept; a message not here stays as click wrote it.
Pure text: nothing here imports click.
"""

from __future__ import annotations

__all__ = ["CLICK_PLURAL_ZH", "CLICK_ZH", "gettext_zh", "ngettext_zh"]

CLICK_ZH: dict[str, str] = {
    # errors and their hints
    "Error: {message}": "错误：{message}",
    "Try '{command} {option}' for help.": "运行 '{command} {option}' 查看帮助。",
    "Invalid value: {message}": "取值无效：{message}",
    "Invalid value for {param_hint}: {message}": "{param_hint} 的取值无效：{message}",
    "Missing argument": "缺少参数",
    "Missing option": "缺少选项",
    "Missing parameter": "缺少参数",
    "Missing {param_type}": "缺少{param_type}",
    "Missing parameter: {param_name}": "缺少参数：{param_name}",
    "Missing command.": "缺少命令。",
    "No such option {name!r}.": "没有选项 {name!r}。",
    "No such command {name!r}.": "没有命令 {name!r}。",
    "unknown error": "未知错误",
    "Could not open file {filename!r}: {message}": "无法打开文件 {filename!r}：{message}",
    "Invalid start character for option ({option})": "选项的开头字符无效（{option}）",
    "Argument {name!r} takes {nargs} values.": "参数 {name!r} 需要 {nargs} 个值。",
    "Option {name!r} does not take a value.": "选项 {name!r} 不带取值。",
    "Value must be an iterable.": "取值须为多个值。",
    "Aborted!": "已中止！",
    "Aborted.": "已中止。",
    # values
    "Choose from:\n\t{choices}": "可选：\n\t{choices}",
    # click names the type in English ("integer"): the Chinese leaves it out
    "{value!r} is not a valid {number_type}.": "{value!r} 不是有效的数值。",
    "{value} is not in the range {range}.": "{value} 不在范围 {range} 内。",
    "{value!r} is not a valid boolean. Recognized values: {states}": (
        "{value!r} 不是有效的是非值。可用的值：{states}"
    ),
    "{value!r} is not a valid UUID.": "{value!r} 不是有效的 UUID。",
    # {name} is click's "file", "directory" or "path", named when the command was declared:
    # the Chinese leaves it out
    "{name} {filename!r} does not exist.": "{filename!r} 不存在。",
    "{name} {filename!r} is a file.": "{filename!r} 是文件。",
    "{name} {filename!r} is a directory.": "{filename!r} 是目录。",
    "{name} {filename!r} is not readable.": "{filename!r} 不可读。",
    "{name} {filename!r} is not writable.": "{filename!r} 不可写。",
    "{name} {filename!r} is not executable.": "{filename!r} 不可执行。",
    # --help and --version
    "Usage:": "用法：",
    "Options": "选项",
    "Commands": "命令",
    "Positional arguments": "位置参数",
    "Show this message and exit.": "显示本帮助并退出。",
    "Show the version and exit.": "显示版本并退出。",
    "%(prog)s, version %(version)s": "%(prog)s，版本 %(version)s",
    "default: {default}": "默认：{default}",
    "env var: {var}": "环境变量：{var}",
    "(dynamic)": "（动态）",
    "deprecated": "已弃用",
    "required": "必填",
    "Do you want to continue?": "是否继续？",
    "Confirm the action without prompting.": "不经询问直接确认。",
    "Repeat for confirmation": "再次输入以确认",
    "Error: The two entered values do not match.": "错误：两次输入的值不一致。",
    "Error: invalid input": "错误：输入无效",
}

# click's ngettext messages: (singular, plural) -> Chinese (one form: Chinese has no plural;
# where click fills two fields with the same text, the Chinese names one)
CLICK_PLURAL_ZH: dict[tuple[str, str], str] = {
    ("Got unexpected extra argument ({args})", "Got unexpected extra arguments ({args})"): (
        "多余的参数（{args}）"
    ),
    ("Takes {nargs} values but 1 was given.", "Takes {nargs} values but {len} were given."): (
        "需要 {nargs} 个值，但给出了 {len} 个。"
    ),
    ("Did you mean {possibility}?", "(Did you mean one of: {possibilities}?)"): (
        "（是否想用：{possibilities}？）"
    ),
    ("Option {name!r} requires an argument.", "Option {name!r} requires {nargs} arguments."): (
        "选项 {name!r} 需要 {nargs} 个取值。"
    ),
    ("{value!r} is not {choice}.", "{value!r} is not one of {choices}."): (
        "{value!r} 不是可选值 {choices} 之一。"
    ),
    (
        "{value!r} does not match the format {format}.",
        "{value!r} does not match the formats {formats}.",
    ): "{value!r} 不符合格式 {formats}。",
    (
        "{len_type} values are required, but {len_value} was given.",
        "{len_type} values are required, but {len_value} were given.",
    ): "需要 {len_type} 个值，但给出了 {len_value} 个。",
}


def gettext_zh(message: str) -> str:
    """Return click's ``message`` in Chinese, or as it is when the table lacks it."""
    return CLICK_ZH.get(message, message)


def ngettext_zh(singular: str, plural: str, n: int) -> str:
    """Return click's ``singular``/``plural`` message in Chinese, or click's own form."""
    found = CLICK_PLURAL_ZH.get((singular, plural))
    if found is not None:
        return found
    return singular if n == 1 else plural
