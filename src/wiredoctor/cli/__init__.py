"""The command line: thin click commands that call the API, render, and return an exit status.

Always holds: exit 0 nothing wrong, 1 problems found, 2 usage error, 3 input error (one line
on stderr naming the file, the byte offset when known and what was expected; no traceback).
"""

from __future__ import annotations

import sys

import click

from wiredoctor import __version__
from wiredoctor.errors import WiredoctorError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="wiredoctor")
def cli() -> None:
    """Read packet captures and host evidence; say what is wrong and how to fix it."""


def _register() -> None:
    # Literal list: no import-time registration magic (DESIGN.md).
    from wiredoctor.cli.check import check
    from wiredoctor.cli.diff import diff
    from wiredoctor.cli.explain import explain
    from wiredoctor.cli.fix import fix
    from wiredoctor.cli.host import host
    from wiredoctor.cli.importcmd import import_text
    from wiredoctor.cli.packets import packets

    for command in (check, diff, packets, host, explain, import_text, fix):
        cli.add_command(command)


_register()


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status instead of raising SystemExit."""
    try:
        status = cli.main(args=argv, prog_name="wiredoctor", standalone_mode=False)
    except click.exceptions.Exit as done:
        return int(done.exit_code)
    except click.ClickException as problem:
        problem.show()
        return problem.exit_code
    except click.exceptions.Abort:
        click.echo("wiredoctor: aborted", err=True)
        return 130
    except WiredoctorError as problem:
        click.echo(f"wiredoctor: {problem}", err=True)
        return problem.exit_status
    except BrokenPipeError:
        sys.stderr.close()
        return 0
    # Each command returns its exit status (standalone mode off hands it back here).
    return int(status) if isinstance(status, int) else 0
