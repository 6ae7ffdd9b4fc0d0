"""The command line: thin click commands that call the API, render, and return an exit status.

Always holds: exit 0 nothing wrong, 1 problems found, 2 usage error, 3 input error (one line
on stderr naming the file, the byte offset when known and what was expected; no traceback).
"""

from __future__ import annotations

import importlib
import os
import signal
import sys

# numpy's OpenBLAS starts a thread per CPU that spins for a while; wiredoctor makes no BLAS
# call, and on two CPUs those threads took about 0.1 s of CPU a run from the kernels. Only
# the command line sets this (before numpy is imported); a library user's numpy is untouched.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import click

from wiredoctor import __version__
from wiredoctor.errors import WiredoctorError

# Command name → (module, attribute). A literal table, looked up only for the command that
# runs, so `wiredoctor explain` does not pay for importing the numba kernels.
COMMANDS: dict[str, tuple[str, str]] = {
    "check": ("wiredoctor.cli.check", "check"),
    "diff": ("wiredoctor.cli.diff", "diff"),
    "packets": ("wiredoctor.cli.packets", "packets"),
    "host": ("wiredoctor.cli.host", "host"),
    "explain": ("wiredoctor.cli.explain", "explain"),
    "import": ("wiredoctor.cli.importcmd", "import_text"),
    "fix": ("wiredoctor.cli.fix", "fix"),
}


class _Commands(click.Group):
    """A click group whose commands are imported when used (see COMMANDS)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        command = getattr(importlib.import_module(entry[0]), entry[1])
        assert isinstance(command, click.Command)
        return command


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="wiredoctor")
def cli() -> None:
    """Read packet captures and host evidence; say what is wrong and how to fix it."""


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status instead of raising SystemExit.

    As the console script (`argv` None) the process ends here once its output is flushed:
    nothing is left to do, and the interpreter's own teardown (freeing every table and
    module one by one) took about 40 ms after a check of a 1M-frame capture."""
    if argv is None and hasattr(signal, "SIGPIPE"):
        # As the console script: a reader that goes away (`| head`) ends us quietly, the way
        # it ends tcpdump, instead of an error exit that would read as "problems found".
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    status = _run(argv)
    if argv is None:
        _end(status)
    return status


def _end(status: int) -> None:
    """End the process with `status` once stdout and stderr are flushed. A flush that fails
    (a full disk) returns instead, and the interpreter reports it as it would."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        return
    os._exit(status)


def _run(argv: list[str] | None) -> int:
    """The command's exit status (see the module docstring)."""
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

    # Each command returns its exit status (standalone mode off hands it back here).
    return int(status) if isinstance(status, int) else 0
