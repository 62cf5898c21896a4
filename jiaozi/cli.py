"""``jiaozi``: the command-line entry point.

Each package contributes its own command group; this module only gathers them, so that
``jiaozi verify`` works with the verifier extra alone (nothing here imports the issuer
unless an issuer command is run).
"""

from __future__ import annotations

import gettext
import importlib
import os
import sys
from collections.abc import Sequence

import click

from credential import cli_language, cli_text

EXIT_USAGE = 64

# Command groups imported only when named: the issuer's pull in FastAPI and SQLAlchemy,
# which `jiaozi verify` must not need. name -> (module, attribute)
LAZY_COMMANDS: dict[str, tuple[str, str]] = {
    "issuer": ("issuer.cli.commands", "issuer_group"),
    "accounts": ("issuer.cli.commands", "accounts_group"),
    "batch": ("issuer.cli.batch", "batch_group"),
    "audit": ("issuer.cli.maintenance", "audit_group"),
    "reissue": ("issuer.cli.maintenance", "reissue_command"),
    "registry": ("registry.cli", "registry_group"),
    "feed": ("registry.cli", "feed_group"),
    "backup": ("jiaozi.backup.cli", "backup_group"),
    "restore": ("jiaozi.backup.cli", "restore_group"),
}


# The language of the jiaozi command running (innermost last; empty outside one): click's
# own messages (usage errors, --help headings) follow it, see _speak_click_in_chinese.
_SPEAKING: list[str] = []

# click's modules that write through gettext's _() or ngettext()
_CLICK_MODULES = ("core", "decorators", "exceptions", "formatting", "parser", "termui", "types")


def _speak_click_in_chinese() -> None:
    """Put a translation layer in place of click's gettext: Chinese (``jiaozi._clicktext``)
    while a jiaozi command speaks Chinese, click's own words otherwise (gettext unchanged).
    Click ships no catalogue, and a process-wide gettext catalogue would outlive one
    command; this follows ``_SPEAKING``, which ``_Group.main`` sets and clears."""
    from jiaozi._clicktext import gettext_zh, ngettext_zh

    def translate(message: str) -> str:
        if _SPEAKING and _SPEAKING[-1] == "zh":
            return gettext_zh(message)
        return gettext.gettext(message)

    def translate_n(singular: str, plural: str, n: int) -> str:
        if _SPEAKING and _SPEAKING[-1] == "zh":
            return ngettext_zh(singular, plural, n)
        return gettext.ngettext(singular, plural, n)

    for name in _CLICK_MODULES:
        module = importlib.import_module(f"click.{name}")
        if hasattr(module, "_"):
            module._ = translate  # type: ignore[attr-defined]
        if hasattr(module, "ngettext"):
            module.ngettext = translate_n  # type: ignore[attr-defined]


_speak_click_in_chinese()


def _help_path(ctx: click.Context | None) -> str:
    """Return the path under ``jiaozi`` of the command ``ctx`` runs: ``""`` for ``jiaozi``
    itself, ``"backup issuer"``; the key of ``jiaozi._helptext``'s tables."""
    names: list[str] = []
    while ctx is not None and ctx.parent is not None:
        names.append(ctx.info_name or "")
        ctx = ctx.parent
    return " ".join(reversed(names))


