"""``jiaozi``: the command-line entry point.

Each package contributes its own command group; this module only gathers them, so that
``jiaozi verify`` works with the verifier extra alone (nothing here imports the issuer
unless an issuer command is run).
"""

from __future__ import annotations

import importlib
import sys

import click

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


class _Group(click.Group):
    """A group whose usage errors exit 64 (EX_USAGE), as the contract's CLI promises."""

    def main(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            return super().main(*args, standalone_mode=False, **kwargs)  # type: ignore[call-overload]
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.UsageError as exc:
            exc.show()
            sys.exit(EXIT_USAGE)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(1)

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
            missing = (
                f"jiaozi {cmd_name} needs the {extra} extra (pip install 'jiaozi[{extra}]'): {exc}"
            )

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
    """Jiaozi 教资: electronic teacher-qualification certificates."""
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
