"""The ``autoprov`` command line: one dispatch table, and exceptions turned into exit codes.

``python -m autoprov [options] script.py [args...]`` and ``autoprov run [options] ...`` run a
program (:mod:`.run`); the other subcommands work on the store, one module per group
(:mod:`.runs`, :mod:`.export`, :mod:`.filters`).  Adding a command is adding a module and a line
to :data:`COMMANDS`.  Every :class:`~autoprov.errors.AutoprovError` becomes one line on stderr,
``autoprov: error: <message> [<id>]``, and exit status 2.
"""

from __future__ import annotations

import importlib
import sys

from .. import __version__
from ..errors import AutoprovError

# subcommand -> (module of autoprov.cli, function taking the remaining argv and returning the status)
COMMANDS = {
    "run": ("run", "run_command"),
    "list": ("runs", "list_command"),
    "show": ("runs", "show_command"),
    "events": ("runs", "events_command"),
    "export": ("export", "export_command"),
    "graph": ("export", "graph_command"),
    "filters": ("filters", "main"),
    "report": ("report", "report_command"),
    "embed": ("embed", "embed_command"),
    "verify": ("reproduce", "verify_command"),
    "rerun": ("reproduce", "rerun_command"),
}
SUBCOMMANDS = tuple(COMMANDS)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] in ("-h", "--help"):
            print(usage())
            return 0
        if argv and argv[0] == "--version":
            print(f"autoprov {__version__}")
            return 0
        if argv and argv[0] in COMMANDS:
            command, argv = argv[0], argv[1:]
        else:
            command = "run"
        module_name, function_name = COMMANDS[command]
        module = importlib.import_module(f"{__name__}.{module_name}")
        return getattr(module, function_name)(argv)
    except AutoprovError as error:
        print(f"autoprov: error: {error}", file=sys.stderr)
        return 2


def usage() -> str:
    from .run import run_parser

    return (
        "usage: python -m autoprov [options] script.py [args...]\n"
        "       python -m autoprov [options] -m module [args...]\n"
        f"       autoprov {'|'.join(c for c in COMMANDS if c != 'run')} ...\n\n" + run_parser().format_help()
    )
