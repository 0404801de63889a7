"""The ``fieldpass`` command line: server, admin, device and demo command groups.

Every command exits non-zero with a one-line reason on failure (never a traceback);
``--json`` prints machine-readable output where a script would read it.
"""

from __future__ import annotations

import sqlite3
import sys

import click

from fieldpass.cli.errors import CliError


class FieldpassGroup(click.Group):
    """Turns CliError (and any unexpected error) into one line on stderr and exit code 1."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except CliError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit):
            raise
        except BrokenPipeError:
            # The reader went away (`fieldpass ... | head`): stop quietly, as Unix tools do.
            sys.stderr.close()
            ctx.exit(141)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)
        except sqlite3.DatabaseError as exc:
            click.echo(
                f"error: the device store is damaged ({exc}): run `fieldpass device recover`",
                err=True,
            )
            ctx.exit(1)
        except Exception as exc:  # noqa: BLE001 - the last line of defence: no traceback for users
            click.echo(f"error: unexpected failure: {type(exc).__name__}: {exc}", err=True)
            ctx.exit(1)


@click.group(cls=FieldpassGroup)
@click.version_option(package_name="fieldpass")
def cli() -> None:
    """Fieldpass: offline ticketing devices and the central server."""


def _register() -> None:
    from fieldpass.cli.admin_cmds import admin
    from fieldpass.cli.demo_cmd import demo
    from fieldpass.cli.device_cmds import device
    from fieldpass.cli.server_cmds import server

    cli.add_command(server)
    cli.add_command(admin)
    cli.add_command(device)
    cli.add_command(demo)


_register()


def main() -> None:
    cli(prog_name="fieldpass")


if __name__ == "__main__":
    sys.exit(main())
