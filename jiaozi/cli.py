"""``jiaozi``: the command-line entry point.

Each package contributes its own command group; this module only gathers them, so that
``jiaozi verify`` works with the verifier extra alone (nothing here imports the issuer
unless an issuer command is run).
"""

from __future__ import annotations

import sys

import click

EXIT_USAGE = 64


class _Group(click.Group):
    """A group whose usage errors exit 64 (EX_USAGE), as the contract's CLI promises."""

    def main(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            return super().main(*args, standalone_mode=False, **kwargs)
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


@click.group(cls=_Group)
@click.version_option(package_name="jiaozi")
def main() -> None:
    """Jiaozi 教资: electronic teacher-qualification certificates."""


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
