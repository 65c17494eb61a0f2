"""The command line: `fashionfail-tui` opens the app; `fashionfail-tui COMMAND ...` works headless.

Each module in this package is one subcommand: it defines COMMAND (its name), HELP (one line),
`add_arguments(parser)` and `execute(args) -> int`. They are discovered, so adding a command
touches no other file.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import re
import sys
import time
import traceback

from tui import __version__, paths
from tui.errors import UserError, did_you_mean, redact
from tui.files import json_text
from tui.text import error_line


EXIT_BUG = 1


def _command_modules():
    modules = []
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "COMMAND"):
            modules.append(module)
    return sorted(modules, key=lambda m: getattr(m, "ORDER", 100))


class UsageError(UserError):
    """The command line itself is wrong (an unknown option, a missing argument); carries the usage to show."""

    def __init__(self, message: str, usage: str):
        super().__init__(message)
        self.usage = usage


class CommandLineParser(argparse.ArgumentParser):
    """argparse, failing the way every other error does: the usage, then one `fashionfail-tui: error:` line.

    Subcommand parsers are made of the same class (argparse's default), so this holds for all of them.
    """

    def error(self, message: str):
        raise UsageError(_with_suggestion(message), self.format_usage())

    def parse_known_args(self, args=None, namespace=None):
        """Arguments a subcommand does not know are refused under that subcommand's usage, not the top one's."""
        namespace, extras = super().parse_known_args(args, namespace)
        if extras:
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return namespace, extras


_INVALID_CHOICE = re.compile(r"invalid choice: '(?P<word>[^']*)' \(choose from (?P<choices>.*)\)$")


def _with_suggestion(message: str) -> str:
    """argparse's `invalid choice: 'modles' (choose from ...)` with the close one named first:
    `invalid choice: 'modles' (did you mean 'models'?); choose from ...`."""
    match = _INVALID_CHOICE.search(message)
    if not match:
        return message
    choices = [choice.strip(" '") for choice in match["choices"].split(",")]
    hint = did_you_mean(match["word"], choices)
    return f"{message[:match.start()]}invalid choice: '{match['word']}'{hint}; choose from {match['choices']}" \
        if hint else message


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The whole command line; given `argv`, only the command it names gets its arguments (the others
    are listed by name and help), so `--help` and each command import no other command's needs."""
    chosen = _command_named(argv) if argv is not None else None
    parser = CommandLineParser(
        prog="fashionfail-tui",
        description="Set up, fetch, run, browse and evaluate the FashionFail paper's models. "
        "Without a command, opens the app.",
    )
    parser.add_argument("--version", action="version", version=f"fashionfail-tui {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _command_modules():
        sub = commands.add_parser(module.COMMAND, help=module.HELP, description=module.HELP)
        if argv is None or module.COMMAND == chosen:
            module.add_arguments(sub)
        sub.set_defaults(execute=module.execute)
    return parser


def _command_named(argv: list[str]) -> str | None:
    """The command in `argv`: its first argument that is not an option (the top level takes no values)."""
    return next((arg for arg in argv if not arg.startswith("-")), None)


def emit_event(record: dict) -> None:
    """One JSON-lines event on stdout, flushed so a reader sees it at once (URL credentials redacted)."""
    print(redact(json_text(record)), flush=True)


PIPED_WIDTH = 100_000
"""The width of piped output when COLUMNS is not set: wider than any table, so each is as wide as its content."""


def output_console(**options):
    """The rich Console every command prints its tables and text to stdout with. On a terminal it is
    the terminal's width; piped (`eval | cat`, `> file`), COLUMNS when set, else as wide as the
    content, so no table is cut (`mAP_w@.…`) or wrapped to 80 columns."""
    from rich.console import Console  # imported here: `--help` and --json paths need no rich

    console = Console(**options)
    if not console.is_terminal and not os.environ.get("COLUMNS", "").isdigit():
        console.width = PIPED_WIDTH
        console.print = _titles_whole(console.print)
    return console


def _titles_whole(print_):
    """`print_`, making each table at least as wide as its title and caption: rich wraps them to the
    table's width, whatever the console's."""
    def print_whole(*objects, **options):
        from rich.cells import cell_len
        from rich.table import Table

        for table in objects:
            if isinstance(table, Table):
                longest = max((cell_len(str(text)) for text in (table.title, table.caption) if text), default=0)
                table.min_width = max(table.min_width or 0, longest)
        return print_(*objects, **options)
    return print_whole


def discard_stdout() -> None:
    """Point stdout at /dev/null once its reader has gone (`... --json | head`), so later writes pass quietly."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def report_error(message: str, as_json: bool) -> None:
    """A failure as one line on stderr and, for --json, an `error` event on stdout (control characters shown
    as escapes in both)."""
    message = error_line(message)
    if as_json:
        emit_event({"event": "error", "message": message})
    print(f"fashionfail-tui: error: {redact(message)}", file=sys.stderr)


def _bug_report(exc: Exception) -> str:
    """A bug's one line: what was raised, without the install folder, and the file its traceback went to."""
    what = f"unexpected {type(exc).__name__}: {exc}".replace(f"{paths.install_dir()}{os.sep}", "")
    try:
        log = paths.logs_dir() / f"crash-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text("".join(traceback.format_exception(exc)), encoding="utf-8")
    except OSError:
        return f"{what} (a bug in fashionfail-tui)"
    return f"{what} (a bug in fashionfail-tui; its traceback is in {log})"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = build_parser(argv).parse_args(argv)
    except UsageError as exc:
        sys.stderr.write(exc.usage)
        report_error(str(exc), as_json="--json" in argv)
        return exc.exit_code
    as_json = bool(getattr(args, "json", False))
    try:
        paths.check_folder_overrides()
        if args.command is None:
            from tui.app import run_app

            return run_app()
        return int(args.execute(args) or 0)
    except UserError as exc:
        report_error(exc.for_command_line, as_json)
        return exc.exit_code
    except KeyboardInterrupt:
        report_error("interrupted", as_json)
        return 130
    except BrokenPipeError:
        discard_stdout()  # the reader went away: stop quietly, as other command-line tools do
        return 141
    except Exception as exc:  # a bug: one line, never a traceback full of the package's paths
        report_error(_bug_report(exc), as_json)
        return EXIT_BUG