def _show_help_in_chinese() -> None:
    """Show the commands' own help (description, options) from ``jiaozi._helptext`` while a
    jiaozi command speaks Chinese: each text is put in place only while click formats it,
    so nothing outlives one ``--help`` (a test's CliRunner runs many in either language)."""
    from jiaozi._helptext import COMMAND_HELP_ZH, OPTION_HELP_ZH

    def chinese() -> bool:
        return bool(_SPEAKING) and _SPEAKING[-1] == "zh"

    format_help_text = click.Command.format_help_text
    get_short_help_str = click.Command.get_short_help_str
    get_help_record = click.Option.get_help_record

    def help_text(self: click.Command, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        found = COMMAND_HELP_ZH.get(_help_path(ctx)) if chinese() else None
        if found is None:
            return format_help_text(self, ctx, formatter)
        english = self.help
        self.help = found[1]
        try:
            return format_help_text(self, ctx, formatter)
        finally:
            self.help = english

    def short_help(self: click.Command, limit: int = 45) -> str:
        ctx = click.get_current_context(silent=True)  # the group whose --help lists self
        if chinese() and ctx is not None:
            found = COMMAND_HELP_ZH.get(f"{_help_path(ctx)} {self.name}".strip())
            if found is not None:
                return found[0]
        return get_short_help_str(self, limit)

    def help_record(self: click.Option, ctx: click.Context) -> tuple[str, str] | None:
        longest = max(self.opts, key=len)
        found = OPTION_HELP_ZH.get((_help_path(ctx), longest)) if chinese() else None
        if found is None:
            return get_help_record(self, ctx)
        english = self.help
        self.help = found
        try:
            return get_help_record(self, ctx)
        finally:
            self.help = english

    click.Command.format_help_text = help_text  # type: ignore[method-assign]
    click.Command.get_short_help_str = short_help  # type: ignore[method-assign]
    click.Option.get_help_record = help_record  # type: ignore[method-assign]


_show_help_in_chinese()


def _wrap_chinese_by_display_width() -> None:
    """Wrap help by display width while a jiaozi command speaks Chinese (``jiaozi._wrap``):
    click counts characters and breaks only at spaces, so a Chinese paragraph would come
    out as one line twice the terminal's width. English keeps click's own wrapping."""
    from click import formatting

    from jiaozi import _wrap

    wrap_text = formatting.wrap_text

    def wrap(
        text: str,
        width: int = 78,
        initial_indent: str = "",
        subsequent_indent: str = "",
        preserve_paragraphs: bool = False,
    ) -> str:
        wrapper = _wrap.wrap_text if _SPEAKING and _SPEAKING[-1] == "zh" else wrap_text
        return wrapper(text, width, initial_indent, subsequent_indent, preserve_paragraphs)

    formatting.wrap_text = wrap


_wrap_chinese_by_display_width()


def _chosen_language(args: Sequence[str]) -> str:
    """Return the language a command line asks for: its ``--lang zh|en`` (before or after
    the command's name: ``jiaozi verify`` and ``jiaozi audit verify`` have their own), else
    ``JIAOZI_LANG``, else the locale's. Read before click parses, so that click's own
    errors in parsing are said in it too."""
    chosen = None
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg == "--lang" and i + 1 < len(args):
            chosen = args[i + 1]
        elif arg.startswith("--lang="):
            chosen = arg.removeprefix("--lang=")
    return cli_language(os.environ, chosen)


def _forget_help_options(command: click.Command, lazy: set[str]) -> None:
    """Drop the ``--help`` option each command made for this run: click makes it once per
    command and keeps it, with its help text in the language of the run that made it (a
    test's CliRunner runs many commands in one process, in either language)."""
    if hasattr(command, "_help_option"):
        command._help_option = None
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _forget_help_options(sub, set())
        for name in lazy - set(command.commands):
            module, attr = LAZY_COMMANDS[name]
            loaded = sys.modules.get(module)
            if loaded is not None and isinstance(getattr(loaded, attr, None), click.Command):
                _forget_help_options(getattr(loaded, attr), set())


class _Group(click.Group):
    """A group whose usage errors exit 64 (EX_USAGE), as the contract's CLI promises, and
    whose commands and click's own messages speak the chosen language."""

    def main(self, args=None, *more, **kwargs):  # type: ignore[no-untyped-def]
        argv = list(sys.argv[1:] if args is None else args)
        _SPEAKING.append(_chosen_language(argv))
        try:
            return super().main(argv, *more, standalone_mode=False, **kwargs)  # type: ignore[call-overload]
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.UsageError as exc:
            exc.show()
            sys.exit(EXIT_USAGE)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo(click.core._("Aborted."), err=True)  # type: ignore[attr-defined]
            sys.exit(1)
        finally:
            _SPEAKING.pop()
            _forget_help_options(self, set(LAZY_COMMANDS))

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = super().get_command(ctx, cmd_name)
        if found is not None or cmd_name not in LAZY_COMMANDS:
            return found
        module, attr = LAZY_COMMANDS[cmd_name]
        try:
            command: click.Command = getattr(importlib.import_module(module), attr)
        except ModuleNotFoundError as exc:  # an install without the issuer extra
            extra = "registry" if module.startswith("registry.") else "issuer"
            lang = _SPEAKING[-1] if _SPEAKING else cli_language(os.environ)
            missing = cli_text("cli.needs_extra", lang, command=cmd_name, extra=extra, error=exc)

            def fail() -> None:
                raise click.ClickException(missing)

            return click.Command(cmd_name, callback=fail, help=missing)
        return command


# Where the group's --lang is left for the commands beneath it: click's context meta is
# shared by the whole command tree, and unlike an environment variable it does not outlive
# the invocation (a test's CliRunner runs many in one process).
LANG_META = "jiaozi.lang"


@click.group(cls=_Group)
@click.version_option(package_name="jiaozi")
@click.option(
    "--lang",
    type=click.Choice(["zh", "en"]),
    default=None,
    help="language of the messages [default: JIAOZI_LANG, else zh where the locale "
    "(LC_ALL, LC_MESSAGES, LANG) is Chinese, else en]",
)
@click.pass_context
def main(ctx: click.Context, lang: str | None) -> None:
    """Jiaozi: electronic teacher-qualification certificates."""
    if lang is not None:
        ctx.meta[LANG_META] = lang


def _register() -> None:
    from verifier.cli import verify_command
    from verifier.commands import verifier_group  # imports only click until a command runs

    main.add_command(verify_command)
    main.add_command(verifier_group)
    try:
        from keys.cli import keys_group, trust_group
    except ImportError:  # pragma: no cover - keys/ is part of every install
        return
    main.add_command(trust_group)
    main.add_command(keys_group)


_register()
